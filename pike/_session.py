"""What an active manager installs into the interpreter, and how it is taken out (C7).

A session puts its finder first in ``sys.meta_path`` and remembers ``sys.path``.
Ending it closes the manager's registry (its loaders refuse new work), removes
the finder, unloads every module whose top-level name the manager loaded,
drops the ``sys.path`` entries added meanwhile that point inside the search
paths, forgets ``sys.path_importer_cache`` entries under them, and takes out
meta-path finders that the plugins themselves added.

Other threads import while this happens, so:

* ``sys.meta_path`` is never changed in place: CPython walks the list object
  it read, so the finder is installed and removed by binding a new list, and
  a walk in progress never sees a finder skipped or repeated;
* everything that may change under us (``sys.modules``, ``sys.path``, the
  importer cache) is read through a snapshot, and each step of ending is
  guarded, so ending always finishes;
* a module still running when the session ends is taken out by its loader as
  it finishes (`pike._loader`), through `Session.sweep`.

A session never refers to its manager, so the manager can be collected.
"""

from __future__ import annotations

import sys
import threading
import time
import weakref
from collections.abc import Callable

from pike import _log
from pike._loading import forget_modules
from pike._paths import is_within, roots_of
from pike._registry import Record
from pike.finder import PikeFinder

__all__ = ["Session"]

logger = _log.get(__name__)

# pike's own changes to sys.meta_path are made one at a time, so two managers
# starting in two threads never lose each other's finder. Reentrant, since a
# manager collected while the new list is built ends (and rebinds) right there.
_META_PATH_LOCK = threading.RLock()

# How long ending waits for a module that another thread has just finished
# loading to be put in place by the import system (a few bytecodes).
_SETTLE_SECONDS = 1.0


def _rebind_meta_path(change: Callable[[list[object]], list[object]]) -> None:
    """Bind ``sys.meta_path`` to ``change(copy)``: never edit the list a walk may be reading."""
    with _META_PATH_LOCK:
        while True:
            current = sys.meta_path
            new = change(list(current))
            # A finalizer run while ``new`` was built may have rebound it: redo.
            if sys.meta_path is current:
                sys.meta_path = new  # type: ignore[assignment]
                return


def _path_key(item: object) -> tuple[str, object]:
    # Strings by value (a plugin may rebuild an equal one); anything else by identity.
    return ("s", item) if type(item) is str else ("i", id(item))


def _type_module(obj: object) -> object:
    return type.__dict__["__module__"].__get__(type(obj))


