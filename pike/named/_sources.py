"""Where a named manager's entry points come from, and how each one loads (C13).

Two sources, in this order: drop-in folders (``search_paths``), each
declaring its plugins in an ``entry_points.txt`` in the format a
distribution's ``*.dist-info`` uses; then the entry points of installed
distributions. Within a source, by name, then distribution. A declaration
seen in both (a folder that is also installed) is one plugin, the folder's.

A drop-in's module is imported by the folders' [`PikeManager`][pike.manager.PikeManager]
(its isolation and cleanup hold, C5 and C7); an installed entry point loads
with that manager's finder standing aside, so it never runs a drop-in module.
"""

from __future__ import annotations

import os
import stat
import threading
import weakref
from collections.abc import Iterable
from importlib import metadata
from typing import Any

from pike._paths import SearchPaths, normalize_search_paths
from pike._trust import Trust, check_trust, fix, problem
from pike.errors import (
    PikeValueError,
    PluginCollisionError,
    SearchPathError,
    UntrustedPathError,
)
from pike.finder import standing_aside
from pike.manager import PikeManager

__all__ = ["Sources", "declared"]


def declared(
    folder: str, group: str, *, check: bool = True, names: Iterable[str] | None = None
) -> list[metadata.EntryPoint]:
    """The entry points ``folder/entry_points.txt`` declares in ``group``, by name.

    With ``names``, only those: the other lines are not even split (a folder
    declaring 10,000 plugins costs little to pick one from, C16), so only the
    lines read are checked. No file means no declarations. A file that cannot
    be read, is not UTF-8 text, has a line that is not ``name = module:attr``
    in a ``[group]`` section, or (``check``) that other users could change
    (C15), raises: it decides which of the folder's code runs.
    """
    path = os.path.join(folder, "entry_points.txt")
    try:
        # Non-blocking: a FIFO planted under the name must not hang the program.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        reason = f"has an entry_points.txt pike cannot read: {exc.strerror}"
        raise SearchPathError(folder, reason) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SearchPathError(folder, "has an entry_points.txt that is not a regular file")
        why = problem(st) if check else None
        if why is not None:
            raise UntrustedPathError(
                path,
                f"{why}; it names the plugins pike runs from {folder}; {fix(path, st)}",
                owner=st.st_uid,
                mode=st.st_mode,
            )
        with os.fdopen(os.dup(fd), "rb") as file:
            data = file.read()
    finally:
        os.close(fd)
    wanted = None if names is None else tuple(sorted({n for n in names if isinstance(n, str)}))
    key = (path, group, wanted)
    known = _declared.get(key)
    if known is not None and known[0] == data:
        return list(known[1])  # the same EntryPoint objects, as stevedore's cache gives
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SearchPathError(
            folder, f"has an entry_points.txt that is not UTF-8 text (byte {exc.start})"
        ) from None
    if wanted is not None:
        found = sorted(_parse_named(text, group, folder, wanted), key=_name)
    else:
        found = sorted(_parse(text, group, folder), key=_name)
    if len(_declared) >= 64:
        for oldest in list(_declared)[:1]:
            _declared.pop(oldest, None)
    _declared[key] = (data, tuple(found))
    return found


# What each entry_points.txt declared, by its content and the question: managers over
# one folder get the same EntryPoint objects, and an unchanged file is not parsed again.
_declared: dict[tuple[object, ...], tuple[bytes, tuple[metadata.EntryPoint, ...]]] = {}


