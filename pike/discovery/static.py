"""Listing plugin classes from source alone: no plugin code runs (contract C10).

    from pike.discovery import static

    listing = static.list_classes(["plugins"], base="Driver")
    for cls in listing.classes:
        print(cls.module, cls.name, cls.bases, f"{cls.path}:{cls.lineno}")

Files are found by the same rules as discovery (C3) and parsed with `ast`;
nothing is imported, executed or written. Base classes are resolved through
each module's imports, so ``base`` follows inheritance across the scanned files.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

from pike import _cache, _walk
from pike._gc import collector_paused
from pike._loading import name_collision
from pike._paths import SearchPaths, normalize_search_paths
from pike._walk import ModuleEntry, SkippedEntry
from pike.discovery._index import Index
from pike.errors import PikeTypeError, PluginCollisionError, _a_type_name
from pike.finder import PROTECTED_NAMES

__all__ = ["StaticClass", "StaticError", "StaticListing", "list_classes"]


class StaticClass(NamedTuple):
    """A class statement at the top level of a plugin module.

    ``bases`` are the base-class expressions as written; ``resolved_bases`` the
    same names followed through the module's imports (``from bases import
    Driver as D`` makes ``D`` resolve to ``bases.Driver``). Immutable; a named
    tuple, which the index (C16) makes by the ten thousand.
    """

    module: str
    name: str
    path: str
    lineno: int
    bases: tuple[str, ...]
    resolved_bases: tuple[str, ...]

    @property
    def qualname(self) -> str:
        """``module.Class``."""
        return f"{self.module}.{self.name}"

    @property
    def file(self) -> str:
        """The same as ``path`` (the contract's word)."""
        return self.path

    @property
    def line(self) -> int:
        """The same as ``lineno``."""
        return self.lineno


@dataclass(frozen=True, slots=True)
class StaticError:
    """A plugin file that could not be read or parsed."""

    module: str
    path: str
    lineno: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}, line {self.lineno}" if self.lineno else self.path
        return f"plugin module {self.module!r} cannot be parsed ({where}): {self.message}"


@dataclass(slots=True)
class StaticListing:
    """What [`list_classes`][pike.discovery.static.list_classes] found: classes in C3
    order, the modules parsed,
    errors, skipped entries."""

    classes: list[StaticClass] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)
    errors: list[StaticError] = field(default_factory=list)
    skipped: list[SkippedEntry] = field(default_factory=list)
    collisions: list[PluginCollisionError] = field(default_factory=list)

    def __iter__(self) -> Iterator[StaticClass]:
        """Iterating a listing iterates its classes."""
        return iter(self.classes)

    def __len__(self) -> int:
        return len(self.classes)


class _Module:
    """One parsed module: its classes and the names its top level binds."""

    __slots__ = ("bindings", "classes", "entry")

    def __init__(self, entry: ModuleEntry) -> None:
        self.entry = entry
        self.bindings: dict[str, str] = {}
        self.classes: list[StaticClass] = []


def _package_of(entry: ModuleEntry) -> str:
    return entry.name if entry.is_package else entry.name.rpartition(".")[0]


def _absolute(entry: ModuleEntry, module: str | None, level: int) -> str:
    """The absolute module name of ``from <level dots><module> import ...``."""
    if level == 0:
        return module or ""
    package = _package_of(entry)
    parts = package.split(".") if package else []
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    if module:
        parts.append(module)
    return ".".join(parts)


def _dotted(node: ast.expr) -> str | None:
    """``a.b.C`` for a name or attribute chain, else None."""
    attrs: list[str] = []
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    attrs.append(node.id)
    return ".".join(reversed(attrs))


def _source(node: ast.expr) -> str:
    """A base-class expression as written (cheaply, for the common dotted names)."""
    return _dotted(node) or ast.unparse(node)


def _resolve(node: ast.expr, bindings: dict[str, str]) -> str:
    """The dotted name a base-class expression refers to, through ``bindings``."""
    if isinstance(node, ast.Subscript):  # Generic[T], Base[int]
        return _resolve(node.value, bindings)
    attrs: list[str] = []
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        head = bindings.get(node.id, node.id)
        return ".".join([head, *reversed(attrs)])
    return ast.unparse(node)


