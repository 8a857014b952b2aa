"""Walking plugin folders: which entries are plugin modules, and which are skipped.

Pure filesystem work, nothing is imported. The rules:

* a file whose name ends with an import suffix (``.py``, ``.pyc``, an extension
  module suffix) is a module, ``__init__`` excepted; a directory holding an
  ``__init__`` file is a package, walked to any depth; where several entries
  give one name, the standard ``FileFinder``'s precedence decides
  (`pike._names`);
* ``__pycache__`` is passed over; hidden entries, names that cannot be
  imported, directories without ``__init__``, unreadable entries, devices and
  symbolic-link loops are skipped, each with its reason;
* entries are ordered by module name within a folder, so every walk gives the
  same order whatever the filesystem returns.

A walk remembers the state of every folder it looked at (and of the targets
of symbolic links), so a later walk can tell, one stat each, that nothing it
saw can have changed, and reuse it (`Walk.is_current`).
"""

from __future__ import annotations

import errno
import keyword
import os
import time
from bisect import bisect_left
from stat import S_ISREG
from typing import TYPE_CHECKING

from pike import _log
from pike._filestate import FileState, changed
from pike._names import (
    INIT_FILES,
    is_archive,
    module_name_of,
    private_key,
    private_prefix,
    unusable_name,
)
from pike._value import Frozen
from pike.errors import SearchPathError, search_path_error

if TYPE_CHECKING:
    from pike._archive import Archive
    from pike._switches import Switches

__all__ = [
    "Ancestors",
    "Listing",
    "ModuleEntry",
    "SkippedEntry",
    "Walk",
    "archives_in",
    "find_entries",
    "find_in_archive",
    "names_inside",
    "package_init",
    "scan_folder",
    "sift",
    "vanished",
    "walk",
]

logger = _log.get(__name__)

_SOURCE_RANK = module_name_of("x.py")[1]  # type: ignore[index]
_PACKAGE_RANK = -1
_BYTECODE = (".pyc",)
# Stems that pass str.isidentifier() but are no plugin module name.
_RESERVED = frozenset(keyword.kwlist) | {"__init__", "__main__"}
_RESERVED_SORTED = sorted(_RESERVED)
# The characters of an ASCII identifier, as bytes to delete in one pass (spelled out:
# the string module costs 3% of "import pike.manager").
_IDENTIFIER_BYTES = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"


class ModuleEntry(Frozen):
    """A plugin module found on disk.

    ``name`` is the full dotted name, ``path`` the file that is imported (a
    package's ``__init__`` file), ``search_path`` the search path it lies in,
    ``source`` what it is loaded from: its search path, or the archive in it
    that holds it. Immutable, compared and hashed by value.

    ``key`` (not a field) is the name it takes in ``sys.modules``: ``name``
    itself, or under isolation its source's private prefix before it
    (`pike._names.private_key`).
    """

    __slots__ = ("is_package", "key", "name", "path", "search_path", "source")
    __match_args__ = ("name", "path", "search_path", "is_package", "source")

    name: str
    path: str
    search_path: str
    is_package: bool
    source: str
    key: str

    def __init__(
        self,
        name: str,
        path: str,
        search_path: str,
        is_package: bool = False,
        source: str | None = None,
        *,
        key: str | None = None,
    ) -> None:
        _set = object.__setattr__
        _set(self, "name", name)
        _set(self, "path", path)
        _set(self, "search_path", search_path)
        _set(self, "is_package", is_package)
        _set(self, "source", search_path if source is None else source)
        _set(self, "key", name if key is None else key)

    def __reduce__(self) -> tuple[object, ...]:
        return (_entry, (self._fields(self), self.key))


def _entry(fields: tuple[str, str, str, bool, str], key: str) -> ModuleEntry:
    """A pickled `ModuleEntry` again, its ``key`` with it."""
    return ModuleEntry(*fields, key=key)


