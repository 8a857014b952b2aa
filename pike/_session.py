"""What one manager holds in the interpreter, and how it is taken out again.

A `Session` is made by its manager and handed to everything that touches
the interpreter on the manager's behalf: the finder (which names it serves),
pike's loaders (which record what ran), the importer, refresh and cleanup. It
owns, and is the only owner of:

* a `Record` per module the manager loaded: the folder entry it came from,
  the object that landed in ``sys.modules``, the state of its file just before
  it ran (`pike._filestate`);
* whether the manager is active: while it is not, its finder serves nothing
  and its loaders refuse to run a module; one that was already running when
  the session ended is taken out as it finishes (`Session.sweep`);
* what it installed, and how that is taken out (`Session.end`): its finder
  in ``sys.meta_path``, its modules in ``sys.modules``, the ``sys.path`` entries
  plugins added under the search paths, importer-cache entries under them,
  meta-path finders plugins planted;
* under isolation, the private namespace of each source (`pike._namespace`):
  its modules are recorded, served and taken out by the name they take in
  ``sys.modules`` (`ModuleEntry.key`), which is their plugin name otherwise;
* the old version of a module being loaded again, kept aside until the new
  one has imported (`Session.set_aside`).

Records are keyed by that name in ``sys.modules``: two sources' ``utils`` are
two records.

A session never refers to its manager, so a manager can be collected (and
then cleans up) while plugins still hold the session.
"""

from __future__ import annotations

import itertools
import operator
import os
import sys
import threading
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from importlib.machinery import ModuleSpec
from typing import TYPE_CHECKING

from pike import _log
from pike._filestate import FileState, changed_in
from pike._hooks import LOAD, UNLOAD, call, defines
from pike._interpreter import (
    forget_importer_cache,
    forget_modules,
    invalidate_listings,
    put_modules,
    rebind_meta_path,
    restore_sys_path,
    settle,
)
from pike._names import private_prefix, split_key
from pike._objects import type_module
from pike._walk import ModuleEntry, Walk
from pike.errors import PluginError

if TYPE_CHECKING:
    from pike._archive import Archive
    from pike._namespace import Namespace

__all__ = ["Expected", "Record", "RecordFiles", "Session"]

logger = _log.get(__name__)


class Record:
    """One loaded module: where it came from, what landed, and the state of its file.

    ``state`` is None for a module the manager did not run. ``borrowed`` is
    true for a module the host had already imported from the same file: the
    manager uses it but does not own it (cleanup leaves it). ``classes`` and
    ``uses`` are facts about the module's namespace, worked out once when first
    needed (`pike._classes`).
    """

    __slots__ = (
        "borrowed",
        "classes",
        "entry",
        "file",
        "module",
        "path",
        "spec",
        "state",
        "uses",
    )

    def __init__(
        self,
        entry: ModuleEntry,
        module: object,
        spec: ModuleSpec | None,
        state: FileState | None,
        *,
        borrowed: bool = False,
    ) -> None:
        self.entry = entry
        self.path = entry.path
        # The file whose state is kept (an archive member's: its archive). Flat: refresh
        # reads it for every record.
        self.file = entry.path if entry.source == entry.search_path else entry.source
        self.module = module
        self.spec = spec
        self.state = state
        self.borrowed = borrowed
        self.classes: list[type] | None = None
        self.uses: frozenset[str] | set[str] | None = None

    def __repr__(self) -> str:
        return f"<Record {self.entry.name!r} from {self.entry.path!r}>"

    @property
    def may_use_plugins(self) -> bool:
        """True if the module holds objects of a plugin module, or is not examined yet
        (`pike._classes`): it may have to run again with what changed."""
        return self.uses is None or bool(self.uses)


