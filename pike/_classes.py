"""Picking the plugin classes out of loaded modules (contract C8), warily (C14).

Plugin namespaces may hold anything: objects whose attribute access raises,
classes whose ``__module__`` is not a string or compares badly, metaclasses
that override attribute access. So namespaces are read with the built-in
descriptors (``type.__dict__['__module__']``, ``object.__getattribute__``),
never through the plugin's own attribute hooks, and every call into plugin
code (a filter, a ``__subclasscheck__``) is guarded: what it raises becomes a
[`PluginObjectError`][pike.errors.PluginObjectError] naming the class and its file.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Iterator
from importlib.machinery import ModuleSpec
from types import FunctionType, ModuleType
from typing import cast

from pike._loader import loader_details
from pike._registry import Record
from pike.errors import PluginObjectError, _describe, _type_name

__all__ = [
    "apply_filter",
    "defined_classes",
    "examine",
    "namespace_classes",
    "namespace_of",
    "type_module",
]

_TYPE_MODULE = type.__dict__["__module__"]
#: ``record.uses`` of a module that uses no other plugin module (one shared object,
#: so a pass over many records can tell by identity).
NOTHING: frozenset[str] = frozenset()
# Values that never tie a module to another one: most of a namespace (its
# dunders among them), passed over with one set lookup each.
_INERT: frozenset[type] = frozenset(
    {str, int, float, bool, bytes, type(None), dict, list, tuple, set, frozenset, ModuleSpec}
    | {loader for loader, _suffixes in loader_details()}
)


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


def defined_classes(records: list[Record], plugins: Container[str]) -> list[type]:
    """The classes the records' modules define, in record order.

    ``plugins`` holds the names of the manager's plugin modules: what a module
    uses is noted among those only.
    """
    _examine([record for record in records if record.classes is None], plugins)
    found: list[type] = []
    for record in records:
        found.extend(record.classes)  # type: ignore[arg-type]
    return found


def examine(records: Iterable[Record], plugins: Container[str]) -> None:
    """Work out ``classes`` and ``uses`` for the records that lack them."""
    _examine([record for record in records if record.classes is None], plugins)


def _examine(records: list[Record], plugins: Container[str]) -> None:
    """Set each record's ``classes`` and ``uses`` from its module's namespace.

    ``classes``: the classes the module defines (their ``__module__`` is its
    name). ``uses``: the plugin modules whose classes, functions, instances or
    module objects the namespace holds; refresh runs a module afresh when one
    of those changes (C9). One loop for all records: this runs once per module.
    """
    module_of = _TYPE_MODULE.__get__
    inert = _INERT
    for record in records:
        name = record.entry.name
        classes: list[type] = []
        uses: set[str] = set()
        namespace = namespace_of(record.module)
        for value in list(namespace.values()) if namespace is not None else ():
            kind = type(value)
            if kind in inert:
                continue
            origin: object
            if kind is type or issubclass(kind, type):
                try:
                    origin = module_of(value)
                except AttributeError:  # a class whose namespace has no __module__
                    continue
                if type(origin) is str and origin == name:
                    classes.append(cast(type, value))  # issubclass() does not narrow
                    continue
            elif kind is ModuleType:
                origin = value.__dict__.get("__name__")
            elif kind is FunctionType:
                origin = value.__module__
            else:
                try:
                    origin = module_of(kind)  # an instance: its class's module
                except AttributeError:
                    continue
            if type(origin) is str and origin in plugins:
                uses.add(origin)
        if len(classes) > 1 and len(set(map(id, classes))) < len(classes):
            classes = list({id(cls): cls for cls in classes}.values())  # one class, two names
        uses.discard(name)
        record.classes = classes
        record.uses = uses or NOTHING


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
