"""pike's cache folder: where the discovery index and the installed entry points are kept.

The folder is ``$PIKE_CACHE_DIR`` if set (an empty value, ``off`` or ``0``
turns caching off), else ``$XDG_CACHE_HOME/pike``, else ``~/.cache/pike``. It
is private to the user: made with mode 0700, and used only while it is owned
by the user and not writable by anyone else, as are the files in it.

Files hold a ``marshal`` document (Python's own format, read in a fraction of
the time JSON takes) behind a header of a magic string, the format and a
CRC-32 of the payload: a file that does not check out is never unmarshalled.
The name of every file carries the format and the interpreter, whose marshal
version it uses.

A cache is only ever a speed-up. A file that is missing, unreadable, corrupt,
of another format, or cannot be written is ignored (the caller computes the
answer afresh), never raised; and a document that checks out is still only
data: its readers check every value's type and range before using it (the
helpers below), and treat anything wrong as no document at all. Files are
written whole to a temporary name and renamed into place, so readers, and
several processes writing at once, only ever see complete files; and nothing
is written into a plugin folder, however the cache folder is reached.
"""

from __future__ import annotations

import binascii
import marshal
import os
import stat
import struct
import sys
from typing import Any

from pike import _log
from pike._paths import is_within

__all__ = ["FORMAT", "directory", "ints", "key_of", "read", "strings", "write"]

logger = _log.get(__name__)

#: Bumped when what is stored changes shape or meaning; other formats are other files.
FORMAT = 3
_MAGIC = b"pike-cache"
_HEADER = struct.Struct("<10sII")  # magic, format, CRC-32 of the payload
_OFF = ("", "0", "off", "no", "false")


def directory() -> str | None:
    """The cache folder to use, or None if caching is turned off."""
    chosen = os.environ.get("PIKE_CACHE_DIR")
    if chosen is not None:
        return None if chosen.strip().lower() in _OFF else os.path.abspath(chosen)
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG rule: unset, empty or relative is ignored
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return None  # no home to keep a cache in (never the current folder)
        base = os.path.join(home, ".cache")
    return os.path.join(base, "pike")


def _private(st: os.stat_result) -> bool:
    """Owned by this user and writable by no one else."""
    geteuid = getattr(os, "geteuid", None)
    if geteuid is None:  # pragma: no cover - no POSIX ownership (Windows)
        return True
    return st.st_uid == geteuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _usable(folder: str) -> bool:
    try:
        st = os.stat(folder)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and _private(st)


def read(name: str) -> dict[str, Any] | None:
    """The document stored as ``name``, or None (absent, foreign, corrupt...)."""
    folder = directory()
    if folder is None:
        return None
    path = os.path.join(folder, name)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as file:
            st = os.fstat(file.fileno())
            if not stat.S_ISREG(st.st_mode) or not _private(st) or not _usable(folder):
                return None
            data = file.read()
        magic, version, crc = _HEADER.unpack_from(data)
        payload = memoryview(data)[_HEADER.size :]
        if magic != _MAGIC or version != FORMAT or binascii.crc32(payload) != crc:
            return None
        document = marshal.loads(payload)
    except Exception:  # truncated, corrupt, of another Python...
        logger.debug("ignored an unreadable cache file %s", path)
        return None
    return document if type(document) is dict else None


def write(name: str, document: dict[str, Any], *, avoid: tuple[str, ...] = ()) -> None:
    """Store ``document`` (plain data) as ``name``; silently nothing if it cannot be done.

    Nothing is written if the cache folder, its symbolic links resolved, lies
    inside one of ``avoid`` (plugin folders, as `pike._paths.roots_of` gives them).
    """
    folder = directory()
    if folder is None:
        return
    if avoid and (is_within(folder, avoid) or is_within(os.path.realpath(folder), avoid)):
        return
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        if not _usable(folder):
            return
        import tempfile

        payload = marshal.dumps(document)
        header = _HEADER.pack(_MAGIC, FORMAT, binascii.crc32(payload))
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(header + payload)
            os.replace(temporary, os.path.join(folder, name))
        except BaseException:
            _remove(temporary)
            raise
    except Exception as exc:  # a full disk, a read-only home, a folder we may not use...
        logger.debug("could not write cache file %s: %s", name, exc)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:  # gone already
        return


def key_of(*parts: object) -> str:
    """A file name for the cache entry of ``parts`` (the Python, a path...)."""
    text = repr((FORMAT, sys.implementation.cache_tag, *parts))
    return f"{binascii.crc32(text.encode('utf-8', 'surrogatepass')):08x}"


# -- checking what was read back ----------------------------------------------------------


def strings(value: object) -> bool:
    """True if ``value`` is a tuple of str (checked in bulk)."""
    return type(value) is tuple and set(map(type, value)) <= {str}


def ints(value: object, low: int, high: int) -> bool:
    """True if ``value`` is a tuple of ints, each in ``[low, high)`` (checked in bulk)."""
    return (
        type(value) is tuple
        and set(map(type, value)) <= {int}
        and (not value or (low <= min(value) and max(value) < high))
    )
