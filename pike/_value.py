"""Records compared, hashed and shown by their fields, without ``dataclasses``.

``dataclasses`` (and ``inspect``, which it imports) would double the time
``import pike`` takes, so pike's public records (`ModuleEntry`,
`SkippedEntry`, `StaticError`, `RefreshReport`, `StaticListing`) stand on
these two classes instead. A record names its fields in ``__match_args__``
(two or more, in the order its ``__init__`` takes them) and writes its own
``__init__``; everything else is here, once.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, ClassVar

__all__ = ["Frozen", "ReadOnlyDict", "Value"]


class Value:  # noqa: PLW1641  # __eq__ without __hash__: unhashable, as meant
    """Compares equal to a record of its own type with equal fields; shown by its fields.

    Unhashable, as a dataclass that is not frozen.
    """

    __slots__ = ()
    __match_args__: ClassVar[tuple[str, ...]] = ()
    # The fields' values as a tuple, read in one call.
    _fields: ClassVar[attrgetter[Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__match_args__" in cls.__dict__:  # a record, not a base such as Frozen
            if len(cls.__match_args__) < 2:  # attrgetter gives a tuple from two names on
                raise TypeError(f"{cls.__name__}: a record has two fields or more")
            cls._fields = attrgetter(*cls.__match_args__)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        fields = self._fields
        return bool(fields(self) == fields(other))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__match_args__)
        return f"{type(self).__name__}({shown})"


class Frozen(Value):
    """A `Value` whose fields cannot be assigned or deleted; hashed by its fields, pickled
    by them."""

    __slots__ = ()

    def __hash__(self) -> int:
        return hash(self._fields(self))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(
            f"cannot assign to field {name!r}: a {type(self).__name__} is immutable"
        )

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: a {type(self).__name__} is immutable")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), self._fields(self))


class ReadOnlyDict(dict):  # type: ignore[type-arg]
    """A dict that cannot be changed: what static listing hands out of a class's
    attributes and a module's ``__plugin__`` (one object may be shared by many records).

    Reads are a dict's own (``get``, ``in``, ``==`` a plain dict); hashed by its keys,
    so that a record holding one hashes (equal dicts have equal keys); ``copy()``
    gives a plain dict to change.
    """

    __slots__ = ()

    def _refuse(self, *args: object, **kwargs: object) -> Any:
        raise TypeError(f"{type(self).__name__} is read-only; copy() it to change it")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self))

    def copy(self) -> dict[Any, Any]:
        return dict(self)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (dict(self),))

    def __repr__(self) -> str:
        return dict.__repr__(self)
