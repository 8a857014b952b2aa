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
from collections.abc import Container
from importlib import metadata

from pike import _cache

__all__ = ["group", "label", "read", "still_valid"]

# "name version" per distribution object, and per entry point read from the cache.
_labels: weakref.WeakKeyDictionary[object, str] = weakref.WeakKeyDictionary()
# The cached entry points of each group last read, and (made when a label is first
# asked for) their labels by (name, value), with the tuple they were made from.
_cached_groups: dict[str, tuple[tuple[str, str, str], ...]] = {}
_cached_labels: dict[str, tuple[object, dict[tuple[str, str], str]]] = {}


def _cached_label(ep: metadata.EntryPoint) -> str | None:
    points = _cached_groups.get(ep.group)
    if points is None:
        return None
    made = _cached_labels.get(ep.group)
    if made is None or made[0] is not points:
        made = _cached_labels[ep.group] = (points, {(n, v): t for n, v, t in points if t})
    return made[1].get((ep.name, ep.value))


def label(entry_point: object) -> str | None:
    """``"name version"`` of the distribution declaring ``entry_point``, or None if unknown."""
    dist = getattr(entry_point, "dist", None)
    if not isinstance(dist, metadata.Distribution):
        if isinstance(entry_point, metadata.EntryPoint):
            return _cached_label(entry_point)
        return None
    text = _labels.get(dist)
    if text is None:
        meta = dist.metadata  # one parse for both fields
        name = meta["Name"] if meta is not None else None
        if not name:
            return None
        text = _labels[dist] = f"{name} {meta['Version']}"
    return text


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


def still_valid(paths: object) -> bool:
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


def _ordered(points: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """``(name, value, label)`` by name, then label; a declaration found twice kept once."""
    ordered = sorted(points, key=lambda p: (p[0], p[2], p[1]))
    seen: set[tuple[str, str]] = set()
    kept = []
    for point in ordered:
        if (point[0], point[1]) not in seen:
            seen.add((point[0], point[1]))
            kept.append(point)
    return kept


def _from_cache(wanted: str) -> tuple[tuple[tuple[str, str, str], ...], object] | None:
    """``wanted``'s entry points in order, and the state they hold for, through the
    cache file; None with the cache off."""
    if _cache.directory() is None:
        return None
    name = "entry-points-" + _cache.key_of(sys.executable, sys.prefix, sys.version, sys.path)
    document = _cache.read(name)
    paths: object = document.get("paths") if document is not None else None
    groups = document.get("groups") if document is not None and still_valid(paths) else None
    if not isinstance(groups, dict):
        paths = _scan_paths()  # before reading: a change meanwhile shows next time
        read = _read_all()
        groups = {g: tuple(_ordered([(n, v, t) for n, v, t in ps])) for g, ps in read.items()}
        _cache.write(name, {"paths": paths, "groups": groups})
    points = groups.get(wanted, ())
    if not isinstance(points, tuple) or not all(
        type(p) is tuple and len(p) == 3 and all(type(v) is str for v in p) for p in points
    ):
        return None  # a cache file of the right format but wrong content
    return points, paths


def group(wanted: str, names: Container[str] | None = None) -> list[metadata.EntryPoint]:
    """The installed distributions' entry points in ``wanted`` (see ``read``)."""
    return read(wanted, names)[0]


def read(
    wanted: str, names: Container[str] | None = None
) -> tuple[list[metadata.EntryPoint], object]:
    """The installed distributions' entry points in ``wanted``: by name, then distribution.

    A declaration found twice (one distribution on two ``sys.path`` entries,
    a source tree beside its installed copy) is kept once. With ``names``,
    only the entry points of those names are made. Also the state of
    ``sys.path`` they hold for, for [`still_valid`][pike.named._installed.still_valid].
    """
    cached = _from_cache(wanted)
    if cached is None:
        state: object = _scan_paths()  # before reading, as for the cache file
        found = [
            (ep.name, ep.value, ep)
            for ep in metadata.entry_points(group=wanted)
            if names is None or ep.name in names
        ]
        return [ep for _n, _v, ep in _ordered_points(found)], state
    points, state = cached
    _cached_groups[wanted] = points  # labels looked up there when asked for
    make = metadata.EntryPoint
    made = [make(n, value, wanted) for n, value, _t in points if names is None or n in names]
    return made, state


def _ordered_points(
    found: list[tuple[str, str, metadata.EntryPoint]],
) -> list[tuple[str, str, metadata.EntryPoint]]:
    """As ``_ordered``, for entry points read now: labels only where a name repeats."""
    found.sort(key=lambda p: p[0])
    ordered: list[tuple[str, str, metadata.EntryPoint]] = []
    seen: set[tuple[str, str]] = set()
    for _, same in itertools.groupby(found, key=lambda p: p[0]):
        points = list(same)
        if len(points) > 1:
            points.sort(key=lambda p: (label(p[2]) or "", p[1]))
        for point in points:
            if (point[0], point[1]) not in seen:
                seen.add((point[0], point[1]))
                ordered.append(point)
    return ordered


def _name(ep: metadata.EntryPoint) -> str:
    return ep.name
