"""Every plugin of a namespace: [`ExtensionManager`][pike.named.extension.ExtensionManager].

The base of the other managers, as in stevedore's ``stevedore.extension``:
the same classes, parameters, defaults and behaviour, plus pike's keyword-only
``search_paths``, ``on_error`` and ``trust``.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import (
    Callable,
    Container,
    ItemsView,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from importlib import metadata
from types import TracebackType
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Concatenate,
    Generic,
    ParamSpec,
    TypeAlias,
    TypeVar,
)

from pike import _log
from pike._objects import a_type_name, describe
from pike._paths import SearchPaths
from pike._policy import ErrorPolicy, OnError
from pike._trust import Trust
from pike.errors import (
    EntryPointError,
    MultipleMatches,
    NoMatches,
    PikeTypeError,
    PluginError,
)
from pike.named import _installed, _sources

__all__ = [
    "ConflictResolverT",
    "Extension",
    "ExtensionManager",
    "OnLoadFailureCallbackT",
    "error_on_conflict",
    "ignore_conflicts",
]

if TYPE_CHECKING:
    # A default (PEP 696), so that a manager made or annotated without a type argument
    # is ExtensionManager[Any], which mypy --strict and pyright accept as stevedore's
    # users write it (``mgr = DriverManager(...)``, ``ext: Extension``). The type
    # checkers have typing_extensions' stubs; at run time a plain TypeVar does, and
    # pike never imports typing_extensions.
    import typing_extensions
    from typing_extensions import Unpack

    from pike._contracts import Contract
    from pike.named._sources import Guards

    T = typing_extensions.TypeVar("T", default=Any)
else:
    T = TypeVar("T")
U = TypeVar("U")
P = ParamSpec("P")
_M = TypeVar("_M", bound="ExtensionManager[Any]")

# The records are stevedore's, logged as stevedore logs them: under the name of the
# stevedore module that logs each one (stevedore.extension, stevedore.named,
# stevedore.enabled, stevedore.dispatch), at its levels, in its words. Programs written
# for stevedore set those loggers' levels (osc-lib quiets "stevedore") or show their
# names (oslo-config-generator prints "WARNING:stevedore.named:..."), and keep working.
logger = _log.get("stevedore.extension")

_quieted = False


def quiet_until_configured() -> None:
    """Before a WARNING or worse record: give stevedore's package logger a NullHandler.

    stevedore adds one when it is imported, so that a program that has not configured
    logging prints none of its records (Python's last-resort handler would print them
    on stderr); a program that has, sees them through its own handlers as before.
    pike's core loggers have no handler of their own by policy: their records are the
    program's to see. pike.named's records are stevedore's, so they keep stevedore's
    silence. Added on the first record that could be shown rather than on import, so
    that ``logging`` is imported only for a record (`pike._log`'s rule).
    """
    global _quieted
    if _quieted:
        return
    import logging

    package = logging.getLogger("stevedore")
    if not any(isinstance(handler, logging.NullHandler) for handler in package.handlers):
        package.addHandler(logging.NullHandler())  # stevedore's own, if imported, will do
    _quieted = True


def _text(exc: BaseException) -> str:
    """``str(exc)``, as ``%s`` shows it, even for an exception whose ``__str__`` raises."""
    try:
        return str(exc)
    except KeyboardInterrupt:
        raise
    except BaseException:
        return describe(exc)


class Extension(Generic[T]):
    """One plugin a manager loaded: its name, entry point, what it names, and the instance.

    :param name: the entry point's name.
    :param entry_point: the ``importlib.metadata.EntryPoint``.
    :param plugin: what the entry point names (a class, a function...); typed
        ``type[T]`` as stevedore types it.
    :param obj: ``plugin(*invoke_args, **invoke_kwds)`` when the manager invoked
        it on load, else None.
    :param path: pike's addition: the file of a drop-in plugin's module (None
        for an installed one).
    """

    def __init__(
        self,
        name: str,
        entry_point: metadata.EntryPoint,
        plugin: type[T],
        obj: T | None,
        *,
        path: str | None = None,
    ) -> None:
        self.name = name
        self.entry_point = entry_point
        self.plugin = plugin
        self.obj = obj
        self.path = path

    def __repr__(self) -> str:
        """``<Extension 'name' = 'module:attr'>``: the declaration, and no address (a
        program printing its extensions shows the same text on every run)."""
        try:
            target = self.entry_point.value
        except Exception:  # a stand-in entry point (tests build their own)
            target = None
        if isinstance(target, str):
            return f"<Extension {self.name!r} = {target!r}>"
        return f"<Extension {self.name!r}>"

    @property
    def module_name(self) -> str:
        """The module the entry point names (``"package.module"``)."""
        return self.entry_point.module

    @property
    def attr(self) -> str:
        """The attribute of that module the entry point names (``"Class"``, ``"obj.attr"``)."""
        return self.entry_point.attr

    @property
    def entry_point_target(self) -> str:
        """The entry point's target as declared: ``"package.module:attr"``."""
        return self.entry_point.value

    @property
    def group(self) -> str:
        """pike's addition (kept from pike 1.0): the entry point's group, the namespace."""
        return self.entry_point.group

    @property
    def distribution(self) -> str | None:
        """pike's addition: ``"name version"`` of the installed distribution, None for a drop-in."""
        return None if self.path is not None else _installed.label(self.entry_point)


#: ``resolver(namespace, name, extensions)``: picks one of several extensions of one name.
#: The managers take a ``ConflictResolverT[Any]`` (stevedore's say ``[T]``): pyright would
#: solve a manager's ``T`` from the generic default resolver, never from the plugins.
ConflictResolverT: TypeAlias = Callable[[str, str, list[Extension[T]]], Extension[T]]


def _name_of(ext: Extension[Any]) -> str:
    return ext.name


def _where(ext: Extension[Any]) -> str:
    """``"module:attr (distribution)"`` for messages, whatever the record holds."""
    try:
        target = str(ext.entry_point.value)
    except Exception:  # a stand-in entry point (tests build their own)
        target = getattr(ext.plugin, "__qualname__", None) or repr(ext.name)
    try:
        source = ext.path or ext.distribution
    except Exception:
        source = None
    return f"{target} ({source})" if source else target


def _qualname(ext: Extension[Any]) -> str:
    """The plugin's ``__qualname__``, as stevedore names it in a conflict; else its target."""
    try:
        name = getattr(ext.plugin, "__qualname__", None)
    except Exception:  # a hostile __getattr__
        name = None
    return name if isinstance(name, str) else _where(ext)


def ignore_conflicts(namespace: str, name: str, entrypoints: list[Extension[T]]) -> Extension[T]:
    """The default resolver: log a warning and use the last extension of the name."""
    quiet_until_configured()
    logger.warning(
        "multiple implementations found for the '%(name)s' extension in "
        "%(namespace)s namespace: %(conflicts)s",
        {
            "name": name,
            "namespace": namespace,
            "conflicts": ", ".join(_qualname(ext) for ext in entrypoints),
        },
    )
    return entrypoints[-1]


def error_on_conflict(namespace: str, name: str, entrypoints: list[Extension[T]]) -> Extension[T]:
    """The drivers' resolver: raise [`MultipleMatches`][pike.errors.MultipleMatches]."""
    raise MultipleMatches(
        f"multiple implementations found for the {name!r} command in {namespace} namespace: "
        f"{', '.join(_where(ext) for ext in entrypoints)}; uninstall or rename all but one, "
        "or pass conflict_resolver= to choose"
    )


def _invocation(
    invoke_args: Sequence[Any] | None, invoke_kwds: Mapping[str, Any] | None
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``invoke_args`` and ``invoke_kwds`` as the call takes them, or a PikeTypeError."""
    if invoke_args is None:
        args: tuple[Any, ...] = ()
    elif isinstance(invoke_args, (str, bytes)) or not isinstance(invoke_args, Iterable):
        raise PikeTypeError(
            f"invoke_args is {a_type_name(invoke_args)}; pass a tuple of positional arguments"
        )
    else:
        args = tuple(invoke_args)
    if invoke_kwds is None:
        return args, {}
    if not isinstance(invoke_kwds, Mapping) or not all(isinstance(k, str) for k in invoke_kwds):
        raise PikeTypeError(
            f"invoke_kwds is {a_type_name(invoke_kwds)}; pass a dict of keyword arguments"
        )
    return args, dict(invoke_kwds)


def _deprecated(argument: str, value: object) -> None:
    if value is not None:
        warnings.warn(
            f"The {argument} argument is now a no-op and is deprecated for removal. "
            "Remove the argument from calls.",
            DeprecationWarning,
            stacklevel=3,
        )


class ExtensionManager(Generic[T]):
    """Every plugin of a namespace (an entry-point group), in order.

    Plugins come from the drop-in folders ``search_paths`` (each declaring its
    plugins in an ``entry_points.txt``; by name within a folder), then from
    installed distributions, in stevedore's order: ``importlib.metadata``'s, the
    distributions in ``sys.path`` order. A plugin that fails to load is
    logged (logger ``stevedore.extension``, as stevedore logs it) and skipped, unless
    ``on_load_failure_callback`` or ``on_error`` says otherwise.

    :param namespace: the entry-point group.
    :param invoke_on_load: call each plugin with ``invoke_args`` and ``invoke_kwds``
        and keep the result as ``Extension.obj``.
    :param invoke_args: positional arguments for ``invoke_on_load``.
    :param invoke_kwds: keyword arguments for ``invoke_on_load``.
    :param propagate_map_exceptions: let an exception of the function given to
        [`map`][pike.named.extension.ExtensionManager.map] propagate (and stop),
        instead of logging it and going on.
    :param on_load_failure_callback: called as ``callback(manager, entrypoint,
        exception)`` for each plugin that fails to load, instead of logging it.
    :param verify_requirements: deprecated and ignored, as in stevedore (a
        ``DeprecationWarning`` when given).
    :param conflict_resolver: picks one of several extensions of one name for
        ``manager[name]`` and [`items`][pike.named.extension.ExtensionManager.items].
    :param search_paths: pike's addition: drop-in folders, searched before the
        installed distributions; cleaned up by
        [`close`][pike.named.extension.ExtensionManager.close] or the end of a
        ``with`` block.
    :param on_error: pike's addition: the error policy of
        [`PikeManager`][pike.manager.PikeManager] (``"raise"``, ``"warn"``,
        ``"collect"`` or a callable) for the
        [`EntryPointError`][pike.errors.EntryPointError] of each plugin that fails
        to load; given, it replaces the logging.
    :param trust: pike's addition: as for [`PikeManager`][pike.manager.PikeManager],
        for the drop-in folders.
    :param isolate: pike's addition: as for [`PikeManager`][pike.manager.PikeManager],
        for the drop-in folders: each folder's modules in a private namespace, so
        two folders may both ship a ``utils``.
    :param guards: pike's addition, what keeps a bad plugin out
        ([when a plugin misbehaves](https://pyarmory-pike.readthedocs.io/en/latest/misbehaving/)):
        ``disabled`` and ``only`` (patterns matched against entry-point names, and a
        drop-in's module name: what is off is left out as if not declared),
        ``safe_mode`` (every drop-in plugin off; installed ones stay),
        ``quarantine``, ``host``, ``requires`` and ``blocked`` (as for
        [`PikeManager`][pike.manager.PikeManager], for the drop-in folders' modules);
        and ``conforms``: a `typing.Protocol` or an abstract base class each plugin
        (drop-in or installed) must be a class implementing, checked once it is loaded
        and before ``invoke_on_load``; one that does not is a load failure like any
        other, its cause a [`PluginContractError`][pike.errors.PluginContractError]
        ([contracts](https://pyarmory-pike.readthedocs.io/en/latest/picking/#contracts)).
    """

    #: Installed entry points per namespace, read once per process (as stevedore
    #: does); pike reads them again when ``sys.path``, its folders or a
    #: distribution's ``entry_points.txt`` have changed (its cache file's rule).
    ENTRY_POINT_CACHE: ClassVar[dict[str, list[metadata.EntryPoint]]] = {}
    #: What each loaded plugin is checked against (``conforms=``), if anything.
    _contract: Contract | None = None
    _filled: ClassVar[dict[str, tuple[object, list[metadata.EntryPoint]]]] = {}

    def __init__(
        self,
        namespace: str,
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
        _deprecated("verify_requirements", verify_requirements)
        self._setup(
            namespace,
            propagate_map_exceptions,
            on_load_failure_callback,
            conflict_resolver,
            on_error,
        )
        args, kwds = _invocation(invoke_args, invoke_kwds)
        conforms = guards.pop("conforms", None)
        if conforms is not None:
            from pike._contracts import contract_of

            self._contract = contract_of(conforms)
        self._sources = _sources.Sources(search_paths, trust=trust, isolate=isolate, **guards)
        try:
            extensions = self._load_plugins(invoke_on_load, args, kwds)
            self._init_plugins(extensions)
        except BaseException:
            self.close()
            raise

    def _setup(
        self,
        namespace: str,
        propagate_map_exceptions: bool,
        on_load_failure_callback: OnLoadFailureCallbackT[T] | None,
        conflict_resolver: ConflictResolverT[Any],
        on_error: OnError | None,
    ) -> None:
        if not isinstance(namespace, str):
            raise PikeTypeError(
                f"namespace is {a_type_name(namespace)}; pass the entry-point group's name"
            )
        for what, given in (
            ("on_load_failure_callback", on_load_failure_callback),
            ("conflict_resolver", conflict_resolver),
        ):
            if given is not None and not callable(given):
                raise PikeTypeError(f"{what} is {a_type_name(given)}; pass a callable or None")
        self.namespace = namespace
        self.propagate_map_exceptions = propagate_map_exceptions
        self._on_load_failure_callback = on_load_failure_callback
        self._conflict_resolver = conflict_resolver
        # Errors are always recorded; a policy acts on them only when given.
        self._policy = ErrorPolicy("collect" if on_error is None else on_error)
        self._policy_given = on_error is not None
        self._found: list[metadata.EntryPoint] | None = None  # what loading went through

    @classmethod
    def make_test_instance(
        cls: type[_M],
        extensions: list[Extension[Any]],
        namespace: str = "TESTING",
        propagate_map_exceptions: bool = False,
        on_load_failure_callback: OnLoadFailureCallbackT[Any] | None = None,
        verify_requirements: bool | None = None,
        *,
        conflict_resolver: ConflictResolverT[Any] = ignore_conflicts,
    ) -> _M:
        """A manager of the given extensions, for tests: nothing is searched or loaded.

        The arguments are the constructor's, for the manager's behaviour after loading.
        """
        _deprecated("verify_requirements", verify_requirements)
        manager = cls.__new__(cls)
        manager._setup(
            namespace, propagate_map_exceptions, on_load_failure_callback, conflict_resolver, None
        )
        manager._sources = _sources.Sources(None)
        manager._test_defaults(extensions)
        manager._init_plugins(extensions)
        return manager

    def _test_defaults(self, extensions: list[Extension[Any]]) -> None:
        """Set what a subclass's constructor would have, for a test instance."""

    def _init_plugins(self, extensions: list[Extension[T]]) -> None:
        self.extensions: list[Extension[T]] = extensions
        self._by_name: dict[str, Extension[T]] | None = None

    @property
    def _extensions_by_name(self) -> dict[str, Extension[T]]:
        """One extension per name; the conflict resolver picks among several in a row.

        As stevedore groups them (``itertools.groupby``): several extensions of one
        name next to each other go to the resolver; a later run of a name (another
        distribution's, further down ``sys.path``) replaces an earlier one.
        """
        if self._by_name is None:
            resolve = self._conflict_resolver
            by_name: dict[str, Extension[T]] = {}
            for name, run in itertools.groupby(self.extensions, key=_name_of):
                same = list(run)
                by_name[name] = same[0] if len(same) == 1 else resolve(self.namespace, name, same)
            self._by_name = by_name
        return self._by_name

    # -- finding -------------------------------------------------------------------

    def list_entry_points(self) -> list[metadata.EntryPoint]:
        """The namespace's entry points, drop-in folders' first; nothing is loaded."""
        return self._sources.entry_points(self.namespace, self._installed())

    def entry_points_names(self) -> list[str]:
        """The names of the namespace's entry points, as ``list_entry_points`` lists them."""
        return [ep.name for ep in self.list_entry_points()]

    def _candidates(self) -> list[metadata.EntryPoint]:
        """The entry points loading goes through: all of them here."""
        return self.list_entry_points()

    def _installed(self, names: Container[str] | None = None) -> list[metadata.EntryPoint]:
        """The namespace's installed entry points (with ``names``, at least those of them)."""
        cache = self.ENTRY_POINT_CACHE
        held = cache.get(self.namespace)
        if held is not None:
            filled = self._filled.get(self.namespace)
            # Kept as found unless pike filled it, for a sys.path that has changed since
            # (the rule of pike's cache file: the same stats, no folder listed).
            if filled is None or filled[1] is not held or _installed.still_valid(filled[0]):
                return held
        points, state = _installed.read(self.namespace, names, avoid=self._sources.roots)
        if names is None:  # a manager by name makes only its names': not kept
            cache[self.namespace] = points
            self._filled[self.namespace] = (state, points)
        return points

    # -- loading -------------------------------------------------------------------

    def _load_plugins(
        self,
        invoke_on_load: bool,
        invoke_args: tuple[Any, ...],
        invoke_kwds: dict[str, Any],
    ) -> list[Extension[T]]:
        extensions = []
        self._found = self._candidates()
        debug = logger.isEnabledFor(_log.DEBUG)
        for ep in self._found:
            if debug:
                logger.debug("found extension %r", ep)
            try:
                ext = self._load_one_plugin(ep, invoke_on_load, invoke_args, invoke_kwds)
            except (KeyboardInterrupt, AssertionError):
                raise
            except BaseException as exc:  # SystemExit, GeneratorExit... from a plugin
                self._load_failed(ep, exc)
            else:
                if ext is not None:
                    extensions.append(ext)
        return extensions

    def _load_one_plugin(
        self,
        ep: metadata.EntryPoint,
        invoke_on_load: bool,
        invoke_args: tuple[Any, ...],
        invoke_kwds: dict[str, Any],
    ) -> Extension[T] | None:
        plugin = self._sources.load(ep)
        if self._contract is not None:
            from pike._contracts import plugin_error

            path = self._sources.path_of(ep) or ""
            error = plugin_error(plugin, self._contract, ep.module, path)
            if error is not None:
                raise error  # a load failure, as any other (its cause, in the manager's error)
        obj = plugin(*invoke_args, **invoke_kwds) if invoke_on_load else None
        return Extension(ep.name, ep, plugin, obj, path=self._sources.path_of(ep))

    def _load_failed(self, ep: metadata.EntryPoint, exc: BaseException) -> None:
        error = self._entry_point_error(ep, exc)
        callback = self._on_load_failure_callback
        if callback is not None:
            callback(self, ep, exc)  # may raise, as a driver's default does
        if self._policy_given:
            self._policy.report(error)
            return
        self._policy.errors.append(error)
        if callback is None:
            # stevedore's record: the exception the plugin raised (the cause of pike's
            # error for a drop-in's import), not pike's error. Its text, not the
            # exception: a handler that keeps records (pytest's, a MemoryHandler) would
            # keep its traceback's frames, and the drop-in folders' manager, alive.
            cause = exc.__cause__
            original = cause if isinstance(exc, PluginError) and cause is not None else exc
            quiet_until_configured()
            logger.error(
                "Could not load %r: %s",
                ep.name,
                _text(original),
                exc_info=logger.isEnabledFor(_log.DEBUG),
            )

    def _entry_point_error(self, ep: metadata.EntryPoint, exc: BaseException) -> EntryPointError:
        folder = self._sources.folder_of(ep)
        distribution = _installed.label(ep) if folder is None else None
        source = f"the drop-in folder {folder}" if folder else distribution or "an unknown source"
        declared = f"{ep.name} = {ep.value}"
        try:
            module = ep.module
        except Exception:  # a value that is not "module:attr"
            module = ep.value
        error = EntryPointError(
            f"entry point {declared!r} of {source} (namespace {self.namespace!r}) failed to "
            f"load: {exc if isinstance(exc, PluginError) else describe(exc)}",
            module,
            exc.path if isinstance(exc, PluginError) else folder or "",
            exc.lineno if isinstance(exc, PluginError) else None,
            entry_point=declared,
            distribution=distribution or "",
        )
        error.__cause__ = exc
        error.__suppress_context__ = True
        return error

    # -- using them ------------------------------------------------------------------

    @property
    def errors(self) -> list[PluginError]:
        """pike's addition: the [`EntryPointError`][pike.errors.EntryPointError] of each failure."""
        return list(self._policy.errors)

    def names(self) -> list[str]:
        """The names of the loaded extensions, in the order ``map`` calls them."""
        return [ext.name for ext in self.extensions]

    def map(
        self, func: Callable[Concatenate[Extension[T], P], U], *args: P.args, **kwds: P.kwargs
    ) -> list[U]:
        """``func(extension, *args, **kwds)`` for each extension; the results, in order.

        Raises [`NoMatches`][pike.errors.NoMatches] if there is no extension. An
        exception of ``func`` is logged and the others still run, unless the
        manager was made with ``propagate_map_exceptions=True``.
        """
        if not self.extensions:
            raise NoMatches(f"No {self.namespace} extensions found")
        response: list[U] = []
        for ext in self.extensions:
            self._invoke_one_plugin(response.append, func, ext, *args, **kwds)
        return response

    @staticmethod
    def _call_extension_method(
        extension: Extension[Any], /, method_name: str, *args: Any, **kwds: Any
    ) -> Any:
        return getattr(extension.obj, method_name)(*args, **kwds)

    def map_method(self, method_name: str, *args: Any, **kwds: Any) -> Any:
        """``extension.obj.<method_name>(*args, **kwds)`` for each extension, as ``map`` does."""
        return self.map(self._call_extension_method, method_name, *args, **kwds)

    def _invoke_one_plugin(
        self,
        response_callback: Callable[[U], object],
        func: Callable[Concatenate[Extension[T], P], U],
        ext: Extension[T],
        *args: P.args,
        **kwds: P.kwargs,
    ) -> None:
        try:
            response_callback(func(ext, *args, **kwds))
        except Exception as exc:
            if self.propagate_map_exceptions:
                raise
            # stevedore's two records: the message, then the exception with its traceback.
            quiet_until_configured()
            text = _text(exc)
            logger.error("error calling %r: %s", ext.name, text)
            logger.exception(text)

    def items(self) -> ItemsView[str, Extension[T]]:
        """``(name, extension)`` pairs, one per name, like ``Mapping.items()``."""
        return self._extensions_by_name.items()

    def __iter__(self) -> Iterator[Extension[T]]:
        return iter(self.extensions)

    def __getitem__(self, name: str) -> Extension[T]:
        """The extension of that name (the conflict resolver's choice among several)."""
        return self._extensions_by_name[name]

    def __contains__(self, name: object) -> bool:
        return any(ext.name == name for ext in self.extensions)

    def __len__(self) -> int:
        """pike's addition (kept from pike 1.0): the number of extensions."""
        return len(self.extensions)

    # -- cleaning up (pike's addition) ---------------------------------------------------

    def close(self) -> None:
        """Clean up what the drop-in folders installed; loaded objects keep working."""
        self._sources.close()

    def __enter__(self: _M) -> _M:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


#: ``callback(manager, entrypoint, exception)``: called for each plugin that fails to load.
#: Made after the class, so that ``OnLoadFailureCallbackT[Driver]`` works at run time too.
OnLoadFailureCallbackT: TypeAlias = Callable[
    [ExtensionManager[T], metadata.EntryPoint, BaseException], None
]
