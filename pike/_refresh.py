"""What changed in the search paths since the plugins were loaded (contract C9).

A loaded file is remembered by its modification time and size, and, when its
timestamp is too recent to trust (two writes can fall in one tick of the
filesystem's clock), by a digest of its content.

How recent is too recent depends on the timestamp. One with a fraction of a
second comes from a filesystem that keeps fine times, stamped by a clock that
ticks every few milliseconds (Linux's coarse clock, Windows' 15.6 ms tick):
after 100 ms no later write can repeat it. One in whole seconds may come from
a filesystem that keeps seconds or, like FAT, two: it is trusted after three.
The window is no longer than that because a digest means reading the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType

from pike._loading import forget_modules
from pike._walk import ModuleEntry
from pike.errors import PluginError

__all__ = ["FileState", "RefreshReport", "dependents", "drop_modules", "file_states"]

_SECOND_NS = 1_000_000_000
# How long after a write the next write may still leave the same stamp.
_FINE_WINDOW_NS = 100_000_000
_WHOLE_SECONDS_WINDOW_NS = 3 * _SECOND_NS


def _racy(stamp_ns: int, now_ns: int) -> bool:
    """True if a write after ``now_ns`` could leave a file stamped ``stamp_ns`` as it is."""
    window = _WHOLE_SECONDS_WINDOW_NS if stamp_ns % _SECOND_NS == 0 else _FINE_WINDOW_NS
    return now_ns - stamp_ns < window


class FileState:
    """A file as it was when its module was loaded.

    A plain class: one is made per plugin file on every load, and a frozen
    dataclass takes more than twice as long to make (0.43 µs against 0.18).
    """

    __slots__ = ("digest", "mtime_ns", "size")

    def __init__(self, mtime_ns: int, size: int, digest: bytes | None = None) -> None:
        self.mtime_ns = mtime_ns
        self.size = size
        self.digest = digest

    def differs(self, path: str) -> bool:
        """True if the file at ``path`` is not the one this state describes."""
        try:
            st = os.stat(path)
        except OSError:
            return True
        if (st.st_mtime_ns, st.st_size) != (self.mtime_ns, self.size):
            return True
        return self.digest is not None and self.digest != _digest(path)


def _digest(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return hashlib.blake2b(f.read(), digest_size=16).digest()
    except OSError:
        return None


def file_states(entries: Iterable[ModuleEntry]) -> dict[str, FileState]:
    """The current state of each entry's file, by module name."""
    now = time.time_ns()
    states = {}
    for entry in entries:
        try:
            st = os.stat(entry.path)
        except OSError:
            continue
        recent = _racy(st.st_mtime_ns, now) or _racy(st.st_ctime_ns, now)
        states[entry.name] = FileState(
            st.st_mtime_ns, st.st_size, _digest(entry.path) if recent else None
        )
    return states


@dataclass(frozen=True, slots=True)
class RefreshReport:
    """What :meth:`PikeManager.refresh` found: module names, in load order.

    ``added``: loaded now, not before. ``changed``: loaded before and executed
    afresh (their file changed, or a module they use did). ``removed``: loaded
    before, gone from the search paths. ``errors``: the plugin errors met.
    """

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[PluginError] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.errors)

    def __str__(self) -> str:
        if not self:
            return "no changes"
        parts = []
        for label, names in (
            ("added", self.added),
            ("changed", self.changed),
            ("removed", self.removed),
        ):
            if names:
                parts.append(f"{label}: {', '.join(names)}")
        if self.errors:
            parts.append(f"{len(self.errors)} error{'s' if len(self.errors) > 1 else ''}")
        return "; ".join(parts)


def dependents(changed: set[str], loaded: dict[str, ModuleType]) -> set[str]:
    """Loaded modules that hold a module, class or function of ``changed`` ones.

    They are executed afresh too, or they would keep the old objects (a
    subclass of the old base class, say). Followed transitively.
    """
    found = set(changed)
    grew = True
    while grew:
        grew = False
        for name, module in loaded.items():
            if name in found:
                continue
            own_submodule = name + "."
            for value in list(getattr(module, "__dict__", {}).values()):
                origin: object
                if isinstance(value, ModuleType):
                    origin = value.__name__
                    if origin.startswith(own_submodule):
                        continue  # the import system's attribute for a submodule
                else:
                    origin = getattr(value, "__module__", None)
                if isinstance(origin, str) and origin in found:
                    found.add(name)
                    grew = True
                    break
    return found - changed


def drop_modules(names: Iterable[str], paths: dict[str, str]) -> None:
    """Forget ``names`` (and their submodules) so the next import runs them afresh.

    ``paths`` maps names to their files: stale bytecode caches are removed,
    since Python trusts a cache whose source has the same size and mtime to
    the second.
    """
    names = list(names)
    forget_modules(names)
    for name in names:
        path = paths.get(name)
        if path and path.endswith(".py"):
            with contextlib.suppress(OSError, ValueError, NotImplementedError):
                os.remove(importlib.util.cache_from_source(path))
