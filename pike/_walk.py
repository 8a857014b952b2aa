"""Walking plugin folders: which entries are plugin modules, and which are skipped.

Pure filesystem work, nothing is imported. The rules (contract C3):

* a file whose name ends with an import suffix (``.py``, ``.pyc``, an extension
  module suffix) is a module, ``__init__`` excepted;
* a directory holding an ``__init__`` file is a package, walked to any depth;
* ``__pycache__`` is passed over; hidden entries, invalid names, directories
  without ``__init__``, unreadable entries and symbolic-link loops are skipped
  with a reason;
* entries are ordered by module name within a folder, so every walk gives the
  same order whatever the filesystem returns.
"""

from __future__ import annotations

import keyword
import os
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import machinery
from typing import TypeVar

from pike.errors import SearchPathError

__all__ = ["ModuleEntry", "SkippedEntry", "Walk", "module_name_of", "scan_folder", "walk"]

# Suffixes in FileFinder's order of precedence: extension modules, then source,
# then bytecode. A package directory takes precedence over all of them.
_SUFFIXES: tuple[str, ...] = (
    *machinery.EXTENSION_SUFFIXES,
    *machinery.SOURCE_SUFFIXES,
    *machinery.BYTECODE_SUFFIXES,
)
# Longest first, so ".cpython-311-x86_64-linux-gnu.so" wins over ".so".
_MATCH_ORDER: tuple[str, ...] = tuple(sorted(_SUFFIXES, key=len, reverse=True))
_RANK = {suffix: rank for rank, suffix in enumerate(_SUFFIXES)}
_PACKAGE_RANK = -1
_BYTECODE = tuple(machinery.BYTECODE_SUFFIXES)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ModuleEntry:
    """A plugin module found on disk.

    ``name`` is the full dotted name, ``path`` the file that is imported (a
    package's ``__init__`` file), ``search_path`` the search path it lies in.
    """

    name: str
    path: str
    search_path: str
    is_package: bool = False


