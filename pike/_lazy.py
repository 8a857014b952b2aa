"""LazyClass: a plugin class known from its source, imported when it is asked for.

`PikeManager.lazy_classes` hands these out: what static listing read of a
class statement (its name, file, line, literal attributes, its module's
``__plugin__``), and a ``load()`` that imports the class's module through the
manager and returns the real class (docs/picking.md, "Picking without
importing"). A LazyClass holds its manager weakly: it never keeps a manager,
nor the plugins it loaded, alive.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pike.errors import InactiveManagerError

if TYPE_CHECKING:
    from pike.discovery.static import StaticClass

__all__ = ["LazyClass"]

#: What a LazyClass asks its manager: the real class of a listed one.
Loader = Callable[["StaticClass", "type | None"], type]


class LazyClass:
    """A plugin class listed from source, not yet imported.

    ``name`` is the class statement's name, ``qualname`` is ``module.Class``
    (as [`StaticClass`][pike.discovery.static.StaticClass] spells it),
    ``module`` the plugin module's dotted name, ``path`` its file, ``line``
    the line of the ``class`` statement, ``source`` the search path it lies
    in; ``attrs`` and ``plugin`` are what the source declares, read-only. The
    listing itself is ``static``.
    """

    __slots__ = ("_base", "_loader", "static")

    def __init__(self, static: StaticClass, base: type | None, loader: Loader) -> None:
        self.static = static
        self._base = base
        # A bound method of the manager, held weakly (docs/picking.md).
        from weakref import WeakMethod  # (not at import: "import pike.manager")

        self._loader = WeakMethod(loader)

    @property
    def name(self) -> str:
        return self.static.name

    @property
    def qualname(self) -> str:
        return self.static.qualname

    @property
    def module(self) -> str:
        return self.static.module

    @property
    def path(self) -> str:
        return self.static.path

    @property
    def line(self) -> int:
        return self.static.lineno

    @property
    def lineno(self) -> int:
        """The same as ``line``."""
        return self.static.lineno

    @property
    def source(self) -> str:
        return self.static.source

    @property
    def attrs(self) -> Mapping[str, Any]:
        return self.static.attrs

    @property
    def plugin(self) -> Mapping[Any, Any]:
        return self.static.plugin

    def load(self) -> type:
        """Import the class's module (once: a loaded module is not imported again) and
        return the real class.

        :raises PluginError: the module did not load (its error, whatever the
            manager's ``on_error``), or it no longer defines the class (a
            [`PluginObjectError`][pike.errors.PluginObjectError]).
        :raises InactiveManagerError: the manager was cleaned up, or is gone.
        """
        loader = self._loader()
        if loader is None:
            raise InactiveManagerError(
                f"the PikeManager that listed {self.qualname} is gone; keep it (and use "
                "it inside its 'with' block) while you load its classes"
            )
        return loader(self.static, self._base)

    def __repr__(self) -> str:
        return f"<LazyClass {self.qualname} ({self.path}, line {self.line})>"
