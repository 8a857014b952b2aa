"""Pausing the cyclic garbage collector around bulk work, and restoring it exactly."""

from __future__ import annotations

import gc
import threading

__all__ = ["collector_paused"]


class _CollectorPause:
    """Pause the cyclic garbage collector while plugins import, then restore it.

    Importing thousands of modules grows the heap fast, and every full
    collection walks all of it: that made loading grow faster than linearly
    (C12). Reference counting still frees everything it can meanwhile, and
    the collector examines what was allocated at its next run after the
    pause. Nested and concurrent pauses (managers in several threads)
    restore the state found by the first one, when the last one ends.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._was_enabled = False

    def __enter__(self) -> None:
        with self._lock:
            if self._depth == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._depth += 1

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0 and self._was_enabled:
                gc.enable()


collector_paused = _CollectorPause()
