"""The state of a plugin file when its module was loaded, to tell later if it changed (C9).

A file is remembered by its modification time and size, and, when its
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

import hashlib
import os

__all__ = ["FileState", "is_racy", "state_from_stat"]

_SECOND_NS = 1_000_000_000
# How long after a write the next write may still leave the same stamp.
_FINE_WINDOW_NS = 100_000_000
_WHOLE_SECONDS_WINDOW_NS = 3 * _SECOND_NS


def is_racy(stamp_ns: int, now_ns: int) -> bool:
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

    def matches(self, st: os.stat_result, path: str) -> bool:
        """True if the file at ``path``, whose stat is ``st``, is the one described."""
        if st.st_mtime_ns != self.mtime_ns or st.st_size != self.size:
            return False
        return self.digest is None or self.digest == digest_of(path)

    def differs(self, path: str) -> bool:
        """True if the file at ``path`` is not the one this state describes."""
        try:
            st = os.stat(path)
        except OSError:
            return True
        return not self.matches(st, path)


def digest_of(path: str) -> bytes | None:
    """A digest of the file's content, or None if it cannot be read."""
    try:
        with open(path, "rb") as f:
            return hashlib.blake2b(f.read(), digest_size=16).digest()
    except OSError:
        return None


def state_from_stat(st: os.stat_result, path: str, now_ns: int) -> FileState:
    """The state of the file at ``path`` from its stat ``st`` taken at ``now_ns``."""
    mtime = st.st_mtime_ns
    # Most files are older than the widest window: one comparison decides.
    if now_ns - max(mtime, st.st_ctime_ns) < _WHOLE_SECONDS_WINDOW_NS and (
        is_racy(mtime, now_ns) or is_racy(st.st_ctime_ns, now_ns)
    ):
        return FileState(mtime, st.st_size, digest_of(path))
    return FileState(mtime, st.st_size)
