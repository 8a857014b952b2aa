"""Finding classes and submodules in imported modules (pike 0.2.0's API).

These functions look at a module's namespace, as in 0.2.0, so a class imported
into a module is found there too. Unlike 0.2.0 they never return a class twice,
keep the namespace's (definition) order, and walk subpackages to any depth.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import TypeVar

from pike._classes import subclass_test
from pike._objects import namespace_classes
from pike._walk import Ancestors, scan_folder
from pike.discovery import filesystem

__all__ = [
    "classes_in_module",
    "get_all_classes",
    "get_all_inherited_classes",
    "get_child_modules",
    "get_inherited_classes",
    "get_module_by_name",
    "is_child_of_module",
]

T = TypeVar("T")


def get_module_by_name(full_module_name: str) -> ModuleType:
    """Import a module by its full dotted name and return it."""
    return importlib.import_module(full_module_name)


def is_child_of_module(obj: ModuleType, parent: ModuleType) -> bool:
    """True if module ``obj`` lies below module ``parent`` (``a.b`` is below ``a``)."""
    package = obj.__name__.rpartition(".")[0]
    parent_name = parent.__name__
    return package == parent_name or package.startswith(parent_name + ".")


def classes_in_module(
    module: ModuleType, filter_func: Callable[[type], object] | None = None
) -> Iterator[type]:
    """Yield each class in ``module``'s namespace once, for which ``filter_func`` holds."""
    for cls in namespace_classes(module):
        if filter_func is None or filter_func(cls):
            yield cls


def get_inherited_classes(module: ModuleType, base_class: type[T]) -> list[type[T]]:
    """The classes in ``module``'s namespace that strictly derive from ``base_class``."""
    return list(classes_in_module(module, subclass_test(base_class)[0]))


def _children(module: ModuleType, recursive: bool, ancestors: Ancestors) -> Iterator[ModuleType]:
    # Only a package has children; a plain module has none.
    for directory in list(getattr(module, "__path__", None) or ()):
        try:
            st = os.stat(directory)
        except OSError:
            continue  # a package folder that is gone
        if not ancestors.enter(st):
            continue  # a symbolic-link loop back to a parent
        for name, _path, _package in scan_folder(directory).ordered():
            child = importlib.import_module(f"{module.__name__}.{name}")
            yield child
            if recursive:
                yield from _children(child, recursive, ancestors)
        ancestors.leave(st)


def get_child_modules(module: ModuleType, recursive: bool = True) -> Iterator[ModuleType]:
    """Import and yield the submodules of a package, depth first, in name order.

    With ``recursive`` (the default) subpackages are walked to any depth.
    """
    return _children(module, recursive, Ancestors())


def _import_from_path(path: str, package_name: str) -> ModuleType:
    """pike 0.2.0's helper: import the module or package at ``path`` inside ``package_name``."""
    return importlib.import_module(f"{package_name}.{filesystem.get_name(path)}")


def _child_modules(module: ModuleType) -> Iterator[ModuleType]:
    """pike 0.2.0's helper: the direct children of a package (no recursion)."""
    return get_child_modules(module, recursive=False)


def get_all_classes(
    module: ModuleType, filter_func: Callable[[type], object] | None = None
) -> list[type]:
    """The classes in ``module`` and all its submodules, each once, in order."""
    found: list[type] = []
    seen: set[int] = set()
    for source in (module, *get_child_modules(module)):
        for cls in classes_in_module(source, filter_func):
            if id(cls) not in seen:
                seen.add(id(cls))
                found.append(cls)
    return found


def get_all_inherited_classes(module: ModuleType, base_class: type[T]) -> list[type[T]]:
    """The classes in ``module`` and its submodules that strictly derive from ``base_class``."""
    return get_all_classes(module, subclass_test(base_class)[0])
