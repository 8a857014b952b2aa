"""What a plugin error does, and how what a plugin raised becomes one.

Every plugin error pike meets, whichever way the plugin was asked for, goes
through one `ErrorPolicy`: it is recorded, logged (logger ``pike._policy``, at
INFO: the text, never the error, whose frames a kept record would keep alive),
then raised, warned about, kept, or handed to the program's callable. A
plugin's own exception becomes a [`PluginImportError`][pike.errors.PluginImportError]
with the module, the file, the line where it can be told, and the original as
``__cause__`` (`import_error`).
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from collections.abc import Callable
from types import TracebackType
from typing import Literal

from pike import _log
from pike._objects import a_type_name, describe
from pike.errors import PikeTypeError, PikeValueError, PikeWarning, PluginError, PluginImportError

__all__ = ["ErrorPolicy", "OnError", "import_error", "line_in", "warn"]

OnError = Literal["raise", "warn", "collect"] | Callable[[PluginError], object]
"""What ``on_error`` accepts: ``"raise"`` the first plugin error, ``"warn"`` (a
`PikeWarning` per error, and go on), ``"collect"`` (keep them in ``errors``, and go on),
or a callable given each error (what it raises propagates). Importable from
``pike.manager``."""

logger = _log.get(__name__)

#: pike's own folder: its frames are not the caller's, nor the plugin's.
_INSIDE = os.path.dirname(os.path.abspath(__file__)) + os.sep
_NOT_THE_CALLER = (_INSIDE, "<frozen importlib.", os.path.dirname(importlib.__file__) + os.sep)


class ErrorPolicy:
    """What to do with each plugin error: raise, warn, collect, or call back.

    ``errors`` lists every error reported, in the order met.
    """

    __slots__ = ("action", "errors")

    def __init__(self, on_error: OnError) -> None:
        if isinstance(on_error, str):
            if on_error not in ("raise", "warn", "collect"):
                raise PikeValueError(
                    f"on_error={on_error!r} is not a policy; use 'raise', 'warn', "
                    "'collect' or a callable that takes the error"
                )
        elif not callable(on_error):
            raise PikeTypeError(
                f"on_error is {a_type_name(on_error)}; use 'raise', 'warn', "
                "'collect' or a callable that takes the error"
            )
        self.action = on_error
        self.errors: list[PluginError] = []

    def note(self, error: PluginError) -> None:
        """Record and log ``error``, never acting on it: for what a plugin's hook did
        once the plugin was in place (`pike._hooks`), which never reaches the host."""
        self.errors.append(error)
        logger.info("%s", str(error))

    def report(self, error: PluginError) -> None:
        """Record ``error``, log it, then act on it; may raise."""
        self.errors.append(error)
        logger.info("%s", str(error))
        action = self.action
        if action == "raise":
            raise error
        if action == "warn":
            warnings.warn(str(error), PikeWarning, stacklevel=_caller_stacklevel())
        elif callable(action):
            action(error)


def warn(message: str) -> None:
    """Log ``message`` (INFO, as errors are) and issue it as a `PikeWarning` at the first
    frame outside pike and the import system: for what pike will not refuse but the
    program should hear of (a plugin's unmet ``__requires__`` under ``requires="warn"``...)."""
    logger.info("%s", message)
    warnings.warn(message, PikeWarning, stacklevel=_caller_stacklevel())


def _caller_stacklevel() -> int:
    """The stacklevel of the first frame outside pike and ``importlib`` (an import of a
    plugin runs through both), for warnings.warn, which counts no frame of the import
    system's own bootstrap."""
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_NOT_THE_CALLER):
        frame = frame.f_back
        filename = frame.f_code.co_filename
        if not ("importlib" in filename and "_bootstrap" in filename):  # as warnings skips
            level += 1
    return level


def _same_file(a: object, b: str) -> bool:
    if not isinstance(a, str) or not a:
        return False
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def line_in(exc: BaseException, path: str) -> int | None:
    """The line of ``path`` where ``exc`` arose, if it can be told."""
    if issubclass(type(exc), SyntaxError):
        # A plugin may raise a SyntaxError of its own, with any file name or none.
        filename = getattr(exc, "filename", None)
        lineno = getattr(exc, "lineno", None)
        if type(lineno) is int and _same_file(filename, path):
            return lineno
    lineno = None
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            lineno = tb.tb_lineno
        tb = tb.tb_next
    return lineno


def import_error(name: str, path: str, exc: BaseException) -> PluginImportError:
    """What plugin ``name`` (its file ``path``) raised at import, as a PluginImportError."""
    try:
        lineno = line_in(exc, path)
    except Exception:  # a hostile exception's attributes
        lineno = None
    where = f"{path}, line {lineno}" if lineno else path
    error = PluginImportError(
        f"plugin module {name!r} failed to import ({where}): {describe(exc)}",
        name,
        path,
        lineno,
    )
    # The traceback's first entry is pike's frame that caught it: drop it, so
    # the stored error shows the import and keeps none of pike's locals alive.
    try:
        tb = exc.__traceback__
        if tb is not None and tb.tb_frame.f_code.co_filename.startswith(_INSIDE):
            exc.__traceback__ = tb.tb_next
    except Exception:  # pragma: no cover - an exception class with a __traceback__ property
        pass
    error.__cause__ = exc
    error.__suppress_context__ = True
    return error
