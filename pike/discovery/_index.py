"""The discovery index: what static listing learned about the search paths, kept between runs.

Two kinds of cache file (see `pike._cache` for where, and how they are kept
private and written):

* one per search path: its walk (modules, skipped entries, and the state of
  every folder the walk looked at), and for each module file the facts static
  listing draws from parsing it (its classes: name, line, bases as written and
  as resolved, what its body binds to literals and otherwise; the names its top level
  binds and its ``__plugin__``; or the error that kept it from parsing), with the
  state of the file they were drawn from;
* one per set of search paths: a whole listing, with every class's ancestors,
  and the state of every folder and file it was made from. A warm listing
  reads this file alone and stats each file (`Index.kept_listing`).

Everything is judged by the file state of `pike._filestate`: a walk is
reused, and a file's facts trusted, while what they were drawn from has the
state it had; a folder or file whose times were too recent to trust, or that
could not be looked at, is not vouched for, and a listing that depends on one
is not kept. Every value read back is checked (types and ranges) before it is
used; a file that does not check out is as good as none. A missing, corrupt,
foreign or unwritable index costs a parse, never an error or a wrong answer;
nothing is ever written into the search paths.
"""

from __future__ import annotations

import itertools
import marshal
import os
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from itertools import compress
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal

from pike import _cache, _walk
from pike._filestate import FileState, changed, changed_in
from pike._literals import all_literal, is_literal
from pike._paths import roots_of
from pike._value import ReadOnlyDict
from pike._walk import ModuleEntry, SkippedEntry

if TYPE_CHECKING:
    from typing_extensions import TypeIs

    from pike._archive import Archive

__all__ = ["ClassFacts", "Facts", "Index", "KeptListing"]

#: A class as the index keeps it: ``(name, line, bases as written, bases resolved,
#: attrs, dynamic names, every name its body defines)``.
ClassFacts = tuple[
    str, int, tuple[str, ...], tuple[str, ...], dict[str, object], tuple[str, ...], tuple[str, ...]
]

#: What the index keeps of a parsed file: ``(classes, bindings, error, plugin, notes)``;
#: classes as `ClassFacts`, bindings as ``(name, target)`` pairs, error as ``(line or
#: None, message)`` (then nothing else), plugin the module's ``__plugin__`` dict, notes
#: ``(line, message)`` for what was left out (a literal too long to read...).
Facts = tuple[
    tuple[ClassFacts, ...],
    tuple[tuple[str, str], ...],
    "tuple[int | None, str] | None",
    dict[object, object],
    tuple[tuple[int, str], ...],
]

#: What an index keeps of one archive: its state (as data), what was stored of its
#: members (unchecked), and what this listing keeps: ``member -> (CRC-32, facts)``.
_ArchiveFacts = tuple[object, dict[object, object], dict[str, tuple[int, Facts]]]

#: Each class's attrs and dynamic names, and each module's ``__plugin__``.
_Extras = tuple[list[Mapping[str, Any]], list[frozenset[str]], list[Mapping[Any, Any]]]
# A kept listing's classes, field by field (`KeptListing.fields`).
_Fields = tuple[Sequence[Any], ...]

#: What a class or module without attributes or ``__plugin__`` has: one shared value.
NO_ATTRS: Mapping[Any, Any] = ReadOnlyDict()
NO_NAMES: frozenset[str] = frozenset()

_MAX_LINE = 2**31
# The size of an item of each `_Code` (a native array's, as a memory view casts it).
_SIZE = {code: memoryview(bytes(8)).cast(code).itemsize for code in ("I", "q")}
_UINT32 = _SIZE["I"]
_SEPARATORS = (os.sep, os.altsep) if os.altsep else (os.sep,)


def _is_pair(value: object) -> bool:
    return type(value) is tuple and len(value) == 2 and _cache.strings(value)


