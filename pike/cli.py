"""The command line: ``pike PATH [PATH ...]`` (also ``python -m pike``).

Lists the plugin classes in the folders (module, class, bases, file:line) and a
count on stdout; the errors and skipped entries on stderr (or everything in
one JSON document on stdout with ``--json``). ``--base`` filters by base
class, ``--static`` reads source without running it, ``--watch`` follows the
folders after the listing. Whatever plugins print
while they import goes to stderr. Exit status: 0 all went well, 1 some plugins
failed (the others are still listed) or the report could not be written, 2
bad usage. Never a traceback, whatever the plugins do (``--traceback`` shows
theirs on purpose).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import io
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import CodeType
from typing import TYPE_CHECKING, Any, TextIO

from pike import __version__
from pike._names import names_class
from pike._objects import describe, type_module, type_name
from pike._trust import ANY_HINT
from pike.errors import (
    PikeError,
    PikeWarning,
    PluginBlockedError,
    PluginCollisionError,
    PluginError,
    PluginHookError,
    PluginIncompatibleError,
    PluginObjectError,
    PluginQuarantinedError,
    UntrustedPluginError,
)
from pike.manager import PikeManager

if TYPE_CHECKING:
    from pike._refresh import RefreshReport
    from pike._walk import ModuleEntry
    from pike.discovery.static import StaticClass, StaticListing

#: What the source declares of each class listed: ``(module, class) -> attrs``.
Declared = dict[tuple[str, str], Mapping[str, Any]]

__all__ = ["main"]

EXIT_OK = 0
EXIT_PLUGIN_ERRORS = 1
EXIT_USAGE = 2
JSON_FORMAT = 1
DOCS_URL = "https://pyarmory-pike.readthedocs.io/en/latest/"

_BASES = type.__dict__["__bases__"]
_MRO = type.__dict__["__mro__"]


class UsageError(Exception):
    """Bad usage: the message says what to do; exit status 2."""


@dataclass
class Row:
    module: str
    name: str
    bases: list[str]
    file: str
    line: int | None
    source: str = ""
    attrs: Mapping[str, Any] | None = None  # with --attrs: what the source declares


@dataclass
class Report:
    mode: str
    search_paths: list[str]
    base: str | None
    isolate: bool = False
    attrs: bool = False  # --attrs: an ATTRS column, an "attrs" key
    rows: list[Row] = field(default_factory=list)
    module_count: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pike",
        description=(
            "List the plugin classes in drop-in plugin folders: module, class, bases,\n"
            "file and line, then a count (on stdout); the plugins that failed and the\n"
            "folder entries that were skipped (on stderr). By default each plugin module\n"
            "is imported (in isolation, and cleaned up afterwards); --static reads\n"
            "source only."
        ),
        epilog=(
            "examples:\n"
            "  pike plugins                      every class the plugins define\n"
            "  pike plugins --base bases:Driver  only subclasses of bases.Driver\n"
            "  pike plugins --static --json      read source only, print JSON\n"
            "  pike plugins --where ext=.csv     only the classes declaring ext '.csv'\n"
            "\n"
            "exit status:\n"
            "  0    all plugins loaded (or parsed)\n"
            "  1    some plugins failed to load or parse (the others are still listed),\n"
            "       or the report could not be written\n"
            "  2    bad usage: no PATH, an unknown option, a folder that does not exist\n"
            "       or that other users could change, a --base that cannot be found\n"
            "  130  interrupted (Ctrl-C)\n"
            "\n"
            f"docs: {DOCS_URL}cli/ (the JSON format, and more)"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="a plugins folder")
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
        help=(
            "read source files only: no plugin code runs (what was read is kept in "
            "pike's cache folder, to be read faster next time)"
        ),
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document instead of the table"
    )
    parser.add_argument(
        "--attrs",
        action="store_true",
        help=(
            "show the literal attributes each class body declares, read from source "
            "(an ATTRS column; an attrs key with --json)"
        ),
    )
    parser.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=(
            "keep the classes whose source declares KEY (a class attribute, else a key of "
            "the module's __plugin__) equal to VALUE, or holding it when it is a tuple, "
            "list, set or dict; VALUE is a Python literal, else a string; repeatable (all "
            "must hold); only the modules of the classes kept are imported"
        ),
    )
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="show each failure's full traceback (on stderr; in the document with --json)",
    )
    parser.add_argument(
        "--trust-any",
        action="store_true",
        help=(
            "load folders and files that other users could change (by default they "
            "are refused: they must be yours or root's and not world-writable)"
        ),
    )
    parser.add_argument(
        "--isolate",
        action="store_true",
        help=(
            "give each PATH a private namespace: one module name in two paths is two "
            "modules, and a plugin package's bare imports find its own modules first "
            "(the table gets a SOURCE column)"
        ),
    )
    parser.add_argument(
        "--watch",
        action="store_true",
        help=(
            "after the listing, keep the plugins loaded and print a line per change "
            "as it is applied (with --json, one JSON object per line: the listing, "
            "then each change), until interrupted (Ctrl-C: exit status 130)"
        ),
    )
    off = parser.add_argument_group(
        "when a plugin misbehaves",
        f"(see {DOCS_URL}misbehaving/; PIKE_DISABLE, PIKE_ONLY and PIKE_SAFE_MODE add to these)",
    )
    off.add_argument(
        "--disable",
        action="append",
        default=[],
        metavar="PATTERN",
        help=(
            "turn off the plugin modules whose dotted name matches (shell-style, "
            "case-sensitive; a package's reaches everything in it): never opened, listed "
            "as skipped; repeatable, or comma-separated"
        ),
    )
    off.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="PATTERN",
        help="load only the plugin modules that match (then --disable takes out its own)",
    )
    off.add_argument(
        "--safe-mode",
        action="store_true",
        help="turn every plugin off: they are listed as skipped, none is opened",
    )
    off.add_argument(
        "--quarantine",
        action="store_true",
        help=(
            "skip a plugin module that a process died while importing, while its file is "
            "unchanged (and note, while each one runs, which this process is importing)"
        ),
    )
    off.add_argument(
        "--release",
        action="append",
        default=[],
        metavar="NAME",
        help=(
            "lift the quarantine of plugin module NAME in PATH, say what was released, "
            "and stop (exit status 2 if NAME is not in quarantine)"
        ),
    )
    off.add_argument(
        "--host",
        metavar="NAME==VERSION",
        help="who the host is, for plugins whose __requires__ names a host version",
    )
    off.add_argument(
        "--requires",
        choices=("enforce", "warn", "ignore"),
        help=(
            "what a plugin's unmet __requires__ does: enforce (an error: it is not "
            "imported), warn (default: a warning, and it loads), ignore"
        ),
    )
    parser.add_argument(
        "--clear-cache",
        action="store_true",
        help=(
            "first remove every file pike keeps in its cache folder (alone, without "
            "PATH, only that)"
        ),
    )
    parser.add_argument("-V", "--version", action="version", version=f"pike {__version__}")
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
        for part in name.split("."):
            obj = getattr(obj, part, None)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # the module is anyone's code: it may raise anything
        raise UsageError(
            f"--base {spec!r}: cannot import module {module_name!r} ({describe(exc)}); "
            "give a plugin module in PATH or a module importable from here"
        ) from None
    if not isinstance(obj, type):
        raise UsageError(f"--base {spec!r}: module {module_name!r} has no class {name!r}")
    return obj


def _error_dict(error: PluginError, with_traceback: bool) -> dict[str, Any]:
    if isinstance(error, PluginCollisionError):
        kind = "collision"
    elif isinstance(error, UntrustedPluginError):
        kind = "untrusted"
    elif isinstance(error, PluginObjectError):
        kind = "object"
    elif isinstance(error, PluginHookError):
        kind = "hook"
    elif isinstance(error, PluginQuarantinedError):
        kind = "quarantined"
    elif isinstance(error, PluginIncompatibleError):
        kind = "incompatible"
    elif isinstance(error, PluginBlockedError):
        kind = "blocked"
    else:
        kind = "import"
    found: dict[str, Any] = {
        "module": error.module_name,
        "file": error.path,
        "line": error.lineno,
        "kind": kind,
        "message": _in_cli_words(str(error)),
        "source": error.source,
    }
    if with_traceback:
        found["traceback"] = _traceback_of(error)
    return found


# The library's words for its arguments, and the command line's for its options.
_CLI_WORDS = (
    (ANY_HINT, "pass --trust-any"),
    ("(disabled=)", "(--disable)"),
    ("(only=)", "(--only)"),
    ("(safe_mode=True)", "(--safe-mode)"),
    ("(requires='warn'; requires='enforce' keeps it out)", "(--requires enforce keeps it out)"),
    ("(requires='enforce')", "(--requires enforce)"),
)


def _in_cli_words(message: str) -> str:
    """A library message as the command line says it (``--trust-any``, not ``trust=``)."""
    for library, cli in _CLI_WORDS:
        message = message.replace(library, cli)
    return message


def _traceback_of(error: BaseException) -> str:
    """The plugin's own traceback: the frames of the import system and of pike left out."""
    cause = error.__cause__ or error
    try:
        shown = traceback.TracebackException.from_exception(cause)
        _plugin_frames_only(shown)
        return "".join(shown.format())
    except Exception:  # a hostile exception that cannot even be formatted
        return f"{describe(cause)} (its traceback cannot be shown)\n"


