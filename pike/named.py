"""Named plugins: drivers, extensions and hooks, from installed packages and folders (C13).

    from pike.named import DriverManager, ExtensionManager

    driver = DriverManager(namespace="mydrivers", name="simple_driver1").driver
    for ext in ExtensionManager(namespace="myextensions", invoke_on_load=True):
        print(ext.name, ext.obj.get_name())

A *namespace* is an entry-point group. Its plugins come from two sources, in
this order: drop-in folders (``search_paths``) that declare names in an
``entry_points.txt`` file, in the format a distribution uses; then the entry
points of installed distributions. Within a source, plugins are ordered by
name, then distribution. Folder plugins load through a
[`PikeManager`][pike.manager.PikeManager] (isolation, C5; cleanup, C7), active until
[`ExtensionManager.close`][pike.named.ExtensionManager.close] or the end of a ``with`` block.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata
from types import TracebackType
from typing import Any, TypeVar

from pike._loading import ErrorPolicy, OnError
from pike._paths import SearchPaths
from pike._trust import Trust
from pike.errors import PikeError, PluginCollisionError, PluginImportError, _describe
from pike.finder import standing_aside
from pike.manager import PikeManager

__all__ = [
    "AmbiguousPluginError",
    "DriverManager",
    "EntryPointError",
    "Extension",
    "ExtensionManager",
    "HookManager",
    "PluginNotFoundError",
]

_Manager = TypeVar("_Manager", bound="ExtensionManager")

logger = logging.getLogger(__name__)


class PluginNotFoundError(PikeError, LookupError, RuntimeError):
    """No plugin of the requested name; the message lists the names available.

    Also a ``RuntimeError``, as stevedore's ``NoMatches`` is, so ported code
    that catches that keeps working.
    """


class AmbiguousPluginError(PikeError, LookupError, RuntimeError):
    """Several plugins have the name a driver asked for; the message lists them.

    Also a ``RuntimeError``, like stevedore's ``MultipleMatches``.
    """


class EntryPointError(PluginImportError):
    """An entry point that failed to load; ``entry_point`` and ``distribution`` say which."""

    def __init__(
        self,
        message: str,
        module_name: str,
        path: str,
        lineno: int | None = None,
        *,
        entry_point: str = "",
        distribution: str = "",
    ) -> None:
        super().__init__(message, module_name, path, lineno)
        self.entry_point = entry_point
        self.distribution = distribution


@dataclass(frozen=True, eq=False)
class Extension:
    """One loaded plugin.

    ``plugin`` is what the entry point names (a class, a function...); ``obj``
    is ``plugin(*args, **kwargs)`` when the manager was asked to invoke it on
    load, else None. ``distribution`` is ``"name version"`` of the installed
    package, or None for a drop-in folder, whose file is ``path``.
    """

    name: str
    group: str
    entry_point: metadata.EntryPoint
    plugin: Any
    obj: Any = None
    distribution: str | None = None
    path: str | None = None

    def __repr__(self) -> str:
        where = self.distribution or self.path or "?"
        return f"<Extension {self.name!r} = {self.entry_point.value} ({where})>"


@dataclass(frozen=True)
class _Candidate:
    name: str
    entry_point: metadata.EntryPoint
    distribution: str | None
    folder: str | None  # set for drop-in declarations


def _declared_in(folder: str, group: str) -> list[_Candidate]:
    """The entry points ``folder/entry_points.txt`` declares in ``group``."""
    if not os.path.isfile(os.path.join(folder, "entry_points.txt")):
        return []
    points = metadata.Distribution.at(folder).entry_points.select(group=group)
    return [_Candidate(ep.name, ep, None, folder) for ep in points]


def _installed(group: str) -> list[_Candidate]:
    found = []
    for ep in metadata.entry_points(group=group):
        dist = ep.dist
        label = f"{dist.name} {dist.version}" if dist is not None else "an unknown distribution"
        found.append(_Candidate(ep.name, ep, label, None))
    found.sort(key=lambda c: (c.name, c.distribution or "", c.entry_point.value))
    return found


class ExtensionManager:
    """Every plugin of a namespace, loaded in a fixed order.

    :param namespace: the entry-point group.
    :param search_paths: drop-in folders with an ``entry_points.txt``, searched
        before installed distributions (optional).
    :param invoke_on_load: call each plugin with ``invoke_args`` and
        ``invoke_kwds`` and keep the result as ``Extension.obj``.
    :param on_error: as for [`PikeManager`][pike.manager.PikeManager]; errors are
        [`EntryPointError`][pike.named.EntryPointError] naming the entry point and distribution.
    :param trust: as for [`PikeManager`][pike.manager.PikeManager], for the drop-in
        folders (C15).
    """

    def __init__(
        self,
        namespace: str,
        *,
        search_paths: SearchPaths = None,
        invoke_on_load: bool = False,
        invoke_args: tuple[Any, ...] = (),
        invoke_kwds: Mapping[str, Any] | None = None,
        on_error: OnError = "raise",
        trust: Trust = "owner",
    ) -> None:
        self.namespace = namespace
        self._policy = ErrorPolicy(on_error)
        # Folders only: installed entry points need nothing installed in the interpreter.
        self._pike = (
            PikeManager(search_paths, on_error=on_error, trust=trust) if search_paths else None
        )
        try:
            candidates = self._candidates()
            self.extensions: list[Extension] = self._load(
                candidates, invoke_on_load, invoke_args, dict(invoke_kwds or {})
            )
            self._loaded()
        except BaseException:
            self.close()
            raise

    # -- which plugins -----------------------------------------------------------

    def _candidates(self) -> list[_Candidate]:
        local: list[_Candidate] = []
        for folder in self._pike.search_paths if self._pike else ():
            local.extend(sorted(_declared_in(folder, self.namespace), key=lambda c: c.name))
        # The same declaration seen twice (a folder that is also installed) is one
        # plugin: the first source keeps it.
        unique: list[_Candidate] = []
        seen: set[tuple[str, str]] = set()
        for candidate in local + _installed(self.namespace):
            key = (candidate.name, candidate.entry_point.value)
            if key not in seen:
                seen.add(key)
                unique.append(candidate)
        return self._select(unique)

    def _select(self, candidates: list[_Candidate]) -> list[_Candidate]:
        """Which candidates to load; all of them here, one name for drivers and hooks."""
        return candidates

    def _loaded(self) -> None:
        """Check what loaded; a driver raises if its one plugin did not (the manager closes)."""

    # -- loading -------------------------------------------------------------------

    def _load(
        self,
        candidates: list[_Candidate],
        invoke: bool,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> list[Extension]:
        loaded = []
        for candidate in candidates:
            ep = candidate.entry_point
            try:
                plugin = self._resolve(candidate)
                obj = plugin(*args, **kwargs) if invoke else None
            except (Exception, SystemExit) as exc:
                error = self._error(candidate, exc)
                logger.error("could not load %r: %s", ep.name, error)
                self._policy.report(error)
                continue
            loaded.append(
                Extension(
                    candidate.name,
                    self.namespace,
                    ep,
                    plugin,
                    obj,
                    candidate.distribution,
                    self._path_of(plugin) if candidate.folder else None,
                )
            )
        return loaded

    def _resolve(self, candidate: _Candidate) -> Any:
        """What the entry point names: a drop-in through the folders' manager (C5).

        An installed entry point is loaded with the folders' finder standing aside,
        so it never runs a drop-in module of the same name; one whose module a
        drop-in folder has already loaded is a collision.
        """
        ep = candidate.entry_point
        if self._pike is None:
            return ep.load()
        if candidate.folder is None:
            top = ep.module.partition(".")[0]
            held = self._pike._registry.get(top)
            if held is not None and not held.borrowed:
                raise PluginCollisionError(
                    f"installed entry point {ep.name!r} names module {ep.module!r}, but "
                    f"{top!r} is the drop-in folder's, loaded from {held.entry.path}; "
                    "rename one of them",
                    ep.module,
                    held.entry.path,
                    other=held.entry.path,
                )
            with standing_aside(self._pike.module_finder):
                return ep.load()
        plugin: Any = self._pike._import_plugin(ep.module)
        for part in (ep.attr or "").split(".") if ep.attr else ():
            plugin = getattr(plugin, part)
        return plugin

    @staticmethod
    def _path_of(plugin: Any) -> str | None:
        module = sys.modules.get(getattr(plugin, "__module__", None) or "")
        file = getattr(module, "__file__", None)
        return file if isinstance(file, str) else None

    def _error(self, candidate: _Candidate, exc: BaseException) -> EntryPointError:
        ep = candidate.entry_point
        source = candidate.distribution or f"the drop-in folder {candidate.folder}"
        declared = f"{ep.name} = {ep.value}"
        error = EntryPointError(
            f"entry point {declared!r} of {source} (group {self.namespace!r}) failed to "
            f"load: {_describe(exc)}",
            ep.module,
            candidate.folder or (candidate.distribution or ""),
            None,
            entry_point=declared,
            distribution=candidate.distribution or "",
        )
        error.__cause__ = exc
        error.__suppress_context__ = True
        return error

    # -- using them ------------------------------------------------------------------

    @property
    def errors(self) -> list[PikeError]:
        """The errors met while loading, in order."""
        return list(self._policy.errors)

    def names(self) -> list[str]:
        """The names of the loaded plugins, in order (a name may repeat)."""
        return [ext.name for ext in self.extensions]

    def map(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> list[Any]:
        """``[func(ext, *args, **kwargs) for ext in extensions]``."""
        return [func(ext, *args, **kwargs) for ext in self.extensions]

    def map_method(self, method_name: str, *args: Any, **kwargs: Any) -> list[Any]:
        """Call ``method_name`` on every ``Extension.obj`` and collect the results."""
        return [getattr(ext.obj, method_name)(*args, **kwargs) for ext in self.extensions]

    def __iter__(self) -> Iterator[Extension]:
        return iter(self.extensions)

    def __len__(self) -> int:
        return len(self.extensions)

    def __contains__(self, name: object) -> bool:
        return any(ext.name == name for ext in self.extensions)

    def __getitem__(self, name: str) -> Extension:
        for ext in self.extensions:
            if ext.name == name:
                return ext
        raise KeyError(name)

    def close(self) -> None:
        """Clean up the drop-in folders' manager (C7); loaded objects keep working."""
        if self._pike is not None:
            self._pike.cleanup()

    def __enter__(self: _Manager) -> _Manager:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _listing(candidates: list[_Candidate]) -> str:
    names = sorted({c.name for c in candidates})
    return ", ".join(names) if names else "none"


