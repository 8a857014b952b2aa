"""Where a named manager's entry points come from, and how each one loads.

Two sources, in this order: drop-in folders (``search_paths``), each
declaring its plugins in an ``entry_points.txt`` in the format a
distribution's ``*.dist-info`` uses; then the entry points of installed
distributions. The folders in the order given, the installed distributions
in ``importlib.metadata``'s order (``sys.path``'s), as stevedore has them; each
one's entry points in its file's order (`pike.named._installed.first_of_each`).
A declaration seen in both (a folder that is also installed) is one plugin,
the folder's.

A drop-in's module is imported by the folders' [`PikeManager`][pike.manager.PikeManager]
(its isolation and cleanup hold); an installed entry point loads with that
manager standing aside, so it never runs a drop-in module.

The format of ``entry_points.txt`` is read by one rule (`_parse_line`):
blank lines and lines starting with ``#`` or ``;`` say nothing, ``[group]``
starts a group, ``name = module:attr`` declares a plugin in it; anything else
is an error naming the line, since the file decides which of the folder's code
runs. Every file is checked whole, whichever names are asked for; a named
manager then reads only its names' lines (a folder declaring 10,000 plugins
costs little to pick one from), and whether a file checked out is kept in
pike's cache, by the file's state (`pike._filestate`).
"""

from __future__ import annotations

import os
import stat
import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from importlib import metadata
from typing import Any, TypedDict

from pike import _cache
from pike._filestate import FileState
from pike._gate import Requires, checked
from pike._names import installed_meets_plugin
from pike._paths import SearchPaths, normalize_search_paths, roots_of
from pike._switches import Switches
from pike._trust import Trust, TrustPolicy
from pike._walk import archives_in
from pike.errors import PikeTypeError, PikeValueError, SearchPathError
from pike.manager import PikeManager
from pike.named._installed import first_of_each

__all__ = ["Guards", "Sources", "declared"]


def _parse_line(raw: str) -> tuple[str, str] | None:
    """What one line of an ``entry_points.txt`` says: ``("[", group)`` for a header,
    ``(name, value)`` for a declaration, None for a blank line or a comment.

    Raises ValueError, saying the rule, for any other line.
    """
    line = raw.strip()
    if not line or line[0] in "#;":
        return None
    if line[0] == "[":
        group = line[1:-1].strip()
        if line[-1] != "]" or not group:
            raise ValueError("a section header is [group], alone on its line")
        return ("[", group)
    name, equals, value = (part.strip() for part in line.partition("="))
    if not equals or not name or not value:
        raise ValueError("an entry is name = module:attr")
    return (name, value)


def _bad_line(folder: str, number: int, line: str, rule: str) -> SearchPathError:
    shown = line if len(line) <= 80 else line[:77] + "..."
    return SearchPathError(
        folder, f"has an entry_points.txt whose line {number} ({shown!r}) is wrong: {rule}"
    )


def _parse(text: str, folder: str) -> list[tuple[str, str, str]]:
    """Every declaration of an ``entry_points.txt``, as ``(group, name, value)``; the
    first line that breaks the rule raises."""
    found = []
    group = None
    for number, raw in enumerate(text.splitlines(), 1):
        try:
            said = _parse_line(raw)
        except ValueError as exc:
            raise _bad_line(folder, number, raw, str(exc)) from None
        if said is None:
            continue
        if said[0] == "[":
            group = said[1]
        elif group is None:
            raise _bad_line(folder, number, raw, "entries go under a [group] header")
        else:
            found.append((group, *said))
    return found


def _named_lines(text: str, group: str, names: Iterable[str]) -> list[tuple[str, str]]:
    """``(name, value)`` of the declarations of ``names`` in ``group``, found with
    ``str.find``, in a file that was checked whole already; in the file's order."""
    found: list[tuple[int, tuple[str, str]]] = []
    for name in names:
        start = 0
        while (at := text.find(name, start)) >= 0:
            line_start = text.rfind("\n", 0, at) + 1
            line_end = text.find("\n", at)
            line_end = len(text) if line_end < 0 else line_end
            start = line_end  # each line once, however often the name is in it
            said = _parse_line(text[line_start:line_end])
            if said is None or said[0] != name:
                continue  # in a comment, a value, a longer name
            if _group_at(text, line_start) == group:
                found.append((line_start, said))
    return [said for _start, said in sorted(found)]


