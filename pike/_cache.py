"""pike's cache folder: where the discovery index and the installed entry points are kept.

The folder is ``$PIKE_CACHE_DIR`` if set (an empty value, ``off`` or ``0``
turns caching off), else the platform's cache folder for user programs, named
as `platformdirs` names it: ``$XDG_CACHE_HOME/pike`` or ``~/.cache/pike``;
``~/Library/Caches/pike`` on macOS; ``%LOCALAPPDATA%\\pike\\Cache`` on Windows.
It is private to the user: made with mode 0700, and used only while it is
owned by the user and not writable by anyone else, as are the files in it.

It does not grow for ever. A manifest (``pike-manifest.json``) notes each
file's size, when it was written and the folders it is about; each write
drops the files whose folders are all gone, then the oldest ones while there
are more than `MAX_FILES` or they hold more than `MAX_BYTES`. `clear` (``pike
--clear-cache``) removes every file pike wrote there, and nothing else.

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
import itertools
import marshal
import os
import stat
import sys
from typing import Any

from pike import _log
from pike._paths import is_within

__all__ = [
    "FORMAT",
    "MAX_BYTES",
    "MAX_FILES",
    "clear",
    "directory",
    "ints",
    "key_of",
    "read",
    "read_file",
    "strings",
    "subfolder",
    "write",
    "write_file",
]

logger = _log.get(__name__)

#: Bumped when what is stored changes shape or meaning; other formats are other files.
FORMAT = 7
_MAGIC = b"pike-cache"
_HEADER_SIZE = len(_MAGIC) + 8  # magic, format, CRC-32 of the payload (4 bytes each)
_OFF = ("", "0", "off", "no", "false")
# How every file in the folder is opened to be read: never through a link, and never
# waiting on a FIFO planted under a cache file's name (flags a platform lacks are 0).
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def _header(payload: bytes | memoryview) -> bytes:
    """What a cache file holding ``payload`` begins with (little-endian numbers)."""
    return _MAGIC + FORMAT.to_bytes(4, "little") + binascii.crc32(payload).to_bytes(4, "little")


def directory() -> str | None:
    """The cache folder to use, or None if caching is turned off."""
    chosen = os.environ.get("PIKE_CACHE_DIR")
    if chosen is not None:
        return None if chosen.strip().lower() in _OFF else os.path.abspath(chosen)
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA", "")
        return os.path.join(local, "pike", "Cache") if os.path.isabs(local) else None
    if sys.platform == "darwin":
        home = os.path.expanduser("~")
        return os.path.join(home, "Library", "Caches", "pike") if os.path.isabs(home) else None
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
    return read_file(os.path.join(folder, name))


def read_file(path: str) -> dict[str, Any] | None:
    """The document in the cache file ``path`` (in the cache folder or a folder of
    `subfolder`'s), or None: the file and its folder must be private, its header and
    CRC-32 check out."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as file:
            st = os.fstat(file.fileno())
            folder = os.path.dirname(path)
            if not stat.S_ISREG(st.st_mode) or not _private(st) or not _usable(folder):
                return None
            data = file.read()
        payload = memoryview(data)[_HEADER_SIZE:]
        if data[:_HEADER_SIZE] != _header(payload):
            return None
        document = marshal.loads(payload)
    except Exception:  # truncated, corrupt, of another Python...
        logger.debug("ignored an unreadable cache file %s", path)
        return None
    return document if type(document) is dict else None


def subfolder(name: str) -> str | None:
    """The folder ``name`` inside the cache folder, made private (mode 0700) if need be;
    None if caching is off or it is not a private folder of this user's."""
    folder = directory()
    if folder is None:
        return None
    inside = os.path.join(folder, name)
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        if not _usable(folder):
            return None
        os.makedirs(inside, mode=0o700, exist_ok=True)
        st = os.lstat(inside)
    except OSError:
        return None
    return inside if stat.S_ISDIR(st.st_mode) and _private(st) else None


def write_file(path: str, document: dict[str, Any]) -> bool:
    """Store ``document`` in the cache file ``path`` (in a folder of `subfolder`'s), whole:
    under a temporary name, then renamed into place. False if it could not be."""
    try:
        payload = marshal.dumps(document)
        _replace(os.path.dirname(path), os.path.basename(path), _header(payload) + payload)
    except Exception as exc:  # a full disk, a value marshal cannot store...
        logger.debug("could not write cache file %s: %s", path, exc)
        return False
    return True


def write(
    name: str,
    document: dict[str, Any],
    *,
    avoid: tuple[str, ...] = (),
    folders: tuple[str, ...] = (),
) -> None:
    """Store ``document`` (plain data) as ``name``; silently nothing if it cannot be done.

    Nothing is written if the cache folder, its symbolic links resolved, lies
    inside one of ``avoid`` (plugin folders, as `pike._paths.roots_of` gives them).
    ``folders`` are those the document is about: once none of them exists, a
    later write removes it.
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
        payload = marshal.dumps(document)
        header = _header(payload)
        _replace(folder, name, header + payload)
        _tidy(folder, name, len(header) + len(payload), folders)
    except Exception as exc:  # a full disk, a read-only home, a folder we may not use...
        logger.debug("could not write cache file %s: %s", name, exc)


_temporaries = itertools.count()


def _replace(folder: str, name: str, data: bytes) -> None:
    """Write ``data`` as ``name`` in ``folder``: whole, under a temporary name of this
    process's (made new, private, never through a link), then renamed into place."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    while True:
        temporary = os.path.join(folder, f".{name}.{os.getpid()}.{next(_temporaries)}.tmp")
        try:
            fd = os.open(temporary, flags, 0o600)
            break
        except FileExistsError:  # left by a process of this id before: another name
            continue
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temporary, os.path.join(folder, name))
    except BaseException:
        _remove(temporary)
        raise