class RecordFiles:
    """The files of the modules a manager ran, as columns in the order they landed:
    what refresh looks at, one stat per file ("refresh 10000, one edit" benchmark row).

    ``records`` (None where a record was taken out), ``folders`` (a file's
    folder, ending in a separator: one object per folder), ``names`` (the
    file's name in it) and ``marks`` (its state's `FileState.mark`), for
    `pike._filestate.changed_in`; ``digested``, the positions whose state keeps
    a digest. Brought up to date name by name (`update`), not made afresh:
    loading one module again changes one position.
    """

    __slots__ = (
        "_at",
        "_by_file",
        "_folders",
        "_holes",
        "digested",
        "folders",
        "marks",
        "names",
        "records",
    )

    def __init__(self) -> None:
        self.records: list[Record | None] = []
        self.folders: list[str] = []
        self.names: list[str] = []
        self.marks: list[int] = []
        self.digested: set[int] = set()
        self._at: dict[str, int] = {}  # a module's name -> its position
        self._by_file: dict[str, list[int]] = {}  # a file -> the positions holding it
        self._folders: dict[str, str] = {}  # so each folder is one object
        self._holes = 0

    @classmethod
    def of(cls, records: Mapping[str, Record]) -> RecordFiles:
        files = cls()
        files.update(records, records)
        return files

    def update(self, records: Mapping[str, Record], names: Iterable[str]) -> None:
        """Bring the positions of ``names`` in line with their ``records`` now."""
        at = self._at
        for name in names:
            record = records.get(name)
            place = at.get(name)
            if record is None or record.state is None:  # gone, or not the manager's to run
                if place is not None:
                    del at[name]
                    self._clear(place)
                continue
            # The same record with the same state: nothing to do. (Its state may have
            # changed: put back with the state of what failed, `Session.set_back`.)
            if (
                place is not None
                and self.records[place] is record
                and self.marks[place] == record.state.mark
            ):
                continue
            folder, sep, file = record.file.rpartition(os.sep)
            folder = self._folders.setdefault(folder + sep, folder + sep)
            if place is None:
                at[name] = len(self.records)
                self.records.append(record)
                self.folders.append(folder)
                self.names.append(file)
                self.marks.append(record.state.mark)
                place = at[name]
            else:
                self._unfile(place)
                self.records[place] = record
                self.folders[place] = folder
                self.names[place] = file
                self.marks[place] = record.state.mark
            self._by_file.setdefault(record.file, []).append(place)
            if record.state.digest is not None:
                self.digested.add(place)
            else:
                self.digested.discard(place)
        if self._holes > 64 and self._holes * 2 > len(self.records):
            self._compact()

    def stale(self, now_ns: int) -> list[Record]:
        """The records whose file is no longer as their state says, in column order.

        One stat each; a state that kept a digest (its times were too recent to
        trust) is checked by content too, and loses its digest once its file
        is unchanged and its times can be trusted (``now_ns``), so later
        refreshes need not read the file.
        """
        positions = changed_in(self.folders, self.names, self.marks)
        if self.digested:
            gone = set(positions)
            for place in sorted(self.digested):
                record = self.records[place]
                state = record.state if record is not None else None
                if place in gone or record is None or state is None:
                    continue  # changed anyway; or (never) no longer one to check
                if state.content_differs(record.file):
                    positions.append(place)
                    continue
                record.state = state.settled(now_ns)
                if record.state.digest is None:
                    self.digested.discard(place)
            positions.sort()
        return [record for place in positions if (record := self.records[place]) is not None]

    def within(self, files: Iterable[str], folders: tuple[str, ...]) -> list[Record]:
        """The records whose file is one of ``files`` or lies in one of ``folders`` (each
        ending in a separator), in column order."""
        places = {place for file in files for place in self._by_file.get(file, ())}
        if folders:
            column = self.folders
            places.update(i for i in range(len(column)) if column[i].startswith(folders))
        return [record for i in sorted(places) if (record := self.records[i]) is not None]

    def _unfile(self, place: int) -> None:
        """Take ``place`` out of the by-file index."""
        record = self.records[place]
        held = self._by_file.get(record.file) if record is not None else None
        if held is not None:
            held.remove(place)
            if not held:
                del self._by_file[record.file]  # type: ignore[union-attr]

    def _clear(self, place: int) -> None:
        self._unfile(place)
        self.records[place] = None
        self.names[place] = ""  # no file: its stat fails, and the record is None
        self.digested.discard(place)
        self._holes += 1

    def _compact(self) -> None:
        kept = [i for i, record in enumerate(self.records) if record is not None]
        self.records = [self.records[i] for i in kept]
        self.folders = [self.folders[i] for i in kept]
        self.names = [self.names[i] for i in kept]
        self.marks = [self.marks[i] for i in kept]
        where = {old: new for new, old in enumerate(kept)}
        self.digested = {where[i] for i in self.digested}
        self._at = {name: where[i] for name, i in self._at.items()}
        self._by_file = {file: [where[i] for i in held] for file, held in self._by_file.items()}
        self._holes = 0


