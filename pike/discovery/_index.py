"""The discovery index: what static listing learned about each search path, kept between runs (C16).

One cache file per search path (see `pike._cache` for where, and how it is
kept private and written). It holds the walk of the search path (its module
files, the entries skipped, and each folder's modification time) and, for
each module file, the facts static listing draws from parsing it: its
classes (name, line, bases as written and as resolved) and the names its top
level binds, or the error that kept it from parsing.

The walk is reused only while no folder's modification time has changed
(adding, removing or renaming a file changes its folder's), as a manager's
refresh reuses its walk. A file's facts are trusted only while the file has
the same size, modification and change times, inode and device, and the
same module name and kind, as when it was parsed; any difference and it is
parsed again. A file or folder whose times were too recent to trust when it
was read (a write in the same clock tick would not show) is not vouched for.
A missing, corrupt, foreign or unwritable index costs a parse, never an
error or a wrong answer; nothing is ever written into the search paths.
"""

from __future__ import annotations

import binascii
import os
import time
from typing import Any

from pike import _cache, _walk
from pike._filestate import is_racy
from pike._walk import ModuleEntry, SkippedEntry

__all__ = ["Index"]


def _holds(record: tuple[Any, ...], path: str) -> bool:
    """A record of the file's state holds; one made while it was too recent, its CRC too."""
    if len(record) == 7:
        return True
    return len(record) == 8 and _crc_of(path) == record[7]


def _crc_of(path: str) -> int | None:
    try:
        with open(path, "rb") as file:
            return binascii.crc32(file.read())
    except OSError:
        return None


def _shared(value: Any, common: dict[Any, Any]) -> Any:
    """``value`` with equal tuples and strings made one object: marshal then writes each once."""
    if type(value) is dict:
        return {_shared(k, common): _shared(v, common) for k, v in value.items()}
    if type(value) is tuple:
        value = tuple(_shared(item, common) for item in value)
        if any(type(item) is dict for item in value):
            return value  # not hashable: kept as it is
    elif type(value) is not str:
        return value
    return common.setdefault(value, value)