_TRIES: tuple[type[ast.stmt], ...] = (ast.Try, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()))
_BLOCKS = (ast.If, ast.With, *_TRIES)


def _nested_bodies(node: ast.stmt) -> list[list[ast.stmt]]:
    """The statement lists of a top-level if/try/try-except*/with, in source order."""
    if isinstance(node, ast.If):
        return [node.body, node.orelse]
    if isinstance(node, _TRIES):
        tried = cast(ast.Try, node)  # ast.TryStar has the same fields
        return [tried.body, *(h.body for h in tried.handlers), tried.orelse, tried.finalbody]
    return [cast(ast.With, node).body]


def _scan_module(entry: ModuleEntry, tree: ast.Module) -> _Module:
    module = _Module(entry)
    _scan_body(tree.body, module)
    return module


def _scan_body(body: list[ast.stmt], module: _Module) -> None:
    """Record the classes and bindings of statements run at import time (in order)."""
    entry = module.entry
    bindings = module.bindings
    classdef, import_, importfrom = ast.ClassDef, ast.Import, ast.ImportFrom
    for node in body:
        kind = type(node)
        if kind is classdef:
            node = cast(ast.ClassDef, node)
            module.classes.append(
                StaticClass(
                    entry.name,
                    node.name,
                    entry.path,
                    node.lineno,
                    tuple(_source(b) for b in node.bases),
                    tuple(_resolve(b, bindings) for b in node.bases),
                )
            )
            bindings[node.name] = f"{entry.name}.{node.name}"
        elif kind is importfrom:
            node = cast(ast.ImportFrom, node)
            source = _absolute(entry, node.module, node.level)
            for alias in node.names:
                if alias.name != "*":
                    bindings[alias.asname or alias.name] = f"{source}.{alias.name}"
        elif kind is import_:
            node = cast(ast.Import, node)
            for alias in node.names:
                if alias.asname:
                    bindings[alias.asname] = alias.name
                else:
                    head = alias.name.partition(".")[0]
                    bindings[head] = head
        elif isinstance(node, _BLOCKS):
            for nested in _nested_bodies(node):
                _scan_body(nested, module)


def _parse(entry: ModuleEntry) -> tuple[ast.Module | StaticError, bytes | None]:
    """The file's tree (or why there is none), and the bytes it was parsed from."""
    source = None
    try:
        with open(entry.path, "rb") as f:
            source = f.read()
        return ast.parse(source, filename=entry.path), source
    except SyntaxError as exc:
        error = StaticError(entry.name, entry.path, exc.lineno, f"SyntaxError: {exc.msg}")
    except (OSError, ValueError, RecursionError, MemoryError) as exc:
        error = StaticError(entry.name, entry.path, None, f"{type(exc).__name__}: {exc}")
    return error, source


class _Hierarchy:
    """Inheritance among the scanned classes, with re-exports followed."""

    def __init__(self, modules: dict[str, _Module]) -> None:
        self._modules = modules
        self._classes = {c.qualname: c for m in modules.values() for c in m.classes}

    def _canonical(self, name: str) -> str:
        """Follow re-exports (``pkg.Impl`` bound in pkg to ``pkg.impl.Impl``)."""
        for _ in range(len(self._modules) + 1):
            if name in self._classes:
                return name
            module, _, attr = name.rpartition(".")
            target = self._modules.get(module)
            bound = target.bindings.get(attr) if target is not None else None
            if bound is None or bound == name:
                return name
            name = bound
        return name  # pragma: no cover - a cycle of re-exports

    def ancestors(self, cls: StaticClass) -> list[str]:
        """Every base of ``cls``, transitively, as canonical dotted names."""
        seen: list[str] = []
        pending = [self._canonical(b) for b in cls.resolved_bases]
        while pending:
            name = pending.pop()
            if name in seen:
                continue
            seen.append(name)
            parent = self._classes.get(name)
            if parent is not None:
                pending.extend(self._canonical(b) for b in parent.resolved_bases)
        return seen


