"""What a plugin module's source declares at its top level, read with ``ast``; nothing runs.

The classes (name, line, bases as written and as resolved through the module's
imports, what each class body binds to literals and otherwise, by the rule of
`pike._literals`), the names the top level binds and its ``__plugin__``, or the
error that keeps the file from being read or parsed: the facts static listing draws from a file, as
plain data (`pike.discovery._index.Facts`), which is also what the discovery
index keeps. Imported only when a file must be parsed: a warm listing needs
no ``ast``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import cast

from pike import _literals
from pike._archive import ArchiveError
from pike._walk import ModuleEntry
from pike.discovery._index import ClassFacts, Facts

__all__ = ["facts_of"]


PLUGIN = "__plugin__"


class _Module:
    """One module being read: its classes, the names its top level binds, and what it
    reports (a literal too long to read)."""

    __slots__ = ("bindings", "classes", "entry", "notes", "source")

    def __init__(self, entry: ModuleEntry, source: bytes) -> None:
        self.entry = entry
        self.source = source
        self.bindings: dict[str, str] = {}
        self.classes: list[ClassFacts] = []
        self.notes: list[tuple[int, str]] = []


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


def _scan_body(body: list[ast.stmt], module: _Module) -> None:
    """Record the classes and bindings of statements run at import time (in order)."""
    entry = module.entry
    bindings = module.bindings
    for node in body:
        if isinstance(node, ast.ClassDef):
            attrs, dynamic, members = _body_of(node, module)
            module.classes.append(
                (
                    node.name,
                    node.lineno,
                    tuple(_source(b) for b in node.bases),
                    tuple(_resolve(b, bindings) for b in node.bases),
                    attrs,
                    dynamic,
                    members,
                )
            )
            bindings[node.name] = f"{entry.name}.{node.name}"
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(entry, node.module, node.level)
            for alias in node.names:
                if alias.name != "*":
                    bindings[alias.asname or alias.name] = f"{source}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bindings[alias.asname] = alias.name
                else:
                    head = alias.name.partition(".")[0]
                    bindings[head] = head
        elif isinstance(node, _BLOCKS):
            for nested in _nested_bodies(node):
                _scan_body(nested, module)


def _body_of(
    node: ast.ClassDef, module: _Module
) -> tuple[dict[str, object], tuple[str, ...], tuple[str, ...]]:
    """A class body's literal attributes, its dynamic names, and every name it defines
    (bare annotations included)."""
    found = _literals.bindings(ast, node.body, module.source, class_body=True)
    attrs: dict[str, object] = {}
    dynamic: list[str] = []
    for name, (kind, value, _line) in found.names.items():
        if kind == _literals.LITERAL:
            attrs[name] = value
        elif kind == _literals.DYNAMIC:
            dynamic.append(name)
    for name, line in found.too_long:
        module.notes.append(
            (
                line,
                f"class {node.name}: the value of {name!r} is over "
                f"{_literals.MAX_TEXT // 1024} KiB of source; it is left out of attrs",
            )
        )
    members = list(found.names)
    for item in node.body:
        target = item.target if isinstance(item, ast.AnnAssign) else None
        if isinstance(target, ast.Name) and target.id not in found.names:
            members.append(target.id)
    return attrs, tuple(dynamic), tuple(members)


def _plugin_of(tree: ast.Module, module: _Module) -> dict[object, object]:
    """The module's ``__plugin__`` dict literal (empty if it has none); anything else
    bound to the name is a note."""
    if PLUGIN.encode() not in module.source:
        return {}
    found = _literals.bindings(ast, tree.body, module.source, (PLUGIN,))
    bound = found.names.get(PLUGIN)
    if bound is None:
        return {}
    kind, value, line = bound
    if kind == _literals.LITERAL and type(value) is dict:
        return value
    if found.too_long:
        why = f"over {_literals.MAX_TEXT // 1024} KiB of source"
    elif kind == _literals.LITERAL:
        why = f"a literal of type {type(value).__name__}, not a dict"
    else:
        why = "not a literal"
    module.notes.append((line, f"{PLUGIN} is {why}; it is left out (pass a dict literal)"))
    return {}


def facts_of(entry: ModuleEntry, read: Callable[[], bytes] | None = None) -> Facts:
    """What ``entry``'s file declares, or why it cannot be read or analysed.

    ``read`` gives the source where it is no file of its own (an archive's
    member). A class's binding of its own name is left out: a reader of the
    facts finds ``module.Class`` among the classes before it looks at any binding.
    """
    try:
        if read is not None:
            source = read()
        else:
            with open(entry.path, "rb") as f:
                source = f.read()
        tree = ast.parse(source, filename=entry.path)
    except SyntaxError as exc:
        return ((), (), (exc.lineno, f"SyntaxError: {exc.msg}"), {}, ())
    except (OSError, ValueError, RecursionError, MemoryError, ArchiveError) as exc:
        return ((), (), (None, f"{type(exc).__name__}: {exc}"), {}, ())
    module = _Module(entry, source)
    try:
        _scan_body(tree.body, module)
        plugin = _plugin_of(tree, module)
    except (RecursionError, MemoryError) as exc:
        # An expression nested too deep to walk (say ``1+1+...+1`` a thousand times).
        why = f"{type(exc).__name__}: a statement is nested too deep to analyse"
        return ((), (), (None, why), {}, ())
    prefix = entry.name + "."
    own = {cls[0] for cls in module.classes}
    bindings = tuple(
        (k, v) for k, v in module.bindings.items() if not (k in own and v == prefix + k)
    )
    return (tuple(module.classes), bindings, None, plugin, tuple(module.notes))
