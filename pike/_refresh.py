"""Bringing loaded plugins up to date with their folders (contract C9, C12).

A refresh is a diff and an apply step:

* :func:`plan` compares the registry (what was loaded, from which file, in
  which state) with a walk of the folders as they are now: one stat per loaded
  file, nothing imported. Folders whose listing cannot have changed are not
  listed again (:func:`pike._walk.walk` with ``previous``).
* :func:`run` takes out the modules that changed or went away, and those that
  hold their objects (found from what each module's namespace was seen to
  use, :func:`pike._classes.examine`), then loads what is new or changed
  through the same :class:`~pike._loading.Loader` as the first load.

So the work is one stat per file plus what changed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from pike import _walk
from pike._classes import examine
from pike._filestate import FileState, digest_of, is_racy
from pike._loading import Loader, forget_modules
from pike._registry import Record
from pike._walk import ModuleEntry
from pike.errors import PluginError

__all__ = ["Plan", "RefreshReport", "dependents", "plan", "run"]


@dataclass(frozen=True, slots=True)
class RefreshReport:
    """What :meth:`PikeManager.refresh` found: module names, in load order.

    ``added``: loaded now, not before. ``changed``: loaded before and executed
    afresh (their file changed, or a module they use did). ``removed``: loaded
    before, gone from the search paths. ``errors``: the plugin errors met.
    """

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[PluginError] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.errors)

    def __str__(self) -> str:
        if not self:
            return "no changes"
        parts = []
        for label, names in (
            ("added", self.added),
            ("changed", self.changed),
            ("removed", self.removed),
        ):
            if names:
                parts.append(f"{label}: {', '.join(names)}")
        if self.errors:
            parts.append(f"{len(self.errors)} error{'s' if len(self.errors) > 1 else ''}")
        return "; ".join(parts)


@dataclass(slots=True)
class Plan:
    """The difference between what was loaded and the folders as they are.

    ``new``: entries not loaded (new files, or ones that failed before), in
    load order. ``changed``: loaded modules whose file was edited, replaced or
    moved. ``removed``: loaded modules whose file is gone.
    """

    new: list[ModuleEntry]
    changed: set[str]
    removed: set[str]


def plan(records: Mapping[str, Record], walk: _walk.Walk) -> Plan:
    """Compare ``records`` with ``walk``: one stat per loaded file, nothing imported.

    A file remembered by its content (its stamp was too recent to trust) whose
    content is unchanged and whose stamp can be trusted now is remembered by
    its stamp from here on, so later refreshes need not read it.
    """
    found = {entry.name: entry for entry in walk.modules}
    changed: set[str] = set()
    removed: set[str] = set()
    now = time.time_ns()
    stat = os.stat
    for name, record in records.items():
        entry = found.get(name)
        if entry is None:
            removed.add(name)
            continue
        path = entry.path
        if path != record.entry.path:
            changed.add(name)  # moved to another search path, or now a package
            continue
        state = record.state
        if state is None:
            continue  # borrowed from the host: not the manager's to run again
        try:
            st = stat(path)
        except OSError:
            changed.add(name)
            continue
        if st.st_mtime_ns != state.mtime_ns or st.st_size != state.size:
            changed.add(name)
        elif state.digest is not None:
            if state.digest != digest_of(path):
                changed.add(name)
            elif not (is_racy(st.st_mtime_ns, now) or is_racy(st.st_ctime_ns, now)):
                record.state = FileState(st.st_mtime_ns, st.st_size)
    new = [entry for entry in walk.modules if entry.name not in records]
    return Plan(new, changed, removed)


def dependents(changed: set[str], records: Mapping[str, Record]) -> set[str]:
    """Loaded modules that hold a module, class, function or instance of ``changed`` ones.

    They are executed afresh too, or they would keep the old objects (a
    subclass of the old base class, say). Followed transitively.
    """
    found = set(changed)
    pending = [record for name, record in records.items() if name not in found]
    grew = bool(found)
    while grew:
        grew = False
        rest = []
        for record in pending:
            examine(record)
            assert record.uses is not None
            if record.uses.isdisjoint(found):
                rest.append(record)
            else:
                found.add(record.entry.name)
                grew = True
        pending = rest
    return found - changed


def _submodules(names: set[str], records: Iterable[str]) -> set[str]:
    prefixes = tuple(name + "." for name in names)
    return {name for name in records if name.startswith(prefixes)} if prefixes else set()


def _drop(names: set[str], records: Mapping[str, Record]) -> None:
    """Forget ``names`` so the next import runs them afresh.

    Stale bytecode caches are removed, since Python trusts a cache whose
    source has the same size and mtime to the second.
    """
    forget_modules(names)
    for name in names:
        record = records.get(name)
        path = record.entry.path if record is not None else ""
        if path.endswith(".py"):
            with contextlib.suppress(OSError, ValueError, NotImplementedError):
                os.remove(importlib.util.cache_from_source(path))


def _in_order(names: set[str], entries: Iterable[ModuleEntry]) -> list[str]:
    if not names:
        return []
    ordered = [entry.name for entry in entries if entry.name in names]
    rest = sorted(names.difference(ordered))
    return ordered + rest


def run(
    loader: Loader,
    previous: _walk.Walk,
    search_paths: list[str],
    invalidate: Callable[[], None],
) -> tuple[RefreshReport, _walk.Walk]:
    """Refresh: plan against a new walk, drop what changed, load what is new or changed."""
    registry = loader.registry
    walk = _walk.walk(search_paths, previous=previous)
    if walk is not previous:
        invalidate()  # the folders changed: cached listings may miss new files
    records = registry.snapshot()
    diff = plan(records, walk)
    removed = diff.removed
    changed = (diff.changed | dependents(diff.changed | removed, records)) - removed
    # A package executed afresh takes its submodules with it.
    changed |= _submodules(changed | removed, records) - removed
    dropped = changed | removed
    if dropped:
        _drop(dropped, records)
        registry.forget(dropped)
    loader.policy.errors.clear()
    wanted = changed | {entry.name for entry in diff.new}
    loader.load([entry for entry in walk.modules if entry.name in wanted])
    after = set(registry)
    report = RefreshReport(
        added=_in_order(after - set(records), walk.modules),
        changed=_in_order(changed, walk.modules),
        removed=_in_order(removed, previous.modules),
        errors=list(loader.policy.errors),
    )
    return report, walk