# Frames in these are the machinery that ran the plugin, not the plugin.
_MACHINERY = (
    os.path.dirname(os.path.abspath(__file__)) + os.sep,  # pike
    os.path.dirname(os.path.abspath(importlib.__file__)) + os.sep,  # importlib
    "<frozen importlib.",
)


def _plugin_frames_only(shown: traceback.TracebackException) -> None:
    """Leave out, in ``shown`` and the exceptions chained to it, the machinery's frames."""
    pending, seen = [shown], set()
    while pending:
        one = pending.pop()
        if id(one) in seen:
            continue
        seen.add(id(one))
        frames = [f for f in one.stack if not f.filename.startswith(_MACHINERY)]
        one.stack = traceback.StackSummary.from_list(frames)
        pending += [e for e in (one.__cause__, one.__context__) if e is not None]
        pending += getattr(one, "exceptions", None) or []  # an exception group's


def _base_name(base: type, module: str, entry: ModuleEntry | None) -> str:
    """A base class as the table shows it: bare in its own module or builtins, else by
    its module's name (a plugin's by its plugin name, ``entry``'s, under isolation)."""
    where = type_module(base)
    name = type_name(base)
    if where in (module, "builtins", None):
        return name
    return f"{entry.name if entry is not None else where}.{name}"