class Index:
    """The index of ``search_paths``, read on first use and saved if it changed."""

    def __init__(self, search_paths: list[str]) -> None:
        self._roots = tuple(search_paths)
        self._documents: dict[str, dict[str, Any]] = {}
        self._walks: dict[str, Any] = {}  # what to save of each walk
        self._seen: dict[str, dict[str, Any]] = {}  # the facts this listing used
        self._changed: set[str] = set()
        self._common: dict[Any, Any] = {}
        # The state of each file to parse, and whether it is too recent to trust.
        self._pending: dict[str, tuple[tuple[int, ...], bool]] = {}
        self._now = time.time_ns()

    def _name(self, search_path: str) -> str:
        return "index-" + _cache.key_of("static", search_path)

    def _document(self, search_path: str) -> dict[str, Any]:
        document = self._documents.get(search_path)
        if document is None:
            document = _cache.read(self._name(search_path))
            if document is None or document.get("root") != search_path:
                document = {}
            files = document.get("files")
            document["files"] = files if isinstance(files, dict) else {}
            self._documents[search_path] = document
        return document

    # -- the walk ------------------------------------------------------------------

    def walk(self) -> _walk.Walk:
        """The walk of every search path: each one's stored walk while it is current."""
        out = _walk.Walk([], [])
        for search_path in self._roots:
            walk = self._stored_walk(search_path)
            if walk is None:
                walk = _walk.walk([search_path])
                self._keep_walk(search_path, walk)
            out.modules.extend(walk.modules)
            out.skipped.extend(walk.skipped)
        return out

    def _stored_walk(self, search_path: str) -> _walk.Walk | None:
        stored = self._document(search_path).get("walk")
        try:
            folders, listed_ns, modules, skipped = stored  # type: ignore[misc]
            walk = _walk.Walk([], [], [(path, mtime) for path, mtime in folders], listed_ns)
            # Whether it still holds first (a stat per folder), then the entries.
            if not walk.folders or walk.folders[0][0] != search_path or not walk.is_current():
                return None
            prefix = os.path.join(search_path, "")
            walk.modules = [
                ModuleEntry(name, prefix + relative, search_path, package)
                for name, relative, package in modules
            ]
            walk.skipped = [SkippedEntry(path, reason) for path, reason in skipped]
        except (TypeError, ValueError):  # none, or not of this shape
            return None
        self._walks[search_path] = stored
        return walk

    def _keep_walk(self, search_path: str, walk: _walk.Walk) -> None:
        self._changed.add(search_path)
        start = len(search_path) + 1
        self._walks[search_path] = (
            tuple(walk.folders),
            walk.listed_ns,
            tuple((e.name, e.path[start:], e.is_package) for e in walk.modules),
            tuple((e.path, e.reason) for e in walk.skipped),
        )

    # -- the files -----------------------------------------------------------------

    def known(self, entries: list[ModuleEntry]) -> dict[str, tuple[Any, Any]]:
        """The stored records of those ``entries`` whose files are as they were, by name.

        A record is ``(size, mtime_ns, ctime_ns, inode, device, *facts)``,
        filed under the file's path within its search path (which gives its
        module name and kind). One stat per file.
        """
        found: dict[str, tuple[Any, Any]] = {}
        pending = self._pending
        stat, racy, now = os.stat, is_racy, self._now
        files: dict[str, Any] = {}
        seen: dict[str, Any] = {}
        current = None
        start = 0
        for entry in entries:
            if entry.search_path is not current:
                current = entry.search_path
                files = self._document(current)["files"]
                seen = self._seen.setdefault(current, {})
                start = len(current) + 1
            try:
                st = stat(entry.path)
            except OSError:
                continue
            relative = entry.path[start:]
            head = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
            record = files.get(relative)
            if (
                type(record) is tuple
                and record[:5] == head
                and (len(record) == 7 or _holds(record, entry.path))
            ):
                if len(record) == 8 and not racy(max(head[1], head[2]), now):
                    record = record[:7]  # old enough now: its state will do
                    self._changed.add(current)
                seen[relative] = record
                found[entry.name] = record[5:7]
                continue
            pending[entry.path] = (head, racy(max(head[1], head[2]), now))
        return found

    def store(self, entry: ModuleEntry, facts: tuple[Any, Any], source: bytes | None) -> None:
        """Keep the ``facts`` of ``entry``'s file, parsed now from ``source``."""
        self._changed.add(entry.search_path)
        pending = self._pending.pop(entry.path, None)
        if pending is None or source is None:
            return  # it could not be looked at, or read
        head, recent = pending
        record = (*head, *_shared(facts, self._common))
        if recent:
            record += (binascii.crc32(source),)
        relative = entry.path[len(entry.search_path) + 1 :]
        self._seen.setdefault(entry.search_path, {})[relative] = record

    # -- the whole listing ------------------------------------------------------------

    def snapshot(self) -> dict[str, Any] | None:
        """The stored listing of a single search path, if nothing it was made from changed.

        Kept in a file of its own, read alone: valid while no folder of the
        walk changed and every file it parsed has its state (one stat each).
        """
        if len(self._roots) != 1:
            return None
        search_path = self._roots[0]
        stored: dict[str, Any] | None = _cache.read(self._name(search_path) + "-listing")
        if stored is None or stored.get("root") != search_path:
            return None
        try:
            walk = _walk.Walk([], [], list(stored["folders"]), stored["listed_ns"])
            if not walk.folders or not walk.is_current():  # a folder changed
                return None
            stat = os.stat
            for path, size, mtime, ctime, inode, device in stored["files"]:
                st = stat(path)
                if (
                    st.st_mtime_ns != mtime
                    or st.st_size != size
                    or st.st_ctime_ns != ctime
                    or st.st_ino != inode
                    or st.st_dev != device
                ):
                    return None
            wanted = ("classes", "ancestors", "modules", "errors", "skipped")
            if not all(k in stored for k in wanted):
                return None
        except (OSError, TypeError, ValueError, KeyError):
            return None
        return stored

    def can_keep(self, collisions: list[Any]) -> bool:
        """Whether this listing may be kept whole: one search path, no collision, every
        file vouched for by its state (none too recent, none unreadable)."""
        if len(self._roots) != 1 or collisions:
            return False
        search_path = self._roots[0]
        seen = self._seen.get(search_path, {})
        return (
            search_path in self._walks
            and not self._pending
            and all(len(record) == 7 for record in seen.values())
        )

    def keep_snapshot(self, snapshot: dict[str, Any]) -> None:
        """Keep a whole listing of a single search path (see ``can_keep``)."""
        search_path = self._roots[0]
        seen = self._seen.get(search_path, {})
        walk = self._walks[search_path]
        prefix = os.path.join(search_path, "")
        files = tuple((prefix + relative, *record[:5]) for relative, record in seen.items())
        # Equal tuples and strings made one object: marshal writes each once, and
        # reads it once (most classes share their bases and ancestors).
        common: dict[Any, Any] = {}
        snapshot = {key: _shared(value, common) for key, value in snapshot.items()}
        document = {
            **snapshot,
            "root": search_path,
            "folders": walk[0],
            "listed_ns": walk[1],
            "files": files,
        }
        _cache.write(self._name(search_path) + "-listing", document, avoid=self._roots)

    def save(self) -> None:
        """Write the index of each search path whose files or folders changed."""
        for search_path in self._roots:
            seen = self._seen.get(search_path, {})
            stored = self._document(search_path)["files"]
            if search_path not in self._changed and len(seen) == len(stored):
                continue
            # A folder changed as it was listed fails is_current() next time.
            _cache.write(
                self._name(search_path),
                {"root": search_path, "walk": self._walks.get(search_path), "files": seen},
                avoid=self._roots,
            )
