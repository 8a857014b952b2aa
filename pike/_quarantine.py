"""Quarantine: a plugin module that a process died while importing is not imported again
while its file is unchanged (docs/misbehaving.md, "Quarantine").

**The note.** While a plugin module of a manager made with ``quarantine=True`` runs,
this process keeps a note in pike's cache folder (``quarantine/note4-<pid>-...``) of the
plugin modules it is importing: each thread's innermost one, with its file and that
file's state. One note per process and cache folder, locked for the process's life and
rewritten in place as each import begins and ends (`Note`). Made under a temporary name
and locked before it is renamed into place, so no one ever sees a note whose lock is not
held by a living process. The lock is a POSIX record lock (``os.lockf``), which belongs
to the process, not to a descriptor: a child it forks holds none of it, so a process that
dies is seen dead at once, whatever its children do. Such a lock goes when the process
closes any descriptor of the file, so this process never opens its own notes but to
write them, and the list's lock is also a lock between this process's threads.

**The list.** A manager made with ``quarantine=True`` looks at the notes as it starts
(`Quarantine`): a note whose lock it can take belongs to a process that died; what it
names moves to the quarantine list (``quarantine/list``, written whole), and the note
goes. A note that names nothing (the process died after its imports ended) blames
nothing. A living process holds its note's lock, so two processes starting at once never
blame each other. A module on the list is refused while its file keeps the state it
had (`pike._filestate`); the entry goes when the file changes, or by `release`.

Without ``os.lockf`` (Windows) or a usable cache folder, quarantine is off (the manager
warns).
"""

from __future__ import annotations

import atexit
import binascii
import contextlib
import itertools
import marshal
import mmap
import os
import stat
import threading
import time
from collections.abc import Iterator, Sequence
from typing import ClassVar

from pike import _cache, _log
from pike._filestate import FileState
from pike._paths import is_within
from pike._walk import ModuleEntry

__all__ = ["Note", "Quarantine", "folder_for"]

logger = _log.get(__name__)

FOLDER = "quarantine"
# The notes' format, in their names and their magic: a note of another pike's, locked
# another way, is never opened.
_FORMAT = 4
_PREFIX = f"note{_FORMAT}-"
_get_ident = threading.get_ident
_LIST = "list"
_LOCK = "lock"
_LOCK_WAIT = 2.0  # seconds
_LIST_LOCK = threading.Lock()  # the list's lock, between this process's threads
_MAGIC = b"pike-note" + bytes((_FORMAT,))
_HEAD_SIZE = 8  # a part's length and the CRC-32 of its payload, little-endian
_LENGTH_SIZE = 4  # of each item in the record
_OPEN = os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def folder_for(roots: tuple[str, ...]) -> tuple[str | None, str]:
    """The folder of the notes and the list, and ""; or None and why quarantine cannot
    work here. ``roots``, the plugin folders (`pike._paths.roots_of`), must not hold the
    cache folder."""
    if not hasattr(os, "lockf"):  # pragma: no cover - Windows
        return None, "this platform has no os.lockf to tell a living process from a dead one"
    folder = _cache.directory()
    if folder is None:
        return None, "pike's cache folder is turned off (PIKE_CACHE_DIR)"
    if is_within(folder, roots) or is_within(os.path.realpath(folder), roots):
        return None, (
            f"pike's cache folder {folder} lies inside a plugin folder, where pike writes nothing"
        )
    inside = _cache.subfolder(FOLDER)
    if inside is None:
        return None, "pike's cache folder cannot be made, or is not private to this user"
    return inside, ""


# -- this process's note ------------------------------------------------------------------