def _first_lines(module: object) -> dict[str, int]:
    """Where each class of ``module``'s top level starts (its first decorator, if any), by
    qualified name: from the module's code, as Python reports it (the bytecode cache is
    read, no source parsed). Empty where there is no code (an extension module)."""
    try:
        loader = module.__spec__.loader  # type: ignore[attr-defined]
        code = loader.get_code(module.__name__)  # type: ignore[attr-defined]
    except Exception:  # no spec, no code, a loader that cannot give it
        return {}
    lines: dict[str, int] = {}
    for const in getattr(code, "co_consts", ()):
        if isinstance(const, CodeType):
            lines.setdefault(getattr(const, "co_qualname", const.co_name), const.co_firstlineno)
    return lines


def _line_of(cls: type, lines: dict[str, int]) -> int | None:
    first = type.__dict__["__dict__"].__get__(cls).get("__firstlineno__")  # Python 3.13
    return first if type(first) is int else lines.get(type_name(cls))


def _select(mgr: PikeManager, args: argparse.Namespace) -> tuple[list[type], Declared]:
    """The classes to list, and what the source declares of each (with ``--attrs`` or
    ``--where``: then only the modules of the classes ``--where`` keeps are imported)."""
    base: str | None = args.base
    bare = base is not None and ":" not in base and "." not in base
    if bare and not base.isidentifier():  # type: ignore[union-attr]
        raise UsageError(f"--base {base!r}: expected MODULE:CLASS or a class name")
    base_class = _import_base(base) if base is not None and not bare else None
    declared: Declared = {}
    if args.where:
        holds = _where(args.where)
        named: set[tuple[str, str]] | None = None
        if bare:  # select takes a class: the source's picks of a bare name, listed first
            from pike.discovery import static as listing

            picked = listing.list_classes(
                mgr.search_paths, base=base, isolate=args.isolate, **_switches(args)
            )
            named = {(c.module, c.name) for c in picked.classes}

        def where(static: StaticClass) -> bool:
            if named is not None and (static.module, static.name) not in named:
                return False
            kept = holds(static)
            if kept:
                declared[static.module, static.name] = static.attrs
            return kept

        classes: list[type] = mgr.select(base_class, where=where)
        return ([cls for cls in classes if _named(cls, base)] if bare else classes), declared
    if args.attrs:
        declared = {(c.module, c.name): c.attrs for c in mgr.lazy_classes()}
    if base is None:
        return mgr.get_classes(), declared
    if bare:
        # A bare name: any strict subclass of a class of that name.
        return mgr.get_classes(lambda cls: _named(cls, base)), declared
    return mgr.get_all_inherited_classes(base_class), declared  # type: ignore[arg-type]