def _matches(ancestors: list[str], base: str) -> bool:
    if "." in base:
        return base in ancestors
    return any(name.rpartition(".")[2] == base for name in ancestors)


def list_classes(search_paths: SearchPaths, base: str | None = None) -> StaticListing:
    """List the top-level classes of the plugin modules in ``search_paths``.

    ``search_paths`` is taken as [`PikeManager`][pike.manager.PikeManager] takes it
    (same errors). With ``base`` (``"Driver"``, ``"bases.Driver"`` or
    ``"bases:Driver"``), keep the classes that derive from it, directly or
    through other scanned classes; a bare name matches any class of that name.
    Files that do not parse are in ``errors``; modules without source (``.pyc``,
    extension modules) in ``skipped``; modules that would not load because of
    their name alone (a standard-library name, a name an earlier search path
    has) in ``collisions``, as the errors a manager would report, and their
    classes are not listed.
    """
    paths = normalize_search_paths(search_paths)
    if base is not None and not isinstance(base, str):
        raise PikeTypeError(f"base is {_a_type_name(base)}; pass a class name as a str")
    if base is None:
        return _listed(paths, None)
    wanted = base.replace(":", ".")
    return _listed(paths, lambda ancestors: _matches(ancestors, wanted))


def _listed(paths: list[str], keep: Callable[[list[str]], bool] | None) -> StaticListing:
    """The listing of ``paths``: the classes whose ancestors (dotted names) ``keep`` accepts."""
    index = Index(paths) if _cache.directory() is not None else None
    if index is not None:
        with collector_paused:
            snapshot = index.snapshot()
        if snapshot is not None:
            return _from_snapshot(snapshot, keep)
    modules: dict[str, _Module] = {}
    with collector_paused:  # ASTs are acyclic: reference counting frees them
        walk = index.walk() if index is not None else _walk.walk(paths)
        listing = StaticListing(skipped=list(walk.skipped))
        _scan_entries(walk.modules, listing, modules, index)
    classes = [c for m in modules.values() for c in m.classes]
    kept_whole = index is not None and index.can_keep(listing.collisions)
    ancestry: list[list[str]] | None = None  # each class's ancestors, worked out once
    if keep is not None or kept_whole:
        hierarchy = _Hierarchy(modules)
        ancestry = [hierarchy.ancestors(c) for c in classes]
    if index is not None:
        if kept_whole and ancestry is not None:
            index.keep_snapshot(_snapshot_of(listing, classes, list(modules), ancestry))
        index.save()
    if keep is not None and ancestry is not None:
        classes = [c for c, ancestors in zip(classes, ancestry, strict=True) if keep(ancestors)]
    listing.classes = classes
    listing.modules = list(modules)
    return listing


def _snapshot_of(
    listing: StaticListing,
    classes: list[StaticClass],
    modules: list[str],
    ancestry: list[list[str]],
) -> dict[str, object]:
    """A whole listing (before any ``base`` filter) as plain data, for the index.

    With each class's ancestors, so that a filtered listing needs no parse either.
    """
    return {
        "classes": tuple(tuple(c) for c in classes),
        "ancestors": tuple(tuple(ancestors) for ancestors in ancestry),
        "modules": tuple(modules),
        "errors": tuple((e.module, e.path, e.lineno, e.message) for e in listing.errors),
        "skipped": tuple((e.path, e.reason) for e in listing.skipped),
    }


def _from_snapshot(
    snapshot: dict[str, Any], keep: Callable[[list[str]], bool] | None
) -> StaticListing:
    make = tuple.__new__  # StaticClass's own __new__, without its argument parsing
    stored = snapshot["classes"]
    if keep is not None:
        decided: dict[tuple[str, ...], bool] = {}  # most classes share their ancestors
        kept = []
        for cls, ancestors in zip(stored, snapshot["ancestors"], strict=True):
            verdict = decided.get(ancestors)
            if verdict is None:
                verdict = decided[ancestors] = keep(list(ancestors))
            if verdict:
                kept.append(cls)
        stored = kept
    return StaticListing(
        classes=[make(StaticClass, c) for c in stored],
        modules=list(snapshot["modules"]),
        errors=[StaticError(*e) for e in snapshot["errors"]],
        skipped=[SkippedEntry(*e) for e in snapshot["skipped"]],
    )