class SkippedEntry(Frozen):
    """A folder entry that is not loaded, and why. Immutable, compared by value."""

    __slots__ = ("path", "reason")
    __match_args__ = ("path", "reason")

    path: str
    reason: str

    def __init__(self, path: str, reason: str) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "reason", reason)

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class Ancestors:
    """The folders above the one being walked, by device and inode.

    A folder met again below itself is a symbolic-link loop: every recursive
    walk of pike's (the walk here, `pike.discovery.filesystem`'s and
    `pike.discovery.py`'s) asks `enter` before going down, so it always ends.
    """

    __slots__ = ("_keys",)

    def __init__(self) -> None:
        self._keys: set[tuple[int, int]] = set()

    def enter(self, st: os.stat_result) -> bool:
        """Go down into the folder whose stat is ``st``; False if it is above already."""
        key = (st.st_dev, st.st_ino)
        if key in self._keys:
            return False
        self._keys.add(key)
        return True

    def leave(self, st: os.stat_result) -> None:
        self._keys.discard((st.st_dev, st.st_ino))


#: The reason given for a symbolic-link loop.
LOOP = "symbolic link loop (points back to a folder above it)"


class Walk:
    """What one walk found: modules in load order, and skipped entries.

    ``folders`` holds the state of everything the walk looked at besides the
    files it lists: each folder, each target of a symbolic link, each archive.
    ``vouched`` is false when an entry could not be looked at at all (a loop,
    a broken link: no state would show it change): such a walk is never reused.
    Under isolation, ``archives`` are the plugin archives read (by path) and
    ``broken`` those that could not be, each ``(path, reason)``.
    """

    __slots__ = ("archives", "broken", "folders", "modules", "skipped", "vouched")

    def __init__(
        self,
        modules: list[ModuleEntry],
        skipped: list[SkippedEntry],
        folders: list[tuple[str, FileState]] | None = None,
        vouched: bool = True,
    ) -> None:
        self.modules = modules
        self.skipped = skipped
        self.folders: list[tuple[str, FileState]] = [] if folders is None else folders
        self.vouched = vouched
        self.archives: dict[str, Archive] = {}
        self.broken: list[tuple[str, str]] = []

    def watch(self, path: str, st: os.stat_result, now_ns: int) -> None:
        """Remember the state of something this walk depends on."""
        self.folders.append((path, FileState.of(st, path, now_ns)))

    def is_current(self) -> bool:
        """True if nothing this walk looked at can have changed since (one stat each)."""
        if not self.vouched or not self.folders:
            return False
        return not changed(self.folders)


def package_init(directory: str) -> str | None:
    """The ``__init__`` file that makes ``directory`` a package (FileFinder's choice), or None."""
    for name in INIT_FILES:
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate):
            return candidate
    return None


def _has_init(directory: str) -> bool:
    """True if ``directory`` holds an ``__init__`` file (which one, its listing tells).

    A folder pike may not search raises ``PermissionError``: it is not known to be
    no package.
    """
    try:  # the common one first: most packages hold an __init__.py
        if S_ISREG(os.stat(directory + os.sep + "__init__.py").st_mode):
            return True
    except PermissionError:
        raise
    except OSError:
        pass
    return package_init(directory) is not None


class Listing:
    """One folder's modules and packages, and what the listing depends on.

    ``sources`` are the sorted names of plain ``NAME.py`` modules (kept bare:
    listing names needs no path); ``others`` maps every other module or
    package name to ``(path, is_package)``. ``init`` is the ``__init__`` file
    FileFinder imports for this folder as a package (None if there is none).
    ``watched`` are the stats of what else the listing read: folders it looked
    into that are not packages, targets of symbolic links. ``volatile`` is
    true when an entry could not be looked at at all (a loop, a broken link):
    no recorded state would show it changing.
    """

    __slots__ = (
        "archives",
        "directory",
        "init",
        "others",
        "skipped",
        "sources",
        "volatile",
        "watched",
    )

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.archives: list[str] = []  # plugin archives (`pike._archive`), by name
        self.sources: list[str] = []
        self.others: dict[str, tuple[str, bool]] = {}
        self.init: str | None = None
        self.skipped: list[SkippedEntry] = []
        self.watched: list[tuple[str, os.stat_result]] = []
        self.volatile = False

    def names(self, *, packages: bool) -> list[str]:
        """The module (or package) names, sorted."""
        if packages:
            return sorted(n for n, (_p, package) in self.others.items() if package)
        if not self.others:
            return list(self.sources)  # already sorted
        more = [n for n, (_p, package) in self.others.items() if not package]
        return sorted([*self.sources, *more])

    def ordered(self) -> list[tuple[str, str, bool]]:
        """``(name, path, is_package)`` of everything, sorted by name."""
        prefix = os.path.join(self.directory, "")  # the folder and one separator
        merged = [(name, f"{prefix}{name}.py", False) for name in self.sources]
        if self.others:  # sources alone are sorted already
            merged += [(name, path, package) for name, (path, package) in self.others.items()]
            merged.sort(key=lambda item: item[0])
        return merged