def _group_at(text: str, position: int) -> str | None:
    """The group of the header nearest above the line starting at ``position``."""
    end = position
    while (at := text.rfind("[", 0, end)) >= 0:
        end = at
        line_start = text.rfind("\n", 0, at) + 1
        if text[line_start:at].strip(" \t\ufeff"):
            continue  # a bracket inside a line (an entry's [extras])
        line_end = text.find("\n", at)
        said = _parse_line(text[line_start : len(text) if line_end < 0 else line_end])
        if said is not None and said[0] == "[":
            return said[1]
    return None  # pragma: no cover - a checked file has a header above every entry


def _read(folder: str, policy: TrustPolicy) -> tuple[str, bytes, os.stat_result] | None:
    """The path, bytes and stat of ``folder/entry_points.txt``; None if there is none.

    A file that cannot be read, is no regular file, or fails the trust rule raises.
    """
    path = os.path.join(folder, "entry_points.txt")
    try:
        # Non-blocking: a FIFO planted under the name must not hang the program.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        reason = f"has an entry_points.txt pike cannot read: {exc.strerror}"
        raise SearchPathError(folder, reason) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SearchPathError(folder, "has an entry_points.txt that is not a regular file")
        policy.require_path(path, st, f"it names the plugins pike runs from {folder}")
        with os.fdopen(os.dup(fd), "rb") as file:
            data = file.read()
    finally:
        os.close(fd)
    return path, data, st


