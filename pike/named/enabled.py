"""The plugins of a namespace that pass a check.

[`EnabledExtensionManager`][pike.named.enabled.EnabledExtensionManager], as in
stevedore's ``stevedore.enabled``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from typing import TYPE_CHECKING, Any

from pike import _log
from pike._paths import SearchPaths
from pike._policy import OnError
from pike._trust import Trust
from pike.named.extension import (
    ConflictResolverT,
    Extension,
    ExtensionManager,
    OnLoadFailureCallbackT,
    T,
    ignore_conflicts,
)

__all__ = ["EnabledExtensionManager"]

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from pike.named._sources import Guards


logger = _log.get("stevedore.enabled")  # stevedore's name (pike.named.extension says why)


class EnabledExtensionManager(ExtensionManager[T]):
    """The plugins for which ``check_func(extension)`` is true.

    The check sees the loaded [`Extension`][pike.named.extension.Extension] (its
    ``obj`` too, when invoked on load), so every plugin of the namespace is
    imported; one that raises in the check counts as failing to load.

    The other parameters are [`ExtensionManager`][pike.named.extension.ExtensionManager]'s.
    """

    def __init__(
        self,
        namespace: str,
        check_func: Callable[[Extension[T]], bool],
        invoke_on_load: bool = False,
        invoke_args: Sequence[Any] | None = None,
        invoke_kwds: Mapping[str, Any] | None = None,
        propagate_map_exceptions: bool = False,
        on_load_failure_callback: OnLoadFailureCallbackT[T] | None = None,
        verify_requirements: bool | None = None,
        *,
        conflict_resolver: ConflictResolverT[Any] = ignore_conflicts,
        search_paths: SearchPaths = None,
        on_error: OnError | None = None,
        trust: Trust = "owner",
        isolate: bool = False,
        **guards: Unpack[Guards],
    ) -> None:
        self.check_func = check_func
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

    def _load_one_plugin(
        self,
        ep: metadata.EntryPoint,
        invoke_on_load: bool,
        invoke_args: tuple[Any, ...],
        invoke_kwds: dict[str, Any],
    ) -> Extension[T] | None:
        ext = super()._load_one_plugin(ep, invoke_on_load, invoke_args, invoke_kwds)
        if ext is not None and not self.check_func(ext):
            logger.debug("ignoring extension %r", ep.name)
            return None
        return ext