def _named(cls: type, base: str | None) -> bool:
    """Whether ``cls`` is a strict subclass of a class named ``base`` (a bare name)."""
    return any(names_class(type_name(b), base) for b in _MRO.__get__(cls)[1:])  # type: ignore[arg-type]


def _where(given: list[str]) -> Callable[[StaticClass], bool]:
    """``--where KEY=VALUE ...`` as a test of what a class declares: every one holds."""
    import ast

    tests = []
    for spec in given:
        key, sep, text = spec.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(
                f"--where {spec!r}: expected KEY=VALUE, such as extensions=.csv or priority=10"
            )
        try:
            value = ast.literal_eval(text.strip())
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            value = text.strip()  # not a literal: the string itself
        tests.append((key, value))

    def holds(static: StaticClass) -> bool:
        for key, value in tests:
            declared = static.attrs if key in static.attrs else static.plugin
            if key not in declared or not _matches(declared[key], value):
                return False
        return True

    return holds


def _matches(found: object, wanted: object) -> bool:
    """``found`` is ``wanted``, or holds it (a tuple, list, set or dict: its keys)."""
    if _same(found, wanted):
        return True
    if isinstance(found, (tuple, list, set, frozenset, dict)):
        return any(_same(item, wanted) for item in found)
    return False


def _same(one: object, other: object) -> bool:
    """Equal literals, at every depth; ``True`` is not ``1`` here, as ``(True,)`` is not
    ``(1,)`` in attrs (and a tuple is not a list)."""
    if isinstance(one, bool) is not isinstance(other, bool):
        return False
    if isinstance(one, (tuple, list)) or isinstance(other, (tuple, list)):
        return (
            type(one) is type(other)
            and len(one) == len(other)  # type: ignore[arg-type]
            and all(map(_same, one, other))  # type: ignore[call-overload]
        )
    if isinstance(one, dict) and isinstance(other, dict):
        return len(one) == len(other) and all(
            any(_same(k, key) and _same(v, value) for key, value in other.items())
            for k, v in one.items()
        )
    if isinstance(one, (set, frozenset)) and isinstance(other, (set, frozenset)):
        return len(one) == len(other) and all(any(_same(a, b) for b in other) for a in one)
    return bool(one == other)


def _patterns(given: list[str], flag: str) -> list[str] | None:
    """``--disable`` / ``--only`` (``flag``) as given (repeated, comma-separated), or None.
    A value that holds no pattern is a usage error: an empty ``--only`` would keep nothing."""
    found = []
    for item in given:
        parts = [part.strip() for part in item.split(",") if part.strip()]
        if not parts:
            raise UsageError(
                f"{flag} {item!r} holds no pattern; give module names or shell-style "
                "patterns, comma-separated ('legacy_*,pkg.sub')"
            )
        found += parts
    return found if given else None


def _host(spec: str | None) -> tuple[str, str] | None:
    if spec is None:
        return None
    name, sep, version = spec.partition("==")
    if not sep or not name.strip() or not version.strip():
        raise UsageError(f"--host {spec!r}: expected NAME==VERSION, such as myapp==2.3.1")
    return name.strip(), version.strip()


