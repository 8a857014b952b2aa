"""Reading plugin objects without running their code, and naming values in messages.

A plugin's classes may have metaclasses that override attribute access, a
``__module__`` that is not a string, a ``__qualname__`` that raises; its
exceptions may have a ``__str__`` that raises. Everything here reads past
those hooks with the built-in descriptors, so looking at a plugin never runs
it, and an error message can always be written.
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = [
    "a_type_name",
    "describe",
    "location_of",
    "namespace_classes",
    "namespace_of",
    "type_module",
    "type_name",
]

_MODULE = type.__dict__["__module__"]
_QUALNAME = type.__dict__["__qualname__"]


def type_module(cls: type) -> str | None:
    """``cls.__module__`` if it is a string, read past any metaclass hook."""
    try:
        module = _MODULE.__get__(cls)
    except AttributeError:  # a class whose namespace has no __module__
        return None
    return module if type(module) is str else None


def type_name(cls: type) -> str:
    """``cls.__qualname__``, read past any metaclass hook; ``"?"`` if it is not a string."""
    try:
        name = _QUALNAME.__get__(cls)
    except Exception:  # a class built without a usable __qualname__
        return "?"
    return name if type(name) is str else "?"


def a_type_name(value: object) -> str:
    """``value``'s type as a message says it: ``an int``, ``a list``, ``None``."""
    if value is None:
        return "None"
    name = type_name(type(value))
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def describe(exc: BaseException) -> str:
    """``"ValueError: message"`` for any exception, even one whose ``__str__`` raises."""
    kind = type_name(type(exc))
    try:
        text = str(exc)
    except KeyboardInterrupt:
        raise
    except BaseException as inner:  # a plugin's __str__ may raise anything
        return f"{kind} (its message cannot be shown: str() raised {type_name(type(inner))})"
    return f"{kind}: {text}" if text else kind


def location_of(module: object) -> str:
    """Where a module (or the object standing in its place) was loaded from, for messages."""
    try:
        where = getattr(module, "__file__", None) or getattr(
            getattr(module, "__spec__", None), "origin", None
        )
    except Exception:  # an object with a hostile __getattr__
        where = None
    return where if isinstance(where, str) and where else "a module with no file"


def namespace_of(module: object) -> dict[str, object] | None:
    """A module's namespace (or a replacement object's), without its attribute hooks."""
    try:
        namespace = object.__getattribute__(module, "__dict__")
    except Exception:  # an object without a __dict__ (slots, built-in)
        return None
    return namespace if type(namespace) is dict else None


def namespace_classes(module: object) -> Iterator[type]:
    """Each class bound in ``module``'s namespace, once, in namespace order."""
    namespace = namespace_of(module)
    if namespace is None:
        return
    seen: set[int] = set()
    for obj in list(namespace.values()):
        if issubclass(type(obj), type) and id(obj) not in seen:
            seen.add(id(obj))
            yield obj  # type: ignore[misc]
