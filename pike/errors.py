"""The errors and warnings pike raises: one family, rooted at [`PikeError`][pike.errors.PikeError].

Every error names what was wrong and how to fix it. Plugin errors carry the
module name, the file and, where known, the line, so a program can report them
without parsing messages.
"""

from __future__ import annotations

import errno as _errno

__all__ = [
    "AmbiguousPluginError",
    "EntryPointError",
    "InactiveManagerError",
    "MultipleMatches",
    "NoMatches",
    "NoUniqueMatch",
    "PikeError",
    "PikeTypeError",
    "PikeValueError",
    "PikeWarning",
    "PluginBlockedError",
    "PluginCollisionError",
    "PluginContractError",
    "PluginDisabledError",
    "PluginError",
    "PluginHookError",
    "PluginImportError",
    "PluginIncompatibleError",
    "PluginNotFoundError",
    "PluginObjectError",
    "PluginQuarantinedError",
    "SearchPathError",
    "SearchPathNotADirectoryError",
    "SearchPathNotFoundError",
    "SearchPathPermissionError",
    "UntrustedPathError",
    "UntrustedPluginError",
    "search_path_error",
]


class PikeError(Exception):
    """The root of every error pike raises on its own account."""


class PikeTypeError(PikeError, TypeError):
    """An argument of the wrong type (a bytes search path, a non-class base...)."""


class PikeValueError(PikeError, ValueError):
    """An argument of the right type but an unusable value (an unknown ``on_error``)."""


class SearchPathError(PikeError):
    """A search path that does not exist, is not a directory, or cannot be read."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"search path {path!r} {reason}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.path, self.reason))


class SearchPathNotFoundError(SearchPathError, FileNotFoundError):
    """A search path that does not exist, or no longer does.

    Also a `FileNotFoundError` (``errno`` ENOENT), as pike 0.2.0 raised for it:
    code that catches ``OSError`` around a missing folder works unchanged.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.errno = _errno.ENOENT


class SearchPathNotADirectoryError(SearchPathError, NotADirectoryError):
    """A search path that is a file, not a folder. Also a `NotADirectoryError`."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.errno = _errno.ENOTDIR


class SearchPathPermissionError(SearchPathError, PermissionError):
    """A search path pike may not read. Also a `PermissionError`."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.errno = _errno.EACCES


def search_path_error(path: str, reason: str, cause: OSError) -> SearchPathError:
    """The `SearchPathError` for ``path`` that ``cause`` (an ``OSError`` from looking
    at it) calls for: one that is also a ``FileNotFoundError``, ``NotADirectoryError``
    or ``PermissionError`` where ``cause`` is."""
    for kind, error in (
        (FileNotFoundError, SearchPathNotFoundError),
        (NotADirectoryError, SearchPathNotADirectoryError),
        (PermissionError, SearchPathPermissionError),
    ):
        if isinstance(cause, kind):
            found = error(path, reason)
            if cause.errno:
                found.errno = cause.errno  # EPERM, say, where EACCES is the rule
            return found
    return SearchPathError(path, reason)


class UntrustedPathError(SearchPathError):
    """A search path that other users could change: not owned by you or root, or
    writable by others. ``owner`` is its owner's uid, ``mode`` its mode bits."""

    def __init__(self, path: str, reason: str, *, owner: int = -1, mode: int = 0) -> None:
        super().__init__(path, reason)
        self.owner = owner
        self.mode = mode

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.path, self.reason), {"owner": self.owner, "mode": self.mode})


class InactiveManagerError(PikeError, RuntimeError):
    """A manager was asked to load plugins after it was cleaned up."""


