"""What one manager loaded: a record per module, written only by pike's loaders.

Every plugin module pike imports, whichever way it is asked for (discovery,
``import name`` inside the block, one plugin importing another, refresh, a
named manager's drop-in folder), is executed by a loader of
`pike._loader`, and that loader records it here: the folder entry it came
from, the object that landed in ``sys.modules``, and the state of its file
just before it ran. Everything else reads this record: the finder (which names
are this manager's), cleanup (what to take out), refresh (what changed), class
picking, the command line and the named managers.

A registry is *closed* while its manager is inactive: its loaders then refuse
to run a module, and one that was already running when the manager ended is
taken out again as it finishes (C7).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from importlib.machinery import ModuleSpec

from pike._filestate import Stamp
from pike._walk import ModuleEntry

__all__ = ["Record", "Registry"]


class Record:
    """One loaded module: where it came from, what landed, and its file's state.

    The file's state is kept as ``stamp`` (modification time in ns, size) and
    ``digest`` (of the content, when the stamp was too recent to trust), both
    None for a module the manager did not run. ``borrowed`` is true for a
    module the host had already imported from the same file: the manager
    uses it but does not own it (cleanup leaves it).
    ``classes`` and ``uses`` are facts about the module's namespace, worked
    out once when first needed (`pike._classes`).
    """

    __slots__ = (
        "borrowed",
        "classes",
        "digest",
        "entry",
        "module",
        "path",
        "spec",
        "stamp",
        "uses",
    )

    def __init__(
        self,
        entry: ModuleEntry,
        module: object,
        spec: ModuleSpec | None,
        stamp: Stamp | None,
        digest: bytes | None = None,
        *,
        borrowed: bool = False,
    ) -> None:
        self.entry = entry
        self.path = entry.path  # flat, as the stamp: refresh reads both for every record
        self.module = module
        self.spec = spec
        self.stamp = stamp
        self.digest = digest
        self.borrowed = borrowed
        self.classes: list[type] | None = None
        self.uses: frozenset[str] | set[str] | None = None

    def __repr__(self) -> str:
        return f"<Record {self.entry.name!r} from {self.entry.path!r}>"


class Registry:
    """Module name -> `Record`, for the modules one manager loaded."""

    def __init__(self) -> None:
        # Reentrant: a manager collected while its own loader records ends right there.
        self._lock = threading.RLock()
        self._records: dict[str, Record] = {}
        self._running: dict[str, ModuleEntry] = {}
        self.closed = False
        # Closed with ``keep`` (a manager with unload=False): what was already under
        # way may still finish and stay, as the modules loaded before do.
        self._keeps = False
        self._versions = itertools.count(1)
        #: Changed at every change, so lists derived from the records know when to renew.
        self.version = 0
        #: Called with a module name when a module finishes after the registry closed.
        self.on_late: Callable[[str], None] | None = None

    # -- reading (any thread) ------------------------------------------------------

    def get(self, name: str) -> Record | None:
        return self._records.get(name)

    def owns(self, name: str, module: object) -> bool:
        """True if ``module`` is what this manager loaded under ``name``."""
        record = self._records.get(name)
        return record is not None and record.module is module and not record.borrowed

    def serves(self, name: str) -> ModuleEntry | None:
        """The entry of ``name`` if this manager loaded it (or is loading it), else None."""
        record = self._records.get(name)
        if record is not None:
            return None if record.borrowed else record.entry
        return self._running.get(name)

    def snapshot(self) -> dict[str, Record]:
        """A copy of the records, safe to iterate while other threads import."""
        with self._lock:
            return dict(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, name: object) -> bool:
        return name in self._records

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._records))

    # -- writing: pike's loaders only ----------------------------------------------

    def begin(self, entry: ModuleEntry) -> bool:
        """A module is about to run; False if the registry is closed (refuse it)."""
        if self.closed and not self._keeps:
            return False
        self._running[entry.name] = entry
        return True

    def abandon(self, name: str) -> None:
        """A module that began did not finish (it raised)."""
        with self._lock:
            self._running.pop(name, None)

    def land(self, record: Record) -> bool:
        """A module finished; record it. False if the registry closed meanwhile.

        Without a lock (this runs once per module): the record is put in first
        and ``closed`` read after, so a `close` racing with it either
        sees the record (and its manager takes the module out) or is seen
        here (and the loader takes it out); both may, harmlessly.
        """
        name = record.entry.name
        self._running.pop(name, None)
        self._records[name] = record
        self.version = next(self._versions)
        if self.closed and not self._keeps:
            self._records.pop(name, None)
            return False
        return True

    def borrow(self, record: Record) -> None:
        """Record a module the host imported from the plugin's own file."""
        with self._lock:
            self._records[record.entry.name] = record
            self.version = next(self._versions)

    def forget(self, names: set[str]) -> None:
        """Drop the records of ``names`` (their modules were taken out)."""
        with self._lock:
            for name in names:
                self._records.pop(name, None)
            self.version = next(self._versions)

    def open(self) -> None:
        with self._lock:
            self.closed = False

    def close(self, *, keep: bool) -> dict[str, Record]:
        """Refuse new work; return the records (and forget them, unless ``keep``)."""
        with self._lock:
            self._keeps = keep
            self.closed = True
            records = dict(self._records)
            if not keep:
                self._records.clear()
                self.version = next(self._versions)
            return records