class Expected:
    """What the finder learned of a module it handed out, for the loader that runs it:
    its entry, the state of its file, the stat that state was taken from, and under
    isolation its source's namespace."""

    __slots__ = ("entry", "namespace", "st", "state")

    def __init__(
        self,
        entry: ModuleEntry,
        state: FileState,
        st: os.stat_result,
        namespace: Namespace | None = None,
    ) -> None:
        self.entry = entry
        self.state = state
        self.st = st
        self.namespace = namespace


class Session:
    """The interpreter state one manager owns; see the module's docstring.

    ``unload=False`` keeps the plugin modules in ``sys.modules`` when it ends.
    ``lock`` is the manager's: held by each of its calls, start to end.
    """

    def __init__(self, *, unload: bool = True, isolate: bool = False) -> None:
        # Reentrant, both: a manager collected while its own loader records ends right
        # there. The records have a lock of their own, which no import is made under:
        # loaders in other threads take it while the manager's lock is held.
        self.lock = threading.RLock()
        self._lock = threading.RLock()
        self.unload = unload
        self.isolate = isolate
        # Under isolation: each source's namespace, by its private prefix.
        self._namespaces: dict[str, Namespace] = {}
        self._active = False
        self._records: dict[str, Record] = {}
        self._running: dict[str, ModuleEntry] = {}
        self._expected: dict[str, Expected] = {}
        self._aside: dict[str, Record] = {}
        # The file state of each new version that failed, while its old one is aside.
        self._tried: dict[str, FileState] = {}
        # The modules put back after a failed reload (`kept`).
        self._kept: set[str] = set()
        # True while `end` runs the unload hooks: an `end` they cause waits for it.
        self._ending = False
        # The records that may hold plugin modules' objects (not examined yet, or found
        # to: `users`), so refresh need not go through every record to find them.
        self._users: dict[str, Record] = {}
        # Records landed whose module has a load hook still to run (`due`).
        self._hooks_due: list[Record] = []
        #: The hook errors the last `end` met (`pike._hooks`), for the manager to report.
        self.end_errors: list[PluginError] = []
        # The records' files for refresh, and the names whose records changed since
        # they were brought up to date (`catch_up`): appended to without the lock.
        self._files = RecordFiles()
        self._changes: list[str] = []
        self._finder: object = None
        self._roots: tuple[str, ...] = ()
        self._sys_path_before: list[object] = []
        self._meta_path_before: list[object] = []
        self._versions = itertools.count(1)
        #: Changed at every change of the records, so what is derived from them knows
        #: when to renew.
        self.version = 0

    @classmethod
    def detached(cls, *, isolate: bool = False) -> Session:
        """An active session that installs nothing: a finder used on its own (the
        program puts it in ``sys.meta_path``) records into one."""
        session = cls(unload=False, isolate=isolate)
        session._active = True
        return session

    # -- private namespaces --------------------------------------------------------------

    def add_source(self, source: str, archive: Archive | None = None) -> Namespace:
        """The namespace of isolated source ``source``: a search path, or an archive
        (``archive``, as read now: a namespace that had an older reading takes it)."""
        prefix = private_prefix(source)
        namespace = self._namespaces.get(prefix)
        if namespace is None:
            from pike._namespace import Namespace  # only isolated managers have them

            namespace = self._namespaces[prefix] = Namespace(source, prefix, archive)
        elif archive is not None and namespace.archive is not archive:
            held = namespace.archive
            if held is not None and held.state == archive.state:
                archive.close()  # the same archive read again: the reading in use stays
                return namespace
            if held is not None:
                held.close()  # replaced: its modules load again from the new reading
            namespace.archive = archive
            namespace.forget()
        return namespace

    def learn(self, walk: Walk) -> None:
        """What an isolated manager's walk found: the namespaces of the archives it read,
        and what each source's folders hold (so no folder is listed again to resolve a
        bare import)."""
        for path, archive in walk.archives.items():
            self.add_source(path, archive)
        # A walk gives each source's entries in one run.
        for source, entries in itertools.groupby(walk.modules, key=_source_of):
            namespace = self._namespaces.get(private_prefix(source))
            if namespace is not None:
                namespace.learn(entries)

    def resolutions(self) -> dict[str, dict[tuple[str | None, str], str | None]]:
        """What the plugins' bare imports resolved to, by namespace (`Namespace.resolutions`)."""
        return {prefix: ns.resolutions() for prefix, ns in list(self._namespaces.items())}

    def resolved_otherwise(
        self, before: dict[str, dict[tuple[str | None, str], str | None]]
    ) -> set[str]:
        """The keys of the loaded modules one of whose bare imports, resolved as
        ``before`` says, would find another module now."""
        homes: set[str] = set()  # a package's key, or a namespace's prefix for its top
        for prefix, resolved in before.items():
            namespace = self._namespaces.get(prefix)
            if namespace is not None and resolved:
                for home in namespace.changed_since(resolved):
                    homes.add(prefix if home is None else home)
        if not homes:
            return set()
        found = set()
        for key, record in list(self._records.items()):
            split = split_key(key)
            if split is None:
                continue
            # A package's code is its top-level package's; a top-level module's, its source's.
            in_package = "." in split[1] or record.entry.is_package
            if (key.partition(".")[0] if in_package else split[0]) in homes:
                found.add(key)
        return found

    def sync_builtins(self) -> None:
        """Bring each namespace's builtins up to date whole (as a load begins)."""
        for namespace in list(self._namespaces.values()):
            namespace.sync_builtins(whole=True)

    def save_code(self) -> None:
        """Keep the code compiled from archives in pike's cache folder (`pike._archive`)."""
        for namespace in list(self._namespaces.values()):
            if namespace.archive is not None:
                namespace.archive.save(self._roots)

    def namespace(self, prefix: str) -> Namespace | None:
        """The namespace whose private prefix is ``prefix``, if this session has it."""
        return self._namespaces.get(prefix)

    def namespaces(self) -> list[Namespace]:
        return list(self._namespaces.values())

    # -- reading (any thread) ------------------------------------------------------------

    @property
    def active(self) -> bool:
        """True between `start` and `end` (always, for a detached session)."""
        return self._active

    def get(self, key: str) -> Record | None:
        """The record of the module named ``key`` in ``sys.modules``."""
        return self._records.get(key)

    def find(self, name: str, source: str | None = None) -> Record | None:
        """The first record of plugin module ``name`` (of ``source``, or of any), in the
        order they landed."""
        if not self.isolate:
            record = self._records.get(name)
            return record if record is None or source in (None, record.entry.source) else None
        for record in list(self._records.values()):
            if record.entry.name == name and source in (None, record.entry.source):
                return record
        return None

    def owns(self, name: str, module: object) -> bool:
        """True if ``module`` is what this session's manager loaded as ``name``."""
        record = self._records.get(name)
        return record is not None and record.module is module and not record.borrowed

    def serves(self, name: str) -> ModuleEntry | None:
        """The entry of package ``name`` if the manager loaded it (or is loading it)."""
        record = self._records.get(name)
        if record is not None:
            return None if record.borrowed else record.entry
        return self._running.get(name)

    def names(self) -> Container[str]:
        """The names of the modules loaded, as a live view (for ``in``: cheap, and always
        what is loaded now)."""
        return self._records.keys()

    def users(self) -> list[Record]:
        """The records whose module holds objects of a plugin module, or is not examined
        yet (`pike._classes`): those that may have to run again with what changed, in
        the order they landed. Goes through the records that may be users only
        (`settle_users` drops the others)."""
        with self._lock:
            current = self._records.get
            return [
                record
                for key, record in self._users.items()
                if current(key) is record and record.may_use_plugins
            ]

    def settle_users(self) -> None:
        """Forget, as possible users, the records examined and found to use nothing, and
        those no longer loaded: once, after classes are picked ("refresh 10000,
        paths=[one]" benchmark row)."""
        with self._lock:
            current = self._records.get
            self._users = {
                key: record
                for key, record in self._users.items()
                if current(key) is record and record.may_use_plugins
            }

    def records(self) -> dict[str, Record]:
        """A copy of the records, safe to go through while other threads import."""
        with self._lock:
            return dict(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, name: object) -> bool:
        return name in self._records

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._records))

    # -- an import in flight: the finder tells, the loader runs ----------------------------

    def expect(self, key: str, expected: Expected) -> None:
        """The finder handed out a spec for ``expected.entry``, as ``key`` (its name in
        ``sys.modules``)."""
        self._expected[key] = expected

    def expected(self, key: str) -> Expected | None:
        """What the finder said of the module it handed out as ``key`` (its name in
        ``sys.modules``); None if it handed out none."""
        return self._expected.get(key)

    def begin(self, key: str, expected: Expected) -> bool:
        """The module handed out as ``key`` is about to run; False if the session no
        longer takes new work.

        Without the lock, as `abandon` and `land` (this runs once per module): each
        step is one dict operation, and an `end` racing with it is seen by `land`.
        """
        self._expected.pop(key, None)
        if not self._active and self.unload:
            return False
        self._running[expected.entry.key] = expected.entry
        return True

    def abandon(self, name: str, state: FileState | None = None) -> None:
        """A module that began did not finish (it raised); ``state``, that of the file it
        ran from, is kept for `set_back` if its old version is set aside."""
        self._running.pop(name, None)
        if state is not None and name in self._aside:
            self._tried[name] = state

    def land(self, record: Record) -> bool:
        """A module finished; record it. False if the session ended meanwhile.

        Without the lock (this runs once per module): the record is put in
        first and ``active`` read after, so an `end` racing with it either
        sees the record (and takes the module out) or is seen here (and the
        loader takes it out, `sweep`); both may, harmlessly. (Only a module
        imported again and again with no load or refresh to catch up with it
        makes this take the lock, to bring `RecordFiles` up to date.)
        """
        name = record.entry.key
        self._running.pop(name, None)
        self._records[name] = record
        self._users[name] = record
        self._kept.discard(name)
        if defines(record.module, LOAD):
            self._hooks_due.append(record)
        self._changes.append(name)  # after the record: `catch_up` reads it after this
        if len(self._changes) > 2 * len(self._records) + 64:
            self.catch_up()  # modules imported again and again, with no load or refresh
        self.version = next(self._versions)
        if not self._active and self.unload:
            self._records.pop(name, None)
            return False
        return True

    def borrow(self, record: Record) -> None:
        """Record a module the host imported from the plugin's own file."""
        with self._lock:
            self._records[record.entry.key] = record
            self._users[record.entry.key] = record
            self._changes.append(record.entry.key)
            self.version = next(self._versions)

    def forget(self, names: Iterable[str]) -> None:
        """Take ``names`` out (their records and modules): a failed import's leftovers."""
        names = set(names)
        with self._lock:
            for name in names:
                self._records.pop(name, None)
            self._changes.extend(names)
            self.version = next(self._versions)
        forget_modules(names)

    # -- the records' files, for refresh -------------------------------------------------

    def catch_up(self) -> None:
        """Bring the columns of the records' files (`RecordFiles`) up to date with the
        records. Called as each load ends, so that a refresh finds them ready."""
        with self._lock:
            self._catch_up()

    def _catch_up(self) -> None:
        changes = self._changes
        count = len(changes)
        if count:
            # A name appended meanwhile (a loader in another thread) lies past
            # ``count`` and is kept for next time.
            names = changes[:count]
            del changes[:count]
            self._files.update(self._records, dict.fromkeys(names))

    def stale(self, now_ns: int) -> list[Record]:
        """The records whose file is no longer as their state says (`RecordFiles.stale`),
        in the order they landed: one stat per file."""
        with self._lock:
            self._catch_up()
            return self._files.stale(now_ns)

    def stale_within(self, files: Iterable[str], folders: tuple[str, ...]) -> list[Record]:
        """`stale`, of the records whose file is one of ``files`` or lies in one of
        ``folders`` (each ending in a separator) only: one stat each of those, none of
        the others."""
        with self._lock:
            self._catch_up()
            records = self._files.within(files, folders)
        found = []
        for record in records:
            state = record.state
            if state is None:
                continue
            try:
                st = os.stat(record.file)
            except OSError:
                found.append(record)  # gone (the walk says so) or unreadable
                continue
            if not state.holds(record.file, st):
                found.append(record)
        return found

    # -- loading a module again ----------------------------------------------------------

    def set_aside(self, names: Iterable[str]) -> None:
        """Take ``names`` out so they import afresh; their old versions are kept aside
        (out of ``sys.modules``) until `release` says the new ones have imported."""
        names = dict.fromkeys(names)  # in the order given: the order hooks run in
        packages = False
        with self._lock:
            for name in names:
                record = self._records.pop(name, None)
                if record is not None:
                    self._aside[name] = record
                    packages = packages or record.entry.is_package
            self._changes.extend(names)
            self.version = next(self._versions)
        forget_modules(names, submodules=packages)
        if packages:
            for namespace in self._namespaces.values():
                namespace.forget()  # what a bare import finds may change with them

    def set_back(self, names: Iterable[str]) -> list[str]:
        """Put the old versions of ``names`` (set aside) back, as they were: in the
        records, in ``sys.modules`` and in their packages, in place of whatever their
        new versions left. Returns the names put back."""
        with self._lock:
            back = {name: self._aside.pop(name) for name in names if name in self._aside}
            for name, record in back.items():
                new = self._records.pop(name, None)
                # What was tried is not tried again until its file changes again (or a
                # module is added: `kept`): the state of the version that failed, or
                # that imported but was not swapped.
                tried = self._tried.pop(name, None)
                if tried is None and new is not None:
                    tried = new.state
                if tried is not None:
                    record.state = tried
                self._kept.add(name)
            self._changes.extend(back)
            self.version = next(self._versions)
        if back:
            forget_modules(back, submodules=False)
            put_modules({name: record.module for name, record in back.items()})
            with self._lock:
                self._records.update(back)
                self._users.update(back)
            if any(record.entry.is_package for record in back.values()):
                for namespace in self._namespaces.values():
                    namespace.forget()
        return list(back)

    def kept(self) -> set[str]:
        """The modules put back by `set_back` and still loaded: tried again when a module
        is added (it may be what their new version lacked)."""
        with self._lock:
            self._kept &= self._records.keys()
            return set(self._kept)

    # -- the plugins' own hooks (`pike._hooks`) -------------------------------------------

    def due(self) -> list[Record]:
        """The records landed since last asked whose module has a load hook to run, in
        the order they landed (those taken out meanwhile left out)."""
        with self._lock:
            due, self._hooks_due = self._hooks_due, []
            return [record for record in due if self._records.get(record.entry.key) is record]

    @staticmethod
    def call_hooks(hook: str, records: Iterable[Record]) -> list[PluginError]:
        """Run ``hook`` of each of ``records``' modules that has one, in order; the errors."""
        errors: list[PluginError] = []
        for record in records:
            if not record.borrowed:
                error = call(hook, record.module, record.entry.name, record.entry.path)
                if error is not None:
                    error.source = record.entry.source
                    errors.append(error)
        return errors

    def old_versions(self) -> dict[str, Record]:
        """The records set aside whose new versions are importing (a copy)."""
        with self._lock:
            return dict(self._aside)

    def release(self) -> None:
        """The modules set aside have imported again (or were set back): drop their old
        versions."""
        with self._lock:
            self._aside.clear()
            self._tried.clear()

    # -- starting and ending ---------------------------------------------------------------

    def start(self, finder: object, roots: tuple[str, ...]) -> bool:
        """Put ``finder`` first in ``sys.meta_path``; False if the session was active.

        ``roots`` are the search paths (`pike._paths.roots_of`): what plugins
        add under them to ``sys.path`` and the importer cache goes at the end.
        """
        with self.lock:
            if self._active:
                if not any(f is finder for f in sys.meta_path):  # taken out by hand
                    rebind_meta_path(lambda meta: [finder, *meta])
                return False
            self._finder = finder
            self._roots = roots
            self._sys_path_before = list(sys.path)
            self._meta_path_before = list(sys.meta_path)
            # Listings cached by an earlier activation may miss files added since.
            self.forget_listings()
            self._active = True
            rebind_meta_path(lambda meta: [finder, *(f for f in meta if f is not finder)])
            return True

    def forget_listings(self) -> None:
        """Forget every cached listing of a folder under the search paths (the finder's
        and the importer cache's), so files added since are seen."""
        invalidate_listings(self._finder, self._roots)
        for namespace in self._namespaces.values():
            namespace.forget()

    def end(self) -> None:
        """Take out everything the session installed; safe to call any number of times."""
        if sys.is_finalizing():
            return  # the interpreter is going away with everything in it
        with self.lock:
            if self._ending:
                return  # called by an unload hook: the end under way finishes the job
            self.end_errors = []
            interrupted: BaseException | None = None
            if self.unload and self._active:
                # While the plugins are still in place (a hook may import a sibling),
                # the last loaded first.
                with self._lock:
                    landed = list(self._records.values())
                self._ending = True
                try:
                    self.end_errors = self.call_hooks(UNLOAD, reversed(landed))
                except BaseException as exc:  # KeyboardInterrupt: end, then propagate
                    interrupted = exc
                finally:
                    self._ending = False
                for error in self.end_errors:
                    logger.warning("pike: %s", error)
            try:
                self._take_out()
            finally:
                if interrupted is not None:
                    raise interrupted

    def _take_out(self) -> None:
        """`end`, after the unload hooks."""
        with self._lock:
            was_active, self._active = self._active, False
            records = dict(self._records)
            if self.unload:
                self._records.clear()
                self._users.clear()
                self._aside.clear()
                self._kept.clear()
                self._files = RecordFiles()
                self._changes.clear()
                self.version = next(self._versions)
        finder = self._finder
        _guarded(
            "remove the finder",
            lambda: rebind_meta_path(lambda meta: [f for f in meta if f is not finder]),
        )
        if not was_active:
            return
        if self.unload:
            _guarded("unload the plugin modules", lambda: self._unload(records))
            _guarded("remove the plugins' finders", lambda: self._drop_finders(records))
        _guarded("restore sys.path", lambda: restore_sys_path(self._sys_path_before, self._roots))
        _guarded("clear the importer cache", lambda: forget_importer_cache(self._roots))
        _guarded("close the archives", self._close_archives)

    def _close_archives(self) -> None:
        for namespace in list(self._namespaces.values()):
            if namespace.archive is not None:
                namespace.archive.close()

    def sweep(self, name: str) -> None:
        """Take out what a module left that finished after the session ended.

        Runs in the importing thread, without the lock (whose holder may be
        waiting for that very import): each step reads a snapshot.
        """
        if self._active:
            return  # started again meanwhile: the module belongs to the new activation
        if self.unload:
            _guarded(
                "unload a late plugin module",
                lambda: forget_modules({name}),
            )
        _guarded("restore sys.path", lambda: restore_sys_path(self._sys_path_before, self._roots))
        _guarded("clear the importer cache", lambda: forget_importer_cache(self._roots))

    def _unload(self, records: dict[str, Record]) -> None:
        """Every top-level name the manager served leaves ``sys.modules``, whatever object
        a plugin put there since, unless another active manager's loader ran that object."""
        modules = sys.modules
        doomed: set[str] = set()
        for key, record in records.items():
            if record.borrowed or "." in record.entry.name:
                continue
            current = modules.get(key)
            if current is None or current is record.module or not _held_elsewhere(current, self):
                doomed.add(key)
        if not doomed:
            return
        if threading.active_count() > 1:  # only another thread can be mid-import
            under = tuple(name + "." for name in doomed)
            for key, record in records.items():
                if key in doomed or key.startswith(under):
                    settle(record.spec)
        forget_modules(doomed)

    def _drop_finders(self, records: dict[str, Record]) -> None:
        """Meta-path finders added while active whose class a plugin module defines."""
        before = {id(f) for f in self._meta_path_before}
        added = [f for f in list(sys.meta_path) if id(f) not in before and f is not self._finder]
        if not added:
            return
        tops = {key.partition(".")[0] for key, r in records.items() if not r.borrowed}

        def planted(finder: object) -> bool:
            module = type_module(type(finder))
            return module is not None and module.partition(".")[0] in tops

        doomed = {id(f) for f in added if planted(f)}
        if doomed:
            rebind_meta_path(lambda meta: [f for f in meta if id(f) not in doomed])


_source_of = operator.attrgetter("source")


def session_of(module: object) -> Session | None:
    """The session whose loader ran ``module``, or None (read warily: it may be anything)."""
    try:
        spec = object.__getattribute__(module, "__dict__").get("__spec__")
        owner = object.__getattribute__(spec.loader, "__dict__").get("session")
    except Exception:  # no spec, no loader, an object without a __dict__
        return None
    return owner if type(owner) is Session else None


def _held_elsewhere(module: object, session: Session) -> bool:
    owner = session_of(module)
    return owner is not None and owner is not session and owner.active


def _guarded(what: str, step: Callable[[], None]) -> None:
    """Run one step of ending; a failure is logged and the next step still runs."""
    try:
        step()
    except Exception:
        logger.warning("pike: could not %s while cleaning up", what, exc_info=True)
