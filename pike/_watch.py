"""Watching the search paths: each batch of changes refreshed as it comes (docs/refresh.md,
"Watching a folder").

A `Watch` is what [`PikeManager.watch`][pike.manager.PikeManager.watch] returns: a
context manager whose thread waits for changes, through the operating system's own
notifications (``watchfiles``, the optional extra ``pike[watch]``) or by polling,
and hands each batch to the manager's refresh. It is given what it needs, never the
manager: ``refresh(paths)`` (refresh those paths, or everything for None; never raises
a plugin's error) and ``active()`` (whether the manager is still active).

A batch ends once no further change has arrived for ``debounce`` seconds, and at
the latest after 20 times that. Only changes that can matter to the plugins are
looked at (`pike._names.tracked`); a report is delivered when the refresh found
something: to ``on_change``, or to the iterator the ``with`` statement gives.
"""

from __future__ import annotations

import math
import os
import threading
import warnings
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING

from pike import _log
from pike._names import tracked
from pike._objects import a_type_name
from pike.errors import PikeTypeError, PikeValueError, PikeWarning

if TYPE_CHECKING:
    import queue

    from pike._refresh import RefreshReport

__all__ = ["BACKENDS", "Watch", "check"]

logger = _log.get(__name__)

BACKENDS = ("auto", "watchfiles", "poll")
#: How long entering waits for the watcher to be armed, and leaving for its thread.
_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 1.0
#: How often the watchfiles backend wakes up with nothing to report: the first wake-up
#: says it is armed; each one after looks whether it should stop.
_TICK_MS = 50


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PikeTypeError(f"{name} is {a_type_name(value)}; pass a number of seconds")
    if not math.isfinite(value) or value <= 0:
        raise PikeValueError(f"{name}={value!r}; pass a number of seconds above 0")
    return float(value)


def check(
    on_change: object, debounce: object, backend: object, poll_interval: object
) -> tuple[float, str, float]:
    """The arguments of `PikeManager.watch`, checked: ``(debounce, backend, poll_interval)``,
    the backend chosen for "auto" (a `PikeWarning` if that is polling)."""
    if on_change is not None and not callable(on_change):
        raise PikeTypeError(
            f"on_change is {a_type_name(on_change)}; pass a callable that takes a "
            "RefreshReport, or None to iterate over the reports"
        )
    seconds = _seconds("debounce", debounce)
    interval = _seconds("poll_interval", poll_interval)
    if not isinstance(backend, str):
        raise PikeTypeError(f"backend is {a_type_name(backend)}; pass one of {BACKENDS}")
    if backend not in BACKENDS:
        raise PikeValueError(f"backend={backend!r} is not a backend; pass one of {BACKENDS}")
    if backend != "poll" and not _has_watchfiles():
        if backend == "watchfiles":
            raise PikeValueError(
                "backend='watchfiles' needs the watchfiles package, which is not installed; "
                "install pike's extra: pip install 'pike[watch]' (or use backend='poll')"
            )
        warnings.warn(
            "pike watches by polling: the watchfiles package is not installed (pip install "
            f"'pike[watch]' for the operating system's notifications); every {interval:g} s",
            PikeWarning,
            stacklevel=3,
        )
        backend = "poll"
    elif backend == "auto":
        backend = "watchfiles"
    return seconds, backend, interval


def _has_watchfiles() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("watchfiles") is not None
    except (ImportError, ValueError):
        return False


