"""Finding modules and packages in folders, without importing them (pike 0.2.0's API).

The functions keep their 0.2.0 names and signatures and yield full paths, but
follow pike's rules for what a module is (`pike._walk`): results are sorted by
name, names that cannot be imported and hidden entries are left out, sourceless
and extension modules count, and recursion always ends.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from pike._names import module_name_of
from pike._walk import Ancestors, package_init, scan_folder

__all__ = [
    "find_modules",
    "find_packages",
    "get_name",
    "is_module",
    "is_package",
    "recursive_find_modules",
    "recursive_find_packages",
]


def is_package(path: str) -> bool:
    """True if ``path`` is a directory holding an ``__init__`` module."""
    return package_init(os.fspath(path)) is not None


def is_module(path: str) -> bool:
    """True if ``path`` names a module file (``.py``, ``.pyc`` or an extension module)."""
    return module_name_of(os.path.basename(os.fspath(path))) is not None


def get_name(path: str) -> str:
    """The module name a module file or package directory stands for."""
    filename = os.path.basename(os.path.normpath(os.fspath(path)))
    module = module_name_of(filename)
    return module[0] if module is not None else os.path.splitext(filename)[0]


def _top_level(path: str, *, packages: bool) -> Iterator[str]:
    for _name, found, is_package_dir in scan_folder(os.fspath(path)).ordered():
        if is_package_dir == packages:
            yield found


def find_modules(path: str) -> Iterator[str]:
    """Yield the paths of the modules (not packages) directly in ``path``."""
    return _top_level(path, packages=False)


def find_packages(path: str) -> Iterator[str]:
    """Yield the directories of the packages directly in ``path``."""
    return _top_level(path, packages=True)


def _packages_below(path: str, ancestors: Ancestors) -> Iterator[str]:
    for package_dir in find_packages(path):
        st = os.stat(package_dir)
        if not ancestors.enter(st):
            continue  # a symbolic-link loop
        yield package_dir
        yield from _packages_below(package_dir, ancestors)
        ancestors.leave(st)


def recursive_find_packages(path: str) -> Iterator[str]:
    """Yield every package directory below ``path``, at any depth, parents first."""
    path = os.fspath(path)
    ancestors = Ancestors()
    ancestors.enter(os.stat(path))
    return _packages_below(path, ancestors)


def recursive_find_modules(path: str) -> Iterator[str]:
    """Yield the module files in ``path`` and in every package below it."""
    path = os.fspath(path)
    yield from find_modules(path)
    for package_dir in recursive_find_packages(path):
        yield from find_modules(package_dir)
