"""Exactly one plugin, by name: [`DriverManager`][pike.named.driver.DriverManager]."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from typing import TYPE_CHECKING, Any, Concatenate, NoReturn, ParamSpec, TypeVar

from pike._paths import SearchPaths
from pike._policy import OnError
from pike._trust import Trust
from pike.errors import NoMatches
from pike.named.extension import (
    ConflictResolverT,
    Extension,
    ExtensionManager,
    OnLoadFailureCallbackT,
    T,
    error_on_conflict,
)
from pike.named.named import (
    NamedExtensionManager,
    OnMissingEntrypointsCallbackT,
    warning_on_missing_entrypoint,
)

__all__ = ["DriverManager"]

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from pike.named._sources import Guards

U = TypeVar("U")
P = ParamSpec("P")
_D = TypeVar("_D", bound="DriverManager[Any]")


class DriverManager(NamedExtensionManager[T]):
    """The one plugin of a namespace registered as ``name``: ``.driver`` is it.

    Raises [`NoMatches`][pike.errors.NoMatches] when no plugin has the name, and
    by default [`MultipleMatches`][pike.errors.MultipleMatches] when several do
    (``conflict_resolver`` may pick one instead). A driver that fails to load
    raises its error, unless ``on_load_failure_callback`` or ``on_error`` is
    given; then the manager raises ``NoMatches``, its ``__cause__`` the error.

    The other parameters are [`NamedExtensionManager`][pike.named.named.NamedExtensionManager]'s.
    """

    def __init__(
        self,
        namespace: str,
        name: str,
        invoke_on_load: bool = False,
        invoke_args: Sequence[Any] | None = None,
        invoke_kwds: Mapping[str, Any] | None = None,
        on_load_failure_callback: OnLoadFailureCallbackT[T] | None = None,
        on_missing_entrypoints_callback: OnMissingEntrypointsCallbackT
        | None = warning_on_missing_entrypoint,
        verify_requirements: bool | None = None,
        warn_on_missing_entrypoint: bool | None = None,
        *,
        conflict_resolver: ConflictResolverT[Any] = error_on_conflict,
        search_paths: SearchPaths = None,
        on_error: OnError | None = None,
        trust: Trust = "owner",
        isolate: bool = False,
        **guards: Unpack[Guards],
    ) -> None:
        if on_load_failure_callback is None and on_error is None:
            on_load_failure_callback = self._default_on_load_failure
        super().__init__(
            namespace,
            [name],
            invoke_on_load=invoke_on_load,
            invoke_args=invoke_args,
            invoke_kwds=invoke_kwds,
            on_load_failure_callback=on_load_failure_callback,
            on_missing_entrypoints_callback=on_missing_entrypoints_callback,
            verify_requirements=verify_requirements,
            warn_on_missing_entrypoint=warn_on_missing_entrypoint,
            conflict_resolver=conflict_resolver,
            search_paths=search_paths,
            on_error=on_error,
            trust=trust,
            isolate=isolate,
            **guards,
        )

    @staticmethod
    def _default_on_load_failure(
        manager: ExtensionManager[Any], ep: metadata.EntryPoint, err: BaseException
    ) -> NoReturn:
        raise err

    @classmethod
    def make_test_instance(  # type: ignore[override]
        cls: type[_D],
        extension: Extension[Any],
        namespace: str = "TESTING",
        propagate_map_exceptions: bool = False,
        on_load_failure_callback: OnLoadFailureCallbackT[Any] | None = None,
        verify_requirements: bool | None = None,
        *,
        conflict_resolver: ConflictResolverT[Any] = error_on_conflict,
    ) -> _D:
        """A driver manager of the given extension, for tests: nothing is searched or loaded."""
        return super().make_test_instance(
            [extension],
            namespace,
            propagate_map_exceptions,
            on_load_failure_callback,
            verify_requirements,
            conflict_resolver=conflict_resolver,
        )

    def _init_plugins(self, extensions: list[Extension[T]]) -> None:
        super()._init_plugins(extensions)
        name = self._names[0]
        if not self.extensions:
            failure = self._policy.errors[-1] if self._policy.errors else None
            off = self._sources.turned_off.get(name)
            if off is not None:
                why = f": it is {off}"
            else:
                why = f"; it failed to load: {failure}" if failure else self._available()
            raise NoMatches(
                f"No {self.namespace!r} driver found, looking for {name!r}{why}"
            ) from failure
        if len(self.extensions) > 1:
            self.extensions = [self._conflict_resolver(self.namespace, name, self.extensions)]
            self._by_name = None

    def _available(self) -> str:
        if self._found is None:
            return ""  # a test instance: nothing was searched
        names = sorted(set(self.entry_points_names()))
        return f"; available: {', '.join(names) if names else 'none'}"

    def __call__(
        self, func: Callable[Concatenate[Extension[T], P], U], *args: Any, **kwds: Any
    ) -> U | None:
        """``func(extension, *args, **kwds)`` for the driver, as ``map`` calls it; its result."""
        results = self.map(func, *args, **kwds)
        return results[0] if results else None

    @property
    def driver(self) -> T | Callable[..., T]:
        """The driver: its instance when invoked on load, else what the entry point names.

        Typed as stevedore types it: narrow it (``assert isinstance(mgr.driver, Base)``)
        to use an instance's methods.
        """
        ext = self.extensions[0]
        return ext.obj if ext.obj is not None else ext.plugin