def _text_of(data: bytes, folder: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SearchPathError(
            folder, f"has an entry_points.txt that is not UTF-8 text (byte {exc.start})"
        ) from None


def _check_whole(path: str, folder: str, text: str, st: os.stat_result) -> None:
    """Raise the error of the file's first wrong line, if any: from pike's cache while
    the file has the state it had when it was checked, else by reading every line."""
    name = "declarations-" + _cache.key_of(path)
    stored = _cache.read(name)
    if stored is not None and stored.get("path") == path:
        state = FileState.from_data(stored.get("state"))
        verdict = stored.get("error")
        if state is not None and state.holds(path, st) and (verdict is None or _is_text(verdict)):
            if verdict is not None:
                raise SearchPathError(folder, verdict)
            return
    error: SearchPathError | None = None
    try:
        _parse(text, folder)
    except SearchPathError as exc:
        error = exc
    state = FileState.of(st, path, time.time_ns())
    if state.digest is None:  # times too recent to vouch for it: not kept
        verdict = error.reason if error is not None else None
        _cache.write(
            name,
            {"path": path, "state": state.to_data(), "error": verdict},
            avoid=roots_of([folder]),
            folders=(folder,),
        )
    if error is not None:
        raise error


def _is_text(value: object) -> bool:
    return type(value) is str


def declared(
    folder: str,
    group: str,
    *,
    policy: TrustPolicy | None = None,
    names: Iterable[str] | None = None,
) -> list[metadata.EntryPoint]:
    """The entry points ``folder/entry_points.txt`` declares in ``group``, in its order.

    With ``names``, only those. No file means no declarations. A file that
    cannot be read, is not UTF-8 text, breaks the format anywhere, or fails
    ``policy``'s trust rule raises: it decides which of the folder's code runs.
    """
    found = _read(folder, policy or TrustPolicy("owner"))
    if found is None:
        return []
    return _declarations(found, folder, group, names)


def declared_in_archive(
    archive: str,
    group: str,
    *,
    policy: TrustPolicy | None = None,
    names: Iterable[str] | None = None,
) -> list[metadata.EntryPoint]:
    """The entry points a plugin archive in a drop-in folder declares in ``group`` (a
    wheel's ``*.dist-info/entry_points.txt``, or an ``entry_points.txt`` at its top): a
    drop-in distribution. The archive must pass ``policy``'s trust rule; one that cannot
    be read declares nothing (its manager reports it)."""
    try:
        st = os.stat(archive)
    except OSError as exc:
        raise SearchPathError(archive, f"cannot be read: {exc.strerror}") from None
    (policy or TrustPolicy("owner")).require_path(
        archive, st, f"it names the plugins pike runs from {archive}"
    )
    from pike._archive import Archive, ArchiveError

    try:
        read = Archive(archive, st)
    except ArchiveError:
        return []
    try:
        member = read.entry_points
        if member is None:
            return []
        data = read.read(member)
    except (OSError, ArchiveError):
        return []
    finally:
        read.close()
    return _declarations((read.path_of(member), data, st), archive, group, names)


def _declarations(
    found: tuple[str, bytes, os.stat_result],
    folder: str,
    group: str,
    names: Iterable[str] | None,
) -> list[metadata.EntryPoint]:
    path, data, st = found
    wanted = None if names is None else tuple(sorted({n for n in names if isinstance(n, str)}))
    key = (path, group, wanted)
    known = _declared.get(key)
    if known is not None and known[0] == data:
        return list(known[1])  # the same EntryPoint objects, as stevedore's cache gives
    text = _text_of(data, folder)
    if wanted is None:
        points = [(n, v) for g, n, v in _parse(text, folder) if g == group]
    else:
        _check_whole(path, folder, text, st)
        points = _named_lines(text, group, [n for n in wanted if n])
    ordered = first_of_each((n, v, (n, v)) for n, v in points)
    entry_points = tuple(metadata.EntryPoint(n, v, group) for n, v in ordered)
    if len(_declared) >= 64:
        for oldest in list(_declared)[:1]:
            _declared.pop(oldest, None)
    _declared[key] = (data, entry_points)
    return list(entry_points)


# What each entry_points.txt declared, by its content and the question: managers over
# one folder get the same EntryPoint objects, and an unchanged file is not parsed again.
_declared: dict[tuple[object, ...], tuple[bytes, tuple[metadata.EntryPoint, ...]]] = {}


def _check_value(ep: metadata.EntryPoint) -> None:
    if ep.pattern.match(ep.value) is None:
        raise PikeValueError(
            f"entry point {ep.name!r} names {ep.value!r}, which is not module:attr; "
            "fix its declaration"
        )


class _Shared:
    """One `PikeManager` over a set of drop-in folders, shared by the named managers using it.

    Named managers are rarely closed (stevedore has no ``close``), and a program
    often makes several over one folder: a driver, its hooks, its extensions.
    With one manager each, the second would meet the first one's modules as
    collisions; sharing, they all get the same plugin objects, as from an
    installed distribution. The folders' modules go when the last user closes,
    or when the last one is garbage (the manager cleans up when collected).
    """

    __slots__ = ("__weakref__", "key", "manager", "users")

    def __init__(self, key: tuple[tuple[str, ...], str, bool, str], manager: PikeManager) -> None:
        self.key = key
        self.manager = manager
        # The Sources using it; one that is garbage without closing leaves by itself.
        self.users: weakref.WeakSet[Sources] = weakref.WeakSet()


_shared: weakref.WeakValueDictionary[tuple[tuple[str, ...], str, bool, str], _Shared] = (
    weakref.WeakValueDictionary()
)
_shared_lock = threading.Lock()


def _shared_manager(
    user: Sources, paths: list[str], trust: Trust, isolate: bool, guards: dict[str, Any]
) -> _Shared:
    """The shared manager of these folders (made on first use), with ``user`` among its
    users; named managers that guard them differently (``guards``) each have their own."""
    key = (tuple(paths), trust, isolate, repr(sorted(guards.items())))
    with _shared_lock:
        shared = _shared.get(key)
        if shared is None:
            manager = PikeManager(
                paths, on_error="raise", trust=trust, isolate=isolate, environ={}, **guards
            )
            shared = _shared[key] = _Shared(key, manager)
        shared.users.add(user)
        return shared


class Guards(TypedDict, total=False):
    """What keeps a bad plugin out, as [`PikeManager`][pike.manager.PikeManager] takes it
    (docs/misbehaving.md): every named manager's keyword arguments beside
    ``search_paths``."""

    disabled: str | Iterable[str] | None
    only: str | Iterable[str] | None
    safe_mode: bool
    quarantine: bool
    host: tuple[str, str] | None
    requires: Requires
    blocked: Mapping[str, tuple[str, str]] | None
    conforms: type | None  # checked by the manager on each plugin it loads


_GUARDS = frozenset(Guards.__annotations__)


class Sources:
    """A manager's drop-in folders, in front of the installed distributions.

    ``search_paths`` as for [`PikeManager`][pike.manager.PikeManager]; None (or no
    folders) means installed distributions only, and nothing is installed in
    the interpreter.
    """

    __slots__ = (
        "__weakref__",
        "_folder_of",
        "_policy",
        "_shared",
        "_switches",
        "manager",
        "roots",
        "turned_off",
    )

    def __init__(
        self,
        search_paths: SearchPaths = None,
        *,
        trust: Trust = "owner",
        isolate: bool = False,
        **guards: Any,
    ) -> None:
        unknown = sorted(set(guards) - _GUARDS)
        if unknown:
            raise PikeTypeError(
                f"unexpected keyword argument {unknown[0]!r}; a named manager takes "
                f"search_paths, on_error, trust, isolate and {', '.join(sorted(_GUARDS))}"
            )
        # Turned off here, by entry point (the folders' manager has no switches of its
        # own: an entry point's name may be on where its module's name is not).
        self._switches = Switches(
            guards.pop("disabled", None), guards.pop("only", None), guards.pop("safe_mode", False)
        )
        checked(
            guards.get("quarantine", False),
            guards.get("requires", "warn"),
            guards.get("host"),
            guards.get("blocked"),
        )
        self._policy = TrustPolicy(trust)
        self._folder_of: dict[metadata.EntryPoint, str] = {}
        #: The entry points left out as turned off, by name: why.
        self.turned_off: dict[str, str] = {}
        self._shared: _Shared | None = None
        self.manager: PikeManager | None = None
        paths = normalize_search_paths(search_paths, self._policy if self._policy.checks else None)
        #: The folders as `pike._paths.roots_of` gives them: no cache is written inside.
        self.roots = roots_of(paths)
        if paths:
            given = {k: v for k, v in guards.items() if v is not None}
            self._shared = _shared_manager(self, paths, trust, isolate, given)
            self.manager = self._shared.manager

    def entry_points(
        self,
        group: str,
        installed: list[metadata.EntryPoint],
        names: Iterable[str] | None = None,
    ) -> list[metadata.EntryPoint]:
        """The folders' declarations in ``group``, then the ``installed`` ones not among them.

        With ``names``, the folders' declarations of those names only.
        """
        if self.manager is None:
            return self._switched_on(installed)
        found: list[metadata.EntryPoint] = []
        seen: set[tuple[str, str]] = set()
        for folder in self.manager.search_paths:
            sources = [(folder, declared(folder, group, policy=self._policy, names=names))]
            if self.manager.isolate:  # each archive in the folder: a drop-in distribution
                sources += [
                    (path, declared_in_archive(path, group, policy=self._policy, names=names))
                    for path in archives_in(folder)
                ]
            for source, declarations in sources:
                for ep in declarations:
                    if (ep.name, ep.value) not in seen:
                        seen.add((ep.name, ep.value))
                        self._folder_of[ep] = source
                        found.append(ep)
        found.extend(ep for ep in installed if (ep.name, ep.value) not in seen)
        return self._switched_on(found)

    def _switched_on(self, found: list[metadata.EntryPoint]) -> list[metadata.EntryPoint]:
        """``found`` without the entry points turned off: by their name, and a drop-in's by
        its module's (safe mode turns every drop-in off, never an installed one)."""
        switches = self._switches
        if not switches:
            return found
        kept = []
        for ep in found:
            module = ep.value.partition(":")[0].strip() if self.folder_of(ep) else None
            reason = switches.turns_off(ep.name, module)
            if reason is None:
                kept.append(ep)
            else:
                self.turned_off.setdefault(ep.name, reason)
        return kept

    def folder_of(self, entry_point: object) -> str | None:
        """The drop-in folder that declares ``entry_point``, or None if it is installed."""
        if not isinstance(entry_point, metadata.EntryPoint):
            return None  # a stand-in (tests build their own)
        return self._folder_of.get(entry_point)

    def load(self, ep: metadata.EntryPoint) -> Any:
        """What ``ep`` names, imported from where it was declared."""
        manager = self.manager
        if manager is None:
            try:
                return ep.load()
            except Exception:
                _check_value(ep)  # a clearer error than the one load() met on it
                raise
        _check_value(ep)  # before ep.module, which asserts on it (Python 3.13)
        if self.folder_of(ep) is None:
            # (Under isolation no drop-in module takes a plain name: none can meet it.)
            held = None if manager.isolate else manager.get_path(ep.module.partition(".")[0])
            if held is not None:
                raise installed_meets_plugin(ep.name, ep.module, held)
            with manager.standing_aside():
                return ep.load()
        plugin: Any = manager.load_plugin(ep.module, source=self.folder_of(ep))
        for part in ep.attr.split(".") if ep.attr else ():
            plugin = getattr(plugin, part)
        return plugin

    def path_of(self, ep: metadata.EntryPoint) -> str | None:
        """The file of a drop-in entry point's module (None for an installed one)."""
        if self.manager is None or self.folder_of(ep) is None:
            return None
        return self.manager.get_path(ep.module, source=self.folder_of(ep))

    def close(self) -> None:
        """Done with the folders: the last user cleans up their manager.

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
