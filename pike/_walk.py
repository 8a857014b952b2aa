"""Walking plugin folders: which entries are plugin modules, and which are skipped.

Pure filesystem work, nothing is imported. The rules (contract C3):

* a file whose name ends with an import suffix (``.py``, ``.pyc``, an extension
  module suffix) is a module, ``__init__`` excepted;
* a directory holding an ``__init__`` file is a package, walked to any depth;
* ``__pycache__`` is passed over; hidden entries, invalid names, directories
  without ``__init__``, unreadable entries and symbolic-link loops are skipped
  with a reason;
* entries are ordered by module name within a folder, so every walk gives the
  same order whatever the filesystem returns.
"""

from __future__ import annotations

import errno
import keyword
import os
import string
import time
from bisect import bisect_left
from importlib import machinery

from pike import _log
from pike._filestate import is_racy
from pike.errors import SearchPathError

__all__ = [
    "Listing",
    "ModuleEntry",
    "SkippedEntry",
    "Walk",
    "find_entries",
    "is_valid_name",
    "module_name_of",
    "package_init",
    "scan_folder",
    "top_level",
    "top_level_names",
    "vanished",
    "walk",
]

logger = _log.get(__name__)

# Suffixes in FileFinder's order of precedence: extension modules, then source,
# then bytecode. A package directory takes precedence over all of them.
_SUFFIXES: tuple[str, ...] = (
    *machinery.EXTENSION_SUFFIXES,
    *machinery.SOURCE_SUFFIXES,
    *machinery.BYTECODE_SUFFIXES,
)
# Longest first, so ".cpython-311-x86_64-linux-gnu.so" wins over ".so".
_MATCH_ORDER: tuple[str, ...] = tuple(sorted(_SUFFIXES, key=len, reverse=True))
_RANK = {suffix: rank for rank, suffix in enumerate(_SUFFIXES)}
_PACKAGE_RANK = -1
_BYTECODE = tuple(machinery.BYTECODE_SUFFIXES)
_SOURCE_RANK = _RANK[".py"]
# Stems that pass str.isidentifier() but are no plugin module name.
_RESERVED = frozenset(keyword.kwlist) | {"__init__", "__main__"}
_RESERVED_SORTED = sorted(_RESERVED)
# The characters of an ASCII identifier, as bytes to delete in one pass.
_IDENTIFIER_BYTES = (string.ascii_letters + string.digits + "_").encode("ascii")


class ModuleEntry:
    """A plugin module found on disk.

    ``name`` is the full dotted name, ``path`` the file that is imported (a
    package's ``__init__`` file), ``search_path`` the search path it lies in.
    Immutable, compared and hashed by value.
    """

    # Written out rather than a frozen dataclass: dataclasses (and inspect,
    # which it imports) would double the time `import pike` takes (C16).
    __slots__ = ("is_package", "name", "path", "search_path")
    __match_args__ = ("name", "path", "search_path", "is_package")

    name: str
    path: str
    search_path: str
    is_package: bool

    def __init__(self, name: str, path: str, search_path: str, is_package: bool = False) -> None:
        _set = object.__setattr__
        _set(self, "name", name)
        _set(self, "path", path)
        _set(self, "search_path", search_path)
        _set(self, "is_package", is_package)

    def _key(self) -> tuple[str, str, str, bool]:
        return (self.name, self.path, self.search_path, self.is_package)

    def __eq__(self, other: object) -> bool:
        if type(other) is not ModuleEntry:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"ModuleEntry(name={self.name!r}, path={self.path!r}, "
            f"search_path={self.search_path!r}, is_package={self.is_package!r})"
        )

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: a ModuleEntry is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: a ModuleEntry is immutable")

    def __reduce__(self) -> tuple[object, ...]:
        return (ModuleEntry, self._key())