@dataclass(frozen=True, slots=True)
class SkippedEntry:
    """A folder entry that is not loaded, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(slots=True)
class Walk:
    """What one walk found: modules in load order, and skipped entries."""

    modules: list[ModuleEntry]
    skipped: list[SkippedEntry]


def module_name_of(filename: str) -> str | None:
    """The module name a file name stands for, or None if it is not a module file."""
    for suffix in _MATCH_ORDER:
        if filename.endswith(suffix) and len(filename) > len(suffix):
            return filename[: -len(suffix)]
    return None


def _suffix_of(filename: str) -> str:
    for suffix in _MATCH_ORDER:
        if filename.endswith(suffix):
            return suffix
    raise ValueError(filename)  # pragma: no cover - only called on module files


def is_valid_name(name: str) -> bool:
    """True for a name ``import`` can spell: an identifier that is not a keyword."""
    return name.isidentifier() and not keyword.iskeyword(name)


def package_init(directory: str) -> str | None:
    """The ``__init__`` file that makes ``directory`` a package, or None."""
    common = os.path.join(directory, "__init__.py")
    if os.path.isfile(common):
        return common
    for suffix in _SUFFIXES:
        candidate = os.path.join(directory, "__init__" + suffix)
        if os.path.isfile(candidate):
            return candidate
    return None


class _Candidate:
    """One name in a folder, and the best entry holding it so far."""

    __slots__ = ("init", "name", "path", "rank")

    def __init__(self, name: str, path: str, rank: int, init: str | None) -> None:
        self.name = name
        self.path = path
        self.rank = rank
        self.init = init


def _classify(entry: os.DirEntry[str]) -> tuple[str, int, str | None] | str | None:
    """``(name, rank, init)`` for a module entry, a reason to skip it, or None to pass."""
    filename = entry.name
    if filename == "__pycache__":
        return None
    if filename.startswith("."):
        return "hidden entry (name starts with a dot)"
    try:
        is_dir = entry.is_dir()
        is_file = not is_dir and entry.is_file()
    except OSError as exc:  # pragma: no cover - scandir rarely fails here
        return f"cannot be read: {exc}"
    init: str | None = None
    if is_dir:
        init = package_init(entry.path)
        if init is None:
            return "directory without __init__.py (not a package)"
        name, rank = filename, _PACKAGE_RANK
    elif is_file:
        stem = module_name_of(filename)
        if stem is None or stem == "__init__":
            return None
        name, rank = stem, _RANK[_suffix_of(filename)]
    elif entry.is_symlink():
        return "cannot be read: broken symbolic link"
    elif module_name_of(filename) is not None:
        return "not a regular file"
    else:
        return None
    if name == "__main__":
        return "__main__ is a package's entry point, not a plugin module"
    if not is_valid_name(name):
        what = "a Python keyword" if keyword.iskeyword(name) else "not a valid Python identifier"
        return f"name {name!r} is {what}, so it cannot be imported; rename it"
    return name, rank, init


def scan_folder(
    directory: str, skipped: list[SkippedEntry], *, record: bool = True
) -> list[tuple[str, str, str | None]]:
    """List one folder: ``(name, path, init)`` per module, sorted by name.

    ``init`` is the ``__init__`` file for a package and None for a plain module.
    Skipped entries are appended to ``skipped`` (when ``record`` is true).
    Raises OSError when the folder itself cannot be listed.
    """
    found: dict[str, _Candidate] = {}

    def skip(path: str, reason: str) -> None:
        if record:
            skipped.append(SkippedEntry(path, reason))

    with os.scandir(directory) as it:
        entries = list(it)
    for entry in entries:
        kind = _classify(entry)
        if kind is None:
            continue
        if isinstance(kind, str):
            skip(entry.path, kind)
            continue
        name, rank, init = kind
        path = entry.path
        held = found.get(name)
        if held is None:
            found[name] = _Candidate(name, path, rank, init)
            continue
        winner, loser = (held, _Candidate(name, path, rank, init))
        if loser.rank < winner.rank:
            winner, loser = loser, winner
            found[name] = winner
        # A .pyc beside its .py is a legacy byte-compiled copy, not news.
        if not loser.path.endswith(_BYTECODE):
            skip(
                loser.path,
                f"hidden by {os.path.basename(winner.path)}, which is imported as {name!r}",
            )
    return [(c.name, c.path, c.init) for c in sorted(found.values(), key=lambda c: c.name)]


def _walk_package(
    directory: str,
    prefix: str,
    search_path: str,
    out: Walk,
    ancestors: set[tuple[int, int]],
) -> None:
    try:
        children = scan_folder(directory, out.skipped)
    except OSError as exc:  # pragma: no cover - root reads every folder; tested as non-root
        out.skipped.append(SkippedEntry(directory, f"cannot be read: {exc.strerror or exc}"))
        return
    _walk_children(children, prefix, search_path, out, ancestors)


def _walk_children(
    children: list[tuple[str, str, str | None]],
    prefix: str,
    search_path: str,
    out: Walk,
    ancestors: set[tuple[int, int]],
) -> None:
    for name, path, init in children:
        full = prefix + name
        if init is None:
            out.modules.append(ModuleEntry(full, path, search_path))
            continue
        try:
            st = os.stat(path)
        except OSError as exc:  # pragma: no cover - raced with a deletion
            out.skipped.append(SkippedEntry(path, f"cannot be read: {exc.strerror or exc}"))
            continue
        key = (st.st_dev, st.st_ino)
        if key in ancestors:
            out.skipped.append(
                SkippedEntry(path, "symbolic link loop (points back to a folder above it)")
            )
            continue
        out.modules.append(ModuleEntry(full, init, search_path, is_package=True))
        ancestors.add(key)
        _walk_package(path, full + ".", search_path, out, ancestors)
        ancestors.discard(key)


def _vanished(search_path: str, exc: OSError) -> SearchPathError:
    return SearchPathError(
        search_path,
        f"no longer exists or cannot be read ({exc.strerror or exc}); "
        "it was checked when the manager was made",
    )


def checked(search_path: str, items: Iterator[T]) -> Iterator[T]:
    """``items`` (a listing of ``search_path``), turning OSError into SearchPathError."""
    try:
        yield from items
    except OSError as exc:
        raise _vanished(search_path, exc) from None


def walk(search_paths: list[str]) -> Walk:
    """Walk every search path in order, packages to any depth."""
    out = Walk([], [])
    for search_path in search_paths:
        try:
            st = os.stat(search_path)
            children = scan_folder(search_path, out.skipped)
        except OSError as exc:
            raise _vanished(search_path, exc) from None
        _walk_children(children, "", search_path, out, {(st.st_dev, st.st_ino)})
    return out


def top_level(search_path: str, *, packages: bool) -> Iterator[tuple[str, str]]:
    """``(name, path)`` of the top-level modules (or packages) of one search path."""
    for name, path, init in scan_folder(search_path, [], record=False):
        if (init is not None) == packages:
            yield name, path