def _scan_entries(
    entries: list[ModuleEntry],
    listing: StaticListing,
    modules: dict[str, _Module],
    index: Index | None = None,
) -> None:
    first: dict[str, ModuleEntry] = {}  # top-level name -> the first entry that has it
    collided = False  # the current top-level entry would not load, by its name alone
    sources: list[ModuleEntry] = []
    for entry in entries:
        name = entry.name
        if "." not in name:
            held = first.setdefault(name, entry)
            # The common case first: the first of its name, and no protected name.
            if held is entry and name not in PROTECTED_NAMES:
                collided = False
            else:
                error = name_collision(entry, held)
                collided = error is not None
                if error is not None:
                    listing.collisions.append(error)
        if collided:
            continue  # a colliding module, or a submodule of a colliding package
        if not entry.path.endswith(".py"):
            reason = "no source to read (bytecode or extension module); listed when imported"
            listing.skipped.append(SkippedEntry(entry.path, reason))
            continue
        sources.append(entry)
    known = index.known(sources) if index is not None else {}
    for entry in sources:
        record = known.get(entry.name)
        found = _from_record(entry, record) if record is not None else None
        if found is None:
            found, source = _scan_file(entry)
            if index is not None:
                index.store(entry, _record_of(found), source)
        if isinstance(found, StaticError):
            listing.errors.append(found)
        else:
            modules[entry.name] = found


def _scan_file(entry: ModuleEntry) -> tuple[_Module | StaticError, bytes | None]:
    """Parse one file: its classes and bindings, or why it cannot be analysed; its bytes."""
    tree, source = _parse(entry)
    if isinstance(tree, StaticError):
        return tree, source
    try:
        return _scan_module(entry, tree), source
    except (RecursionError, MemoryError) as exc:
        # An expression nested too deep to walk (say ``1+1+...+1`` a thousand times).
        error = StaticError(
            entry.name,
            entry.path,
            None,
            f"{type(exc).__name__}: a statement is nested too deep to analyse",
        )
        return error, source


def _record_of(found: _Module | StaticError) -> tuple[object, object]:
    """What the index keeps of a scanned file, as plain data.

    ``(classes, bindings)``: each class as four consecutive items (name, line,
    bases as written, bases resolved), and the bindings less each class's own
    (which nothing reads); or ``(None, (line, message))`` for an error.
    """
    if isinstance(found, StaticError):
        return (None, (found.lineno, found.message))
    classes: list[object] = []
    for c in found.classes:
        classes += (c.name, c.lineno, c.bases, c.resolved_bases)
    prefix = found.entry.name + "."
    names = {c.name for c in found.classes}
    bindings = {k: v for k, v in found.bindings.items() if not (k in names and v == prefix + k)}
    return (tuple(classes), bindings)


def _from_record(entry: ModuleEntry, record: tuple[Any, Any]) -> _Module | StaticError | None:
    """A scanned file again from its index record; None if it does not hold together."""
    try:
        classes, second = record
        if classes is None:
            lineno, message = second
            if not isinstance(message, str) or not (lineno is None or isinstance(lineno, int)):
                return None
            return StaticError(entry.name, entry.path, lineno, message)
        name, path = entry.name, entry.path
        make = tuple.__new__  # StaticClass's own __new__, without its argument parsing
        items = iter(classes)
        found = [
            make(StaticClass, (name, cls, path, line, bases, resolved))
            for cls, line, bases, resolved in zip(items, items, items, items, strict=False)
        ]
        # A class's binding of its own name is not stored: the hierarchy finds
        # ``module.Class`` among the classes before it looks at any binding.
        bindings = second if type(second) is dict else dict(second)
    except (TypeError, ValueError, IndexError):
        return None
    module = _Module(entry)
    module.bindings = bindings
    module.classes = found
    return module