class Note:
    """This process's note of the plugin modules it is importing (see the module's
    docstring): one per process and cache folder, made on the first import that needs
    it. A forked child lets go of its parent's (which lives on in the parent).

    The file has three parts: a slot at its start, which says what runs (nothing; a
    module of the batch being loaded, by its place in the batch and its file's state; or
    look at the record); the record, each thread's innermost import in full; and the
    batch, the modules an importer is about to load (`hold`). A module of the batch that
    begins while no other import is under way only writes the slot's words, in place
    through a memory map, its kind last (no system call, nothing serialised: the
    "quarantine 1000" benchmark row), and its end the kind alone; anything else rewrites
    the record too. Memory written through a shared map is the file's, whatever becomes
    of the process."""

    _lock = threading.Lock()
    _notes: ClassVar[dict[str, Note]] = {}  # this process's, by folder
    _made: ClassVar[set[str]] = set()  # the paths of the notes this process made (`own`)
    _counter = itertools.count()

    def __init__(self, fd: int, path: str) -> None:
        self._fd = fd
        self.path = path
        self._writing = threading.Lock()  # what is written is what all threads are doing
        # A module of the batch running while no other import is under way, as the slot
        # says it: its thread, its place in the batch and its file's state (`enter`).
        self._alone: tuple[int, int, FileState] | None = None
        # Otherwise, each thread's imports under way, innermost last (a thread with none
        # has no stack): its record item, or None for a module of the batch, then its
        # place in the batch and its file's state.
        self._stacks: dict[int, list[tuple[bytes | None, int, tuple[int, ...]]]] = {}
        # The threads in a batch of imports (`hold`), and how deep.
        self._held: dict[int, int] = {}
        self._batch: dict[str, int] = {}  # the batch's modules, by path: their place
        # The batch's names, paths and files ("": the path), as the note has them.
        self._batch_lists: tuple[list[str], list[str], list[str]] = ([], [], [])
        self._batch_owner: int | None = None  # the thread whose batch it is
        # The slot's page allocated now: a full disk is an OSError here, never a SIGBUS
        # when the map is written.
        if hasattr(os, "posix_fallocate"):
            os.posix_fallocate(fd, 0, mmap.PAGESIZE)
        else:  # pragma: no cover - macOS
            os.pwrite(fd, bytes(mmap.PAGESIZE), 0)
        os.ftruncate(fd, _BATCH_AT)
        self._slot = mmap.mmap(fd, _SLOT_SIZE)
        self._slot[: len(_MAGIC)] = _MAGIC
        # The slot's words (`_WORDS`), written one by one, unsigned and signed.
        self._words = memoryview(self._slot)[_SLOT_AT:_SLOT_SIZE].cast("Q")
        self._signed = self._words.cast("B").cast("q")

    @classmethod
    def get(cls, folder: str) -> Note | None:
        """This process's note in ``folder`` (made if need be); None if it cannot be."""
        note = cls._notes.get(folder)
        if note is not None:
            return note
        with cls._lock:
            note = cls._notes.get(folder)
            if note is None:
                note = cls._make(folder)
                if note is not None:
                    cls._notes[folder] = note
            return note

    @classmethod
    def own(cls) -> frozenset[str]:
        """The paths of the notes this process made (under their temporary names too),
        named before each is made: never to be opened but to write them."""
        return frozenset(cls._made)

    @classmethod
    def _forked(cls) -> None:  # pragma: no cover - runs in a forked child (tested there)
        """In a forked child: the parent's notes are the parent's (the child holds none of
        their locks), let go of here; an import begun before the fork and ended in the
        child writes into nothing, under a lock of the child's own (another thread of
        the parent may have held the note's when it forked)."""
        for note in cls._notes.values():
            note._writing = threading.Lock()
            note._alone, note._stacks, note._held, note._batch_owner = None, {}, {}, None
            for release in (note._words.release, note._signed.release, note._slot.close):
                with contextlib.suppress(ValueError, BufferError):
                    release()
            with contextlib.suppress(OSError):
                os.close(note._fd)
            # An import begun before the fork still ends in the child: what it writes
            # goes nowhere (the descriptor's number may be another file's by then).
            note._words = memoryview(bytearray(_WORDS * 8)).cast("Q")
            note._signed = note._words.cast("B").cast("q")
            note._fd = -1
        cls._notes = {}
        cls._made = set()
        cls._lock = threading.Lock()

    @classmethod
    def _make(cls, folder: str) -> Note | None:
        name = f"{_PREFIX}{os.getpid()}-{next(cls._counter)}-{time.time_ns() % 1_000_000_007}"
        temporary = os.path.join(folder, "." + name)
        cls._made.update((temporary, os.path.join(folder, name)))
        try:
            fd = os.open(temporary, _OPEN | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:  # pragma: no cover - a folder that turned unwritable
            logger.info("quarantine: could not make a note in %s: %s", folder, exc)
            return None
        try:
            os.lockf(fd, os.F_TLOCK, 0)
            note = cls(fd, os.path.join(folder, name))
            note._write()  # no other thread has it yet
            os.rename(temporary, note.path)
        except (OSError, ValueError) as exc:  # pragma: no cover - a full disk (ENOSPC)
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            logger.info("quarantine: could not make a note in %s: %s", folder, exc)
            return None
        return note

    def enter(self, entry: ModuleEntry, state: FileState) -> None:
        """Plugin module ``entry`` begins to run in this thread; its file (an archive's
        member: the archive) was in ``state``.

        The common case, a module of the batch beginning while no other import is under
        way, only packs its place and state into the slot (the "quarantine 1000"
        benchmark row); anything else rewrites the record."""
        writing = self._writing
        writing.acquire()  # checked and written as one: another thread may begin too
        try:
            ident = _get_ident()
            if self._alone is None and not self._stacks and ident == self._batch_owner:
                place = self._batch.get(entry.path)
                if place is not None:
                    self._alone = (ident, place, state)
                    # The state's words as `_data` gives them, written out: a tuple and a
                    # call fewer per module ("quarantine 1000" row).
                    size, mtime, ctime, inode, device = state.key
                    digest = state.digest
                    self._put_slot(
                        1,
                        place,
                        size,
                        mtime,
                        ctime,
                        inode,
                        device,
                        _NO_DIGEST if digest is None else digest,
                    )
                    return
        finally:
            writing.release()
        file = entry.path if entry.source == entry.search_path else entry.source
        item = marshal.dumps((entry.name, entry.path, file, *state.key, state.digest))
        with writing:
            alone = self._alone
            if alone is not None:  # the batch's module is no longer alone: in the record
                self._alone = None
                owner, place, running = alone
                self._stacks[owner] = [(None, place, _data(running))]
            self._stacks.setdefault(ident, []).append((item, -1, ()))
            self._write()

    def leave(self) -> None:
        """The innermost import of this thread ended (it landed or raised)."""
        writing = self._writing
        writing.acquire()
        try:
            if self._alone is not None:  # no other import is under way: it is this one
                self._alone = None
                self._words[0] = 0  # nothing runs: the kind alone
                return
            ident = _get_ident()
            stack = self._stacks.get(ident)
            if stack:
                stack.pop()
            if not stack:
                self._stacks.pop(ident, None)
            self._write()
        finally:
            writing.release()

    def hold(self, entries: list[ModuleEntry]) -> None:
        """A batch of imports, ``entries``, begins in this thread: written to the note
        once, so that each then says only its place; batches nest, and the first
        thread's is the note's."""
        ident = _get_ident()
        depth = self._held[ident] = self._held.get(ident, 0) + 1
        if depth == 1 and self._batch_owner is None and ident not in self._stacks:
            names = [e.name for e in entries]
            paths = [e.path for e in entries]
            files = ["" if e.source == e.search_path else e.source for e in entries]
            payload = marshal.dumps((names, paths, files))
            with self._writing:
                if self._batch_owner is not None or ident in self._stacks:
                    return  # another thread's batch began meanwhile: it is the note's
                self._pwrite(_head(payload) + payload, _BATCH_AT)
                self._batch_lists = (names, paths, files)
                self._batch = dict(zip(paths, range(len(paths)), strict=True))
                self._batch_owner = ident

    def release(self) -> None:
        """The batch of imports begun by `hold` ends."""
        ident = _get_ident()
        depth = self._held.get(ident, 0) - 1
        if depth > 0:
            self._held[ident] = depth
            return
        self._held.pop(ident, None)
        if self._batch_owner == ident:
            with self._writing:
                self._batch_owner = None
                self._batch = {}

    def _write(self) -> None:
        """Say what each thread's innermost import is, a crash blames what was running in
        each (called with ``_writing`` held)."""
        running = [stack[-1] for stack in self._stacks.values()]
        if not running:
            self._put_slot(0, 0, *_NO_KEY)
            return
        if len(running) == 1 and running[0][0] is None:
            self._put_slot(1, running[0][1], *running[0][2])
            return
        names, paths, files = self._batch_lists
        items = []
        for written, place, key in running:
            # A module of the batch, in full.
            item = written or marshal.dumps(
                (names[place], paths[place], files[place] or paths[place], *_state(key))
            )
            items.append(len(item).to_bytes(_LENGTH_SIZE, "little") + item)
        payload = b"".join(items)[: _BATCH_AT - _RECORD_AT - _HEAD_SIZE]
        self._pwrite(_head(payload) + payload, _RECORD_AT)
        self._put_slot(2, 0, *_NO_KEY)

    def _put_slot(  # noqa: PLR0917 - the slot's words, as the fast path has them
        self,
        kind: int,
        place: int,
        size: int,
        mtime: int,
        ctime: int,
        inode: int,
        device: int,
        digest: int,
    ) -> None:
        """Say in the slot what runs, in place through the map: the kind first says
        nothing runs, and is written last, which makes the rest count (a process that
        dies midway leaves a slot that says nothing runs)."""
        words, signed = self._words, self._signed
        words[0] = 0
        words[1] = place
        words[2] = size
        signed[3] = mtime
        signed[4] = ctime
        words[5] = inode
        words[6] = device
        signed[7] = digest
        words[0] = kind

    def _pwrite(self, data: bytes, offset: int) -> None:
        try:
            os.pwrite(self._fd, data, offset)
        except OSError as exc:  # pragma: no cover - a full disk: the note says less
            logger.debug("quarantine: could not write the note %s: %s", self.path, exc)

    @classmethod
    def _exit(cls) -> None:  # pragma: no cover - runs at exit (hosts in subprocesses)
        """At a normal exit, this process's notes go (they would blame nothing)."""
        for note in list(cls._notes.values()):
            if note._alone is None and not note._stacks:
                with contextlib.suppress(OSError):
                    os.unlink(note.path)


def _forked() -> None:  # pragma: no cover - runs in a forked child (tested there)
    """In a forked child: the parent's notes are let go, and a list lock that one of the
    parent's threads held is the child's to take."""
    global _LIST_LOCK  # made anew in the child
    _LIST_LOCK = threading.Lock()
    Note._forked()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)