class _ByName(ExtensionManager):
    """The plugins of a namespace registered under one ``name``."""

    def __init__(
        self,
        namespace: str,
        name: str,
        *,
        search_paths: SearchPaths = None,
        invoke_on_load: bool = False,
        invoke_args: tuple[Any, ...] = (),
        invoke_kwds: Mapping[str, Any] | None = None,
        on_error: OnError = "raise",
        trust: Trust = "owner",
    ) -> None:
        self.name = name
        super().__init__(
            namespace,
            search_paths=search_paths,
            invoke_on_load=invoke_on_load,
            invoke_args=invoke_args,
            invoke_kwds=invoke_kwds,
            on_error=on_error,
            trust=trust,
        )

    def _select(self, candidates: list[_Candidate]) -> list[_Candidate]:
        return [c for c in candidates if c.name == self.name]


class DriverManager(_ByName):
    """Exactly one plugin of a namespace, by name: ``.driver`` is it.

    ``.driver`` is the loaded object, or the instance when ``invoke_on_load``.
    Raises [`PluginNotFoundError`][pike.named.PluginNotFoundError] when no plugin has the name
    and [`AmbiguousPluginError`][pike.named.AmbiguousPluginError] when several do; both list
    what exists.
    """

    def _select(self, candidates: list[_Candidate]) -> list[_Candidate]:
        matches = super()._select(candidates)
        if not matches:
            raise PluginNotFoundError(
                f"no plugin named {self.name!r} in group {self.namespace!r}; "
                f"available: {_listing(candidates)}"
            )
        if len(matches) > 1:
            where = "; ".join(
                f"{c.entry_point.value} ({c.distribution or c.folder})" for c in matches
            )
            raise AmbiguousPluginError(
                f"{len(matches)} plugins are named {self.name!r} in group "
                f"{self.namespace!r}: {where}; a driver needs exactly one"
            )
        return matches

    def _loaded(self) -> None:
        if not self.extensions:
            # It was found but failed to load under a non-raising policy. The caller
            # gets no manager (to close, or to read .errors from): the folders'
            # manager ends (C7) and the error carries why.
            failure = self._policy.errors[-1] if self._policy.errors else None
            raise PluginNotFoundError(
                f"driver {self.name!r} of group {self.namespace!r} did not load: {failure}"
            ) from failure

    @property
    def driver(self) -> Any:
        """The driver: its instance when invoked on load, else the loaded object."""
        ext = self.extensions[0]
        return ext.obj if ext.obj is not None else ext.plugin


class HookManager(_ByName):
    """All plugins of a namespace registered under one name (in order)."""
