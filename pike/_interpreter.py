"""Changes to the interpreter's import state, made so that no other thread can trip on them.

Other threads import while pike installs and takes out its plugins, so:

* ``sys.meta_path`` is never changed in place: CPython walks the list object
  it read, so pike binds a new list instead, and a walk in progress never sees
  a finder skipped or repeated;
* ``sys.modules``, ``sys.path`` and ``sys.path_importer_cache`` are read
  through a snapshot, and what is removed is removed one key at a time, so a
  change made meanwhile by another thread never makes pike fail;
* a module another thread has just finished loading is left to the import
  system until it has been put in place (`settle`).

The cyclic garbage collector is paused while plugins import (`collector_paused`),
and restored exactly.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping

from pike._paths import is_within

__all__ = [
    "MANY_MODULES",
    "collector_paused",
    "forget_importer_cache",
    "forget_modules",
    "invalidate_listings",
    "put_modules",
    "rebind_meta_path",
    "restore_sys_path",
    "settle",
]

# pike's changes to sys.meta_path are made one at a time, so two managers
# starting in two threads never lose each other's finder. Reentrant, since a
# manager collected while the new list is built ends (and rebinds) right there.
_META_PATH_LOCK = threading.RLock()

# How long to wait for a module that another thread has just finished loading
# to be put in place by the import system (a few bytecodes).
_SETTLE_SECONDS = 1.0


def rebind_meta_path(change: Callable[[list[object]], list[object]]) -> None:
    """Bind ``sys.meta_path`` to ``change(copy)``: the list a walk may be reading stays as it is."""
    with _META_PATH_LOCK:
        while True:
            current = sys.meta_path
            new = change(list(current))
            # A finalizer run while ``new`` was built may have rebound it: redo.
            if sys.meta_path is current:
                sys.meta_path = new  # type: ignore[assignment]
                return


def forget_modules(names: Iterable[str], *, submodules: bool = True) -> None:
    """Remove ``names`` and (unless told there are none) their submodules from ``sys.modules``.

    A removed submodule is also unhooked from its parent package, if the
    parent's attribute still refers to it.
    """
    modules = sys.modules
    wanted = set(names)
    if submodules:
        prefixes = tuple(name + "." for name in wanted)
        doomed = [k for k in list(modules) if k in wanted or k.startswith(prefixes)]
    else:
        doomed = list(wanted)
    for key in doomed:
        module = modules.pop(key, None)
        parent_name, _, child = key.rpartition(".")
        parent = modules.get(parent_name) if parent_name else None
        if parent is not None and module is not None:
            try:
                if getattr(parent, child, None) is module:
                    delattr(parent, child)
            except Exception:  # a parent with hostile attribute access
                pass


def put_modules(modules: Mapping[str, object]) -> None:
    """Put ``modules`` in ``sys.modules`` by name, each submodule also as its parent
    package's attribute (if the parent is there), as an import would have left it."""
    for key, module in modules.items():
        sys.modules[key] = module  # type: ignore[assignment]
    for key, module in modules.items():
        parent_name, _, child = key.rpartition(".")
        parent = sys.modules.get(parent_name) if parent_name else None
        if parent is not None:
            with contextlib.suppress(Exception):  # a parent with hostile attribute access
                setattr(parent, child, module)


def _path_key(item: object) -> tuple[str, object]:
    # Strings by value (a plugin may rebuild an equal one); anything else by identity.
    return ("s", item) if type(item) is str else ("i", id(item))


def restore_sys_path(before: list[object], roots: tuple[str, ...]) -> None:
    """Drop the ``sys.path`` entries added since ``before`` that lie inside ``roots``."""
    path = sys.path
    if not isinstance(path, list):
        return
    remaining: dict[tuple[str, object], int] = {}
    for item in before:
        key = _path_key(item)
        remaining[key] = remaining.get(key, 0) + 1
    kept: list[object] = []
    dropped = False
    for item in list(path):
        key = _path_key(item)
        if remaining.get(key, 0) > 0:
            remaining[key] -= 1
            kept.append(item)
        elif is_within(item, roots):
            dropped = True
        else:
            kept.append(item)
    if dropped:
        path[:] = kept  # type: ignore[assignment]


def invalidate_listings(finder: object, roots: tuple[str, ...]) -> None:
    """Forget every cached listing of a folder under ``roots``: ``finder``'s own (through
    ``invalidate_caches``, as ``importlib.invalidate_caches`` would) and the importer
    cache's, so files added since are seen."""
    invalidate = getattr(finder, "invalidate_caches", None)
    if invalidate is not None:
        invalidate()
    forget_importer_cache(roots)


def forget_importer_cache(roots: tuple[str, ...]) -> None:
    """Drop every ``sys.path_importer_cache`` entry for a folder inside ``roots``."""
    cache = sys.path_importer_cache
    for key in list(cache):
        if is_within(key, roots):
            cache.pop(key, None)


def settle(spec: object) -> None:
    """Wait until the import system has put a just-loaded module in place.

    Between a loader finishing and the import returning, the import system
    moves the module within ``sys.modules``; removing it then would make that
    import fail with a KeyError in the other thread.
    """
    if spec is None or not getattr(spec, "_initializing", False):
        return
    deadline = time.monotonic() + _SETTLE_SECONDS
    while getattr(spec, "_initializing", False) and time.monotonic() < deadline:
        time.sleep(0.0005)


class _CollectorPause:
    """Pause the cyclic garbage collector while plugins import, then restore it exactly.

    Importing thousands of modules grows the heap fast, and every full
    collection walks all of it: that made loading grow faster than linearly
    ("growth 1000 -> 10000" benchmark row). So the collector is stopped for
    the length of the block, and reference counting frees what it can
    meanwhile; what the plugins made is looked at by the collector's next
    young collection, while it is still young. A plugin dropped soon after
    (a manager made and ended again and again: "cycles memory" row) is then
    freed by that collection, not promoted to an older generation to wait
    for a full one.

    A load of many modules (`many_modules`) lets the young generations be
    collected again for the rest of the block, a few hundred objects at a
    time while they are fresh in the cache, with only the oldest generation's
    threshold raised: no single collection at the end walks all that the
    plugins made ("flat 1000" row).

    Nested and concurrent pauses (managers in several threads) restore what
    the first one found, when the last one ends.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._was_enabled = False
        self._thresholds: tuple[int, ...] = ()
        self._young = False  # the young generations collected again (`many_modules`)

    def __enter__(self) -> None:
        with self._lock:
            if self._depth == 0:
                self._was_enabled = gc.isenabled()
                self._thresholds = gc.get_threshold()
                self._young = False
                gc.disable()
            self._depth += 1

    def many_modules(self) -> None:
        """A load of many modules begins: let the young generations be collected for the
        rest of the pause, with full collections still held back."""
        with self._lock:
            if self._depth and self._was_enabled and not self._young:
                self._young = True
                young, middle, *_old = self._thresholds
                gc.set_threshold(young, middle, _NEVER)
                gc.enable()

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                if self._young:
                    gc.set_threshold(*self._thresholds)
                if self._was_enabled:
                    gc.enable()  # a collector the host had turned off is left alone


# A threshold no count reaches while a block imports.
_NEVER = 2**30

# How many modules make a load "many" (`_CollectorPause.many_modules`): past a few
# hundred, what the plugins make outgrows the processor's caches.
MANY_MODULES = 256


collector_paused = _CollectorPause()
