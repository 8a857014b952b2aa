"""The plugins of a namespace that share one name: [`HookManager`][pike.named.hook.HookManager]."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pike._paths import SearchPaths
from pike._policy import OnError
from pike._trust import Trust
from pike.named.extension import (
    ConflictResolverT,
    Extension,
    OnLoadFailureCallbackT,
    T,
    ignore_conflicts,
)
from pike.named.named import NamedExtensionManager, OnMissingEntrypointsCallbackT

__all__ = ["HookManager"]

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from pike.named._sources import Guards


class HookManager(NamedExtensionManager[T]):
    """Every plugin registered under ``name``, in order: ``manager[name]`` is their list.

    No plugin of the name is not an error (no warning by default either:
    ``on_missing_entrypoints_callback`` is None).

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
        on_missing_entrypoints_callback: OnMissingEntrypointsCallbackT | None = None,
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

    @property
    def _name(self) -> str:
        return self._names[0]

    def __getitem__(self, name: str) -> list[Extension[T]]:  # type: ignore[override]
        """All the extensions of the hook's name, in order; KeyError for another name."""
        if name != self._name:
            raise KeyError(name)
        return self.extensions