atexit.register(Note._exit)

# The note's layout: the magic, the slot at _SLOT_AT (what runs), the record at _RECORD_AT
# and the batch at _BATCH_AT (each: length, CRC-32, payload; the batch's payload its
# names, paths and files). The slot is _WORDS words of 8 bytes in this machine's order:
# the kind (0 nothing runs; 1 the batch's module at a place, with its file's state; 2 look
# at the record), the place, the state's key (size, mtime, ctime, inode, device; the times
# signed) and digest (signed). The kind is written last, and is 0 while the rest is
# written: a process that dies midway leaves a slot that says nothing runs.
_WORDS = 8
_SLOT_AT = 16  # past the magic, where a word may begin
_SLOT_SIZE = _SLOT_AT + _WORDS * 8
_NO_KEY = (0, 0, 0, 0, 0, 0)
_NO_DIGEST = -2  # a state without a digest (a digest is -1 or a CRC-32)


def _head(payload: bytes) -> bytes:
    """What a part of the note holding ``payload`` begins with."""
    return len(payload).to_bytes(4, "little") + binascii.crc32(payload).to_bytes(4, "little")


def _data(state: FileState) -> tuple[int, ...]:
    """A state as the slot has it (its key, then its digest or `_NO_DIGEST`)."""
    return (*state.key, _NO_DIGEST if state.digest is None else state.digest)