def _all_plain_names(names: list[str]) -> bool:
    """True if every name in the sorted list ``names`` is an importable name.

    In bulk, for speed (the "listing 10000" benchmark row): joined ASCII names
    form one identifier exactly when all characters are identifier characters
    and the first name starts with a letter or underscore (names starting with
    a digit, or empty, sort first). Anything else is checked name by name.
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


def scan_folder(directory: str) -> Listing:
    """List one folder's modules and packages, and the entries it skips.

    Raises OSError when the folder itself cannot be listed.
    """
    listing = Listing(directory)
    sources = listing.sources
    rest: list[os.DirEntry[str]] = []
    with os.scandir(directory) as it:
        # Plain source files, by far the most common entry, in one pass; a
        # symbolic link is not one (its target is watched, below).
        for entry in it:
            name = entry.name
            try:
                plain = name.endswith(".py") and entry.is_file(follow_symlinks=False)
            except OSError:  # pragma: no cover - d_type answers without a system call
                plain = False
            if plain:
                sources.append(name[:-3])
            elif name != "__pycache__":  # Python's own: passed over without a record
                rest.append(entry)
    sources.sort()
    inits: set[str] = set()
    at = bisect_left(sources, "__init__")  # a package's own __init__.py: not a module
    if at < len(sources) and sources[at] == "__init__":
        del sources[at]
        inits.add("__init__.py")
    if not _all_plain_names(sources):
        odd = [n for n in sources if not n.isidentifier() or n in _RESERVED]
        for stem in odd:
            reason = unusable_name(stem)
            if reason is not None:
                listing.skipped.append(SkippedEntry(os.path.join(directory, stem + ".py"), reason))
        odd_names = set(odd)
        listing.sources = sources = [n for n in sources if n not in odd_names]
    if rest:
        _scan_rest(rest, listing, inits)
    if inits:
        listing.init = next(os.path.join(directory, n) for n in INIT_FILES if n in inits)
    if listing.skipped:
        listing.skipped.sort(key=lambda skipped: skipped.path)
        for skipped in listing.skipped:
            logger.debug("skipped %s", skipped)
    return listing


def _looked_at(
    entry: os.DirEntry[str], module: tuple[str, int] | None, listing: Listing
) -> bool | str | None:
    """Whether a (non-hidden) entry is a folder (True) or a module file (False), or why
    it is skipped, or None to pass it over silently (a file that is no module).

    What the answer depends on beyond the folder's own listing (a folder looked
    into, a link's target) is added to ``listing.watched``.
    """
    try:
        is_link = entry.is_symlink()
        is_dir = entry.is_dir()
        is_file = not is_dir and entry.is_file()
        # A link's target, and the folders that are not packages, are watched.
        st = entry.stat() if is_link and is_file else None
    except OSError as exc:
        listing.volatile = True
        if exc.errno == errno.ELOOP:
            return "symbolic link loop (the link leads back to itself)"
        return f"cannot be read: {exc.strerror or exc}"
    if st is not None:
        listing.watched.append((entry.path, st))
    if is_dir:
        return True
    if is_file:
        return False if module is not None else None
    if is_link and not os.path.exists(entry.path):  # a link to nothing (yet)
        listing.volatile = True  # its target may come
        return "cannot be read: broken symbolic link"
    if module is not None:
        return "not a regular file (a device, pipe or socket)"
    return None


class _Contest:
    """Which entry takes each name in one folder, by FileFinder's precedence: a package,
    then extension modules, then source, then bytecode."""

    __slots__ = ("listing", "ranks", "sources", "taken")

    def __init__(self, listing: Listing) -> None:
        self.listing = listing
        self.sources = set(listing.sources)
        self.ranks: dict[str, int] = {}
        self.taken: set[str] = set()

    def offer(self, name: str, rank: int, path: str, is_dir: bool) -> None:
        listing = self.listing
        others = listing.others
        if name in self.sources:
            held_rank, held_path = _SOURCE_RANK, os.path.join(listing.directory, name + ".py")
        elif name in others:
            held_rank, held_path = self.ranks[name], others[name][0]
        else:
            others[name], self.ranks[name] = (path, is_dir), rank
            return
        if rank < held_rank:  # the new entry wins the name
            loser, winner = held_path, path
            if name in self.sources:
                self.sources.discard(name)
                self.taken.add(name)
            others[name], self.ranks[name] = (path, is_dir), rank
        else:
            loser, winner = path, held_path
        # A .pyc beside its .py is a legacy byte-compiled copy, not news.
        if not loser.endswith(_BYTECODE):
            reason = f"hidden by {os.path.basename(winner)}, which is imported as {name!r}"
            listing.skipped.append(SkippedEntry(loser, reason))

    def settle(self) -> None:
        """Take the names sources lost out of the plain sources."""
        if self.taken:
            self.listing.sources = [n for n in self.listing.sources if n not in self.taken]


def _scan_rest(entries: list[os.DirEntry[str]], listing: Listing, inits: set[str]) -> None:
    """The general path: packages, bytecode, extensions, links and anything odd."""
    contest = _Contest(listing)
    skipped = listing.skipped
    for entry in sorted(entries, key=lambda e: e.name):
        filename = entry.name
        if filename.startswith("."):
            skipped.append(SkippedEntry(entry.path, "hidden entry (name starts with a dot)"))
            continue
        module = module_name_of(filename)
        kind = _looked_at(entry, module, listing)
        if kind is None:
            if module is None and is_archive(filename) and entry.is_file():
                listing.archives.append(entry.path)
            continue
        if isinstance(kind, str):
            skipped.append(SkippedEntry(entry.path, kind))
            continue
        if kind:  # a folder
            try:
                package = _has_init(entry.path)
            except PermissionError as exc:
                package, reason = False, f"cannot be read: {exc.strerror or exc}"
            else:
                reason = "directory without __init__.py (not a package)"
            if not package:
                skipped.append(SkippedEntry(entry.path, reason))
                try:  # it becomes a package when an __init__ file comes
                    listing.watched.append((entry.path, entry.stat()))
                except OSError:  # pragma: no cover - raced with a deletion
                    listing.volatile = True
                continue
            name, rank = filename, _PACKAGE_RANK
        else:
            name, rank = module  # type: ignore[misc]
            if name == "__init__":
                inits.add(filename)
                continue
        why = unusable_name(name)
        if why is not None:
            skipped.append(SkippedEntry(entry.path, why))
            continue
        contest.offer(name, rank, entry.path, kind)
    contest.settle()


class _Walker:
    """One walk in progress: what it found so far, the folders above, and its clock."""

    __slots__ = ("ancestors", "isolate", "now_ns", "out", "private")

    def __init__(self, now_ns: int, isolate: bool) -> None:
        self.out = Walk([], [])
        self.ancestors = Ancestors()
        self.now_ns = now_ns
        self.isolate = isolate
        self.private = ""  # under isolation, what the search path's keys start with

    def search_path(self, search_path: str) -> None:
        try:
            st = os.stat(search_path)
            listing = scan_folder(search_path)
        except OSError as exc:
            raise vanished(search_path, exc) from None
        self.out.watch(search_path, st, self.now_ns)
        if self.isolate:
            self.private = private_key(private_prefix(search_path), "")
        self.ancestors = Ancestors()
        self.ancestors.enter(st)
        self.children(listing, "", search_path)
        for path in listing.archives:
            self.archive(path, search_path)

    def archive(self, path: str, search_path: str) -> None:
        """A plugin archive in a search path: a source of its own, under isolation."""
        out = self.out
        if not self.isolate:
            reason = "a plugin archive: loaded only by a manager made with isolate=True"
            out.skipped.append(SkippedEntry(path, reason))
            return
        try:
            st = os.stat(path)
        except OSError as exc:  # pragma: no cover - raced with a deletion
            out.skipped.append(SkippedEntry(path, f"cannot be read: {exc.strerror or exc}"))
            out.vouched = False
            return
        out.watch(path, st, self.now_ns)
        from pike._archive import Archive, ArchiveError  # only isolated walks read archives

        try:
            archive = Archive(path, st, self.now_ns)
        except ArchiveError as exc:
            out.broken.append((path, str(exc)))
            return
        out.archives[path] = archive
        self.members(archive, "", "", search_path, private_key(private_prefix(path), ""))

    def members(
        self, archive: Archive, folder: str, prefix: str, search_path: str, private: str
    ) -> None:
        for name, member, is_package in archive.modules(folder):
            dotted = prefix + name
            self.out.modules.append(
                _member_entry(archive, dotted, member, is_package, search_path, private)
            )
            if is_package:
                inner = member.rpartition("/")[0]
                self.members(archive, inner, dotted + ".", search_path, private)

    def children(self, listing: Listing, prefix: str, search_path: str) -> None:
        out = self.out
        out.skipped.extend(listing.skipped)
        if listing.volatile:
            out.vouched = False
        for path, st in listing.watched:
            out.watch(path, st, self.now_ns)
        private = self.private
        for name, path, is_package in listing.ordered():
            if is_package:
                self.package(prefix + name, path, search_path)
            elif private:
                dotted = prefix + name
                out.modules.append(ModuleEntry(dotted, path, search_path, key=private + dotted))
            else:
                out.modules.append(ModuleEntry(prefix + name, path, search_path))

    def package(self, name: str, path: str, search_path: str) -> None:
        out = self.out
        try:
            st = os.stat(path)
        except OSError as exc:  # pragma: no cover - raced with a deletion
            out.skipped.append(SkippedEntry(path, f"cannot be read: {exc.strerror or exc}"))
            out.vouched = False
            return
        if not self.ancestors.enter(st):
            out.skipped.append(SkippedEntry(path, LOOP))
            return
        out.watch(path, st, self.now_ns)
        try:
            inner = scan_folder(path)
        except OSError as exc:
            # Importable (its __init__ is there) but not listable: no submodules.
            init = package_init(path)
            if init is not None:
                out.modules.append(self.package_entry(name, init, search_path))
            out.skipped.append(SkippedEntry(path, f"cannot be read: {exc.strerror or exc}"))
        else:
            init = inner.init or package_init(path)
            if init is not None:  # pragma: no branch - it was seen a moment ago
                out.modules.append(self.package_entry(name, init, search_path))
                self.children(inner, name + ".", search_path)
        self.ancestors.leave(st)

    def package_entry(self, name: str, init: str, search_path: str) -> ModuleEntry:
        key = self.private + name if self.private else None
        return ModuleEntry(name, init, search_path, is_package=True, key=key)


def names_inside(package: ModuleEntry) -> list[str] | None:
    """The dotted names of the modules inside ``package`` (a package's entry), walked
    now as a walk would find them; None for a package that is not a folder on disk (an
    archive's)."""
    if package.source != package.search_path:
        return None
    walker = _Walker(time.time_ns(), False)
    walker.package(package.name, os.path.dirname(package.path), package.search_path)
    return [entry.name for entry in walker.out.modules if entry.name != package.name]


def vanished(search_path: str, exc: OSError) -> SearchPathError:
    """The error for a search path that can no longer be listed."""
    return search_path_error(
        search_path,
        f"no longer exists or cannot be read ({exc.strerror or exc}); "
        "it was checked when the manager was made",
        exc,
    )


def walk(
    search_paths: list[str],
    previous: Walk | None = None,
    *,
    now_ns: int | None = None,
    isolate: bool = False,
    switches: Switches | None = None,
) -> Walk:
    """Walk every search path in order, packages to any depth.

    With ``previous`` (an earlier walk of the same paths, the same way), that
    walk itself is returned if nothing it looked at can have changed.
    ``now_ns`` is the time the folders' states are judged by (the clock's by
    default). ``isolate`` gives each entry its source's private key. The modules
    ``switches`` turn off are moved to the skipped entries (`sift`).
    """
    if previous is not None and previous.is_current():
        return previous
    walker = _Walker(time.time_ns() if now_ns is None else now_ns, isolate)
    for search_path in search_paths:
        walker.search_path(search_path)
    if switches:
        sift(walker.out, switches)
    return walker.out


def sift(walk: Walk, switches: Switches) -> None:
    """Move the modules of ``walk`` that ``switches`` turn off to its skipped entries,
    each with the reason (a package's folder stands for everything in it); nothing of
    theirs is opened."""
    modules = walk.modules
    off = switches.sift([(entry.name, entry.is_package) for entry in modules])
    if not off:
        return
    for i, reason in off.items():
        if reason is not None:
            entry = modules[i]
            path = os.path.dirname(entry.path) if entry.is_package else entry.path
            walk.skipped.append(SkippedEntry(path, reason))
    walk.modules = [entry for i, entry in enumerate(modules) if i not in off]


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
    for filename in INIT_FILES:
        candidate = folder + filename[len("__init__") :]
        if os.path.isfile(candidate):
            return candidate, False
    return None


def archives_in(folder: str) -> list[str]:
    """The plugin archives directly in ``folder``, by name (none if it cannot be listed)."""
    try:
        return scan_folder(folder).archives
    except OSError:
        return []


def _member_entry(  # noqa: PLR0917 - the fields of the entry, in its order
    archive: Archive, name: str, member: str, is_package: bool, search_path: str, private: str
) -> ModuleEntry:
    """The entry of archive member ``member``, module ``name`` (keys begin ``private``)."""
    path = archive.path_of(member)
    return ModuleEntry(name, path, search_path, is_package, archive.path, key=private + name)


def find_in_archive(archive: Archive, name: str) -> list[ModuleEntry]:
    """`find_entries` in a plugin archive, read already (under isolation: its own private
    names)."""
    parts = name.split(".")
    if not all(unusable_name(part) is None for part in parts):
        return []
    private = private_key(private_prefix(archive.path), "")
    search_path = os.path.dirname(archive.path)
    entries: list[ModuleEntry] = []
    folder = ""
    for depth, part in enumerate(parts):
        if entries and not entries[-1].is_package:
            return []
        found = archive.find(folder, part)
        if found is None:
            return []
        member, is_package = found
        dotted = ".".join(parts[: depth + 1])
        entries.append(_member_entry(archive, dotted, member, is_package, search_path, private))
        folder = member.rpartition("/")[0]
    return entries


def find_entries(search_paths: list[str], name: str, *, isolate: bool = False) -> list[ModuleEntry]:
    """The entries for module ``name`` and the packages above it, top first.

    What a walk would give for them (``isolate`` as there), without listing any
    folder: the first search path holding the top-level name serves it, as in a
    walk. Empty if there is no such module, or a part of its name is no module
    name.
    """
    parts = name.split(".")
    if not all(unusable_name(part) is None for part in parts):
        return []
    for search_path in search_paths:
        found = _named_here(search_path, parts[0])
        if found is not None:
            break
    else:
        return []
    private = private_key(private_prefix(search_path), "") if isolate else ""
    entries = [ModuleEntry(parts[0], found[0], search_path, found[1], key=private + parts[0])]
    for depth in range(1, len(parts)):
        if not entries[-1].is_package:
            return []
        found = _named_here(os.path.dirname(entries[-1].path), parts[depth])
        if found is None:
            return []
        dotted = ".".join(parts[: depth + 1])
        entries.append(ModuleEntry(dotted, found[0], search_path, found[1], key=private + dotted))
    return entries