def _parse_named(
    text: str, group: str, folder: str, names: Iterable[str]
) -> list[metadata.EntryPoint]:
    """``_parse``'s result for the lines of ``names`` alone, found with ``str.find``."""
    found = []
    for name in {n for n in names if isinstance(n, str) and n}:
        start = 0
        while (at := text.find(name, start)) >= 0:
            start = at + len(name)
            line_start = text.rfind("\n", 0, at) + 1
            if text[line_start:at].strip(" \t"):
                continue  # not at the start of its line
            line_end = text.find("\n", at)
            line_end = len(text) if line_end < 0 else line_end
            rest = text[start:line_end]
            if not rest.lstrip(" \t").startswith("="):
                continue  # a longer name, or not an entry
            raw = text[line_start:line_end]
            value = rest.lstrip(" \t")[1:].strip()
            if not value:
                number = text.count("\n", 0, at) + 1
                raise _bad_line(folder, number, raw, "an entry is name = module:attr")
            section = _section_at(text, line_start)
            if section is None:
                number = text.count("\n", 0, at) + 1
                raise _bad_line(folder, number, raw, "entries go under a [group] header")
            if section == group:
                found.append(metadata.EntryPoint(name, value, group))
    return found


def _section_at(text: str, position: int) -> str | None:
    """The ``[group]`` whose section holds the line starting at ``position``."""
    end = position
    while (at := text.rfind("[", 0, end)) >= 0:
        end = at
        line_start = text.rfind("\n", 0, at) + 1
        if text[line_start:at].strip(" \t\ufeff"):
            continue  # a bracket inside a line (an entry's [extras])
        line_end = text.find("\n", at)
        header = text[at : len(text) if line_end < 0 else line_end].strip()
        if header.endswith("]"):
            return header[1:-1].strip()
    return None


def _parse(text: str, group: str, folder: str) -> list[metadata.EntryPoint]:
    """The ``group`` section's entries of an entry_points.txt (the format pip writes)."""
    found = []
    section = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line[0] == "[":
            if line[-1] != "]" or not line[1:-1].strip():
                raise _bad_line(folder, number, raw, "a section header is [group]")
            section = line[1:-1].strip()
            continue
        name, equals, value = (part.strip() for part in line.partition("="))
        if not equals or not name or not value:
            raise _bad_line(folder, number, raw, "an entry is name = module:attr")
        if section is None:
            raise _bad_line(folder, number, raw, "entries go under a [group] header")
        if section == group:
            found.append(metadata.EntryPoint(name, value, group))
    return found


def _bad_line(folder: str, number: int, line: str, rule: str) -> SearchPathError:
    shown = line if len(line) <= 80 else line[:77] + "..."
    return SearchPathError(
        folder, f"has an entry_points.txt whose line {number} ({shown!r}) is wrong: {rule}"
    )


def _name(ep: metadata.EntryPoint) -> str:
    return ep.name


def _check_value(ep: metadata.EntryPoint) -> None:
    if ep.pattern.match(ep.value) is None:
        raise PikeValueError(
            f"entry point {ep.name!r} names {ep.value!r}, which is not module:attr; "
            "fix its declaration"
        )


class _Folders:
    """One `PikeManager` over a set of drop-in folders, shared by the named managers using it.

    Named managers are rarely closed (stevedore has no ``close``), and a program
    often makes several over one folder: a driver, its hooks, its extensions.
    With one manager each, the second would meet the first one's modules as
    collisions (C5); sharing, they all get the same plugin objects, as from an
    installed distribution. The folders' modules go when the last user closes,
    or when the last one is garbage (the manager cleans up when collected, C7).
    """

    __slots__ = ("__weakref__", "key", "manager", "users")

    def __init__(self, key: tuple[tuple[str, ...], str], manager: PikeManager) -> None:
        self.key = key
        self.manager = manager
        # The Sources using it; one that is garbage without closing leaves by itself.
        self.users: weakref.WeakSet[Sources] = weakref.WeakSet()


_shared: weakref.WeakValueDictionary[tuple[tuple[str, ...], str], _Folders] = (
    weakref.WeakValueDictionary()
)
_shared_lock = threading.Lock()


def _folders(user: Sources, search_paths: SearchPaths, trust: Trust, check: bool) -> _Folders:
    """The shared manager of these folders (made on first use), with ``user`` among its users."""
    paths = normalize_search_paths(search_paths, trust=check)
    key = (tuple(paths), trust)
    with _shared_lock:
        folders = _shared.get(key)
        if folders is None:
            manager = PikeManager(paths, on_error="raise", trust=trust)
            folders = _shared[key] = _Folders(key, manager)
        folders.users.add(user)
        return folders


