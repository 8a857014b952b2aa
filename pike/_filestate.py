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

import os

__all__ = ["Stamp", "digest_of", "file_state", "is_racy"]

#: What a file is remembered by: its modification time in nanoseconds, and its size.
Stamp = tuple[int, int]

_SECOND_NS = 1_000_000_000
# How long after a write the next write may still leave the same stamp.
_FINE_WINDOW_NS = 100_000_000
_WHOLE_SECONDS_WINDOW_NS = 3 * _SECOND_NS


def is_racy(stamp_ns: int, now_ns: int) -> bool:
    """True if a write after ``now_ns`` could leave a file stamped ``stamp_ns`` as it is."""
    window = _WHOLE_SECONDS_WINDOW_NS if stamp_ns % _SECOND_NS == 0 else _FINE_WINDOW_NS
    return now_ns - stamp_ns < window


def digest_of(path: str) -> bytes | None:
    """A digest of the file's content, or None if it cannot be read."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    # Python's own (keyed SipHash) hash of the bytes: the digest is only ever
    # compared within this process, and hashlib would cost its import (C16).
    return hash(data).to_bytes(8, "little", signed=True)


def file_state(st: os.stat_result, path: str, now_ns: int) -> tuple[Stamp, bytes | None]:
    """The stamp of the file at ``path`` (its stat ``st`` taken at ``now_ns``), and a
    digest of its content if the stamp is too recent to trust."""
    mtime = st.st_mtime_ns
    stamp = (mtime, st.st_size)
    # Most files are older than the widest window: one comparison decides.
    if now_ns - max(mtime, st.st_ctime_ns) < _WHOLE_SECONDS_WINDOW_NS and (
        is_racy(mtime, now_ns) or is_racy(st.st_ctime_ns, now_ns)
    ):
        return stamp, digest_of(path)
    return stamp, None
