"""Picking the plugin classes out of loaded modules (contract C8)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from types import ModuleType

__all__ = ["defined_classes", "namespace_classes"]


def module_name(module: object) -> str | None:
    """``module.__name__``, or None for an object that has none (or raises)."""
    try:
        name = module.__name__  # type: ignore[attr-defined]
    except Exception:  # an object that replaced its module in sys.modules
        return None
    return name if isinstance(name, str) else None


def namespace_classes(module: ModuleType) -> Iterator[type]:
    """Each class bound in ``module``'s namespace once, in namespace order."""
    seen: set[int] = set()
    namespace = getattr(module, "__dict__", None)
    if not isinstance(namespace, dict):
        return
    for obj in list(namespace.values()):
        if isinstance(obj, type) and id(obj) not in seen:
            seen.add(id(obj))
            yield obj


def defined_classes(modules: Iterable[ModuleType]) -> list[type]:
    """The classes each module defines (not merely imports), in module order.

    A class counts for the module named by its ``__module__``, so a class
    imported into a plugin, such as its base class, is not reported there.
    """
    found: list[type] = []
    for module in modules:
        name = module_name(module)
        if name is None:
            continue
        found.extend(cls for cls in namespace_classes(module) if cls.__module__ == name)
    return found


def apply_filter(classes: list[type], filter_func: Callable[[type], object] | None) -> list[type]:
    """``classes`` for which ``filter_func`` is true (all of them when it is None)."""
    if filter_func is None:
        return list(classes)
    return [cls for cls in classes if filter_func(cls)]