def _switches(args: argparse.Namespace) -> dict[str, Any]:
    """The manager's off switches, as the arguments give them."""
    return {
        "disabled": _patterns(args.disable, "--disable"),
        "only": _patterns(args.only, "--only"),
        "safe_mode": args.safe_mode,
    }


def _manager(args: argparse.Namespace) -> PikeManager:
    return PikeManager(
        args.paths,
        on_error="collect",
        trust="any" if args.trust_any else "owner",
        isolate=args.isolate,
        quarantine=args.quarantine or bool(args.release),
        host=_host(args.host),
        requires=args.requires or "warn",
        **_switches(args),
    )


def _imported(args: argparse.Namespace) -> Report:
    with _warnings_kept() as kept:
        mgr = _manager(args)
        with mgr:
            report = _listed(mgr, args)
    report.warnings = kept
    return report


@contextlib.contextmanager
def _warnings_kept() -> Iterator[list[str]]:
    """The block's `PikeWarning`s, each kept (not shown) as its message; other warnings
    are shown as usual."""
    import warnings

    kept: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("always", PikeWarning)
        show = warnings.showwarning

        def keep(message: Any, category: Any, *rest: Any, **more: Any) -> None:
            if isinstance(category, type) and issubclass(category, PikeWarning):
                kept.append(_in_cli_words(str(message)))
            else:
                show(message, category, *rest, **more)

        warnings.showwarning = keep
        yield kept


def _release(args: argparse.Namespace, out: TextIO, err: TextIO | None) -> int:
    """``--release NAME``: lift each NAME's quarantine in PATH, say which files."""
    if args.static:
        raise UsageError("--release lifts a quarantine of imported plugins; leave out --static")
    with _warnings_kept() as kept:
        mgr = _manager(args)
    for message in kept:
        _say(err, f"pike: warning: {message}")
    with mgr:
        for name in args.release:
            for path in mgr.release(name):  # a PikeValueError for a name not held
                print(f"released {name} ({_display(path)})", file=out)
    return EXIT_OK


def _listed(mgr: PikeManager, args: argparse.Namespace) -> Report:
    """The report of what an active manager loads."""
    report = Report("import", mgr.search_paths, args.base, mgr.isolate, args.attrs)
    classes, declared = _select(mgr, args)
    if args.where:  # only the modules of the classes picked were imported
        names = dict.fromkeys(type_module(cls) or "?" for cls in classes)
        modules = {name: sys.modules.get(name) for name in names}
    else:
        modules = {module.__name__: module for module in mgr.get_modules()}
    lines: dict[str, dict[str, int]] = {}
    for cls in classes:
        module = type_module(cls) or "?"  # its name in sys.modules
        if module not in lines:
            lines[module] = _first_lines(modules.get(module))
        entry = mgr.entry_of(cls)
        bases = _BASES.__get__(cls)
        name = entry.name if entry is not None else module
        report.rows.append(
            Row(
                name,
                type_name(cls),
                [_base_name(b, module, mgr.entry_of(b)) for b in bases],
                entry.path if entry is not None else "",
                _line_of(cls, lines[module]),
                entry.source if entry is not None else "",
                declared.get((name, type_name(cls)), {}) if args.attrs else None,
            )
        )
    report.module_count = len(modules)
    report.errors = [_error_dict(e, args.traceback) for e in mgr.errors]
    report.skipped = [{"path": s.path, "reason": _in_cli_words(s.reason)} for s in mgr.skipped]
    return report


# -- static mode -------------------------------------------------------------------


def _static(args: argparse.Namespace) -> Report:
    from pike.discovery import static

    if args.quarantine or args.host or args.requires:
        raise UsageError(
            "--quarantine, --host and --requires are about importing plugins; leave out --static"
        )
    paths, base, isolate = args.paths, args.base, args.isolate
    if base is not None and ":" not in base and "." not in base and not base.isidentifier():
        raise UsageError(f"--base {base!r}: expected MODULE:CLASS or a class name")
    holds = _where(args.where) if args.where else None
    listing = static.list_classes(paths, base=base, isolate=isolate, **_switches(args))
    if base is not None and (":" in base or "." in base):
        _check_static_base(base, listing)
    report = Report("static", [os.path.abspath(p) for p in paths], base, isolate, args.attrs)
    report.rows = [
        Row(
            c.module,
            c.name,
            list(c.bases),
            c.path,
            c.lineno,
            c.source,
            c.attrs if args.attrs else None,
        )
        for c in listing.classes
        if holds is None or holds(c)
    ]
    report.module_count = len(listing.module_names)
    report.errors = [_error_dict(e, with_traceback=False) for e in listing.collisions] + [
        {
            "module": e.module,
            "file": e.path,
            "line": e.lineno,
            "kind": "parse",
            "message": str(e),
            "source": None,
        }
        for e in listing.errors
    ]
    report.skipped = [{"path": s.path, "reason": _in_cli_words(s.reason)} for s in listing.skipped]
    return report


