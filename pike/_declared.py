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

import marshal
from collections.abc import Callable
from typing import Any

from pike import _cache
from pike._filestate import FileState
from pike._paths import roots_of

__all__ = ["ABSENT", "DYNAMIC", "LITERAL", "NOTHING", "Declarations", "Declared", "read"]

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


def read(source: bytes, path: str) -> Declared:
    """What ``source`` (the file ``path``) declares; `NOTHING` if it cannot be parsed (its
    import says why)."""
    if not any(name in source for name in _BYTES):
        return NOTHING
    import ast

    from pike import _literals

    try:
        tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return NOTHING
    try:
        found = _literals.bindings(ast, tree.body, source, _NAMES).names
    except (RecursionError, MemoryError):
        return NOTHING
    return (*_declared(found.get(REQUIRES)), *_declared(found.get(VERSION)))


def _declared(bound: tuple[int, Any, int] | None) -> tuple[int, Any, int | None]:
    """A name's ``(kind, value, line)`` as `Declared` holds it."""
    from pike import _literals  # imported by `read` already: only to parse

    if bound is None:
        return ABSENT, None, None
    kind, value, line = bound
    if kind == _literals.LITERAL:
        return LITERAL, value, line
    return DYNAMIC, None, line


def _valid(value: object) -> bool:
    """True if ``value`` (read back from a cache file) is a `Declared`: each kind one of
    the three, each line an int in range exactly when the name is declared (None when it
    is not). Asked of each module's kept value on a warm load, so kept short
    ("requires 1000" row)."""
    if type(value) is not tuple or len(value) != 6:
        return False
    kind, _value, line, version_kind, _version, version_line = value
    # Each line None or an int, as its kind says (so ordered with ints, if not None).
    return (
        type(kind) is int
        and type(version_kind) is int
        and _LINE_TYPE.get(kind) is type(line)
        and _LINE_TYPE.get(version_kind) is type(version_line)
        and (line is None or 0 < line < _MAX_LINE)  # type: ignore[operator]
        and (version_line is None or 0 < version_line < _MAX_LINE)  # type: ignore[operator]
    )


# The type of a name's line, by how it is declared (`_valid`).
_LINE_TYPE: dict[int, type] = {ABSENT: type(None), LITERAL: int, DYNAMIC: int}
_MAX_LINE = 2**31


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

    #: What a module without source declares, for the gate: nothing that can be read.
    nothing = NOTHING

    def of(
        self,
        search_path: str,
        path: str,
        vouch: FileState | int,
        source: Callable[[], bytes],
    ) -> Declared:
        """What the file ``path`` (in ``search_path``) declares. ``vouch`` vouches for what
        is kept of it: its state (unless its times are too recent to trust: then it is
        read, and not kept), or an archive member's CRC-32; ``source`` reads it."""
        if type(vouch) is int:
            mark: tuple[int, int] | None = (1, vouch)
        elif vouch.digest is None:  # type: ignore[union-attr]
            mark = (0, vouch.mark)  # type: ignore[union-attr]
        else:
            mark = None
        relative = path[len(search_path) + 1 :]  # the walk joined them
        table = self._tables.get(search_path)  # read once (`_table`), then looked up
        if table is None and search_path in self._roots:
            table = self._table(search_path)
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
        """Write the table of each search path that learned something. Files that declare
        the same ``__requires__`` share one value, which marshal writes once (a folder of
        plugins that all declare one reads back fast, and it is checked once: the
        "requires 1000" benchmark row)."""
        for search_path in sorted(self._changed):
            shared: dict[bytes, object] = {}
            files = {}
            # A copy, read at once: an import in another thread may add to the table.
            for relative, kept in list(self._tables[search_path].items()):
                if type(kept) is tuple and len(kept) == 2 and _valid(kept[1]):
                    declared = kept[1]
                    try:
                        requires = shared.setdefault(marshal.dumps(declared[1]), declared[1])
                    except ValueError:  # not marshal's: as good as not kept
                        continue
                    files[relative] = (kept[0], (declared[0], requires, *declared[2:]))
            _cache.write(
                "declared-" + _cache.key_of("declared", search_path),
                {"root": search_path, "files": files},
                avoid=self._avoid,
                folders=(search_path,),
            )
        self._changed.clear()