def _state(data: Sequence[int]) -> tuple[int | None, ...]:
    """A state's data (`FileState.to_data`) from the slot's numbers."""
    return (*data[:5], None if data[5] == _NO_DIGEST else data[5])


_RECORD_AT = 128  # past the slot
assert _SLOT_SIZE <= _RECORD_AT
_BATCH_AT = 64 * 1024


def _read_note(fd: int) -> tuple[tuple[str, str, str, FileState], ...]:
    """What a note says was being imported (nothing, if it does not check out)."""
    try:
        slot = os.pread(fd, _SLOT_SIZE, 0)
    except OSError:
        return ()
    if len(slot) != _SLOT_SIZE or not slot.startswith(_MAGIC):
        return ()
    words = memoryview(slot)[_SLOT_AT:].cast("Q")
    signed = words.cast("B").cast("q")
    kind, place = words[0], words[1]
    key = (words[2], signed[3], signed[4], words[5], words[6], signed[7])
    if kind == 1:
        batch = _part(fd, _BATCH_AT)
        try:
            items = marshal.loads(batch) if batch is not None else None
        except Exception:
            return ()
        if type(items) is not tuple or len(items) != 3 or any(type(i) is not list for i in items):
            return ()
        names, paths, files = items
        if not 0 <= place < len(names) == len(paths) == len(files):
            return ()
        file = files[place] or paths[place]
        found = _item((names[place], paths[place], file, *_state(key)))
        return (found,) if found is not None else ()
    if kind != 2:
        return ()
    payload = _part(fd, _RECORD_AT)
    if payload is None:
        return ()
    running = []
    at = 0
    while at + _LENGTH_SIZE <= len(payload):
        size = int.from_bytes(payload[at : at + _LENGTH_SIZE], "little")
        written = payload[at + _LENGTH_SIZE : at + _LENGTH_SIZE + size]
        at += _LENGTH_SIZE + size
        try:
            found = _item(marshal.loads(written))
        except Exception:
            continue
        if found is not None:
            running.append(found)
    return tuple(running)