def _valid_facts(value: object) -> bool:
    """True if ``value`` is `Facts`, every part of the right type and range."""
    if type(value) is not tuple or len(value) != 5:
        return False
    classes, bindings, error, plugin, notes = value
    if type(classes) is not tuple or type(bindings) is not tuple:
        return False
    for cls in classes:
        if type(cls) is not tuple or len(cls) != 7:
            return False
        name, line, bases, resolved, attrs, dynamic, members = cls
        if type(name) is not str or not _is_line(line):
            return False
        if not _cache.strings(bases) or not _cache.strings(resolved):
            return False
        if not _is_attrs(attrs) or not _cache.strings(dynamic) or not _cache.strings(members):
            return False
    if not all(_is_pair(pair) for pair in bindings):
        return False
    if type(plugin) is not dict or not is_literal(plugin) or type(notes) is not tuple:
        return False
    for note in notes:
        if type(note) is not tuple or len(note) != 2 or not _is_line(note[0]):
            return False
        if type(note[1]) is not str:
            return False
    if error is None:
        return True
    if type(error) is not tuple or len(error) != 2 or classes or bindings or plugin or notes:
        return False
    line, message = error
    return type(message) is str and (line is None or (type(line) is int and 0 < line < _MAX_LINE))


def _is_line(value: object) -> bool:
    return type(value) is int and 0 < value < _MAX_LINE


def _is_attrs(value: object) -> bool:
    """True if ``value`` is a class's attrs: a dict of names to literals."""
    return type(value) is dict and _cache.strings(tuple(value)) and is_literal(value)


def _is_archive_facts(value: object) -> TypeIs[tuple[object, dict[object, object]]]:
    """True if ``value`` is an archive's ``(state data, members)`` as the index stores it
    (the state is checked by `Archive.holds`, each member when it is looked up)."""
    return type(value) is tuple and len(value) == 2 and type(value[1]) is dict


def _is_member_facts(value: object) -> TypeIs[tuple[int, Facts]]:
    """True if ``value`` is a member's ``(CRC-32, facts)``, every part checked."""
    if type(value) is not tuple or len(value) != 2:
        return False
    return type(value[0]) is int and _valid_facts(value[1])


def _start(search_path: str) -> int:
    """Where a path inside ``search_path`` begins to be relative to it (past the
    separator; a search path such as ``/`` ends in one)."""
    return len(search_path) + (not search_path.endswith(_SEPARATORS))


def _walk_data(walk: _walk.Walk, search_path: str) -> tuple[object, ...]:
    start = _start(search_path)
    return (
        tuple((path, state.to_data()) for path, state in walk.folders),
        tuple((e.name, e.path[start:], e.is_package) for e in walk.modules),
        tuple((e.path, e.reason) for e in walk.skipped),
    )


def _walk_from(data: object, search_path: str) -> _walk.Walk | None:
    """The walk ``_walk_data`` stored, if it checks out; else None."""
    if type(data) is not tuple or len(data) != 3:
        return None
    folders, modules, skipped = data
    if type(folders) is not tuple or not folders or type(modules) is not tuple:
        return None
    states: list[tuple[str, FileState]] = []
    for item in folders:
        if type(item) is not tuple or len(item) != 2 or type(item[0]) is not str:
            return None
        state = FileState.from_data(item[1])
        if state is None:
            return None
        states.append((item[0], state))
    if states[0][0] != search_path:
        return None
    walk = _walk.Walk([], _skipped_from(skipped) or [], states)
    if _skipped_from(skipped) is None or not walk.is_current():
        return None
    prefix = os.path.join(search_path, "")
    for item in modules:
        if type(item) is not tuple or len(item) != 3:
            return None
        name, relative, package = item
        if type(name) is not str or type(relative) is not str or type(package) is not bool:
            return None
        walk.modules.append(ModuleEntry(name, prefix + relative, search_path, package))
    return walk


def _skipped_from(data: object) -> list[SkippedEntry] | None:
    if type(data) is not tuple or not all(_is_pair(item) for item in data):
        return None
    return [SkippedEntry(path, reason) for path, reason in data]


def _packed(values: list[int], code: str) -> bytes:
    """``values`` as one native array of ``code`` items (``struct``'s letters).

    :raises OverflowError: a value does not fit.
    """
    import struct  # only to write an index: reading one needs none

    try:
        return struct.pack(f"{len(values)}{code}", *values)
    except struct.error as exc:
        raise OverflowError(f"{exc}") from None


