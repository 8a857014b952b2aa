"""Picking the plugin classes out of loaded modules, warily.

A plugin class is a class a plugin module defines: one whose ``__module__``
is that module's name (a class merely imported into it, such as the plugin
base class, is not one). Plugin namespaces may hold anything, so they are
read with the built-in descriptors (`pike._objects`), never through the
plugin's own attribute hooks, and every call into plugin code (a filter, a
``__subclasscheck__``) is guarded: what it raises becomes a
[`PluginObjectError`][pike.errors.PluginObjectError] naming the class and its
file, under the manager's error policy.

While it picks classes, it also notes which other plugin modules each module
uses (holds classes, functions, instances or module objects of): refresh runs
those users again when a module they use changes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Container, Iterable
from importlib.machinery import ModuleSpec
from types import FunctionType, ModuleType
from typing import cast

from pike._objects import describe, namespace_of, type_module, type_name
from pike._session import Record
from pike.errors import PikeTypeError, PluginObjectError

__all__ = [
    "NOTHING",
    "apply_filter",
    "defined_classes",
    "examine",
    "named_classes",
    "subclass_test",
]

_TYPE_MODULE = type.__dict__["__module__"]
#: ``record.uses`` of a module that uses no other plugin module (one shared object,
#: so a pass over many records can tell by identity).
NOTHING: frozenset[str] = frozenset()
# Values that never tie a module to another one: most of a namespace (its
# dunders among them), passed over with one set lookup each.
_INERT: frozenset[type] = frozenset(
    {str, int, float, bool, bytes, type(None), dict, list, tuple, set, frozenset, ModuleSpec}
)


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


def named_classes(record: Record, names: Collection[str], plugins: Container[str]) -> list[type]:
    """The classes ``record``'s module defines that a ``class`` statement of one of
    ``names`` made: bound under that name, or keeping it as their ``__name__`` (a
    decorator may return another class). What static listing saw, once imported."""
    defined = defined_classes([record], plugins)
    namespace = namespace_of(record.module) or {}
    bound = {id(value) for name in names if (value := namespace.get(name)) is not None}
    return [cls for cls in defined if id(cls) in bound or type_name(cls) in names]


def examine(records: Iterable[Record], plugins: Container[str]) -> None:
    """Work out ``classes`` and ``uses`` for the records that lack them."""
    _examine([record for record in records if record.classes is None], plugins)


def _examine(records: list[Record], plugins: Container[str]) -> None:
    """Set each record's ``classes`` and ``uses`` from its module's namespace.

    One loop for all records: this runs once per module.
    """
    module_of = _TYPE_MODULE.__get__
    inert = _INERT
    for record in records:
        name = record.entry.key  # its name in sys.modules: its classes' __module__
        own = name + "."
        classes: list[type] = []
        uses: set[str] = set()
        namespace = namespace_of(record.module)
        for value in list(namespace.values()) if namespace is not None else ():
            kind = type(value)
            try:
                if kind in inert:
                    continue
            except Exception:  # a class whose metaclass's __hash__ raises: not inert
                pass
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
                # A package holds its own submodules (the import system binds them):
                # that alone is no use of them.
                if type(origin) is str and origin.startswith(own):
                    continue
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


def subclass_test(base_class: object) -> tuple[Callable[[type], bool], str]:
    """The test for strict subclasses of ``base_class`` (itself excluded), and what it
    asks, for the message of a class that makes it raise."""
    if not isinstance(base_class, type):
        raise PikeTypeError(
            f"base_class is {base_class!r}, not a class; pass the class the plugins derive from"
        )

    def inherits(cls: type) -> bool:
        return cls is not base_class and issubclass(cls, base_class)

    where = type_module(base_class) or "?"
    return inherits, f"whether it is a subclass of {where}.{type_name(base_class)}"


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
            qualname = type_name(cls)
            error = PluginObjectError(
                f"plugin class {module}.{qualname} ({path}) raised {describe(exc)} when "
                f"pike asked {asked}; it is left out",
                module,
                path,
                qualname=qualname,
            )
            error.__cause__ = exc
            report(error)
    return kept