def _part(fd: int, offset: int) -> bytes | None:
    """The payload of the note's part at ``offset``, if its length and CRC-32 check out."""
    try:
        head = os.pread(fd, _HEAD_SIZE, offset)
        if len(head) != _HEAD_SIZE:
            return None
        length, crc = int.from_bytes(head[:4], "little"), int.from_bytes(head[4:], "little")
        if length > os.fstat(fd).st_size - offset:
            return None  # longer than the file: not a note's
        payload = os.pread(fd, length, offset + _HEAD_SIZE)
    except (OSError, OverflowError):
        return None
    return payload if len(payload) == length and binascii.crc32(payload) == crc else None


def _item(item: object) -> tuple[str, str, str, FileState] | None:
    """A record's item, ``(name, path, file, *state)``, if it is one."""
    if type(item) is not tuple or len(item) != 9 or not _cache.strings(item[:3]):
        return None
    if any("\0" in text for text in item[:3]):
        return None
    state = FileState.from_data(item[3:])
    return None if state is None else (item[0], item[1], item[2], state)


# -- the quarantine list --------------------------------------------------------------------


class Held:
    """A module on the quarantine list: its name, its path, the file it was run from (its
    archive's, for an archive's member) and that file's state when its process died,
    when that was noticed, and the process's id."""

    __slots__ = ("file", "name", "path", "pid", "since", "state")

    def __init__(  # noqa: PLR0917 - what a note said of it
        self, name: str, path: str, file: str, state: FileState, since: float, pid: int
    ) -> None:
        self.name = name
        self.path = path
        self.file = file
        self.state = state
        self.since = since
        self.pid = pid

    def to_data(self) -> tuple[object, ...]:
        return (self.name, self.file, self.state.to_data(), self.since, self.pid)

    def current(self) -> bool:
        """True if its file is still as it was (one stat)."""
        try:
            return self.state.holds(self.file, os.stat(self.file))
        except OSError:
            return False


def _held_from(path: object, value: object) -> Held | None:
    if type(path) is not str or type(value) is not tuple or len(value) != 5:
        return None
    name, file, state_data, since, pid = value
    state = FileState.from_data(state_data)
    if type(name) is not str or type(file) is not str or state is None:
        return None
    if "\0" in name or "\0" in file or "\0" in path:
        return None
    if type(since) is not float or type(pid) is not int:
        return None
    return Held(name, path, file, state, since, pid)