_Code = Literal["I", "q"]  # unsigned 32-bit, signed 64-bit
#: A kept listing's packed columns, one number per class, and how each is packed.
COLUMNS: tuple[tuple[str, _Code], ...] = (
    ("owners", "I"),
    ("lines", "I"),
    ("bases", "I"),
    ("resolved", "I"),
    ("ancestors", "I"),
)


def _unpacked(value: object, code: _Code, count: int) -> memoryview[int] | None:
    """The ``count`` items of a `_packed` array, or None if ``value`` is not one."""
    if type(value) is not bytes or len(value) != count * _SIZE[code]:
        return None
    return memoryview(value).cast(code)


class _KeptFiles:
    """The files a kept listing was made from, stored by folder: a folder's path (ending
    in a separator) once, then its files' names.

    ``prefixes`` are the folders; ``runs`` packed pairs (a position in
    ``prefixes``, how many of the next ``names`` lie there); ``hashes`` each
    file's state as ``hash(key)``. Whole paths are made only when asked for,
    and each folder's files are looked at in that folder (`pike._filestate.changed_in`).
    """

    __slots__ = ("count", "hashes", "names", "prefixes", "runs")

    def __init__(
        self,
        prefixes: tuple[str, ...],
        runs: list[tuple[int, int]],
        names: list[str],
        hashes: memoryview[int],
    ) -> None:
        self.prefixes = prefixes
        self.runs = runs
        self.names = names
        self.hashes = hashes
        self.count = len(names)

    @classmethod
    def of(cls, paths: list[str], hashes: list[int]) -> tuple[object, ...]:
        """What is stored for the files at ``paths`` whose states hash to ``hashes``."""
        prefixes: dict[str, int] = {}
        runs: list[int] = []
        names: list[str] = []
        for path in paths:
            cut = max(path.rfind(sep) for sep in _SEPARATORS) + 1
            at = prefixes.setdefault(path[:cut], len(prefixes))
            if runs and runs[-2] == at:
                runs[-1] += 1
            else:
                runs += (at, 1)
            names.append(path[cut:])
        return (tuple(prefixes), _packed(runs, "I"), "\0".join(names), _packed(hashes, "q"))

    @classmethod
    def checked(cls, data: object) -> _KeptFiles | None:
        """The files ``data`` (as `of` made it) holds, or None if a value is wrong."""
        if type(data) is not tuple or len(data) != 4:
            return None
        prefixes, packed_runs, joined, packed_hashes = data
        if not _cache.strings(prefixes) or type(joined) is not str:
            return None
        if not all(prefix.endswith(_SEPARATORS) for prefix in prefixes):
            return None
        # A name is one file's: no separator, not "." or ".." (none could reach
        # outside its folder), none empty.
        if any(sep in joined for sep in _SEPARATORS):
            return None
        names = joined.split("\0") if joined else []
        if "" in names or "." in names or ".." in names:
            return None
        if type(packed_runs) is not bytes or len(packed_runs) % (2 * _UINT32) != 0:
            return None
        flat = _unpacked(packed_runs, "I", len(packed_runs) // _UINT32)
        hashes = _unpacked(packed_hashes, "q", len(names))
        if flat is None or hashes is None:
            return None
        runs = list(zip(flat[::2], flat[1::2], strict=True))
        if any(at >= len(prefixes) or not size for at, size in runs):
            return None
        if sum(size for _at, size in runs) != len(names):
            return None
        return cls(prefixes, runs, names, hashes)

    def hold(self) -> bool:
        """True if every file still has its state: one stat each."""
        prefixes = self.prefixes
        folders = itertools.chain.from_iterable(
            itertools.repeat(prefixes[at], size) for at, size in self.runs
        )
        return not changed_in(folders, self.names, self.hashes)

    def paths(self, count: int) -> list[str]:
        """The first ``count`` files' paths."""
        paths: list[str] = []
        start = 0
        for at, size in self.runs:
            if start >= count:
                break
            end = min(start + size, count)
            paths += map(self.prefixes[at].__add__, self.names[start:end])
            start = end
        return paths


class KeptListing:
    """A whole listing read back from the index.

    ``modules`` are the names parsed, ``paths`` their files (made when first asked
    for); ``count`` classes, with their names and packed columns: ``owners`` (a
    position in ``modules``), ``lines``, and ``bases``, ``resolved``,
    ``ancestors`` (positions in ``tuples``, the distinct tuples of dotted names).
    ``errors`` are ``(module, path, line, message)``; ``skipped`` the entries
    skipped.

    The modules, errors and skipped entries are checked when it is read; the
    classes (30,000 of them for a folder of 10,000 modules: the "warm listing
    10000" and "one of 10000, static route" benchmark rows) when they are first
    needed, and only those needed: `ancestors` to pick them, `fields` to make them.
    """

    __slots__ = (
        "_declared",
        "_files",
        "_names",
        "_packed",
        "_paths",
        "_plugins",
        "_text",
        "_token",
        "_values",
        "count",
        "errors",
        "modules",
        "skipped",
        "tuples",
    )

    def __init__(
        self,
        document: dict[str, Any],
        files: _KeptFiles,
        values: Callable[[], dict[str, Any] | None],
    ) -> None:
        self.modules: tuple[str, ...] = document["modules"]
        self._files = files
        self._paths: list[str] | None = None
        self.count: int = document["count"]
        self.tuples: tuple[tuple[str, ...], ...] = document["tuples"]
        self.errors: tuple[tuple[str, str, int | None, str], ...] = document["errors"]
        self.skipped: tuple[tuple[str, str], ...] = document["skipped"]
        # The classes' names, one text with a line each as stored (anything else: not
        # a listing to believe), split when first asked for.
        names = document.get("names")
        self._text: str | None = names if type(names) is str else None
        self._names: list[str] | None = None
        self._packed = [document.get(name) for name, _code in COLUMNS]
        # What classes declare, in a document of its own (`Index.keep`): read by
        # ``values`` when classes are first made, believed if it has this one's token.
        self._token = document.get("values")
        self._values: Callable[[], dict[str, Any] | None] | None = values
        self._declared: object = None  # `_kept_values`
        self._plugins: object = None

    @classmethod
    def checked(
        cls,
        document: dict[str, Any],
        files: _KeptFiles,
        values: Callable[[], dict[str, Any] | None],
    ) -> KeptListing | None:
        """The listing ``document`` holds, or None if a value is not as it should be.

        ``files`` are the files it was made from: the modules' first, in order;
        ``values`` reads the document of what its classes declare.
        """
        try:
            modules, count, tuples = document["modules"], document["count"], document["tuples"]
            errors, skipped = document["errors"], document["skipped"]
        except KeyError:
            return None
        if not _cache.strings(modules) or len(modules) > files.count:
            return None
        if type(count) is not int or not 0 <= count < _MAX_LINE:
            return None
        if type(tuples) is not tuple or not all(_cache.strings(t) for t in tuples):
            return None
        if type(errors) is not tuple:
            return None
        for error in errors:
            if type(error) is not tuple or len(error) != 4:
                return None
            module, path, line, message = error
            if not (type(module) is str and type(path) is str and type(message) is str):
                return None
            if line is not None and (type(line) is not int or not 0 < line < _MAX_LINE):
                return None
        if _skipped_from(skipped) is None:
            return None
        return cls(document, files, values)

    @property
    def paths(self) -> list[str]:
        """The modules' files, in the order of ``modules``."""
        if self._paths is None:
            self._paths = self._files.paths(len(self.modules))
        return self._paths

    def _names_of(self) -> list[str] | None:
        if self._names is None and self._text is not None:
            split = self._text.split("\n") if self.count else []
            self._text = None
            self._names = split if len(split) == self.count else None
        return self._names

    def ancestors(self) -> memoryview[int] | None:
        """Each class's ancestors (a position in ``tuples``), checked; None if wrong."""
        column = _unpacked(self._packed[4], COLUMNS[4][1], self.count)
        if column is None or (self.count and max(column) >= len(self.tuples)):
            return None
        return column

    def fields(self, positions: list[int] | None = None) -> _Fields | None:
        """The classes at ``positions`` (every class when None), as `StaticClass`'s
        fields but their source: ``modules, names, paths, lines, bases, resolved,
        attrs, dynamic, plugins``, a sequence each, checked; None if a value is wrong.

        Only those classes' values are read, and they are checked all at once
        (`pike._literals.all_literal`), not a class at a time: the one class a
        base picks costs next to nothing, a folder's worth as little as it can
        ("one of 10000, static route", "warm listing 10000, every class" and
        "select one of 10000" rows).
        """
        every: list[Any] = [
            self._names_of(),
            *(
                _unpacked(value, code, self.count)
                for value, (_n, code) in zip(self._packed[:4], COLUMNS, strict=False)
            ),
        ]
        if None in every:
            return None
        if positions is not None:
            if positions and not (min(positions) >= 0 and max(positions) < self.count):
                return None
            every = [list(map(column.__getitem__, positions)) for column in every]
        names, owners, lines, bases, resolved = every
        if owners and (
            max(owners) >= len(self.modules)
            or not 0 < min(lines) <= max(lines) < _MAX_LINE
            or max(itertools.chain(bases, resolved)) >= len(self.tuples)
        ):
            return None
        extras = self._extras(positions, owners)
        if extras is None:
            return None
        tuples = self.tuples.__getitem__
        return (
            list(map(self.modules.__getitem__, owners)),
            names,
            list(map(self.paths.__getitem__, owners)),
            lines,
            list(map(tuples, bases)),
            list(map(tuples, resolved)),
            *extras,
        )

    def _kept_values(self) -> tuple[tuple[bytes, ...], tuple[bytes, ...]] | None:
        """What each class and each module declares, serialised (b"": nothing), from the
        document of this listing's token (read on first use); None if it is not that."""
        if self._values is not None:
            document, self._values = self._values(), None
            if type(self._token) is bytes and document and document.get("token") == self._token:
                self._declared, self._plugins = document.get("declared"), document.get("plugins")
        declared = _blobs(self._declared, self.count)
        plugins = _blobs(self._plugins, len(self.modules))
        if declared is None or plugins is None:
            return None
        return declared, plugins

    def _extras(self, positions: list[int] | None, owners: Sequence[int]) -> _Extras | None:
        """The attrs and dynamic names of the classes at ``positions`` (all when None),
        and the ``__plugin__`` of each one's module (``owners``), as read-only values
        (shared empties where there are none); None if one is wrong."""
        kept = self._kept_values()
        if kept is None:
            return None
        declared, plugins = kept
        modules: Sequence[int] = range(len(plugins))
        if positions is not None:
            declared = tuple(map(declared.__getitem__, positions))
            modules = sorted(set(owners))
            plugins = tuple(map(plugins.__getitem__, modules))
        try:
            values = list(map(marshal.loads, compress(declared, declared)))
            made = list(map(marshal.loads, compress(plugins, plugins)))
        except Exception:  # truncated, corrupt (marshal may raise SystemError), too big...
            return None
        if values and (set(map(type, values)) != {tuple} or set(map(len, values)) != {2}):
            return None
        at = list(compress(itertools.count(), declared))
        attrs = [(i, a) for i, (a, _d) in zip(at, values, strict=True) if a is not None]
        dynamic = [(i, d) for i, (_a, d) in zip(at, values, strict=True) if d is not None]
        literals = [*map(_SECOND, attrs), *made]
        if set(map(type, literals)) - {dict} or not all_literal(literals):
            return None
        if not _cache.strings(tuple(itertools.chain.from_iterable(literals[: len(attrs)]))):
            return None
        if not all(map(_cache.strings, map(_SECOND, dynamic))):
            return None
        count = len(declared)
        shared = dict.fromkeys(modules, NO_ATTRS)  # each module's, by its position
        shared.update(zip(compress(modules, plugins), map(ReadOnlyDict, made), strict=True))
        return (
            _spread(attrs, ReadOnlyDict, NO_ATTRS, count),
            _spread(dynamic, frozenset, NO_NAMES, count),
            list(map(shared.__getitem__, owners)),
        )


class Index:
    """The index of ``search_paths``, read on first use and saved if it changed."""

    def __init__(self, search_paths: list[str]) -> None:
        self._roots = tuple(search_paths)
        self._avoid = roots_of(search_paths)  # never written inside a search path
        self._documents: dict[str, dict[str, Any]] = {}
        self._walks: dict[str, tuple[object, ...]] = {}  # what to save of each stored walk
        # The state (as data) and facts of each file this listing used, by relative path.
        self._seen: dict[str, dict[str, tuple[tuple[object, ...], Facts]]] = {}
        self._changed: set[str] = set()
        # The state of each file about to be parsed (None: it could not be looked at).
        self._pending: dict[str, FileState | None] = {}
        # The archives this listing read, by search path and relative path.
        self._archives: dict[str, dict[str, _ArchiveFacts]] = {}
        self._unvouched = False
        self._folders: list[tuple[str, FileState]] = []
        self._now = time.time_ns()

    def _name(self, search_path: str) -> str:
        return "index-" + _cache.key_of("static", search_path)

    def _listing_name(self) -> str:
        return "listing-" + _cache.key_of("static", self._roots)

    def _document(self, search_path: str) -> dict[str, Any]:
        document = self._documents.get(search_path)
        if document is None:
            document = _cache.read(self._name(search_path)) or {}
            if document.get("root") != search_path or type(document.get("files")) is not dict:
                document = {"files": {}}
            self._documents[search_path] = document
        return document

    # -- the walk ------------------------------------------------------------------

    def walk(self) -> _walk.Walk:
        """The walk of every search path: each one's stored walk while it is current."""
        out = _walk.Walk([], [])
        for search_path in self._roots:
            walk = _walk_from(self._document(search_path).get("walk"), search_path)
            if walk is None:
                walk = _walk.walk([search_path], now_ns=self._now)
                self._changed.add(search_path)
                if walk.vouched:
                    self._walks[search_path] = _walk_data(walk, search_path)
            else:
                now = self._now
                if any(state.settled(now) is not state for _path, state in walk.folders):
                    # A digest no longer needed goes (see kept_listing).
                    walk.folders = [(path, state.settled(now)) for path, state in walk.folders]
                    self._walks[search_path] = _walk_data(walk, search_path)
                    self._changed.add(search_path)
                else:
                    self._walks[search_path] = self._document(search_path)["walk"]
            out.modules.extend(walk.modules)
            out.skipped.extend(walk.skipped)
            out.folders.extend(walk.folders)
            out.vouched = out.vouched and walk.vouched
        self._unvouched = self._unvouched or not out.vouched
        self._folders = out.folders
        return out

    # -- the files -----------------------------------------------------------------

    def known(self, entries: list[ModuleEntry]) -> dict[str, Facts]:
        """The stored facts of those ``entries`` whose files are as they were, by name.

        One stat per file. The others are stat'ed once more, for `store`.
        """
        candidates: list[tuple[ModuleEntry, str, FileState, Facts]] = []
        for entry in entries:
            files = self._document(entry.search_path)["files"]
            relative = entry.path[_start(entry.search_path) :]
            stored = files.get(relative)
            if type(stored) is tuple and len(stored) == 2 and _valid_facts(stored[1]):
                state = FileState.from_data(stored[0])
                if state is not None:
                    candidates.append((entry, relative, state, stored[1]))
        stale = set(changed((c[0].path, c[2]) for c in candidates))
        found: dict[str, Facts] = {}
        for i, (entry, relative, state, facts) in enumerate(candidates):
            if i in stale:
                continue
            settled = state.settled(self._now)
            if settled is not state:
                self._changed.add(entry.search_path)
            self._seen.setdefault(entry.search_path, {})[relative] = (settled.to_data(), facts)
            found[entry.key] = facts
        for entry in entries:
            if entry.key not in found:
                try:
                    st = os.stat(entry.path)
                except OSError:
                    self._pending[entry.path] = None
                    continue
                self._pending[entry.path] = FileState.of(st, entry.path, self._now)
        return found

    def store(self, entry: ModuleEntry, facts: Facts) -> None:
        """Keep the ``facts`` of ``entry``'s file, parsed after `known` took its state."""
        self._changed.add(entry.search_path)
        state = self._pending.pop(entry.path, None)
        if state is None:
            self._unvouched = True  # it could not be looked at: nothing to vouch by
            return
        relative = entry.path[_start(entry.search_path) :]
        self._seen.setdefault(entry.search_path, {})[relative] = (state.to_data(), facts)

    # -- archive members --------------------------------------------------------------

    def _members(
        self, archive: Archive, search_path: str
    ) -> tuple[dict[object, object], dict[str, tuple[int, Facts]]]:
        """What the index holds of ``archive``'s members while `Archive.holds` says it
        does (else nothing), and what this listing keeps of them, by member."""
        relative = archive.path[_start(search_path) :]
        seen = self._archives.setdefault(search_path, {})
        held = seen.get(relative)
        if held is None:
            state = archive.state.settled(self._now).to_data()
            stored = self._document(search_path).get("archives")
            kept = stored.get(relative) if type(stored) is dict else None
            members: dict[object, object] = {}
            if _is_archive_facts(kept) and archive.holds(kept[0]):
                members = kept[1]
                if kept[0] != state:
                    self._changed.add(search_path)
            held = seen[relative] = (state, members, {})
        return held[1], held[2]

    def known_members(self, archive: Archive, entries: list[ModuleEntry]) -> dict[str, Facts]:
        """The stored facts of ``entries``, members of ``archive`` read in place, whose
        archive is as it was and member has the same CRC-32, by key. Nothing is read
        but the archive's state, taken when it was opened."""
        found: dict[str, Facts] = {}
        for entry in entries:
            stored, kept = self._members(archive, entry.search_path)
            member = archive.member_of(entry.path)
            facts = stored.get(member)
            crc = archive.crc_of(member)
            if _is_member_facts(facts) and facts[0] == crc:
                kept[member] = (crc, facts[1])
                found[entry.key] = facts[1]
        return found

    def store_member(self, archive: Archive, entry: ModuleEntry, facts: Facts) -> None:
        """Keep the ``facts`` of ``entry``, a member of ``archive`` parsed in place."""
        self._changed.add(entry.search_path)
        member = archive.member_of(entry.path)
        self._members(archive, entry.search_path)[1][member] = (archive.crc_of(member), facts)

    # -- the whole listing ------------------------------------------------------------

    def kept_listing(self) -> KeptListing | None:
        """The stored whole listing of these search paths, if nothing it depends on changed.

        Valid while every folder of the walks and every file parsed has its
        state (one stat each).
        """
        document = _cache.read(self._listing_name())
        if document is None or document.get("roots") != self._roots:
            return None
        folders, files = document.get("folders"), document.get("files")
        if type(folders) is not tuple or not folders:
            return None
        states = [_folder_from(item) for item in folders]
        if None in states:
            return None
        kept_files = _KeptFiles.checked(files)
        if kept_files is None:
            return None
        values = partial(_cache.read, self._listing_name() + _VALUES)
        listing = KeptListing.checked(document, kept_files, values)
        if listing is None:
            return None
        if any(state.settled(self._now) is not state for state in states):  # type: ignore[union-attr]
            # A folder kept with a digest (its times were too recent to trust) that can be
            # trusted now: listed once more, so that what is kept needs no digest (each
            # warm listing would read the folder whole again: "warm listing 10000" row).
            return None
        if changed(zip((path for path, _state in folders), states, strict=True)):  # type: ignore[arg-type]
            return None
        if not kept_files.hold():
            return None
        return listing

    def can_keep(self, collisions: list[Any]) -> bool:
        """Whether this listing may be kept whole: no collision, and everything it was
        made from vouched for (no time too recent, nothing that could not be looked at)."""
        if collisions or self._unvouched or self._pending:
            return False
        if any(path not in self._walks for path in self._roots):
            return False
        return all(facts[0][5] is None for seen in self._seen.values() for facts in seen.values())

    def keep(self, columns: dict[str, object], files: list[ModuleEntry]) -> None:
        """Keep a whole listing (see `can_keep`): ``columns`` as `KeptListing` names them,
        made from ``files`` (the modules' first, in order; then those that did not parse)."""
        paths: list[str] = []
        hashes: list[int] = []
        for entry in files:
            seen = self._seen.get(entry.search_path, {})
            state = seen.get(entry.path[_start(entry.search_path) :])
            if state is None:  # pragma: no cover - can_keep vouched for each file
                return
            paths.append(entry.path)
            hashes.append(hash(tuple(state[0][:5])))
        packed = dict(columns)
        try:
            for name, code in COLUMNS:
                packed[name] = _packed(columns[name], code)  # type: ignore[arg-type]
            stated = _KeptFiles.of(paths, hashes)
        except OverflowError:  # a number that does not fit (a line past 2**32...): not kept
            return
        # What classes declare, serialised a class (a module) at a time, in a document of
        # its own: read only when classes are made, and only theirs looked at
        # (`KeptListing.fields`); a listing that only counts them never reads it, and
        # it is most of the bytes ("warm listing 10000" benchmark row). Written first,
        # under a token the listing names: a listing never believes another's values.
        attrs, dynamic, plugins = (dict(packed.pop(name, ())) for name in _EXTRAS)  # type: ignore[call-overload]
        token = os.urandom(8)
        values = {
            "token": token,
            "declared": tuple(
                marshal.dumps((attrs.get(i), dynamic.get(i))) if i in attrs or i in dynamic else b""
                for i in range(packed["count"])  # type: ignore[call-overload]
            ),
            "plugins": tuple(
                marshal.dumps(plugins[i]) if i in plugins else b""
                for i in range(len(packed["modules"]))  # type: ignore[arg-type]
            ),
        }
        name = self._listing_name()
        _cache.write(name + _VALUES, values, avoid=self._avoid, folders=self._roots)
        document = {
            **packed,
            "values": token,
            "roots": self._roots,
            "folders": tuple((path, state.to_data()) for path, state in self._folders),
            "files": stated,
        }
        _cache.write(name, document, avoid=self._avoid, folders=self._roots)

    def save(self) -> None:
        """Write the index of each search path whose walk or files changed."""
        for search_path in self._roots:
            document = self._document(search_path)
            seen = self._seen.get(search_path, {})
            archives = self._archives.get(search_path, {})
            stored = document.get("archives")
            unchanged = search_path not in self._changed and len(seen) == len(document["files"])
            if unchanged and len(archives) == (len(stored) if type(stored) is dict else 0):
                continue
            _cache.write(
                self._name(search_path),
                {
                    "root": search_path,
                    "walk": self._walks.get(search_path),
                    "files": seen,
                    "archives": {path: (held[0], held[2]) for path, held in archives.items()},
                },
                avoid=self._avoid,
                folders=(search_path,),
            )


_Pairs = Sequence[tuple[int, Any]]
#: The tables of what classes declare, kept serialised apart, a class at a time.
_EXTRAS = ("attrs", "dynamic", "plugins")
#: The end of the name of a kept listing's document of what its classes declare.
_VALUES = "-values"
_FIRST = itemgetter(0)
_SECOND = itemgetter(1)


def _blobs(value: object, count: int) -> tuple[bytes, ...] | None:
    """``value`` if it is a tuple of ``count`` bytes objects, else None."""
    if type(value) is not tuple or len(value) != count:
        return None
    if value and set(map(type, value)) != {bytes}:
        return None
    return value


def _spread(pairs: _Pairs, make: Callable[[Any], Any], empty: Any, count: int) -> list[Any]:
    """``count`` items: ``make(value)`` at each pair's position, ``empty`` elsewhere
    (made in bulk: a folder's classes at once)."""
    made = list(map(make, map(_SECOND, pairs)))
    positions = list(map(_FIRST, pairs))
    if positions == list(range(count)):  # every position, in order
        return made
    spread = [empty] * count
    for position, value in zip(positions, made, strict=True):
        spread[position] = value
    return spread


def _folder_from(item: object) -> FileState | None:
    """The state of a ``(path, state data)`` pair, if it is one."""
    if type(item) is not tuple or len(item) != 2 or type(item[0]) is not str:
        return None
    return FileState.from_data(item[1])