class SkippedEntry:
    """A folder entry that is not loaded, and why. Immutable, compared by value."""

    __slots__ = ("path", "reason")
    __match_args__ = ("path", "reason")

    path: str
    reason: str

    def __init__(self, path: str, reason: str) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "reason", reason)

    def __eq__(self, other: object) -> bool:
        if type(other) is not SkippedEntry:
            return NotImplemented
        return (self.path, self.reason) == (other.path, other.reason)

    def __hash__(self) -> int:
        return hash((self.path, self.reason))

    def __repr__(self) -> str:
        return f"SkippedEntry(path={self.path!r}, reason={self.reason!r})"

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: a SkippedEntry is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: a SkippedEntry is immutable")

    def __reduce__(self) -> tuple[object, ...]:
        return (SkippedEntry, (self.path, self.reason))


class Walk:
    """What one walk found: modules in load order, and skipped entries.

    ``folders`` are the folders it listed with their modification times, and
    ``listed_ns`` when it started: a later walk can tell from them whether the
    listings can have changed. ``loaded_at``: the registry version at which
    each of ``modules`` was known to be loaded, with a record holding that very
    entry (see pike._refresh.plan).
    """

    __slots__ = ("folders", "listed_ns", "loaded_at", "modules", "skipped")

    def __init__(
        self,
        modules: list[ModuleEntry],
        skipped: list[SkippedEntry],
        folders: list[tuple[str, int]] | None = None,
        listed_ns: int = 0,
        loaded_at: int | None = None,
    ) -> None:
        self.modules = modules
        self.skipped = skipped
        self.folders: list[tuple[str, int]] = [] if folders is None else folders
        self.listed_ns = listed_ns
        self.loaded_at = loaded_at

    def is_current(self) -> bool:
        """True if no folder this walk listed can have changed since (one stat each).

        A folder whose time was too recent to trust when it was listed (two
        changes may fall in one tick of the clock) is taken as changed.
        """
        listed = self.listed_ns
        for path, mtime_ns in self.folders:
            try:
                st = os.stat(path)
            except OSError:
                return False
            if st.st_mtime_ns != mtime_ns or is_racy(mtime_ns, listed):
                return False
        return True


def module_name_of(filename: str) -> str | None:
    """The module name a file name stands for, or None if it is not a module file."""
    for suffix in _MATCH_ORDER:
        if filename.endswith(suffix) and len(filename) > len(suffix):
            return filename[: -len(suffix)]
    return None


def _suffix_of(filename: str) -> str:
    for suffix in _MATCH_ORDER:
        if filename.endswith(suffix):
            return suffix
    raise ValueError(filename)  # pragma: no cover - only called on module files


def is_valid_name(name: str) -> bool:
    """True for a name ``import`` can spell: an identifier that is not a keyword."""
    return name.isidentifier() and not keyword.iskeyword(name)


def package_init(directory: str) -> str | None:
    """The ``__init__`` file that makes ``directory`` a package, or None."""
    common = os.path.join(directory, "__init__.py")
    if os.path.isfile(common):
        return common
    for suffix in _SUFFIXES:
        candidate = os.path.join(directory, "__init__" + suffix)
        if os.path.isfile(candidate):
            return candidate
    return None


def _classify(entry: os.DirEntry[str]) -> tuple[str, int, str | None] | str | None:
    """``(name, rank, init)`` for a module entry, a reason to skip it, or None to pass."""
    filename = entry.name
    if filename == "__pycache__":
        return None
    if filename.startswith("."):
        return "hidden entry (name starts with a dot)"
    try:
        is_dir = entry.is_dir()
        is_file = not is_dir and entry.is_file()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop (the link leads back to itself)"
        return f"cannot be read: {exc.strerror or exc}"
    init: str | None = None
    if is_dir:
        init = package_init(entry.path)
        if init is None:
            return "directory without __init__.py (not a package)"
        name, rank = filename, _PACKAGE_RANK
    elif is_file:
        stem = module_name_of(filename)
        if stem is None or stem == "__init__":
            return None
        name, rank = stem, _RANK[_suffix_of(filename)]
    elif entry.is_symlink() and not os.path.exists(entry.path):
        return "cannot be read: broken symbolic link"
    elif module_name_of(filename) is not None:
        return "not a regular file (a device, pipe or socket)"
    else:
        return None
    if name == "__main__":
        return "__main__ is a package's entry point, not a plugin module"
    if not is_valid_name(name):
        what = "a Python keyword" if keyword.iskeyword(name) else "not a valid Python identifier"
        return f"name {name!r} is {what}, so it cannot be imported; rename it"
    return name, rank, init


