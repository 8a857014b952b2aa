"""The state of a file or folder, to tell later whether it may have changed.

One value, compared one way, for everything pike keeps about files: a walk of
the search paths is reused while every folder it looked at has its state;
refresh runs a module again when its file's state changed; the discovery index
trusts what it learned from a file while the file has its state; the installed
entry points are read again when a ``sys.path`` folder, a distribution's folder
or its ``entry_points.txt`` changed state.

A state is the size, the modification and change times (in nanoseconds), the
inode and the device, as ``os.stat`` gives them. The change time is what makes
it hard to fool: writing, renaming or changing the mode of a file updates it,
and no program can set it back (``os.utime`` restores only the other two); the
inode and device tell a file or folder replaced by a copy.

Times are trusted only once they are old enough: two writes in one tick of the
filesystem's clock leave the same times. So a state taken while its times are
too recent also keeps a digest of what the file or folder holds (a CRC-32 of
a file's bytes; of a folder's names and kinds), checked as well until the
times can be trusted. How recent is too recent depends on the timestamp: one
with a fraction of a second comes from a clock that ticks every few
milliseconds, so after 100 ms no later write can repeat it; one in whole
seconds may come from a filesystem that keeps seconds, or two: it is trusted
after three.
"""

from __future__ import annotations

import binascii
import contextlib
import os
from collections.abc import Iterable

__all__ = ["FileState", "changed", "changed_in", "digest_of", "is_racy", "key_of"]


def key_of(st: os.stat_result) -> tuple[int, int, int, int, int]:
    """What a state keeps of ``os.stat``'s answer: size, mtime, ctime, inode, device."""
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


_SECOND_NS = 1_000_000_000
_FINE_WINDOW_NS = 100_000_000
_WHOLE_SECONDS_WINDOW_NS = 3 * _SECOND_NS
# Stored states are read back from cache files: each number must fit these.
_INT64 = 2**63
_UINT64 = 2**64


def is_racy(stamp_ns: int, now_ns: int) -> bool:
    """True if a write after ``now_ns`` could leave a file stamped ``stamp_ns`` as it is."""
    window = _WHOLE_SECONDS_WINDOW_NS if stamp_ns % _SECOND_NS == 0 else _FINE_WINDOW_NS
    return now_ns - stamp_ns < window


def _recent(st: os.stat_result, now_ns: int) -> bool:
    """True if the times of ``st`` (taken at ``now_ns``) are too recent to trust."""
    return is_racy(st.st_mtime_ns, now_ns) or is_racy(st.st_ctime_ns, now_ns)


def digest_of(path: str) -> int:
    """A CRC-32 of what ``path`` holds: a file's bytes, a folder's names and kinds;
    -1 (which nothing gives) if it cannot be read."""
    try:
        with open(path, "rb") as file:
            return binascii.crc32(file.read())
    except IsADirectoryError:
        pass
    except OSError:
        return -1
    try:
        with os.scandir(path) as it:
            names = sorted(f"{e.name}/{_kind(e)}" for e in it)
    except OSError:
        return -1
    return binascii.crc32("\0".join(names).encode("utf-8", "surrogateescape"))


def _kind(entry: os.DirEntry[str]) -> str:
    try:
        if entry.is_symlink():
            return "l"
        return "d" if entry.is_dir(follow_symlinks=False) else "f"
    except OSError:  # pragma: no cover - d_type answers without a system call
        return "?"


