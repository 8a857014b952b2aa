"""The installed distributions' entry points, kept in pike's cache as stevedore keeps them (C16).

Reading every distribution's ``entry_points.txt`` is most of what a named
manager costs. The entry points of all groups are kept in one cache file per
interpreter and ``sys.path``, valid while each ``sys.path`` entry, and each
``entry_points.txt`` of its ``*.dist-info`` and ``*.egg-info`` folders, has
the modification time it had when the file was written (what stevedore's
cache is keyed by). Installing, removing or upgrading a distribution changes
them; then the entry points are read again and the file rewritten. With the
cache off (``PIKE_CACHE_DIR=off``) or unusable, they are read every time.

Each distribution's METADATA is parsed at most once per process, and only
where a label (``"name version"``) is asked for.
"""

from __future__ import annotations

import itertools
import os
import re
import sys
import weakref
from importlib import metadata

from pike import _cache

__all__ = ["group", "label", "path_key"]

# "name version" per distribution object, and per entry point read from the cache.
_labels: weakref.WeakKeyDictionary[object, str] = weakref.WeakKeyDictionary()
_cached_labels: dict[metadata.EntryPoint, str] = {}


def label(entry_point: object) -> str | None:
    """``"name version"`` of the distribution declaring ``entry_point``, or None if unknown."""
    dist = getattr(entry_point, "dist", None)
    if not isinstance(dist, metadata.Distribution):
        if isinstance(entry_point, metadata.EntryPoint):
            return _cached_labels.get(entry_point)
        return None
    text = _labels.get(dist)
    if text is None:
        meta = dist.metadata  # one parse for both fields
        name = meta["Name"] if meta is not None else None
        if not name:
            return None
        text = _labels[dist] = f"{name} {meta['Version']}"
    return text


def path_key() -> tuple[tuple[str, int], ...]:
    """A quick key of ``sys.path``: its entries and their folders' mtimes (one stat each).

    For the managers' in-process memo: installing or removing a distribution
    adds or removes a ``*.dist-info`` folder, which changes its parent's mtime.
    """
    key = []
    for entry in sys.path:
        try:
            mtime = os.stat(entry).st_mtime_ns
        except (OSError, TypeError, ValueError):
            mtime = -1
        key.append((entry, mtime))
    return tuple(key)


def _scan_paths() -> list[list[object]]:
    """Each ``sys.path`` entry's mtime and its distributions' ``entry_points.txt`` states.

    What the cached entry points depend on (stevedore's key): adding or
    removing a distribution changes its folder's mtime, editing its entry
    points the file's.
    """
    paths: list[list[object]] = []
    for entry in sys.path:
        try:
            mtime = os.stat(entry).st_mtime_ns
            names = sorted(os.listdir(entry))
        except (OSError, TypeError, ValueError):
            paths.append([entry, -1, []])
            continue
        files = []
        for name in names:
            if name.endswith((".dist-info", ".egg-info")):
                state = _state(os.path.join(entry, name, "entry_points.txt"))
                if state is not None:
                    files.append([name, *state])
        paths.append([entry, mtime, files])
    return paths


def _state(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size]


def _still_valid(paths: object) -> bool:
    """True if ``_scan_paths()`` would give ``paths`` now: stats only, no folder listed.

    A folder whose mtime is unchanged has the same distributions in it.
    """
    if not isinstance(paths, list) or len(paths) != len(sys.path):
        return False
    for entry, stored in zip(sys.path, paths, strict=True):
        if not isinstance(stored, list) or len(stored) != 3 or stored[0] != entry:
            return False
        try:
            mtime = os.stat(entry).st_mtime_ns
        except (OSError, TypeError, ValueError):
            mtime = -1
        if mtime != stored[1] or not isinstance(stored[2], list):
            return False
        for item in stored[2]:
            if not isinstance(item, list) or len(item) != 3:
                return False
            if _state(os.path.join(entry, str(item[0]), "entry_points.txt")) != item[1:]:
                return False
    return True


_NORMALIZE = re.compile(r"[-_.]+")


def _read_all() -> dict[str, list[list[str]]]:
    """Every group's entry points as ``[name, value, label]``, each distribution once.

    The first distribution of a name on ``sys.path`` wins, as in
    ``importlib.metadata.entry_points()``.
    """
    groups: dict[str, list[list[str]]] = {}
    seen: set[str] = set()
    for dist in metadata.distributions():
        try:
            meta = dist.metadata
            name = meta["Name"] if meta is not None else None
        except Exception:  # a broken METADATA: importlib.metadata skips little, nor do we
            name = None
        normalized = _NORMALIZE.sub("-", name).lower() if name else None
        if normalized is not None:
            if normalized in seen:
                continue
            seen.add(normalized)
        text = f"{name} {meta['Version']}" if name else ""
        try:
            points = list(dist.entry_points)
        except Exception:  # an unreadable or malformed entry_points.txt
            continue
        for ep in points:
            groups.setdefault(ep.group, []).append([ep.name, ep.value, text])
    return groups


def _from_cache(wanted: str) -> list[metadata.EntryPoint] | None:
    """``wanted``'s entry points through the cache file, or None with the cache off."""
    if _cache.directory() is None:
        return None
    name = "entry-points-" + _cache.key_of(sys.executable, sys.prefix, sys.version, sys.path)
    document = _cache.read(name)
    valid = document is not None and _still_valid(document.get("paths"))
    groups = document.get("groups") if valid else None
    if not isinstance(groups, dict):
        paths = _scan_paths()  # before reading: a change meanwhile shows next time
        groups = _read_all()
        _cache.write(name, {"paths": paths, "groups": groups})
    points = []
    try:
        for ep_name, value, text in groups.get(wanted, ()):
            ep = metadata.EntryPoint(ep_name, value, wanted)
            if text:
                _cached_labels[ep] = text
            points.append(ep)
    except (TypeError, ValueError):  # a cache file of the right format but wrong content
        return None
    return points


def group(wanted: str) -> list[metadata.EntryPoint]:
    """The installed distributions' entry points in ``wanted``: by name, then distribution.

    A declaration found twice (one distribution on two ``sys.path`` entries,
    a source tree beside its installed copy) is kept once.
    """
    found = _from_cache(wanted)
    if found is None:
        found = list(metadata.entry_points(group=wanted))
    by_name = sorted(found, key=_name)
    ordered: list[metadata.EntryPoint] = []
    seen: set[tuple[str, str]] = set()
    for _, same in itertools.groupby(by_name, key=_name):
        points = list(same)
        if len(points) > 1:  # labels only where a name repeats
            points.sort(key=lambda ep: (label(ep) or "", ep.value))
        for ep in points:
            if (ep.name, ep.value) not in seen:
                seen.add((ep.name, ep.value))
                ordered.append(ep)
    return ordered


def _name(ep: metadata.EntryPoint) -> str:
    return ep.name
