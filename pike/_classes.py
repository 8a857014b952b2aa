"""Picking the plugin classes out of loaded modules (contract C8), warily (C14).

Plugin namespaces may hold anything: objects whose attribute access raises,
classes whose ``__module__`` is not a string or compares badly, metaclasses
that override attribute access. So namespaces are read with the built-in
descriptors (``type.__dict__['__module__']``, ``object.__getattribute__``),
never through the plugin's own attribute hooks, and every call into plugin
code (a filter, a ``__subclasscheck__``) is guarded: what it raises becomes a
:class:`~pike.errors.PluginObjectError` naming the class and its file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from types import FunctionType, ModuleType
from typing import cast

from pike._registry import Record
from pike.errors import PluginObjectError, _describe, _type_name

__all__ = ["apply_filter", "examine", "namespace_classes", "namespace_of", "type_module"]

_TYPE_MODULE = type.__dict__["__module__"]


def type_module(cls: type) -> str | None:
    """``cls.__module__`` if it is a string, read past any metaclass hook."""
    try:
        module = _TYPE_MODULE.__get__(cls)
    except AttributeError:  # a class whose namespace has no __module__
        return None
    return module if type(module) is str else None


def namespace_of(module: object) -> dict[str, object] | None:
    """A module's namespace (or a replacement object's), without its attribute hooks."""
    try:
        namespace = object.__getattribute__(module, "__dict__")
    except Exception:  # an object without a __dict__ (slots, built-in)
        return None
    return namespace if type(namespace) is dict else None


def namespace_classes(module: object) -> Iterator[type]:
    """Each class bound in ``module``'s namespace once, in namespace order."""
    namespace = namespace_of(module)
    if namespace is None:
        return
    seen: set[int] = set()
    for obj in list(namespace.values()):
        if issubclass(type(obj), type) and id(obj) not in seen:
            seen.add(id(obj))
            yield obj  # type: ignore[misc]


def examine(record: Record) -> list[type]:
    """The classes ``record``'s module defines (not merely imports), worked out once.

    Also notes, as ``record.uses``, the modules whose classes, functions,
    instances or module objects its namespace holds: refresh runs a module
    afresh when one of those changes (C9).
    """
    classes = record.classes
    if classes is not None:
        return classes
    name = record.entry.name
    own_submodule = name + "."
    classes = []
    uses: set[str] = set()
    namespace = namespace_of(record.module)
    seen: set[int] = set()
    for value in list(namespace.values()) if namespace is not None else ():
        kind = type(value)
        origin: object
        if issubclass(kind, type):
            if id(value) in seen:
                continue
            seen.add(id(value))
            cls = cast(type, value)  # issubclass(kind, type) does not narrow it
            origin = type_module(cls)
            if origin == name:
                classes.append(cls)
                continue
        elif kind is ModuleType:
            origin = value.__dict__.get("__name__")
            if isinstance(origin, str) and origin.startswith(own_submodule):
                continue  # the import system's attribute for a submodule
        elif kind is FunctionType:
            origin = value.__module__
        else:
            origin = type_module(kind)  # an instance: its class's module
        if type(origin) is str:
            uses.add(origin)
    record.classes = classes
    record.uses = frozenset(uses)
    return classes


def defined_classes(records: Iterable[Record]) -> list[type]:
    """The classes the records' modules define, in record order."""
    found: list[type] = []
    for record in records:
        found.extend(examine(record))
    return found


def apply_filter(
    classes: list[type],
    keep: Callable[[type], object] | None,
    asked: str,
    report: Callable[[PluginObjectError], None],
    where: Callable[[type], tuple[str, str]],
) -> list[type]:
    """The ``classes`` for which ``keep`` is true (all when it is None).

    A class that makes ``keep`` raise becomes a PluginObjectError given to
    ``report`` (which may raise); ``asked`` says what ``keep`` asks, for the
    message; ``where`` gives a class's module name and file.
    """
    if keep is None:
        return list(classes)
    kept = []
    for cls in classes:
        try:
            if keep(cls):
                kept.append(cls)
        except Exception as exc:
            module, path = where(cls)
            qualname = _type_name(cls)
            error = PluginObjectError(
                f"plugin class {module}.{qualname} ({path}) raised {_describe(exc)} when "
                f"pike asked {asked}; it is left out",
                module,
                path,
                qualname=qualname,
            )
            error.__cause__ = exc
            report(error)
    return kept
