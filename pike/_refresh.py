"""Bringing loaded plugins up to date with their folders.

A refresh is a diff and an apply step:

* `plan` compares the session's records (what was loaded, from which file,
  in which state), however each module came to be loaded, with a walk of the
  folders as they are now, nothing imported. The session tells which
  records' files changed (`pike._session.Session.stale`: one stat per file
  it ran); a walk whose folders cannot have changed is reused
  (`pike._walk.walk` with ``previous``).
* `run` sets aside the modules that changed or went away, and those that hold
  their objects (what each module uses, `pike._classes.examine`), then
  imports what is new or changed through the same `Importer` as the first
  load.

So the work is one stat per file plus what changed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from pike import _walk
from pike._classes import examine
from pike._hooks import UNLOAD
from pike._importing import Importer
from pike._session import Record, RecordFiles, Session
from pike._value import Frozen
from pike._walk import ModuleEntry
from pike.errors import PluginError

if TYPE_CHECKING:
    from pike._switches import Switches

__all__ = ["Plan", "RefreshReport", "Scope", "dependents", "plan", "run", "swap_groups"]


class RefreshReport(Frozen):
    """What [`PikeManager.refresh`][pike.manager.PikeManager.refresh] found: module names,
    in load order.

    ``added``: loaded now, not before. ``changed``: loaded before and executed
    afresh (their file changed, or a module they use did). ``removed``: loaded
    before, gone from the search paths. ``errors``: the plugin errors met.
    ``kept``: loaded before, changed on disk, and kept as they were because
    their new version (or a module that runs again with it) failed to import:
    the old module objects stay, its error is in ``errors``.
    Immutable; reports compare by value.
    """

    __slots__ = ("added", "changed", "errors", "kept", "removed")
    __match_args__ = ("added", "changed", "removed", "errors", "kept")

    added: list[str]
    changed: list[str]
    removed: list[str]
    errors: list[PluginError]
    kept: list[str]

    def __init__(
        self,
        added: list[str] | None = None,
        changed: list[str] | None = None,
        removed: list[str] | None = None,
        errors: list[PluginError] | None = None,
        kept: list[str] | None = None,
    ) -> None:
        for name, value in (
            ("added", added),
            ("changed", changed),
            ("removed", removed),
            ("errors", errors),
            ("kept", kept),
        ):
            object.__setattr__(self, name, [] if value is None else value)

    __hash__ = None  # type: ignore[assignment]  # its lists are mutable, as a dataclass's

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.errors or self.kept)

    def __str__(self) -> str:
        if not self:
            return "no changes"
        parts = []
        for label, names in (
            ("added", self.added),
            ("changed", self.changed),
            ("removed", self.removed),
            ("kept", self.kept),
        ):
            if names:
                parts.append(f"{label}: {', '.join(names)}")
        if self.errors:
            parts.append(f"{len(self.errors)} error{'s' if len(self.errors) > 1 else ''}")
        return "; ".join(parts)


class Plan:
    """The difference between what was loaded and the folders as they are.

    ``new``: entries not loaded (new files, or ones that failed before).
    ``changed``: entries whose module was loaded from a file since edited,
    replaced or moved. Both in load order. ``removed``: names of loaded
    modules whose file is gone. ``users``: the other records whose modules
    use a plugin module (or are not examined yet): those that may have to run
    again with what changed.
    """

    __slots__ = ("changed", "new", "removed", "users")

    def __init__(
        self,
        new: list[ModuleEntry],
        changed: list[ModuleEntry],
        removed: set[str],
        users: list[Record],
    ) -> None:
        self.new = new
        self.changed = changed
        self.removed = removed
        self.users = users


class Scope:
    """Where a refresh looks: the files ``paths`` name and everything under the folders
    they name (absolute paths), however they are spelled: each is also taken as its
    real path and, inside a search path reached through a link, as that search path
    spells it (the records' spelling)."""

    __slots__ = ("files", "prefixes")

    def __init__(self, paths: Iterable[str], search_paths: Iterable[str] = ()) -> None:
        reals = [(path, os.path.realpath(path)) for path in search_paths]
        spelled: set[str] = set()
        for path in paths:
            # Resolved whole, and up to its last part (a module file that is a link).
            parent, name = os.path.split(path)
            forms = {path, os.path.realpath(path), os.path.join(os.path.realpath(parent), name)}
            spelled.update(forms)
            for real in forms:
                for search_path, real_search_path in reals:
                    if real == real_search_path:
                        spelled.add(search_path)
                    elif real.startswith(os.path.join(real_search_path, "")):
                        spelled.add(os.path.join(search_path, real[len(real_search_path) + 1 :]))
        self.files = frozenset(spelled)
        # Anything not a file now (a folder, or gone) is looked under too.
        self.prefixes = tuple(
            path.rstrip(os.sep) + os.sep for path in self.files if not os.path.isfile(path)
        )

    def covers(self, path: str) -> bool:
        """True if ``path`` is one of the paths, or lies under one."""
        return path in self.files or path.startswith(self.prefixes)

    def covers_entry(self, entry: ModuleEntry) -> bool:
        """True if the file of ``entry`` (or, for an archive member, its archive) is covered."""
        return self.covers(entry.path) or self.covers(entry.source)

    def narrow(self, diff: Plan, records: Mapping[str, Record]) -> Plan:
        """``diff`` without what lies outside the paths."""
        covered = self.covers_entry
        removed = {name for name in diff.removed if covered(records[name].entry)}
        new = [entry for entry in diff.new if covered(entry)]
        changed = [entry for entry in diff.changed if covered(entry)]
        return Plan(new, changed, removed, diff.users)


def plan(
    records: Mapping[str, Record],
    walk: _walk.Walk,
    now_ns: int | None = None,
    *,
    in_step: bool = False,
    stale: list[Record] | None = None,
    users: list[Record] | None = None,
) -> Plan:
    """Compare ``records`` with ``walk``: one stat per loaded file, nothing imported.

    ``stale`` are the records whose file changed, if the caller has them
    (`pike._session.Session.stale`); else they are found here. ``in_step``
    says each entry of ``walk`` has a record holding that very entry and
    there is no other record: then only the records are gone through (the
    "refresh 10000, one edit" benchmark row).
    """
    now = time.time_ns() if now_ns is None else now_ns
    if stale is None:
        stale = RecordFiles.of(records).stale(now)
    if in_step:
        return _plan_in_step(records, walk, stale, users)
    new: list[ModuleEntry] = []
    moved: list[ModuleEntry] = []
    matched: list[Record] = []  # records whose entry the walk still has
    seen: set[str] = set()  # names matched other than by identity
    get = records.get
    for entry in walk.modules:
        name = entry.key
        record = get(name)
        if record is None:
            new.append(entry)
            continue
        if record.entry is not entry:  # the same walk made both (the common case) or not
            if name in seen or (record.entry.path != entry.path and _hidden(entry, walk)):
                new.append(entry)  # hidden by an earlier search path: reported again
                continue
            seen.add(name)
            if record.entry.path != entry.path:
                moved.append(entry)  # moved to another search path, or now a package
                continue
        matched.append(record)
    # A record that uses a plugin module, or is not examined yet (`pike._classes`).
    users = [record for record in matched if record.may_use_plugins]
    kept = {id(record) for record in matched}
    edited = {record.entry.key for record in stale if id(record) in kept}
    edited.update(entry.key for entry in moved)
    changed = [entry for entry in walk.modules if entry.key in edited] if edited else []
    if len(walk.modules) - len(new) < len(records):  # some record matched no entry
        present = {entry.key for entry in walk.modules}
        removed = {name for name in records if name not in present}
    else:
        removed = set()
    return Plan(new, changed, removed, users)


def _plan_in_step(
    records: Mapping[str, Record],
    walk: _walk.Walk,
    stale: list[Record],
    users: list[Record] | None,
) -> Plan:
    """`plan` when the records and the walk's entries match one to one; ``users`` as
    `Session.users` gives them, if the caller has them."""
    if users is None:
        # A record that uses a plugin module, or is not examined yet (`pike._classes`).
        users = [record for record in records.values() if record.may_use_plugins]
    changed = [record.entry for record in stale if records.get(record.entry.key) is record]
    if len(changed) > 1:  # in load order
        order = {entry.key: i for i, entry in enumerate(walk.modules)}
        changed.sort(key=lambda e: order.get(e.key, 0))
    return Plan([], changed, set(), users)


def _hidden(entry: ModuleEntry, walk: _walk.Walk) -> bool:
    """True if an earlier entry of ``walk`` has ``entry``'s key (an earlier search path;
    never under isolation, where each search path has keys of its own)."""
    for other in walk.modules:
        if other is entry:
            return False
        if other.key == entry.key:
            return True
    return False  # pragma: no cover - entry is in walk


def dependents(
    changed: set[str], candidates: list[Record], records: Mapping[str, Record]
) -> set[str]:
    """Those of ``candidates`` that hold a class, function, instance or module of ``changed``.

    They are executed afresh too, or they would keep the old objects (a
    subclass of the old base class, a package re-exporting a class of its
    changed submodule). Followed transitively. What a candidate uses is
    worked out now if it was not yet (among ``records``).
    """
    if not changed or not candidates:
        return set()
    found = set(changed)
    examine(candidates, records)  # what each module uses is worked out once
    pending = [record for record in candidates if record.uses]
    grew = True
    while grew:
        grew = False
        rest = []
        for record in pending:
            name = record.entry.key
            uses: set[str] | frozenset[str] = record.uses or frozenset()
            if name in found or uses.isdisjoint(found):
                rest.append(record)
                continue
            found.add(name)
            grew = True
        pending = rest
    return found - changed


def _submodules(names: set[str], records: Mapping[str, Record]) -> set[str]:
    """The loaded submodules of those of ``names`` that are packages."""
    packages = [n for n in names if (r := records.get(n)) is not None and r.entry.is_package]
    if not packages:
        return set()
    prefixes = tuple(name + "." for name in packages)
    return {name for name in records if name.startswith(prefixes)}


def swap_groups(names: set[str], records: Mapping[str, Record]) -> list[set[str]]:
    """``names``, modules about to run again, in the groups that are swapped all or
    nothing: a module is with the modules among ``names`` it uses (`dependents`), a
    submodule with its package. Independent modules are groups of their own."""
    parent = {name: name for name in names}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = name = parent[parent[name]]
        return name

    for name in names:
        record = records.get(name)
        uses = record.uses if record is not None else None
        linked = [used for used in uses if used in parent] if uses else []
        package = name.rpartition(".")[0]
        while package and package not in parent:
            package = package.rpartition(".")[0]
        if package:
            linked.append(package)
        for other in linked:
            parent[root(other)] = root(name)
    groups: dict[str, set[str]] = {}
    for name in names:
        groups.setdefault(root(name), set()).add(name)
    return list(groups.values())


def _drop_bytecode(names: set[str], records: Mapping[str, Record]) -> None:
    """Remove the bytecode caches of ``names``' files that Python would still trust.

    Python trusts a cache whose source has the same size and modification time
    to the second, or, for a cache made from a hash, may not look at the source
    at all: run afresh, the module would be the old code. A cache Python will
    refuse anyway (the common case: the edit changed the size or the time) is
    left for the import to replace; removing a file from a large ``__pycache__``
    costs more than reading its header ("refresh 10000, one edit" benchmark row).
    """
    for name in names:
        record = records.get(name)
        path = record.entry.path if record is not None else ""
        if path.endswith(".py"):
            with contextlib.suppress(OSError, ValueError, NotImplementedError):
                cached = importlib.util.cache_from_source(path)
                if _trusted(cached, path):
                    os.remove(cached)


def _trusted(cached: str, source: str) -> bool:
    """Whether Python would take the bytecode cache ``cached`` as ``source``'s as it is."""
    with open(cached, "rb") as file:
        header = file.read(16)
    if len(header) < 16 or header[:4] != importlib.util.MAGIC_NUMBER:
        return False
    if header[4:8] != bytes(4):  # made from a hash of the source
        return True
    st = os.stat(source)
    stamp = (int(st.st_mtime) & 0xFFFFFFFF, st.st_size & 0xFFFFFFFF)
    return header[8:16] == b"".join(n.to_bytes(4, "little") for n in stamp)


def _diff(
    session: Session,
    records: Mapping[str, Record],
    walk: _walk.Walk,
    *,
    in_step: bool,
    scope: Scope | None,
) -> Plan:
    """`plan`, with what the session knows: the records whose files changed (those
    ``scope`` covers only, if given) and the records that may use plugin modules."""
    if scope is None:
        stale = session.stale(time.time_ns())
    else:
        stale = session.stale_within(scope.files, scope.prefixes)
    users = session.users() if in_step else None
    diff = plan(records, walk, in_step=in_step, stale=stale, users=users)
    return diff if scope is None else scope.narrow(diff, records)


def _rebind(session: Session, importer: Importer, added: list[ModuleEntry], kept: set[str]) -> None:
    """Import again the modules just added that hold objects of a new version that was
    not swapped (``kept``), so that they hold the version that stays."""
    fresh = [record for entry in added if (record := session.get(entry.key)) is not None]
    examine(fresh, session.names())
    again = {
        record.entry.key for record in fresh if record.uses and not kept.isdisjoint(record.uses)
    }
    if again:
        session.forget(again)
        importer.load([entry for entry in added if entry.key in again], hooks=False)


def _swap(
    session: Session, importer: Importer, edited: set[str], records: Mapping[str, Record]
) -> set[str]:
    """Once what was set aside imported again (or failed to): swap each group whose every
    module imported, put the old versions of any other back, as if nothing had been tried
    (docs/refresh.md, "Atomic reload"), and run the unload hooks of what is replaced or
    removed. Returns the names kept as they were."""
    kept: set[str] = set()
    try:
        for group in swap_groups(edited, records) if edited else ():
            if not all(name in session for name in group):
                kept.update(session.set_back(group))
        going = [record for key, record in session.old_versions().items() if key not in kept]
        for error in session.call_hooks(UNLOAD, reversed(going)):
            importer.policy.note(error)
    finally:
        session.release()  # even if a hook raised KeyboardInterrupt
    return kept


def run(
    session: Session,
    importer: Importer,
    previous: _walk.Walk,
    search_paths: list[str],
    *,
    in_step: bool = False,
    scope: Scope | None = None,
    switches: Switches | None = None,
) -> tuple[RefreshReport, _walk.Walk]:
    """Refresh: plan against a new walk, set aside what changed, import what is new or changed.

    ``in_step`` (see `plan`) is taken only if ``previous`` is still current. With a
    ``scope``, only the files it covers are looked at (one stat each), and only what
    changed among them is loaded again, with the modules that use it. ``switches``
    turn modules off in the new walk, as in the first.
    """
    walk = _walk.walk(search_paths, previous=previous, isolate=session.isolate, switches=switches)
    resolved_otherwise: set[str] = set()
    if session.isolate:
        session.sync_builtins()
    if walk is not previous:
        before = session.resolutions() if session.isolate else None
        session.forget_listings()  # the folders changed: cached listings may miss new files
        if before is not None:
            session.learn(walk)
            # Modules whose bare imports now find another module run again too.
            resolved_otherwise = session.resolved_otherwise(before)
    records = session.records()
    diff = _diff(session, records, walk, in_step=in_step and walk is previous, scope=scope)
    removed = diff.removed
    reload = diff.changed
    edited = {entry.key for entry in reload}
    if diff.new:  # a module added may be what a module kept after a failed reload lacked
        resolved_otherwise |= session.kept()
    if resolved_otherwise:
        edited |= resolved_otherwise & {entry.key for entry in walk.modules}
        reload = [entry for entry in walk.modules if entry.key in edited]
    # Modules holding objects of those, and a package's submodules, go too.
    more = dependents(edited | removed, diff.users, records) - removed
    more |= _submodules(edited | more | removed, records) - removed - edited
    if more:
        edited |= more
        reload = [entry for entry in walk.modules if entry.key in edited]
    dropped = edited | removed
    if dropped:
        _drop_bytecode(dropped, records)
        # In load order: unload hooks run in the reverse of it.
        order = [entry.key for entry in reload]
        if removed:
            order += [key for key in records if key in removed]
        session.set_aside(order)
    importer.policy.errors.clear()
    if diff.new and reload:
        wanted = edited.union(entry.key for entry in diff.new)
        entries = [entry for entry in walk.modules if entry.key in wanted]
    else:
        entries = reload or diff.new
    try:
        loaded = importer.load(entries, hooks=False) if entries else []
        importer.report_broken(walk.broken)
    finally:
        kept = _swap(session, importer, edited, records) if dropped else set()
    if kept and diff.new:
        _rebind(session, importer, [entry for entry in diff.new if entry.key in session], kept)
    importer.run_load_hooks()
    report = RefreshReport(
        added=list(
            dict.fromkeys(e.name for e in entries if e.key not in records and e.key in session)
        )
        if loaded
        else [],
        changed=[entry.name for entry in reload if entry.key not in kept],
        removed=[records[key].entry.name for key in records if key in removed] if removed else [],
        errors=list(importer.policy.errors),
        kept=[entry.name for entry in reload if entry.key in kept] if kept else [],
    )
    return report, walk