class Watch:
    """Watching ``roots`` (the search paths) until the ``with`` block ends or `stop`."""

    def __init__(  # noqa: PLR0917 - what the manager hands down
        self,
        refresh: Callable[[list[str] | None], RefreshReport],
        active: Callable[[], bool],
        roots: list[str],
        on_change: Callable[[RefreshReport], object] | None,
        debounce: float,
        backend: str,
        poll_interval: float,
    ) -> None:
        self._refresh = refresh
        self._active = active
        self._roots = list(roots)
        self._on_change = on_change
        self._debounce = debounce
        self.backend = backend
        self._poll_interval = poll_interval
        self._stopping = threading.Event()
        self._armed = threading.Event()
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._reports: queue.SimpleQueue[RefreshReport | None] | None = None
        #: How many times the watcher looked: polls, or batches of changes (and idle
        #: wake-ups) from watchfiles.
        self.rounds = 0
        #: Called by `stop` (the manager forgets this watch there).
        self.on_stop: Callable[[Watch], object] | None = None

    # -- the block -----------------------------------------------------------------------

    def __enter__(self) -> Watch:
        if self._thread is not None:
            raise PikeValueError("this watch was entered already; call mgr.watch() again")
        if self._on_change is None:
            import queue

            self._reports = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="pike-watch", daemon=True)
        self._thread.start()
        if not self._armed.wait(_START_TIMEOUT) or self._failure is not None:
            self.stop()
            raise PikeValueError(
                f"pike could not watch {', '.join(self._roots)} with {self.backend}: "
                f"{self._failure or 'it did not start in time'}; try backend='poll'"
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop watching (from any thread, a callback included); the thread is waited for
        up to a second, unless this is that thread."""
        self._stopping.set()
        if self._reports is not None:
            self._reports.put(None)  # an iterator waiting for a report ends
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(_STOP_TIMEOUT)
        on_stop, self.on_stop = self.on_stop, None
        if on_stop is not None:
            on_stop(self)

    @property
    def watching(self) -> bool:
        """True while the watcher's thread runs."""
        thread = self._thread
        return thread is not None and thread.is_alive() and not self._stopping.is_set()

    # -- reports, without a callback ---------------------------------------------------------

    def __iter__(self) -> Iterator[RefreshReport]:
        if self._reports is None:
            raise PikeValueError(
                "this watch hands its reports to on_change; iterate over mgr.watch() "
                "made without a callback"
            )
        return self._each()

    def _each(self) -> Iterator[RefreshReport]:
        import queue

        reports = self._reports
        assert reports is not None
        while True:
            # Waited for in ticks: a Ctrl-C the kernel handed to another thread raises
            # here within a tick (a wait without a timeout would never wake for it).
            try:
                report = reports.get(timeout=_TICK_MS / 1000)
            except queue.Empty:
                continue
            if report is None:
                reports.put(None)  # for any other iterator
                return
            yield report

    # -- the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            if self.backend == "poll":
                self._armed.set()
                while not self._stopping.wait(self._poll_interval):
                    self._apply(None)
                    self.rounds += 1
            else:
                self._run_watchfiles()
        except BaseException as exc:  # the backend failed: said on entering, else logged
            self._failure = exc
            if self._armed.is_set():
                logger.error("pike: watching stopped: %s", exc, exc_info=True)
            self._armed.set()
        finally:
            if self._reports is not None:
                self._reports.put(None)

    def _run_watchfiles(self) -> None:
        import watchfiles

        step = max(1, round(self._debounce * 1000))
        batches = watchfiles.watch(
            *self._roots,
            watch_filter=None,
            debounce=20 * step,
            step=step,
            stop_event=self._stopping,
            rust_timeout=_TICK_MS,
            yield_on_timeout=True,
            raise_interrupt=False,
        )
        try:
            for changes in batches:
                self._armed.set()  # the first wake-up, with or without changes
                if self._stopping.is_set():
                    break
                paths = [path for _change, path in changes if self._tracked(path)]
                if paths:
                    self._apply(sorted(set(paths)))
                self.rounds += 1
        finally:
            batches.close()  # its notifier and descriptors go now, not when collected

    def _tracked(self, path: str) -> bool:
        for root in self._roots:
            inside = os.path.join(root, "")
            if path.startswith(inside):
                return tracked(path[len(inside) :])
        return False

    def _apply(self, paths: list[str] | None) -> None:
        """Refresh ``paths`` (None: everything) and deliver the report if it says anything."""
        if not self._active():
            self._stopping.set()
            return
        if self._stopping.is_set():
            return  # the block ended: nothing more is applied or delivered
        try:
            report = self._refresh(paths)
        except BaseException:  # cleaned up meanwhile; a plugin's KeyboardInterrupt
            if self._active():
                logger.error("pike: a refresh while watching failed", exc_info=True)
            return
        if not report or self._stopping.is_set():
            return
        if self._reports is not None:
            self._reports.put(report)
            return
        try:
            self._on_change(report)  # type: ignore[misc]
        except BaseException:
            logger.error("pike: on_change raised; watching goes on", exc_info=True)
