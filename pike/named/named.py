"""The plugins of a namespace listed by name.

[`NamedExtensionManager`][pike.named.named.NamedExtensionManager], as in
stevedore's ``stevedore.named``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import metadata
from typing import TYPE_CHECKING, Any, TypeAlias

from pike import _log
from pike._objects import a_type_name
from pike._paths import SearchPaths
from pike._policy import OnError
from pike._trust import Trust
from pike.errors import PikeTypeError
from pike.named.extension import (
    ConflictResolverT,
    Extension,
    ExtensionManager,
    OnLoadFailureCallbackT,
    T,
    ignore_conflicts,
    quiet_until_configured,
)

__all__ = [
    "NamedExtensionManager",
    "OnMissingEntrypointsCallbackT",
    "warning_on_missing_entrypoint",
]

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from pike.named._sources import Guards


logger = _log.get("stevedore.named")  # stevedore's name (pike.named.extension says why)

OnMissingEntrypointsCallbackT: TypeAlias = Callable[[Iterable[str]], None]


def warning_on_missing_entrypoint(missing_names: Iterable[str]) -> None:
    """The default: log a warning naming the names that did not load."""
    quiet_until_configured()
    logger.warning("Could not load %s", ", ".join(sorted(missing_names)))


class NamedExtensionManager(ExtensionManager[T]):
    """Only the plugins whose names are listed (from a configuration file, say).

    Other plugins of the namespace are not imported. A listed name with no
    plugin, or whose plugin failed to load, goes to
    ``on_missing_entrypoints_callback`` (by default a logged warning).

    :param names: the names to load.
    :param name_order: order the extensions as ``names`` lists them, rather
        than the namespace's order.
    :param on_missing_entrypoints_callback: called with the set of listed
        names that did not load; None to say nothing.
    :param warn_on_missing_entrypoint: deprecated, as in stevedore: ``False``
        means ``on_missing_entrypoints_callback=None``.

    The other parameters are [`ExtensionManager`][pike.named.extension.ExtensionManager]'s.
    """

    def __init__(
        self,
        namespace: str,
        names: Iterable[str],
        invoke_on_load: bool = False,
        invoke_args: Sequence[Any] | None = None,
        invoke_kwds: Mapping[str, Any] | None = None,
        name_order: bool = False,
        propagate_map_exceptions: bool = False,
        on_load_failure_callback: OnLoadFailureCallbackT[T] | None = None,
        on_missing_entrypoints_callback: OnMissingEntrypointsCallbackT
        | None = warning_on_missing_entrypoint,
        verify_requirements: bool | None = None,
        warn_on_missing_entrypoint: bool | None = None,
        *,
        conflict_resolver: ConflictResolverT[Any] = ignore_conflicts,
        search_paths: SearchPaths = None,
        on_error: OnError | None = None,
        trust: Trust = "owner",
        isolate: bool = False,
        **guards: Unpack[Guards],
    ) -> None:
        if warn_on_missing_entrypoint is not None:
            warnings.warn(
                "The warn_on_missing_entrypoint option is deprecated for removal. If you "
                "wish to disable warnings, you should instead override "
                "'on_missing_entrypoints_callback'",
                DeprecationWarning,
                stacklevel=2,
            )
            if not warn_on_missing_entrypoint:
                on_missing_entrypoints_callback = None
        if isinstance(names, str):
            names = [names]  # one name (stevedore would match its substrings)
        elif isinstance(names, Iterable) and not isinstance(names, Sequence):
            names = list(names)  # a generator, say: read once
        if not isinstance(names, Sequence) or not all(isinstance(n, str) for n in names):
            raise PikeTypeError(
                f"names is {a_type_name(names)}; pass a list of the plugin names to load"
            )
        self._names: Sequence[str] = names
        self._missing_names: set[str] = set()
        self._name_order = name_order
        self._on_missing_entrypoints_callback = on_missing_entrypoints_callback
        super().__init__(
            namespace,
            invoke_on_load,
            invoke_args,
            invoke_kwds,
            propagate_map_exceptions,
            on_load_failure_callback,
            verify_requirements,
            conflict_resolver=conflict_resolver,
            search_paths=search_paths,
            on_error=on_error,
            trust=trust,
            isolate=isolate,
            **guards,
        )

    def _test_defaults(self, extensions: list[Extension[Any]]) -> None:
        self._names = [ext.name for ext in extensions]
        self._missing_names = set()
        self._name_order = False
        self._on_missing_entrypoints_callback = None

    def _init_plugins(self, extensions: list[Extension[T]]) -> None:
        super()._init_plugins(extensions)
        if self._name_order:
            by_name = self._extensions_by_name
            self.extensions = [by_name[n] for n in self._names if n not in self._missing_names]

    def _load_plugins(
        self,
        invoke_on_load: bool,
        invoke_args: tuple[Any, ...],
        invoke_kwds: dict[str, Any],
    ) -> list[Extension[T]]:
        extensions = super()._load_plugins(invoke_on_load, invoke_args, invoke_kwds)
        self._missing_names = set(self._names) - {ext.name for ext in extensions}
        if self._missing_names and self._on_missing_entrypoints_callback:
            self._on_missing_entrypoints_callback(self._missing_names)
        return extensions

    def _candidates(self) -> list[metadata.EntryPoint]:
        # Only the listed names' lines of a drop-in folder's declarations are read.
        wanted = set(self._names)
        installed = self._installed(wanted)
        return self._sources.entry_points(self.namespace, installed, names=self._names)

    def _load_one_plugin(
        self,
        ep: metadata.EntryPoint,
        invoke_on_load: bool,
        invoke_args: tuple[Any, ...],
        invoke_kwds: dict[str, Any],
    ) -> Extension[T] | None:
        # Decided before anything is imported: an unlisted plugin never runs.
        if ep.name not in self._names:
            return None
        return super()._load_one_plugin(ep, invoke_on_load, invoke_args, invoke_kwds)