class Sources:
    """A manager's drop-in folders, in front of the installed distributions.

    ``search_paths`` as for [`PikeManager`][pike.manager.PikeManager]; None (or no
    folders) means installed distributions only, and nothing is installed in
    the interpreter.
    """

    __slots__ = ("__weakref__", "_check", "_folder_of", "_shared", "folders")

    def __init__(self, search_paths: SearchPaths = None, *, trust: Trust = "owner") -> None:
        self._check = check_trust(trust)
        self._folder_of: dict[metadata.EntryPoint, str] = {}
        self._shared: _Folders | None = None
        self.folders: PikeManager | None = None
        if search_paths is None or (isinstance(search_paths, list | tuple) and not search_paths):
            return
        self._shared = _folders(self, search_paths, trust, self._check)
        self.folders = self._shared.manager

    def entry_points(
        self,
        group: str,
        installed: list[metadata.EntryPoint],
        names: Iterable[str] | None = None,
    ) -> list[metadata.EntryPoint]:
        """The folders' declarations in ``group``, then the ``installed`` ones not among them.

        With ``names``, the folders' declarations of those names only.
        """
        if self.folders is None:
            return installed
        found: list[metadata.EntryPoint] = []
        seen: set[tuple[str, str]] = set()
        for folder in self.folders.search_paths:
            for ep in declared(folder, group, check=self._check, names=names):
                if (ep.name, ep.value) not in seen:
                    seen.add((ep.name, ep.value))
                    self._folder_of[ep] = folder
                    found.append(ep)
        found.extend(ep for ep in installed if (ep.name, ep.value) not in seen)
        return found

    def folder_of(self, entry_point: object) -> str | None:
        """The drop-in folder that declares ``entry_point``, or None if it is installed."""
        if not isinstance(entry_point, metadata.EntryPoint):
            return None  # a stand-in (tests build their own)
        return self._folder_of.get(entry_point)

    def load(self, ep: metadata.EntryPoint) -> Any:
        """What ``ep`` names, imported from where it was declared."""
        folders = self.folders
        if folders is None:
            try:
                return ep.load()
            except Exception:
                _check_value(ep)  # a clearer error than the one load() met on it
                raise
        _check_value(ep)  # before ep.module, which asserts on it (Python 3.13)
        if self.folder_of(ep) is None:
            top = ep.module.partition(".")[0]
            held = folders._registry.get(top)
            if held is not None and not held.borrowed:
                raise PluginCollisionError(
                    f"installed entry point {ep.name!r} names module {ep.module!r}, but "
                    f"{top!r} is the drop-in folder's, loaded from {held.path}; "
                    "rename one of them",
                    ep.module,
                    held.path,
                    other=held.path,
                )
            with standing_aside(folders.module_finder):
                return ep.load()
        plugin: Any = folders._import_plugin(ep.module)
        for part in ep.attr.split(".") if ep.attr else ():
            plugin = getattr(plugin, part)
        return plugin

    def path_of(self, ep: metadata.EntryPoint) -> str | None:
        """The file of a drop-in entry point's module (None for an installed one)."""
        if self.folders is None or self.folder_of(ep) is None:
            return None
        record = self.folders._registry.get(ep.module)
        return record.path if record is not None else None

    def close(self) -> None:
        """Done with the folders: the last user cleans up their manager (C7).

        What it loaded keeps working. Safe to call more than once.
        """
        shared, self._shared = self._shared, None
        if shared is None:
            return
        with _shared_lock:  # held while cleaning up: a new user waits for a fresh manager
            shared.users.discard(self)
            if not shared.users:
                if _shared.get(shared.key) is shared:
                    del _shared[shared.key]
                shared.manager.cleanup()