class PluginError(PikeError):
    """A plugin module that could not be used; see the subclasses.

    ``module_name`` is the plugin's full module name, ``path`` its file and
    ``lineno`` the line where the problem lies, when known. ``source`` is the
    search path (or, under isolation, the plugin archive) it came from, when
    known: with ``isolate=True`` two search paths may each have a module of
    that name.
    """

    source: str | None = None

    def __init__(
        self, message: str, module_name: str, path: str, lineno: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.module_name = module_name
        self.path = path
        self.lineno = lineno

    def __str__(self) -> str:
        return self.message

    @property
    def line(self) -> int | None:
        """The same as ``lineno``."""
        return self.lineno

    def __reduce__(self) -> tuple[object, ...]:
        # The subclasses' own fields (``other``, ``owner``...) travel in the state.
        args = (self.message, self.module_name, self.path, self.lineno)
        return (type(self), args, dict(self.__dict__))


class PluginImportError(PluginError, ImportError):  # type: ignore[misc]
    """A plugin module raised while it was imported.

    The original exception (``SyntaxError``, ``ImportError``, ``SystemExit``...)
    is the ``__cause__``. It is also an `ImportError`, so code written for
    pike 0.2.0 that caught ``ImportError`` around discovery keeps working.
    """

    def __init__(
        self, message: str, module_name: str, path: str, lineno: int | None = None
    ) -> None:
        PluginError.__init__(self, message, module_name, path, lineno)
        # ImportError keeps its own ``name`` and ``path``; fill them in too.
        self.name = module_name
        self.msg = message


class PluginCollisionError(PluginError):
    """A plugin module whose top-level name is already taken elsewhere.

    It was not loaded and the module it would have shadowed is untouched.
    ``other`` says where the name is taken: a file, ``"built-in"``, or the
    earlier plugin that holds it.
    """

    def __init__(
        self,
        message: str,
        module_name: str,
        path: str,
        lineno: int | None = None,
        other: str = "",
    ) -> None:
        super().__init__(message, module_name, path, lineno)
        self.other = other


class UntrustedPluginError(PluginImportError):
    """A plugin file or package folder that other users could change.

    It was not imported. ``owner`` is the file's owner (a uid), ``mode`` its
    mode bits; the message says how to fix it. An `ImportError` too, as
    ``import name`` of such a plugin inside the block raises it.
    """

    def __init__(
        self,
        message: str,
        module_name: str,
        path: str,
        lineno: int | None = None,
        *,
        owner: int = -1,
        mode: int = 0,
    ) -> None:
        super().__init__(message, module_name, path, lineno)
        self.owner = owner
        self.mode = mode


class PluginObjectError(PluginError):
    """A plugin object that misbehaved when pike looked at it.

    For example a class whose ``__subclasscheck__`` raises, or one that made
    ``filter_func`` raise. The plugin's exception is the ``__cause__``;
    ``qualname`` names the object.
    """

    def __init__(
        self,
        message: str,
        module_name: str,
        path: str,
        lineno: int | None = None,
        *,
        qualname: str = "",
    ) -> None:
        super().__init__(message, module_name, path, lineno)
        self.qualname = qualname


class PluginContractError(PluginError):
    """A plugin class that does not implement a contract it claims (``conforms=``).

    ``qualname`` names the class, ``lineno`` is the line of its ``class``
    statement, ``contract`` names its contract (``module.Name``) and
    ``mismatches`` says, one line per member, what is missing or cannot be
    called as its contract declares (docs/picking.md, "Contracts").
    """

    def __init__(
        self,
        message: str,
        module_name: str,
        path: str,
        lineno: int | None = None,
        *,
        qualname: str = "",
        contract: str = "",
        mismatches: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message, module_name, path, lineno)
        self.qualname = qualname
        self.contract = contract
        self.mismatches = mismatches


class PluginHookError(PluginError):
    """A plugin module's ``__pike_load__`` or ``__pike_unload__`` hook raised, or took
    longer than a second (docs/refresh.md, "Load and unload hooks").

    ``hook`` names the hook; what it raised, if it raised, is the ``__cause__``.
    """

    def __init__(
        self,
        message: str,
        module_name: str,
        path: str,
        lineno: int | None = None,
        *,
        hook: str = "",
    ) -> None:
        super().__init__(message, module_name, path, lineno)
        self.hook = hook


class PluginDisabledError(PluginImportError):
    """An import of a plugin module that is turned off (``disabled=``, ``only=``, safe
    mode, or their environment variables): it was not opened.

    A turned-off module is only ever *skipped* by discovery (``mgr.skipped``); this is
    what an import statement or ``load_plugin`` that asks for it meets. ``switch`` says
    what turned it off. An `ImportError` too.
    """

    def __init__(
        self,
        message: str,
        module_name: str,
        path: str,
        lineno: int | None = None,
        *,
        switch: str = "",
    ) -> None:
        super().__init__(message, module_name, path, lineno)
        self.switch = switch


class PluginQuarantinedError(PluginImportError):
    """A plugin module that was not imported because a process died while importing it,
    and its file has not changed since (``quarantine=True``; docs/misbehaving.md).

    Lifted by editing the file, ``mgr.release(name)`` or ``pike --release NAME PATH``.
    ``since`` is when the process died (seconds since the epoch) and ``pid`` its id.
    """

    def __init__(
        self,
        message: str,
        module_name: str,
        path: str,
        lineno: int | None = None,
        *,
        since: float = 0.0,
        pid: int = 0,
    ) -> None:
        super().__init__(message, module_name, path, lineno)
        self.since = since
        self.pid = pid


class PluginIncompatibleError(PluginImportError):
    """A plugin module whose ``__requires__`` this host does not meet (under
    ``requires="enforce"``): it was not imported.

    ``lineno`` is the line of the ``__requires__`` assignment, ``requirement`` the
    unmet requirement (``"python >=3.11"``), ``found`` what was found instead
    (``"3.10.13"``, or ``""`` when nothing was: a missing distribution).
    """

    def __init__(
        self,
        message: str,
        module_name: str,
        path: str,
        lineno: int | None = None,
        *,
        requirement: str = "",
        found: str = "",
    ) -> None:
        super().__init__(message, module_name, path, lineno)
        self.requirement = requirement
        self.found = found


class PluginBlockedError(PluginImportError):
    """A plugin module on the host's block list (``blocked=``) whose ``__version__`` is
    lower than ``lowest_good_version``, or not a literal: it was not imported.

    ``reason`` is the host's reason, ``version`` the plugin's version (``None`` when it
    declares none that can be read).
    """

    def __init__(
        self,
        message: str,
        module_name: str,
        path: str,
        lineno: int | None = None,
        *,
        reason: str = "",
        lowest_good_version: str = "",
        version: str | None = None,
    ) -> None:
        super().__init__(message, module_name, path, lineno)
        self.reason = reason
        self.lowest_good_version = lowest_good_version
        self.version = version


class EntryPointError(PluginImportError):
    """A named plugin (an entry point) that failed to load.

    ``entry_point`` is its declaration (``"name = module:attr"``) and
    ``distribution`` the installed distribution that declares it (``"name
    version"``), or ``""`` for a drop-in folder, which is then ``path``. The
    original exception is the ``__cause__``.
    """

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


class NoUniqueMatch(PikeError, RuntimeError):
    """No plugin, or more than one, answers to a name (stevedore's ``NoUniqueMatch``)."""


class NoMatches(NoUniqueMatch, LookupError):
    """No plugin of the requested name or namespace; the message says what exists."""


class MultipleMatches(NoUniqueMatch, LookupError):
    """Several plugins answer to a name that must name one; the message lists them."""


#: pike 1.0's names for them, kept for code written against 1.0.
PluginNotFoundError = NoMatches
AmbiguousPluginError = MultipleMatches


class PikeWarning(UserWarning):
    """Issued for each plugin error when a manager runs with ``on_error="warn"``, and for
    what pike could not check or chose not to enforce (a plugin's unmet ``__requires__``
    under ``requires="warn"``, quarantine without a cache folder...)."""
