"""The command line: ``pike PATH [PATH ...]`` (also ``python -m pike``).

Prints each plugin class found (module, class, bases, file:line), a count, then
the errors and the skipped entries. Exit status: 0 all loaded, 1 some plugins
failed (the others are still listed), 2 bad usage.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from pike import __version__
from pike.errors import PikeError, PluginError
from pike.manager import PikeManager

__all__ = ["main"]

EXIT_OK = 0
EXIT_PLUGIN_ERRORS = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pike",
        description=(
            "Load the plugin modules in each PATH (a drop-in plugins folder) and "
            "list the classes they define: module, class, bases, file and line. "
            "Errors and skipped entries follow the list."
        ),
        epilog=(
            "exit status: 0 all plugins loaded, 1 some plugins failed to load "
            "(the others are still listed), 2 bad usage. "
            "Example: python -m pike sample_plugins"
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a plugins folder")
    parser.add_argument("--version", action="version", version=f"pike {__version__}")
    return parser


def _class_lines(path: str, cache: dict[str, dict[str, int]]) -> dict[str, int]:
    """Line of each top-level class statement in a source file (empty if unknown)."""
    lines = cache.get(path)
    if lines is None:
        lines = {}
        if path.endswith(".py"):
            try:
                with open(path, "rb") as f:
                    tree = ast.parse(f.read(), path)
            except (OSError, SyntaxError, ValueError):
                tree = None
            if tree is not None:
                for node in tree.body:
                    if isinstance(node, ast.ClassDef):
                        lines.setdefault(node.name, node.lineno)
        cache[path] = lines
    return lines


def _display(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:  # pragma: no cover - another drive on Windows
        return path
    return path if relative.startswith(os.pardir) else relative


def _rows(mgr: PikeManager) -> list[tuple[str, str, str, str]]:
    cache: dict[str, dict[str, int]] = {}
    rows = []
    for cls in mgr.get_classes():
        module = sys.modules.get(cls.__module__)
        path = str(getattr(module, "__file__", None) or "?")
        line = _class_lines(path, cache).get(cls.__qualname__)
        where = f"{_display(path)}:{line}" if line else _display(path)
        bases = ", ".join(
            b.__qualname__
            if b.__module__ in (cls.__module__, "builtins")
            else f"{b.__module__}.{b.__qualname__}"
            for b in cls.__bases__
        )
        rows.append((cls.__module__, cls.__qualname__, bases, where))
    return rows


def _print_table(rows: list[tuple[str, str, str, str]], out: TextIO) -> None:
    header = ("MODULE", "CLASS", "BASES", "FILE")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    for row in [header, *rows]:
        cells = [row[i].ljust(widths[i]) for i in range(3)]
        print("  ".join([*cells, row[3]]), file=out)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; return the exit status."""
    out = out if out is not None else sys.stdout
    args = _parser().parse_args(argv)
    try:
        mgr = PikeManager(args.paths, on_error="collect")
    except PikeError as exc:
        print(f"pike: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    with mgr:
        rows = _rows(mgr)
        modules = len(mgr.get_modules())
        errors: list[PluginError] = mgr.errors
        skipped = mgr.skipped
    if rows:
        _print_table(rows, out)
        print(file=out)
    classes = "class" if len(rows) == 1 else "classes"
    loaded = "module" if modules == 1 else "modules"
    print(f"{len(rows)} plugin {classes} in {modules} {loaded}", file=out)
    if errors:
        print(f"\nErrors ({len(errors)}):", file=out)
        for error in errors:
            print(f"  {error}", file=out)
    if skipped:
        print(f"\nSkipped ({len(skipped)}):", file=out)
        for entry in skipped:
            print(f"  {_display(entry.path)}: {entry.reason}", file=out)
    return EXIT_PLUGIN_ERRORS if errors else EXIT_OK


def main_entry() -> None:  # pragma: no cover - the console script's wrapper
    """Entry point of the ``pike`` console script."""
    sys.exit(main())