class Quarantine:
    """The quarantine list as one manager sees it (the modules of its ``roots``), brought
    up to date with the notes of dead processes when it is made."""

    def __init__(self, folder: str, roots: tuple[str, ...]) -> None:
        self.folder = folder
        self._roots = roots
        self._held: dict[str, Held] = {}
        with self._locked() as locked:
            held = self._read()
            if locked and self._collect(held):
                self._write(held)
        self._held = {path: item for path, item in held.items() if is_within(path, roots)}
        #: Whether any module is held (most often none: nothing to look up).
        self.any = bool(self._held)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[bool]:
        """Hold the list's lock (processes change it one at a time); yields whether it is
        held: a process stopped while holding it is waited for two seconds at most."""
        deadline = time.monotonic() + _LOCK_WAIT
        if not _LIST_LOCK.acquire(timeout=_LOCK_WAIT):  # pragma: no cover - a stuck thread
            logger.info("quarantine: %s is locked by another thread", self.folder)
            yield False
            return
        try:
            fd = os.open(os.path.join(self.folder, _LOCK), _OPEN | os.O_CREAT, 0o600)
        except OSError:
            _LIST_LOCK.release()
            yield False
            return
        try:
            while not _lock_now(fd):
                if time.monotonic() > deadline:
                    logger.info("quarantine: %s is locked by another process", self.folder)
                    yield False
                    return
                time.sleep(0.01)
            yield True
        finally:
            os.close(fd)  # releases the lock
            _LIST_LOCK.release()

    def _read(self) -> dict[str, Held]:
        document = _cache.read_file(os.path.join(self.folder, _LIST)) or {}
        modules = document.get("modules")
        held: dict[str, Held] = {}
        for path, value in modules.items() if type(modules) is dict else ():
            item = _held_from(path, value)
            if item is not None:
                held[path] = item
        return held

    def _write(self, held: dict[str, Held]) -> None:
        document = {"modules": {path: item.to_data() for path, item in held.items()}}
        _cache.write_file(os.path.join(self.folder, _LIST), document)

    def _collect(self, held: dict[str, Held]) -> bool:
        """Move what the notes of dead processes name into ``held`` (and remove those
        notes); True if ``held`` changed."""
        try:
            with os.scandir(self.folder) as it:
                names = [e.name for e in it if e.name.startswith((_PREFIX, "." + _PREFIX))]
        except OSError:
            return False
        own = Note.own()
        changed = False
        for name in names:
            path = os.path.join(self.folder, name)
            if path in own:
                continue  # this process's: never opened here (that would drop its lock)
            if name.startswith(".") and not _old(path):
                continue  # a note being made (locked once it is named)
            dead = _dead_note(path)
            if dead is None:
                continue  # its process lives, or it is not a note
            pid = _pid_of(name)
            for module, where, file, state in dead:
                held[where] = Held(module, where, file, state, time.time(), pid)
                logger.info(
                    "quarantine: process %d died while importing plugin module %r (%s)",
                    pid,
                    module,
                    where,
                )
            with contextlib.suppress(OSError):
                os.unlink(path)
            changed = changed or bool(dead)
        return changed

    def note(self) -> Note | None:
        """This process's note, where the modules it imports are named while they run."""
        return Note.get(self.folder)

    def holds(self, path: str, st: os.stat_result) -> Held | None:
        """The quarantine of the module at ``path`` (the stat of its file, or archive, is
        ``st`` now), if it is held: its file has the state it had. One whose file changed
        is lifted."""
        item = self._held.get(path)
        if item is None:
            return None
        if item.state.holds(item.file, st):
            return item
        self._drop([path])
        return None

    def names(self) -> list[str]:
        """The names of the modules held (those whose file changed are lifted first)."""
        changed = [path for path, item in self._held.items() if not item.current()]
        if changed:
            self._drop(changed)
        return sorted({item.name for item in self._held.values()})

    def release(self, name: str) -> list[str]:
        """Lift the quarantine of module ``name`` (in this manager's folders): the files
        released (empty if it was not held)."""
        paths = [path for path, item in self._held.items() if item.name == name]
        if paths:
            self._drop(paths)
        return paths

    def _drop(self, paths: list[str]) -> None:
        for path in paths:
            self._held.pop(path, None)
        self.any = bool(self._held)
        with self._locked() as locked:
            if not locked:
                return  # lifted here; the list is left as another process has it
            held = self._read()
            for path in paths:
                held.pop(path, None)
            self._write(held)


def _dead_note(path: str) -> tuple[tuple[str, str, str, FileState], ...] | None:
    """What the note at ``path`` names, if its process is dead (its lock can be taken);
    None if it lives, or the file is no note of this user's."""
    try:
        fd = os.open(path, _OPEN | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            return None
        if not _lock_now(fd):
            return None  # held: its process lives
        return _read_note(fd)
    finally:
        os.close(fd)


def _lock_now(fd: int) -> bool:
    """Take the POSIX lock of the file open at ``fd`` if no other process holds it."""
    try:
        os.lockf(fd, os.F_TLOCK, 0)
    except OSError:
        return False
    return True


def _old(path: str) -> bool:
    """True if the file at ``path`` was last changed over a minute ago."""
    try:
        return time.time() - os.lstat(path).st_mtime > 60
    except OSError:
        return False


def _pid_of(name: str) -> int:
    parts = name.lstrip(".").split("-")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