# -- keeping the folder small -------------------------------------------------------------

#: At most this many files, and this many bytes in them, are kept; the oldest go first.
MAX_FILES = 256
MAX_BYTES = 256 * 1024 * 1024
_MANIFEST = "pike-manifest.json"


def _tidy(folder: str, written: str, size: int, folders: tuple[str, ...]) -> None:
    """Note the file just ``written`` in the manifest, and drop what is no longer wanted:
    files whose folders are all gone, then the oldest while there are too many. Only
    ever a file that begins with pike's header is removed."""
    import json
    import time

    entries, others = _manifest(folder)
    entries[written] = [time.time_ns(), size, list(folders)]
    with os.scandir(folder) as it:
        on_disk = {e.name: e for e in it if e.name != _MANIFEST and not e.name.startswith(".")}
    for name in list(entries):
        if name not in on_disk:
            del entries[name]  # removed by hand, or by another process
    others &= on_disk.keys()
    for name, entry in on_disk.items():
        # Written by an older pike, or noted by a process whose manifest lost the race;
        # a file of someone else's is noted as such, and never opened again.
        if name not in entries and name not in others:
            if _ours(entry):
                st = entry.stat(follow_symlinks=False)
                entries[name] = [st.st_mtime_ns, st.st_size, []]
            else:
                others.add(name)
    doomed = [
        name
        for name, (_when, _size, about) in entries.items()
        if about and name != written and not any(os.path.isdir(f) for f in about)
    ]
    left = set(entries) - set(doomed)
    total = sum(entries[name][1] for name in left)
    by_age = sorted((entries[name][0], name) for name in left if name != written)
    for _when, name in by_age:  # the oldest first; never the file just written
        if len(left) <= MAX_FILES and total <= MAX_BYTES:
            break
        doomed.append(name)
        left.discard(name)
        total -= entries[name][1]
    for name in doomed:
        if _ours(on_disk[name]):  # the manifest is only believed about pike's own files
            _remove(os.path.join(folder, name))
        else:
            others.add(name)
        del entries[name]
    document = {"format": 1, "files": entries, "others": sorted(others)}
    _replace(folder, _MANIFEST, json.dumps(document).encode("utf-8"))


# A manifest bigger than this is not pike's (MAX_FILES entries take a few tens of KiB).
_MANIFEST_BYTES = 4 * 1024 * 1024


def _manifest(folder: str) -> tuple[dict[str, list[Any]], set[str]]:
    """The manifest's entries ``name -> [written ns, size, folders]``, and the names of
    the files in the folder that are not pike's. What is not so is left out (the folder
    is then looked at afresh); the manifest is opened as `read` opens a cache file."""
    import json

    try:
        fd = os.open(os.path.join(folder, _MANIFEST), _READ_FLAGS)
        with os.fdopen(fd, "rb") as file:
            st = os.fstat(file.fileno())
            if not stat.S_ISREG(st.st_mode) or not _private(st) or st.st_size > _MANIFEST_BYTES:
                return {}, set()
            document = json.loads(file.read(_MANIFEST_BYTES))
        files, others = document["files"], document["others"]
    except (OSError, ValueError, TypeError, KeyError):
        return {}, set()
    if type(files) is not dict or type(others) is not list:
        return {}, set()
    entries = {
        name: value
        for name, value in files.items()
        if type(value) is list
        and len(value) == 3
        and type(value[0]) is int
        and type(value[1]) is int
        and type(value[2]) is list
        and all(type(f) is str for f in value[2])
    }
    return entries, {name for name in others if type(name) is str}


def _ours(entry: os.DirEntry[str]) -> bool:
    """True if ``entry`` is a regular file that pike wrote (its header says so)."""
    try:
        if not entry.is_file(follow_symlinks=False):
            return False
        fd = os.open(entry.path, _READ_FLAGS)
        with os.fdopen(fd, "rb") as file:
            return file.read(len(_MAGIC)) == _MAGIC
    except OSError:
        return False


def clear() -> tuple[str | None, int]:
    """Remove every file pike wrote in its cache folder, and nothing else: the folder
    (None if caching is off) and how many files were removed.

    A file is pike's if it begins with pike's header, or is its manifest, or a
    temporary file of its manifest. Raises ``OSError`` if the folder cannot be
    looked through.
    """
    folder = directory()
    if folder is None or not os.path.lexists(folder):
        return folder, 0
    if not _usable(folder):
        raise PermissionError(f"{folder} is not a folder of yours that only you may change")
    with os.scandir(folder) as it:
        entries = list(it)
    manifest_temporary = f".{_MANIFEST}."
    removed = 0
    for entry in entries:
        name = entry.name
        mine = name == _MANIFEST or (name.startswith(manifest_temporary) and name.endswith(".tmp"))
        if (mine and entry.is_file(follow_symlinks=False)) or _ours(entry):
            removed += _remove(entry.path)
    return folder, removed


def _remove(path: str) -> bool:
    """Remove the file at ``path``; False if it could not be (gone already...)."""
    try:
        os.unlink(path)
    except OSError:
        return False
    return True


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