class FileState:
    """What a file or folder was like: ``key`` (size, mtime, ctime, inode, device) and,
    when its times were too recent to trust, ``digest`` (`digest_of` what it held)."""

    __slots__ = ("digest", "key", "mark")

    def __init__(self, key: tuple[int, int, int, int, int], digest: int | None = None) -> None:
        self.key = key
        self.digest = digest
        # The key as one number, which is what bulk comparisons read: one object to
        # look at per file rather than six ("refresh 10000, one edit" benchmark row).
        # Two states with one hash would compare equal there; for a change to go unseen
        # it would have to land on the 64-bit hash of the old key, with a change time
        # (which no program can set) among its parts.
        self.mark = hash(key)

    @classmethod
    def of(cls, st: os.stat_result, path: str, now_ns: int) -> FileState:
        """The state of the file or folder at ``path``, whose stat ``st`` was taken at
        ``now_ns``."""
        key = key_of(st)
        # Most files are older than the widest window: one comparison decides.
        if now_ns - max(key[1], key[2]) < _WHOLE_SECONDS_WINDOW_NS and _recent(st, now_ns):
            return cls(key, digest_of(path))
        return cls(key)

    def holds(self, path: str, st: os.stat_result) -> bool:
        """True if the file or folder at ``path``, whose stat is ``st`` now, is as this
        state says."""
        return key_of(st) == self.key and not self.content_differs(path)

    def content_differs(self, path: str) -> bool:
        """True if this state keeps a digest and ``path`` no longer holds what it says."""
        return self.digest is not None and digest_of(path) != self.digest

    def settled(self, now_ns: int) -> FileState:
        """This state, without its digest once its times can be trusted (``now_ns``)."""
        if self.digest is None:
            return self
        _size, mtime, ctime, _inode, _device = self.key
        if is_racy(mtime, now_ns) or is_racy(ctime, now_ns):
            return self
        return FileState(self.key)

    # -- as plain data, for cache files ------------------------------------------------

    def to_data(self) -> tuple[int, int, int, int, int, int | None]:
        return (*self.key, self.digest)

    @classmethod
    def from_data(cls, data: object) -> FileState | None:
        """The state ``to_data`` gave, or None if ``data`` is not one (a damaged cache)."""
        if type(data) is not tuple or len(data) != 6:
            return None
        size, mtime, ctime, inode, device, digest = data
        for number, low, high in (
            (size, 0, _UINT64),
            (mtime, -_INT64, _INT64),
            (ctime, -_INT64, _INT64),
            (inode, 0, _UINT64),
            (device, 0, _UINT64),
        ):
            if type(number) is not int or not low <= number < high:
                return None
        if digest is not None and (type(digest) is not int or not -1 <= digest < 2**32):
            return None
        return cls((size, mtime, ctime, inode, device), digest)

    def __eq__(self, other: object) -> bool:
        if type(other) is not FileState:
            return NotImplemented
        return self.key == other.key and self.digest == other.digest

    def __hash__(self) -> int:
        return hash((self.key, self.digest))

    def __repr__(self) -> str:
        return f"FileState({self.key!r}, digest={self.digest!r})"


def changed(pairs: Iterable[tuple[str, FileState]]) -> list[int]:
    """The positions, among ``(path, state)`` ``pairs``, of the files no longer as their
    state says: one stat each (`changed_in`), and a read of those whose state keeps
    a digest. Gone, replaced, written, renamed or touched is changed.
    """
    folders: list[str] = []
    names: list[str] = []
    marks: list[int] = []
    digested: list[tuple[int, str, FileState]] = []
    for i, (path, state) in enumerate(pairs):
        folder, sep, name = path.rpartition(os.sep)
        if name:
            folders.append(folder + sep)
            names.append(name)
        else:  # a folder's path ending in its separator ("/"): looked at whole
            folders.append("")
            names.append(path)
        marks.append(state.mark)
        if state.digest is not None:
            digested.append((i, path, state))
    found = changed_in(folders, names, marks)
    if digested:
        seen = set(found)
        found += [i for i, path, state in digested if i not in seen and state.content_differs(path)]
        found.sort()
    return found


def changed_in(folders: Iterable[str], names: Iterable[str], marks: Iterable[int]) -> list[int]:
    """The positions of the files no longer as their states say: file ``names[i]``
    in folder ``folders[i]`` (a path ending in a separator, or ``""``) whose state
    had no digest and ``hash(key)`` ``marks[i]``. One stat each.

    Every bulk comparison of states comes here: a loaded plugin's files ("refresh
    10000, one edit" benchmark row), a whole kept listing's ("warm listing
    10000", "one of 10000, static route"), the index's. Each state is one
    number, and each file's folder is apart from its name, so that, where the
    platform can, the files are looked up in their folder opened once (a run
    of files in one folder shares it), not by their whole paths: the same
    answer, and fewer folders for the kernel to walk per file. A plain loop,
    which keeps nothing of what it looked at for the garbage collector to walk.
    """
    stat = os.stat
    found: list[int] = []
    current: str | None = None
    fd: int | None = None
    try:
        for i, (folder, name, mark) in enumerate(zip(folders, names, marks, strict=True)):
            if folder != current:
                if fd is not None:
                    done, fd = fd, None  # never closed twice, whatever interrupts
                    os.close(done)
                current = folder
                if _STAT_IN_FOLDER and folder:
                    # Gone, searchable but not readable, or no path at all (a NUL, a
                    # name the filesystem cannot encode): each file by its whole path.
                    with contextlib.suppress(OSError, ValueError):
                        fd = os.open(folder, _FOLDER_FLAGS)
            try:
                st = stat(name, dir_fd=fd) if fd is not None else stat(folder + name)
            except (OSError, ValueError):  # gone, or a path that is no path
                found.append(i)
                continue
            # key_of(st), written out inline: this runs once per file.
            key = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
            if hash(key) != mark:
                found.append(i)
    finally:
        if fd is not None:
            os.close(fd)
    return found


_STAT_IN_FOLDER = os.stat in os.supports_dir_fd and hasattr(os, "O_DIRECTORY")
# O_PATH (Linux) opens a folder one may search but not read, as a walk of its path would.
_FOLDER_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_PATH", 0)