def _check_static_base(spec: str, listing: StaticListing) -> None:
    """Raise a `UsageError` for a ``--base MODULE:CLASS`` whose module is nowhere, with no
    code run: MODULE must be a plugin module (parsed or not), or a module imported
    already or that can be found on ``sys.path``. (What CLASS names in it, a class or
    a name bound to one, static listing follows as it can.)"""
    module, _name = _split_base(spec)
    if module in listing.module_names or any(e.module == module for e in listing.errors):
        return
    if module in sys.modules:
        return
    try:
        found = importlib.util.find_spec(module.partition(".")[0]) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise UsageError(
            f"--base {spec!r}: no module {module!r} among the plugins or importable from "
            "here; give a plugin module in PATH or a module importable from here"
        )


# -- output ------------------------------------------------------------------------


def _display(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:  # pragma: no cover - another drive on Windows
        return path
    return path if relative.startswith(os.pardir) else relative


def _print_table(report: Report, out: TextIO) -> None:
    if report.rows:
        source = ("SOURCE",) if report.isolate else ()
        attrs = ("ATTRS",) if report.attrs else ()
        table = [("MODULE", "CLASS", "BASES", *attrs, *source, "FILE")]
        for row in report.rows:
            where = _display(row.file) if row.file else "?"
            if row.line:
                where += f":{row.line}"
            shown = (_display(row.source) if row.source else "?",) if report.isolate else ()
            declared = (_attrs_cell(row.attrs),) if report.attrs else ()
            bases = ", ".join(row.bases) or "-"
            table.append((row.module, row.name, bases, *declared, *shown, where))
        widths = [max(len(r[i]) for r in table) for i in range(len(table[0]) - 1)]
        for cells in table:
            print(
                "  ".join([*(c.ljust(w) for c, w in zip(cells, widths, strict=False)), cells[-1]]),
                file=out,
            )
        print(file=out)
    n = len(report.rows)
    what = (
        f"{'subclass' if n == 1 else 'subclasses'} of {report.base}"
        if report.base
        else ("plugin class" if n == 1 else "plugin classes")
    )
    modules = f"{report.module_count} module{'' if report.module_count == 1 else 's'}"
    how = " (static: nothing was run)" if report.mode == "static" else ""
    print(f"{n} {what} in {modules}{how}", file=out)


def _attrs_cell(attrs: Mapping[str, Any] | None) -> str:
    """The ATTRS cell: ``name=value`` pairs, the values as Python writes them."""
    return ", ".join(f"{name}={value!r}" for name, value in (attrs or {}).items()) or "-"


def _relative(message: str, search_paths: list[str]) -> str:
    """``message`` with the search paths written as the table writes them."""
    for path in search_paths:
        shown = _display(path)
        if shown != path:
            message = message.replace(path + os.sep, shown + os.sep)
    return message


def _print_problems(report: Report, err: TextIO) -> None:
    if report.errors:
        print(f"\nErrors ({len(report.errors)}):", file=err)
        for error in report.errors:
            print(f"  {_relative(error['message'], report.search_paths)}", file=err)
            if "traceback" in error:
                for line in error["traceback"].rstrip("\n").splitlines():
                    print(f"    {line}", file=err)
    if report.warnings:
        print(f"\nWarnings ({len(report.warnings)}):", file=err)
        for message in report.warnings:
            print(f"  {_relative(message, report.search_paths)}", file=err)
    if report.skipped:
        print(f"\nSkipped ({len(report.skipped)}):", file=err)
        for entry in report.skipped:
            print(f"  {_display(entry['path'])}: {entry['reason']}", file=err)


def _jsonable(value: object) -> object:
    """A literal as JSON holds it: tuples and sets as lists (sets sorted by how Python
    writes their items), dict keys as strings (all as Python writes them if one is not a
    string); what JSON has no word for (bytes,
    complex numbers, ``...``, a float that is not finite) as Python writes it."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if value - value == 0 else repr(value)
    if isinstance(value, (tuple, list)):
        return [_jsonable(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return [_jsonable(item) for item in sorted(value, key=repr)]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _jsonable(v) for k, v in value.items()}
        # A key that is not a string: every key as Python writes it, so 1 and "1" differ.
        return {repr(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


def _class_dict(row: Row, report: Report) -> dict[str, Any]:
    found: dict[str, Any] = {
        "module": row.module,
        "class": row.name,
        "bases": row.bases,
        "file": row.file or None,
        "line": row.line,
        "source": row.source or None,
    }
    if report.attrs:
        found["attrs"] = _jsonable(dict(row.attrs or {}))
    return found


def _print_json(report: Report, out: TextIO, *, one_line: bool = False) -> None:
    document = {
        "format": JSON_FORMAT,
        "pike": __version__,
        "mode": report.mode,
        "search_paths": report.search_paths,
        "base": report.base,
        "classes": [_class_dict(row, report) for row in report.rows],
        "errors": report.errors,
        "warnings": report.warnings,
        "skipped": report.skipped,
        "counts": {
            "classes": len(report.rows),
            "modules": report.module_count,
            "errors": len(report.errors),
            "warnings": len(report.warnings),
            "skipped": len(report.skipped),
        },
    }
    json.dump(document, out, indent=None if one_line else 2)  # ASCII: any file name survives
    out.write("\n")


# -- watch mode --------------------------------------------------------------------


def _watch(args: argparse.Namespace, out: TextIO, err: TextIO | None, real_out: bool) -> int:
    """``--watch``: the listing, then a line (a JSON object with ``--json``) per change as
    it is applied, until interrupted."""
    if args.static:
        raise UsageError("--watch loads the plugins and follows them; leave out --static")
    # While plugins run, what they print to file descriptor 1 goes to stderr: the report
    # is written to a descriptor of its own.
    stream = _own_stream(out) if real_out else out
    sink = err if err is not None else io.StringIO()
    try:
        with _plugin_output_to(sink, descriptors=real_out), _warnings_kept() as kept:
            mgr = _manager(args)
            with mgr:
                report = _listed(mgr, args)
                report.warnings = kept
                # Armed before the listing is out: a change made once it is seen is seen.
                with mgr.watch() as changes:
                    if args.json:
                        _print_json(report, stream, one_line=True)
                    else:
                        _print_table(report, stream)
                        if err is not None:
                            _print_problems(report, err)
                    stream.flush()
                    for change in changes:
                        _print_change(change, report.search_paths, stream, err, args)
    finally:
        if stream is not out:
            with contextlib.suppress(OSError, ValueError):
                stream.close()
    return EXIT_OK  # the manager was cleaned up: nothing more to follow


def _own_stream(out: TextIO) -> TextIO:
    """A stream of its own onto ``out``'s file descriptor (``out`` itself if it has none)."""
    try:
        fd = os.dup(out.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        return out
    encoding = getattr(out, "encoding", None) or "utf-8"
    return open(fd, "w", encoding=encoding, errors="backslashreplace")


def _print_change(
    change: RefreshReport,
    search_paths: list[str],
    out: TextIO,
    err: TextIO | None,
    args: argparse.Namespace,
) -> None:
    """One applied change: its report, as a line of the table's words or of JSON."""
    errors = [_error_dict(e, args.traceback) for e in change.errors]
    if args.json:
        document = {
            "added": change.added,
            "changed": change.changed,
            "removed": change.removed,
            "kept": change.kept,
            "errors": errors,
        }
        json.dump(document, out)
        out.write("\n")
    else:
        print(str(change), file=out)
        if err is not None:
            for error in errors:
                print(f"  {_relative(error['message'], search_paths)}", file=err)
            err.flush()
    out.flush()


@contextlib.contextmanager
def _plugin_output_to(err: TextIO, *, descriptors: bool) -> Iterator[None]:
    """What plugins print while they import goes to ``err``, so stdout stays the report's.

    With ``descriptors``, also what is written to file descriptor 1 directly.
    """
    fd_saved: int | None = None
    stdout = sys.__stdout__
    try:
        if descriptors and stdout is not None and sys.__stderr__ is not None:
            stdout.flush()
            fd_saved = os.dup(1)
            os.dup2(sys.__stderr__.fileno(), 1)  # output written to fd 1 directly, too
    except (OSError, ValueError, io.UnsupportedOperation):
        fd_saved = None
    try:
        with contextlib.redirect_stdout(err):
            yield
    finally:
        if fd_saved is not None:
            with contextlib.suppress(OSError, ValueError):
                if stdout is not None:
                    stdout.flush()
            os.dup2(fd_saved, 1)
            os.close(fd_saved)


def _escaping(stream: TextIO | None) -> None:
    """Let a terminal stream write any file name: what it cannot encode is escaped."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        with contextlib.suppress(Exception):
            reconfigure(errors="backslashreplace")


def _say(err: TextIO | None, message: str) -> None:
    if err is not None:
        with contextlib.suppress(Exception):
            print(message, file=err)
            err.flush()


def _silence_stdout() -> None:
    """After stdout failed: point it at devnull, so the exit does not fail again."""
    with contextlib.suppress(Exception):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run the command line; return the exit status."""
    real_out = out is None
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    if real_out:
        _escaping(out)
        _escaping(err)
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.paths and not args.clear_cache:
        parser.error("the following arguments are required: PATH")
    if out is None:  # stdout was closed (`pike PATH >&-`)
        _say(err, "pike: error: stdout is closed; nowhere to write the report")
        return EXIT_PLUGIN_ERRORS
    if args.clear_cache:
        cleared = _clear_cache(out if not args.paths else err, err)
        if not args.paths:
            return EXIT_OK if cleared else EXIT_PLUGIN_ERRORS
    try:
        if args.release:
            return _release(args, out, err)
        if args.watch:
            return _watch(args, out, err, real_out)
        if args.static:
            report = _static(args)
        else:
            sink = err if err is not None else io.StringIO()
            with _plugin_output_to(sink, descriptors=real_out):
                report = _imported(args)
    except (PikeError, UsageError) as exc:
        _say(err, f"pike: error: {_in_cli_words(str(exc))}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _say(err, "pike: interrupted")
        return 130
    except BrokenPipeError:  # --watch's reader went away
        _silence_stdout()
        return EXIT_OK
    status = EXIT_PLUGIN_ERRORS if report.errors else EXIT_OK
    try:
        if args.json:
            _print_json(report, out)
        else:
            _print_table(report, out)
        out.flush()
    except BrokenPipeError:  # pragma: no cover - test_closed_pipe_is_quiet, in a subprocess
        # The reader went away (`pike ... | head`): stop quietly, as other tools do.
        _silence_stdout()
        return status
    except (OSError, ValueError) as exc:  # a full disk, a closed file
        _say(err, f"pike: error: cannot write the report: {exc}")
        if real_out:
            _silence_stdout()
        return EXIT_PLUGIN_ERRORS
    if not args.json and err is not None:
        with contextlib.suppress(OSError, ValueError):  # stderr is gone: the status says it
            _print_problems(report, err)
    return status


def _clear_cache(out: TextIO, err: TextIO | None) -> bool:
    """Empty pike's cache folder and say so; False if it could not be done."""
    from pike import _cache

    try:
        folder, removed = _cache.clear()
    except OSError as exc:
        _say(err, f"pike: error: cannot clear the cache folder: {exc}")
        return False
    if folder is None:
        _say(out, "pike: caching is off (PIKE_CACHE_DIR, or no home folder): nothing to clear")
    else:
        _say(out, f"removed {removed} file{'' if removed == 1 else 's'} from {folder}")
    return True


def main_entry() -> None:  # pragma: no cover - the console script's wrapper
    """Entry point of the ``pike`` console script."""
    sys.exit(main())
