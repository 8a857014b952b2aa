"""The installed distributions' entry points, kept in pike's cache as stevedore keeps them.

Reading every distribution's ``entry_points.txt`` is most of what a named
manager costs. The entry points of all groups are kept in one cache file per
interpreter and ``sys.path`` (each entry taken as the absolute folder it
names now: ``''`` is the current folder), valid while each ``sys.path`` folder,
each distribution folder in it (``*.dist-info``, ``*.egg-info``, in any case,
and an ``.egg``'s ``EGG-INFO``, as ``importlib.metadata`` finds them) and each
``entry_points.txt`` in those has the state it had when the file was written
(`pike._filestate`: size, times, inode, device). Installing, removing or
upgrading a distribution, or editing its entry points, changes one of them;
then the entry points are read again and the file rewritten. With the cache off
(``PIKE_CACHE_DIR=off``) or unusable, they are read every time.

Each distribution's METADATA is parsed at most once per process, and only
where a label (``"name version"``) is asked for.

The entry points come in ``importlib.metadata.entry_points()``'s order, which is
stevedore's (`first_of_each`), put in order once when the cache file is written.
"""

from __future__ import annotations

import os
import re
import sys
import time
import weakref
from collections.abc import Container, Iterable
from importlib import metadata
from typing import Any, TypeVar

from pike import _cache
from pike._filestate import FileState, changed

__all__ = ["first_of_each", "label", "read", "still_valid"]

X = TypeVar("X")

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


def first_of_each(points: Iterable[tuple[str, str, X]]) -> list[X]:
    """Installed entry points in the order given, each declaration kept once (the first).

    The order is ``importlib.metadata.entry_points()``'s, and so stevedore's: the
    distributions in ``sys.path`` order (the first of each name), each one's entry
    points in its ``entry_points.txt`` order. A declaration (name and value) seen
    again, as when a source tree is on ``sys.path`` beside its installed copy, is
    dropped, as stevedore's cache drops it. A drop-in folder's are taken in the
    same order. ``points`` are ``(name, value, point)``.
    """
    seen: set[tuple[str, str]] = set()
    kept: list[X] = []
    for name, value, point in points:
        if (name, value) not in seen:
            seen.add((name, value))
            kept.append(point)
    return kept


# -- what the cached entry points depend on ------------------------------------------------


def _where(entry: object) -> str | None:
    """The absolute folder a ``sys.path`` entry names now (``''``: the current one)."""
    if isinstance(entry, os.PathLike):
        entry = os.fspath(entry)
    if not isinstance(entry, str):
        return None
    try:
        return os.path.abspath(entry or os.curdir)
    except (OSError, ValueError):  # no current folder, a NUL character
        return None


def _distribution_folders(folder: str, names: list[str]) -> list[str]:
    """The names in ``folder`` that ``importlib.metadata`` reads distributions from."""
    egg = os.path.basename(folder).lower().endswith(".egg")
    return sorted(
        name
        for name in names
        if name.lower().endswith((".dist-info", ".egg-info"))
        or (egg and name.lower() == "egg-info")
    )


def _scan_paths(now_ns: int) -> list[list[Any]]:
    """What the cached entry points depend on.

    Per ``sys.path`` entry: ``[folder, state, [[distribution folder, state,
    entry_points.txt state or None], ...]]``, states as ``FileState.to_data``
    (None for a folder that is not there). Taken before the entry points are
    read: a change meanwhile shows next time.
    """

    def state_of(path: str) -> tuple[object, ...] | None:
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            return None
        return FileState.of(st, path, now_ns).to_data()

    paths: list[list[Any]] = []
    for entry in sys.path:
        folder = _where(entry)
        if folder is None:
            paths.append([repr(entry), None, []])
            continue
        try:
            names = os.listdir(folder)
        except (OSError, ValueError):
            names = []
        found = []
        for name in _distribution_folders(folder, names):
            path = os.path.join(folder, name)
            points = os.path.join(path, "entry_points.txt")
            points_state = state_of(points) if os.path.isfile(points) else None
            found.append([name, state_of(path), points_state])
        paths.append([folder, state_of(folder), found])
    return paths