class Session:
    """The interpreter state one manager owns while it is active."""

    def __init__(self, finder: PikeFinder, search_paths: list[str], unload: bool) -> None:
        self.finder = finder
        self.registry = finder.registry
        self.unload = unload
        self.roots = roots_of(search_paths)
        self.lock = threading.RLock()
        self._active = False
        self._sys_path_before: list[object] = []
        self._meta_path_before: list[object] = []
        self.registry.close(keep=False)
        session = weakref.ref(self)

        def late(name: str) -> None:
            alive = session()
            if alive is not None:
                alive.sweep(name)

        self.registry.on_late = late

    @property
    def active(self) -> bool:
        return self._active

    def start(self) -> bool:
        """Put the finder first in ``sys.meta_path``; False if the session was active."""
        with self.lock:
            finder = self.finder
            if self._active:
                if not any(f is finder for f in sys.meta_path):  # taken out by hand
                    _rebind_meta_path(lambda meta: [finder, *meta])
                return False
            self._sys_path_before = list(sys.path)
            self._meta_path_before = list(sys.meta_path)
            finder.invalidate_caches()
            self.registry.open()
            self._active = True
            _rebind_meta_path(lambda meta: [finder, *(f for f in meta if f is not finder)])
            return True

    def end(self) -> None:
        """Take out everything the session installed; safe to call any number of times."""
        if sys.is_finalizing():
            return  # the interpreter is going away with everything in it
        with self.lock:
            was_active, self._active = self._active, False
            records = self.registry.close(keep=not self.unload)
            finder = self.finder
            steps: list[tuple[str, Callable[[], None]]] = [
                (
                    "remove the finder",
                    lambda: _rebind_meta_path(lambda meta: [f for f in meta if f is not finder]),
                ),
            ]
            if was_active:
                if self.unload:
                    steps.append(("unload the plugin modules", lambda: self._unload(records)))
                    steps.append(
                        ("remove the plugins' finders", lambda: self._drop_finders(records))
                    )
                steps.append(("restore sys.path", self._restore_sys_path))
                steps.append(("clear the importer cache", self._forget_importer_cache))
            for what, step in steps:
                _guarded(what, step)

    def sweep(self, name: str) -> None:
        """Take out what a module left that finished after the session ended.

        Runs in the importing thread, without the session's lock (whose holder
        may be waiting for that very import): each step reads a snapshot.
        """
        if self._active:
            return  # started again meanwhile: the module belongs to the new activation
        if self.unload:
            _guarded("unload a late plugin module", lambda: forget_modules({name}))
        _guarded("restore sys.path", self._restore_sys_path)
        _guarded("clear the importer cache", self._forget_importer_cache)

    # -- the steps -----------------------------------------------------------------

    def _unload(self, records: dict[str, Record]) -> None:
        modules = sys.modules
        ours: set[str] = set()
        for name, record in records.items():
            if record.borrowed or "." in name:
                continue
            current = modules.get(name)
            if current is None or current is record.module:
                ours.add(name)
        if not ours:
            return
        if threading.active_count() > 1:  # only another thread can be mid-import
            for record in records.values():
                if record.entry.name.partition(".")[0] in ours:
                    _settle(record)
        forget_modules(ours)

    def _drop_finders(self, records: dict[str, Record]) -> None:
        """Meta-path finders added while active whose class a plugin module defines."""
        before = {id(f) for f in self._meta_path_before}
        added = [f for f in list(sys.meta_path) if id(f) not in before and f is not self.finder]
        if not added:
            return
        tops = {name.partition(".")[0] for name, r in records.items() if not r.borrowed}

        def planted(finder: object) -> bool:
            module = _type_module(finder)
            return isinstance(module, str) and module.partition(".")[0] in tops

        doomed = {id(f) for f in added if planted(f)}
        if doomed:
            _rebind_meta_path(lambda meta: [f for f in meta if id(f) not in doomed])

    def _restore_sys_path(self) -> None:
        path = sys.path
        if not isinstance(path, list):
            return
        remaining: dict[tuple[str, object], int] = {}
        for item in self._sys_path_before:
            key = _path_key(item)
            remaining[key] = remaining.get(key, 0) + 1
        kept: list[object] = []
        dropped = False
        for item in list(path):
            key = _path_key(item)
            if remaining.get(key, 0) > 0:
                remaining[key] -= 1
                kept.append(item)
            elif is_within(item, self.roots):
                dropped = True
            else:
                kept.append(item)
        if dropped:
            path[:] = kept  # type: ignore[assignment]

    def _forget_importer_cache(self) -> None:
        cache = sys.path_importer_cache
        for key in list(cache):
            if is_within(key, self.roots):
                cache.pop(key, None)


def _settle(record: Record) -> None:
    """Wait until the import system has put a just-loaded module in place.

    Between a loader finishing and the import returning, the import system
    moves the module within ``sys.modules``; removing it then would make that
    import fail with a KeyError in the other thread.
    """
    spec = record.spec
    if spec is None or not getattr(spec, "_initializing", False):
        return
    deadline = time.monotonic() + _SETTLE_SECONDS
    while getattr(spec, "_initializing", False) and time.monotonic() < deadline:
        time.sleep(0.0005)


def _guarded(what: str, step: Callable[[], None]) -> None:
    """Run one step of ending; a failure is logged and the next step still runs."""
    try:
        step()
    except Exception:
        logger.warning("pike: could not %s while cleaning up", what, exc_info=True)