class Listing:
    """One folder's modules and packages.

    ``sources`` are the sorted names of plain ``NAME.py`` modules (kept bare,
    as listing needs no path); ``others`` maps every other module or package name
    to ``(path, init)``: ``init`` is the ``__init__`` file of a package, None
    for a module. A name is in one of the two at most.
    """

    __slots__ = ("directory", "others", "sources")

    def __init__(
        self, directory: str, sources: list[str], others: dict[str, tuple[str, str | None]]
    ) -> None:
        self.directory = directory
        self.sources = sources
        self.others = others

    def names(self, *, packages: bool) -> list[str]:
        """The module (or package) names, sorted."""
        if packages:
            return sorted(n for n, (_p, init) in self.others.items() if init is not None)
        if not self.others:
            return list(self.sources)  # already sorted
        more = [n for n, (_p, init) in self.others.items() if init is None]
        return sorted([*self.sources, *more])

    def ordered(self) -> list[tuple[str, str, str | None]]:
        """``(name, path, init)`` of everything, sorted by name."""
        prefix = os.path.join(self.directory, "")  # the folder and one separator
        merged: list[tuple[str, str, str | None]] = [
            (name, f"{prefix}{name}.py", None) for name in self.sources
        ]
        if self.others:  # sources alone are sorted already
            merged += [(name, path, init) for name, (path, init) in self.others.items()]
            merged.sort(key=lambda item: item[0])
        return merged


def _odd_source_name(stem: str) -> str | None:
    """Why a ``.py`` file with this stem is not a plugin module (None: silently)."""
    if stem == "__init__":
        return None
    if stem == "__main__":
        return "__main__ is a package's entry point, not a plugin module"
    what = "a Python keyword" if keyword.iskeyword(stem) else "not a valid Python identifier"
    return f"name {stem!r} is {what}, so it cannot be imported; rename it"


