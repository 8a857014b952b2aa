"""Plugins chosen per call: the dispatch managers.

[`DispatchExtensionManager`][pike.named.dispatch.DispatchExtensionManager] picks
with a filter function,
[`NameDispatchExtensionManager`][pike.named.dispatch.NameDispatchExtensionManager]
by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Concatenate, ParamSpec, TypeVar

from pike import _log
from pike.errors import NoMatches
from pike.named.enabled import EnabledExtensionManager
from pike.named.extension import Extension, T

__all__ = ["DispatchExtensionManager", "NameDispatchExtensionManager"]

U = TypeVar("U")
P = ParamSpec("P")
Q = ParamSpec("Q")

logger = _log.get("stevedore.dispatch")  # stevedore's name (pike.named.extension says why)


class DispatchExtensionManager(EnabledExtensionManager[T]):
    """Loads the plugins that pass ``check_func``; each ``map`` call picks among them.

    For long-running programs that send different inputs to different plugins.
    The parameters are [`EnabledExtensionManager`][pike.named.enabled.EnabledExtensionManager]'s.
    """

    def map(  # type: ignore[override]
        self,
        filter_func: Callable[Concatenate[Extension[T], P], bool],
        func: Callable[Concatenate[Extension[T], Q], U],
        *args: Any,
        **kwds: Any,
    ) -> list[U]:
        """``func(extension, *args, **kwds)`` for each extension ``filter_func`` accepts.

        ``filter_func`` is called as ``filter_func(extension, *args, **kwds)``.
        Raises [`NoMatches`][pike.errors.NoMatches] if there is no extension at
        all; errors of ``func`` as in
        [`ExtensionManager.map`][pike.named.extension.ExtensionManager.map].
        """
        if not self.extensions:
            raise NoMatches(f"No {self.namespace} extensions found")
        response: list[U] = []
        for ext in self.extensions:
            if filter_func(ext, *args, **kwds):
                self._invoke_one_plugin(response.append, func, ext, *args, **kwds)
        return response

    def map_method(  # type: ignore[override]
        self,
        filter_func: Callable[Concatenate[Extension[T], P], bool],
        method_name: str,
        *args: Any,
        **kwds: Any,
    ) -> Any:
        """``extension.obj.<method_name>(*args, **kwds)`` where ``filter_func`` accepts it."""
        return self.map(filter_func, self._call_extension_method, method_name, *args, **kwds)


class NameDispatchExtensionManager(DispatchExtensionManager[T]):
    """The dispatch manager that picks by name.

    ``by_name`` maps each name to its extension (the last, if a name repeats).
    """

    def _init_plugins(self, extensions: list[Extension[T]]) -> None:
        super()._init_plugins(extensions)
        self.by_name = {ext.name: ext for ext in self.extensions}

    def map(  # type: ignore[override]
        self,
        names: Iterable[str],
        func: Callable[Concatenate[Extension[T], P], U],
        *args: P.args,
        **kwds: P.kwargs,
    ) -> list[U]:
        """``func(extension, *args, **kwds)`` for the extension of each of ``names``, in that order.

        A name with no extension is skipped (logged at DEBUG).
        """
        response: list[U] = []
        for name in names:
            ext = self.by_name.get(name)
            if ext is None:
                logger.debug("Missing extension %r being ignored", name)
            else:
                self._invoke_one_plugin(response.append, func, ext, *args, **kwds)
        return response

    def map_method(  # type: ignore[override]
        self, names: Iterable[str], method_name: str, *args: Any, **kwds: Any
    ) -> Any:
        """``extension.obj.<method_name>(*args, **kwds)`` for the extension of each of ``names``."""
        return self.map(names, self._call_extension_method, method_name, *args, **kwds)
