"""Search paths: what ``search_paths`` accepts, how it is checked, and what lies inside one."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TypeAlias

from pike._objects import a_type_name
from pike._trust import TrustPolicy
from pike.errors import (
    PikeTypeError,
    SearchPathError,
    SearchPathNotADirectoryError,
    SearchPathNotFoundError,
    search_path_error,
)

__all__ = ["SearchPaths", "is_within", "normalize_search_paths", "roots_of"]

SearchPaths: TypeAlias = "str | os.PathLike[str] | Iterable[str | os.PathLike[str]] | None"
"""What ``search_paths`` accepts: one folder (``str`` or ``os.PathLike``), or an
iterable of them, or None (no folder). Importable from ``pike.manager``."""

_ACCEPTED = "a str or os.PathLike folder, or an iterable of them"


def _one(item: object) -> str:
    if isinstance(item, (bytes, bytearray)):
        raise PikeTypeError(
            f"search path {item!r} is bytes; search paths are str or os.PathLike: "
            "decode it with os.fsdecode(path)"
        )
    if not isinstance(item, (str, os.PathLike)):
        raise PikeTypeError(f"search path {item!r} is {a_type_name(item)}; expected {_ACCEPTED}")
    path = os.fspath(item)
    if not isinstance(path, str):
        raise PikeTypeError(
            f"search path {item!r} gives bytes from __fspath__; pass a str path instead"
        )
    return path


def _check(given: str, policy: TrustPolicy | None) -> None:
    if not given:
        raise SearchPathError(given, "is empty; pass '.' for the current directory")
    if "\0" in given:
        raise SearchPathError(given, "is not a valid path (it holds a NUL character)")
    if not os.path.isdir(given):
        if os.path.lexists(given):
            raise SearchPathNotADirectoryError(
                given, "is not a directory; pass the folder that holds the plugins"
            )
        raise SearchPathNotFoundError(given, "does not exist; create it or fix the path")
    try:
        with os.scandir(given):
            pass
    except OSError as exc:
        raise search_path_error(
            given, f"cannot be read ({exc.strerror or exc}); check its permissions", exc
        ) from None
    if policy is not None:
        policy.require_path(given, os.stat(given))


def normalize_search_paths(search_paths: object, policy: TrustPolicy | None = None) -> list[str]:
    """Absolute, checked, de-duplicated search paths, in the order given.

    With ``policy``, each must also pass its trust rule (see `pike._trust`).
    """
    if search_paths is None:
        items: list[str] = []
    elif isinstance(search_paths, (str, os.PathLike, bytes, bytearray)):
        items = [_one(search_paths)]
    else:
        try:
            iterator = iter(search_paths)  # type: ignore[call-overload]
        except TypeError:
            raise PikeTypeError(
                f"search_paths is {a_type_name(search_paths)}; expected {_ACCEPTED}"
            ) from None
        items = [_one(item) for item in iterator]
    result: list[str] = []
    for given in items:
        _check(given, policy)
        absolute = os.path.abspath(given)
        if absolute not in result:
            result.append(absolute)
    return result


def roots_of(search_paths: Iterable[str]) -> tuple[str, ...]:
    """Each search path as written and with its symbolic links resolved, for `is_within`."""
    roots: list[str] = []
    for path in search_paths:
        for form in (path, os.path.realpath(path)):
            if form not in roots:
                roots.append(form)
    return tuple(roots)


def is_within(path: object, roots: tuple[str, ...]) -> bool:
    """True if ``path`` (a str or PathLike, relative to the current folder) is one of
    ``roots`` or lies inside one. Nothing is resolved: a caller that must see through
    symbolic links passes ``os.path.realpath(path)`` (roots from `roots_of` hold both forms).
    """
    try:
        if isinstance(path, os.PathLike):
            path = os.fspath(path)
        if not isinstance(path, str):
            return False
        absolute = os.path.abspath(path)
    except Exception:  # a malformed sys.path entry, or a PathLike whose __fspath__ raises
        return False
    for root in roots:
        if absolute == root or absolute.startswith(root.rstrip(os.sep) + os.sep):
            return True
    return False