def still_valid(paths: object) -> bool:
    """True if ``_scan_paths`` would give ``paths`` now: stats only, no folder listed.

    A folder whose state is unchanged has the same distributions in it, and a
    distribution folder whose state is unchanged the same files.
    """
    if not isinstance(paths, list) or len(paths) != len(sys.path):
        return False
    looked: list[str] = []
    states: list[FileState] = []
    try:
        for entry, (folder, state, found) in zip(sys.path, paths, strict=True):
            if folder != (_where(entry) or repr(entry)) or not isinstance(found, list):
                return False
            items = [(folder, state)]
            for name, dist_state, points_state in found:
                path = os.path.join(folder, name)
                items.append((path, dist_state))
                if points_state is not None:
                    items.append((os.path.join(path, "entry_points.txt"), points_state))
            for path, data in items:
                if data is None:
                    if path is folder and os.path.exists(path):
                        return False  # a folder that has appeared
                    continue
                known = FileState.from_data(data)
                if known is None:
                    return False
                looked.append(path)
                states.append(known)
    except (TypeError, ValueError):  # not of this shape: a damaged cache
        return False
    return not changed(zip(looked, states, strict=True))


_NORMALIZE = re.compile(r"[-_.]+")


def _read_all() -> dict[str, list[tuple[str, str, str]]]:
    """Every group's entry points as ``(name, value, label)``, in the order of
    ``importlib.metadata.entry_points()``: the first distribution of each name on
    ``sys.path``, in ``sys.path`` order, and each one's in its file's order.
    """
    groups: dict[str, list[tuple[str, str, str]]] = {}
    seen: set[str] = set()
    for dist in metadata.distributions():
        try:
            meta = dist.metadata
            name = meta["Name"] if meta is not None else None
        except Exception:  # a broken METADATA: importlib.metadata skips little, nor do we
            name = None
        # Told apart by METADATA's Name, as pip names the folders; importlib.metadata
        # goes by the folder's name where it can, which differs only for a folder
        # named otherwise than pip names it ("acme-one-1.0.dist-info" is "acme").
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
            groups.setdefault(ep.group, []).append((ep.name, ep.value, text))
    return groups


def _is_point(value: object) -> bool:
    return type(value) is tuple and len(value) == 3 and _cache.strings(value)


def _from_cache(
    wanted: str, avoid: tuple[str, ...]
) -> tuple[tuple[tuple[str, str, str], ...], object] | None:
    """``wanted``'s entry points in order, and the state they hold for, through the
    cache file (never written inside ``avoid``); None with the cache off."""
    if _cache.directory() is None:
        return None
    where = [_where(entry) for entry in sys.path]
    name = "entry-points-" + _cache.key_of(sys.executable, sys.prefix, sys.version, where)
    document = _cache.read(name)
    if document is not None and document.get("order") != _ORDER:
        document = None  # written by a pike that ordered them otherwise
    paths: object = document.get("paths") if document is not None else None
    groups = document.get("groups") if document is not None and still_valid(paths) else None
    points = groups.get(wanted, ()) if type(groups) is dict else None
    if points is not None and type(points) is tuple and all(map(_is_point, points)):
        return points, paths
    fresh_paths = _scan_paths(time.time_ns())
    # Put in order once, here: a manager only reads them back.
    fresh = {
        group: tuple(first_of_each((n, v, (n, v, t)) for n, v, t in points))
        for group, points in _read_all().items()
    }
    document = {"order": _ORDER, "paths": fresh_paths, "groups": fresh}
    _cache.write(name, document, avoid=avoid)
    return fresh.get(wanted, ()), fresh_paths


#: The order the cached entry points are kept in (`first_of_each`'s); a document
#: without it was written by a pike that sorted them by name.
_ORDER = "sys.path"


def read(
    wanted: str, names: Container[str] | None = None, *, avoid: tuple[str, ...] = ()
) -> tuple[list[metadata.EntryPoint], object]:
    """The installed distributions' entry points in ``wanted``, in `first_of_each`'s order.

    With ``names``, only the entry points of those names are made. Also the
    state of ``sys.path`` they hold for, for `still_valid`. The cache file is
    never written inside ``avoid`` (the drop-in folders, as `pike._paths.roots_of`
    gives them).
    """
    cached = _from_cache(wanted, avoid)
    if cached is None:
        state = _scan_paths(time.time_ns())
        found = (
            (ep.name, ep.value, ep)
            for ep in metadata.entry_points(group=wanted)
            if names is None or ep.name in names
        )
        return first_of_each(found), state
    points, held = cached
    _cached_groups[wanted] = points  # labels looked up there when asked for
    make = metadata.EntryPoint
    made = [make(n, value, wanted) for n, value, _t in points if names is None or n in names]
    return made, held