def _plain_source(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.name.endswith(".py") and entry.is_file()
    except OSError:
        return False


def _all_plain_names(names: list[str]) -> bool:
    """True if every name in the sorted list ``names`` is an importable name.

    In bulk, for speed: joined ASCII names form one identifier exactly when all
    characters are identifier characters and the first name starts with a
    letter or underscore (names starting with a digit, or empty, sort first).
    Anything else falls back to checking name by name.
    """
    if not names:
        return True
    first = names[0][:1]
    joined = "".join(names)
    return (
        (first == "_" or first.isalpha())
        and joined.isascii()
        # [A-Za-z0-9_] only: nothing left once they are deleted
        and not joined.encode("ascii").translate(None, _IDENTIFIER_BYTES)
        and not _holds_reserved(names)
    )


def _holds_reserved(names: list[str]) -> bool:
    """True if the sorted list ``names`` holds a keyword, ``__init__`` or ``__main__``."""
    if len(names) < 256:
        return not _RESERVED.isdisjoint(names)
    # A long listing: looking each reserved name up by bisection is cheaper than
    # hashing every fresh name.
    for word in _RESERVED_SORTED:
        i = bisect_left(names, word)
        if i < len(names) and names[i] == word:
            return True
    return False


def scan_folder(directory: str, skipped: list[SkippedEntry], *, record: bool = True) -> Listing:
    """List one folder's modules and packages; append skipped entries to ``skipped``.

    Raises OSError when the folder itself cannot be listed.
    """
    # One pass, in bulk: plain source files (by far the most common entry)
    # become names; every other entry is set aside (append returns None, so
    # it drops out of the list) for the general path below.
    rest: list[os.DirEntry[str]] = []
    set_aside = rest.append
    try:
        with os.scandir(directory) as it:
            sources = [
                e.name[:-3] for e in it if (e.name.endswith(".py") and e.is_file()) or set_aside(e)
            ]
    except OSError:
        # An entry that cannot be looked at (a symbolic link loop named *.py): list
        # the folder again, one entry at a time (a folder that cannot be listed
        # raises again here).
        rest.clear()
        with os.scandir(directory) as it:
            sources = [e.name[:-3] for e in it if _plain_source(e) or set_aside(e)]
    sources.sort()
    local: list[SkippedEntry] = []
    if not _all_plain_names(sources):
        odd = [n for n in sources if not n.isidentifier() or n in _RESERVED]
        odd_set = set(odd)
        sources = [n for n in sources if n not in odd_set]
        for stem in odd:
            reason = _odd_source_name(stem)
            if reason is not None:
                local.append(SkippedEntry(os.path.join(directory, stem + ".py"), reason))
    others: dict[str, tuple[str, str | None]] = {}
    if rest:
        sources = _scan_rest(rest, directory, sources, others, local)
    if record and local:
        local.sort(key=lambda entry: entry.path)
        skipped.extend(local)
        for entry in local:
            logger.debug("skipped %s", entry)
    return Listing(directory, sources, others)


def _scan_rest(
    entries: list[os.DirEntry[str]],
    directory: str,
    sources: list[str],
    others: dict[str, tuple[str, str | None]],
    skipped: list[SkippedEntry],
) -> list[str]:
    """The general path: packages, bytecode, extensions and anything odd.

    Fills ``others`` and returns ``sources`` less the names another entry took.
    """
    source_names = set(sources)
    ranks: dict[str, int] = {}
    taken: set[str] = set()
    for entry in sorted(entries, key=lambda e: e.name):
        kind = _classify(entry)
        if kind is None:
            continue
        if isinstance(kind, str):
            skipped.append(SkippedEntry(entry.path, kind))
            continue
        name, rank, init = kind
        if name in source_names:
            held_rank, held_path = _SOURCE_RANK, os.path.join(directory, name + ".py")
        elif name in others:
            held_rank, held_path = ranks[name], others[name][0]
        else:
            others[name], ranks[name] = (entry.path, init), rank
            continue
        if rank < held_rank:  # the new entry wins the name
            loser = held_path
            if name in source_names:
                source_names.discard(name)
                taken.add(name)
            others[name], ranks[name] = (entry.path, init), rank
            winner = entry.path
        else:
            loser, winner = entry.path, held_path
        # A .pyc beside its .py is a legacy byte-compiled copy, not news.
        if not loser.endswith(_BYTECODE):
            reason = f"hidden by {os.path.basename(winner)}, which is imported as {name!r}"
            skipped.append(SkippedEntry(loser, reason))
    return [n for n in sources if n not in taken] if taken else sources


def _walk_package(
    directory: str,
    prefix: str,
    search_path: str,
    out: Walk,
    ancestors: set[tuple[int, int]],
) -> None:
    try:
        children = scan_folder(directory, out.skipped).ordered()
    except OSError as exc:  # pragma: no cover - root reads every folder; tested as non-root
        out.skipped.append(SkippedEntry(directory, f"cannot be read: {exc.strerror or exc}"))
        return
    _walk_children(children, prefix, search_path, out, ancestors)


def _walk_children(
    children: list[tuple[str, str, str | None]],
    prefix: str,
    search_path: str,
    out: Walk,
    ancestors: set[tuple[int, int]],
) -> None:
    for name, path, init in children:
        full = prefix + name
        if init is None:
            out.modules.append(ModuleEntry(full, path, search_path))
            continue
        try:
            st = os.stat(path)
        except OSError as exc:  # pragma: no cover - raced with a deletion
            out.skipped.append(SkippedEntry(path, f"cannot be read: {exc.strerror or exc}"))
            continue
        key = (st.st_dev, st.st_ino)
        if key in ancestors:
            out.skipped.append(
                SkippedEntry(path, "symbolic link loop (points back to a folder above it)")
            )
            continue
        out.folders.append((path, st.st_mtime_ns))
        out.modules.append(ModuleEntry(full, init, search_path, is_package=True))
        ancestors.add(key)
        _walk_package(path, full + ".", search_path, out, ancestors)
        ancestors.discard(key)


def _named_here(directory: str, name: str) -> tuple[str, bool] | None:
    """``(path, is_package)`` of module ``name`` directly in ``directory``, or None.

    The entry a listing of ``directory`` would keep for that name (a package
    before any file, then FileFinder's suffix order), found by a few stats.
    """
    folder = os.path.join(directory, name)
    if os.path.isdir(folder):
        init = package_init(folder)
        if init is not None:
            return init, True
    for suffix in _SUFFIXES:
        candidate = folder + suffix
        if os.path.isfile(candidate):
            return candidate, False
    return None


def find_entries(search_paths: list[str], name: str) -> list[ModuleEntry]:
    """The entries for module ``name`` and the packages above it, top first.

    What a walk would give for them, without listing any folder: the first
    search path holding the top-level name serves it, as in a walk (C3). Empty
    if there is no such module, or a part of its name is no module name.
    """
    parts = name.split(".")
    if not all(is_valid_name(part) and part != "__main__" for part in parts):
        return []
    for search_path in search_paths:
        found = _named_here(search_path, parts[0])
        if found is not None:
            break
    else:
        return []
    entries = [ModuleEntry(parts[0], found[0], search_path, found[1])]
    for depth in range(1, len(parts)):
        if not entries[-1].is_package:
            return []
        found = _named_here(os.path.dirname(entries[-1].path), parts[depth])
        if found is None:
            return []
        entries.append(ModuleEntry(".".join(parts[: depth + 1]), found[0], search_path, found[1]))
    return entries


def vanished(search_path: str, exc: OSError) -> SearchPathError:
    """The error for a search path that can no longer be listed."""
    return SearchPathError(
        search_path,
        f"no longer exists or cannot be read ({exc.strerror or exc}); "
        "it was checked when the manager was made",
    )


def walk(search_paths: list[str], previous: Walk | None = None) -> Walk:
    """Walk every search path in order, packages to any depth.

    With ``previous`` (an earlier walk of the same paths), that walk itself is
    returned if none of its folders can have changed.
    """
    if previous is not None and previous.is_current():
        return previous
    out = Walk([], [], listed_ns=time.time_ns())
    for search_path in search_paths:
        try:
            st = os.stat(search_path)
            children = scan_folder(search_path, out.skipped).ordered()
        except OSError as exc:
            raise vanished(search_path, exc) from None
        out.folders.append((search_path, st.st_mtime_ns))
        _walk_children(children, "", search_path, out, {(st.st_dev, st.st_ino)})
    return out


def top_level(search_path: str, *, packages: bool) -> list[tuple[str, str]]:
    """``(name, path)`` of the top-level modules (or packages: their folders), by name."""
    return [
        (name, path)
        for name, path, init in scan_folder(search_path, [], record=False).ordered()
        if (init is not None) == packages
    ]


def top_level_names(search_path: str, *, packages: bool) -> list[str]:
    """The names of the top-level modules (or packages) of one search path, sorted."""
    return scan_folder(search_path, [], record=False).names(packages=packages)
