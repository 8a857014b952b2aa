"""The command line: ``pike PATH [PATH ...]`` (also ``python -m pike``), contract C11.

Lists the plugin classes in the folders (module, class, bases, file:line), a
count, then the errors and skipped entries; ``--base`` filters by base class,
``--static`` reads source without running it, ``--json`` prints the stable
shape described in docs/cli.md. Exit status: 0 all went well, 1 some plugins
failed (the others are still listed), 2 bad usage.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from pike import __version__
from pike.errors import PikeError, PluginCollisionError, PluginError
from pike.manager import PikeManager

__all__ = ["main"]

EXIT_OK = 0
EXIT_PLUGIN_ERRORS = 1
EXIT_USAGE = 2
JSON_FORMAT = 1


class UsageError(Exception):
    """Bad usage: the message says what to do; exit status 2."""


@dataclass
class Row:
    module: str
    name: str
    bases: list[str]
    file: str
    line: int | None


@dataclass
class Report:
    mode: str
    search_paths: list[str]
    base: str | None
    rows: list[Row] = field(default_factory=list)
    modules: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pike",
        description=(
            "List the plugin classes in drop-in plugin folders: module, class, bases,\n"
            "file and line, then a count, the plugins that failed, and the folder\n"
            "entries that were skipped. By default each plugin module is imported (in\n"
            "isolation, and cleaned up afterwards); --static reads source only."
        ),
        epilog=(
            "examples:\n"
            "  pike plugins                      every class the plugins define\n"
            "  pike plugins --base bases:Driver  only subclasses of bases.Driver\n"
            "  pike plugins --static --json      read source only, print JSON\n"
            "\n"
            "exit status:\n"
            "  0  all plugins loaded (or parsed)\n"
            "  1  some plugins failed to load or parse; the others are still listed\n"
            "  2  bad usage: no PATH, an unknown option, a folder that does not exist,\n"
            "     a --base that cannot be found\n"
            "\n"
            "docs: the JSON format and more in docs/cli.md"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a plugins folder")
    parser.add_argument(
        "--base",
        metavar="MODULE:CLASS",
        help=(
            "list only the strict subclasses of this class; MODULE may be a plugin "
            "module or any importable module; a bare class name (Driver) matches any "
            "class of that name"
        ),
    )
    parser.add_argument(
        "--static",
        action="store_true",
        help="read source files only: no plugin code runs and nothing is written",
    )
    parser.add_argument(
        "--json", action="store_true", help="print JSON (format in docs/cli.md) instead of a table"
    )
    parser.add_argument("--version", action="version", version=f"pike {__version__}")
    return parser


# -- import mode ------------------------------------------------------------------


def _split_base(spec: str) -> tuple[str, str]:
    module, sep, name = spec.partition(":")
    if not sep:
        module, _, name = spec.rpartition(".")
    if not module or not name:
        raise UsageError(
            f"--base {spec!r}: expected MODULE:CLASS, such as bases:Driver "
            "(the module that defines the class, a colon, the class name)"
        )
    return module, name


def _import_base(spec: str) -> type:
    module_name, name = _split_base(spec)
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise UsageError(
            f"--base {spec!r}: cannot import module {module_name!r} "
            f"({type(exc).__name__}: {exc}); give a plugin module in PATH or a module "
            "importable from here"
        ) from None
    for part in name.split("."):
        obj = getattr(obj, part, None)
    if not isinstance(obj, type):
        raise UsageError(f"--base {spec!r}: module {module_name!r} has no class {name!r}")
    return obj


def _error_dict(error: PluginError) -> dict[str, Any]:
    kind = "collision" if isinstance(error, PluginCollisionError) else "import"
    return {
        "module": error.module_name,
        "file": error.path,
        "line": error.lineno,
        "kind": kind,
        "message": str(error),
    }


def _base_name(base: type, cls: type) -> str:
    if base.__module__ in (cls.__module__, "builtins"):
        return base.__qualname__
    return f"{base.__module__}.{base.__qualname__}"


def _class_lines(search_paths: list[str]) -> dict[tuple[str, str], int]:
    """The line of each class statement, by (module, class), read by static listing."""
    from pike.discovery import static

    return {(c.module, c.name): c.lineno for c in static.list_classes(search_paths)}


def _select(mgr: PikeManager, base: str | None) -> list[type]:
    if base is None:
        return mgr.get_classes()
    if ":" not in base and "." not in base:
        if not base.isidentifier():
            raise UsageError(f"--base {base!r}: expected MODULE:CLASS or a class name")
        # A bare name: any strict subclass of a class of that name.
        return mgr.get_classes(lambda cls: any(b.__name__ == base for b in cls.__mro__[1:]))
    return mgr.get_all_inherited_classes(_import_base(base))


def _imported(paths: list[str], base: str | None) -> Report:
    mgr = PikeManager(paths, on_error="collect")
    report = Report("import", mgr.search_paths, base)
    with mgr:
        classes = _select(mgr, base)
        lines = _class_lines(mgr.search_paths)
        for cls in classes:
            module = sys.modules.get(cls.__module__)
            path = str(getattr(module, "__file__", None) or "")
            report.rows.append(
                Row(
                    cls.__module__,
                    cls.__qualname__,
                    [_base_name(b, cls) for b in cls.__bases__],
                    path,
                    lines.get((cls.__module__, cls.__qualname__)),
                )
            )
        report.modules = len(mgr.get_modules())
        report.errors = [_error_dict(e) for e in mgr.errors]
        report.skipped = [{"path": s.path, "reason": s.reason} for s in mgr.skipped]
    return report


# -- static mode -------------------------------------------------------------------


def _static(paths: list[str], base: str | None) -> Report:
    from pike.discovery import static

    if base is not None and ":" not in base and "." not in base and not base.isidentifier():
        raise UsageError(f"--base {base!r}: expected MODULE:CLASS or a class name")
    listing = static.list_classes(paths, base=base)
    report = Report("static", [os.path.abspath(p) for p in paths], base)
    report.rows = [Row(c.module, c.name, list(c.bases), c.path, c.lineno) for c in listing.classes]
    report.modules = len(listing.modules)
    report.errors = [
        {"module": e.module, "file": e.path, "line": e.lineno, "kind": "parse", "message": str(e)}
        for e in listing.errors
    ]
    report.skipped = [{"path": s.path, "reason": s.reason} for s in listing.skipped]
    return report


# -- output ------------------------------------------------------------------------


def _display(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:  # pragma: no cover - another drive on Windows
        return path
    return path if relative.startswith(os.pardir) else relative


def _print_human(report: Report, out: TextIO) -> None:
    if report.rows:
        table = [("MODULE", "CLASS", "BASES", "FILE")]
        for row in report.rows:
            where = _display(row.file) if row.file else "?"
            if row.line:
                where += f":{row.line}"
            table.append((row.module, row.name, ", ".join(row.bases) or "-", where))
        widths = [max(len(r[i]) for r in table) for i in range(3)]
        for cells in table:
            print(
                "  ".join([*(c.ljust(w) for c, w in zip(cells, widths, strict=False)), cells[3]]),
                file=out,
            )
        print(file=out)
    n = len(report.rows)
    what = (
        f"{'subclass' if n == 1 else 'subclasses'} of {report.base}"
        if report.base
        else ("plugin class" if n == 1 else "plugin classes")
    )
    modules = f"{report.modules} module{'' if report.modules == 1 else 's'}"
    how = " (static: nothing was run)" if report.mode == "static" else ""
    print(f"{n} {what} in {modules}{how}", file=out)
    if report.errors:
        print(f"\nErrors ({len(report.errors)}):", file=out)
        for error in report.errors:
            print(f"  {error['message']}", file=out)
    if report.skipped:
        print(f"\nSkipped ({len(report.skipped)}):", file=out)
        for entry in report.skipped:
            print(f"  {_display(entry['path'])}: {entry['reason']}", file=out)


def _print_json(report: Report, out: TextIO) -> None:
    document = {
        "format": JSON_FORMAT,
        "pike": __version__,
        "mode": report.mode,
        "search_paths": report.search_paths,
        "base": report.base,
        "classes": [
            {
                "module": r.module,
                "class": r.name,
                "bases": r.bases,
                "file": r.file or None,
                "line": r.line,
            }
            for r in report.rows
        ],
        "errors": report.errors,
        "skipped": report.skipped,
        "counts": {
            "classes": len(report.rows),
            "modules": report.modules,
            "errors": len(report.errors),
            "skipped": len(report.skipped),
        },
    }
    json.dump(document, out, indent=2)
    out.write("\n")


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; return the exit status."""
    out = out if out is not None else sys.stdout
    args = _parser().parse_args(argv)
    try:
        report = _static(args.paths, args.base) if args.static else _imported(args.paths, args.base)
    except (PikeError, UsageError) as exc:
        print(f"pike: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.json:
            _print_json(report, out)
        else:
            _print_human(report, out)
        out.flush()
    except BrokenPipeError:  # pragma: no cover - test_c11_closed_pipe_is_quiet, in a subprocess
        # The reader went away (`pike ... | head`): stop quietly, as other tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return EXIT_PLUGIN_ERRORS if report.errors else EXIT_OK


def main_entry() -> None:  # pragma: no cover - the console script's wrapper
    """Entry point of the ``pike`` console script."""
    sys.exit(main())
