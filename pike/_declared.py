"""What a plugin module declares about itself, ``__requires__`` and ``__version__``, read
from its source without running it, and kept in pike's cache folder.

A module declares them as literals at its top level (docs/misbehaving.md,
"Requirements"). Only a module whose compiled code names one of them is read at
all (the gate asks its code's names, which the loader has in hand:
`pike._gate.Gate.before_run`); its source is then searched for the names and, if
they are there, parsed with ``ast`` and each value read with ``ast.literal_eval``. What a file
declares is kept with the discovery index, per search path, by the state of the
file (`pike._filestate`: a file whose times are too recent to trust is read
again next time), and every value read back is checked before it is used.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from pike import _cache
from pike._filestate import FileState
from pike._paths import roots_of

__all__ = ["ABSENT", "DYNAMIC", "LITERAL", "NOTHING", "Declarations", "Declared", "mark_of", "read"]

REQUIRES = "__requires__"
VERSION = "__version__"
_NAMES = (REQUIRES, VERSION)
_BYTES = tuple(name.encode("ascii") for name in _NAMES)

#: How a name is declared: not at all, as a literal, or otherwise (a call, a name, a
#: binding inside ``if`` or ``try``...: pike cannot tell its value without running it).
ABSENT, LITERAL, DYNAMIC = 0, 1, 2

#: ``(requires kind, requires value, its line, version kind, version value, its line)``.
Declared = tuple[int, Any, "int | None", int, Any, "int | None"]
NOTHING: Declared = (ABSENT, None, None, ABSENT, None, None)

_KINDS = (ABSENT, LITERAL, DYNAMIC)
_MAX_LINE = 2**31


def read(source: bytes, path: str) -> Declared:
    """What ``source`` (the file ``path``) declares; `NOTHING` if it cannot be parsed (its
    import says why)."""
    if not any(name in source for name in _BYTES):
        return NOTHING
    import ast

    try:
        tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return NOTHING
    found: dict[str, tuple[int, Any, int]] = {}

    def bind(name: str, kind: int, value: Any, line: int) -> None:
        if name in _NAMES:
            found[name] = (kind, value if kind == LITERAL else None, line)

    def scan(body: list[ast.stmt], top: bool) -> None:
        for node in body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and target.id in _NAMES:
                        kind, value = _literal(ast, node.value) if top else (DYNAMIC, None)
                        bind(target.id, kind, value, node.lineno)
                    else:
                        for name in _names_in(ast, target):
                            bind(name, DYNAMIC, None, node.lineno)
            elif isinstance(node, ast.AugAssign):
                for name in _names_in(ast, node.target):
                    bind(name, DYNAMIC, None, node.lineno)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bind(node.name, DYNAMIC, None, node.lineno)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    bind((alias.asname or alias.name).partition(".")[0], DYNAMIC, None, node.lineno)
            else:  # if, try, with, for, while, match: whatever they bind is not a literal
                for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                    nested = getattr(node, field, None)
                    if isinstance(nested, list):
                        scan([n for n in nested if isinstance(n, ast.stmt)], False)
                        for part in nested:
                            inner = getattr(part, "body", None)
                            if not isinstance(part, ast.stmt) and isinstance(inner, list):
                                scan(inner, False)

    try:
        scan(tree.body, True)
    except (RecursionError, MemoryError):
        return NOTHING
    requires = found.get(REQUIRES, (ABSENT, None, None))
    version = found.get(VERSION, (ABSENT, None, None))
    return (*requires, *version)


def _literal(ast: Any, node: object) -> tuple[int, Any]:
    try:
        return LITERAL, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return DYNAMIC, None


def _names_in(ast: Any, target: object) -> list[str]:
    """The names an assignment target binds (``a, (b, c)``, ``*d``)."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for item in target.elts for name in _names_in(ast, item)]
    if isinstance(target, ast.Starred):
        return _names_in(ast, target.value)
    return []


def _valid(value: object) -> bool:
    """True if ``value`` (read back from a cache file) is a `Declared`."""
    if type(value) is not tuple or len(value) != 6:
        return False
    for kind, line in ((value[0], value[2]), (value[3], value[5])):
        if kind not in _KINDS or type(kind) is not int:
            return False
        if line is not None and (type(line) is not int or not 0 < line < _MAX_LINE):
            return False
        if (kind == ABSENT) != (line is None):
            return False
    return True


class Declarations:
    """What the modules of ``search_paths`` declare, read once per file state and kept in
    pike's cache folder (one file per search path, read on first use, saved by `save`)."""

    def __init__(self, search_paths: list[str]) -> None:
        self._roots = tuple(search_paths)
        self._avoid = roots_of(search_paths)
        self._tables: dict[str, dict[str, object]] = {}
        self._changed: set[str] = set()

    def _table(self, search_path: str) -> dict[str, object]:
        table = self._tables.get(search_path)
        if table is None:
            document = _cache.read("declared-" + _cache.key_of("declared", search_path))
            table = {}
            if document is not None and document.get("root") == search_path:
                files = document.get("files")
                if type(files) is dict:
                    table = files
            self._tables[search_path] = table
        return table

    def of(
        self,
        search_path: str,
        path: str,
        mark: tuple[int, int] | None,
        source: Callable[[], bytes],
    ) -> Declared:
        """What the file ``path`` (in ``search_path``) declares. ``mark`` vouches for what
        is kept of it (``(kind, number)``: its state's or an archive member's CRC-32), or
        None if nothing can (then it is read, and not kept); ``source`` reads it."""
        relative = path[len(search_path) :].lstrip(os.sep)
        table = self._table(search_path) if search_path in self._roots else None
        if table is not None and mark is not None:
            kept = table.get(relative)
            if type(kept) is tuple and len(kept) == 2 and kept[0] == mark and _valid(kept[1]):
                return kept[1]  # type: ignore[no-any-return]
        try:
            declared = read(source(), path)
        except OSError:
            return NOTHING  # gone or unreadable: its import says so
        if table is not None and mark is not None:
            table[relative] = (mark, declared)
            self._changed.add(search_path)
        return declared

    def save(self) -> None:
        """Write the table of each search path that learned something."""
        for search_path in sorted(self._changed):
            _cache.write(
                "declared-" + _cache.key_of("declared", search_path),
                {"root": search_path, "files": self._tables[search_path]},
                avoid=self._avoid,
                folders=(search_path,),
            )
        self._changed.clear()


def mark_of(state: FileState) -> tuple[int, int] | None:
    """What vouches for a file's kept declarations: its state, unless its times are too
    recent to trust."""
    return None if state.digest is not None else (0, state.mark)
