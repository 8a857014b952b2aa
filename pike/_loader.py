"""pike's loaders: the standard library's own, recording what they load (C4, C7).

Each plugin module is executed by a subclass of the standard loader for its
kind (``SourceFileLoader``, ``SourcelessFileLoader``, ``ExtensionFileLoader``),
named like it and behaving like it: bytecode caching, ``get_source``,
resources and tracebacks are the standard library's. What the subclass adds
is the registry: a finder that hands out a spec tells its loader which
manager's registry to record into, and the loader records the module once it
has run. If that manager was cleaned up meanwhile, the loader refuses to run
the module, or, if it was already running, takes out what it left when it
finishes: a late import leaves nothing of the manager's behind.

A loader that no finder has told of a registry (as
[`pike.loader.PikeLoader`][pike.loader.PikeLoader] uses them) is exactly the standard one.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from importlib import machinery
from types import ModuleType, TracebackType
from typing import Any

from pike._filestate import Stamp
from pike._registry import Record, Registry
from pike._walk import ModuleEntry
from pike.errors import PluginImportError, _describe

__all__ = [
    "PACKAGE_DIR",
    "ExtensionFileLoader",
    "SourceFileLoader",
    "SourcelessFileLoader",
    "import_error",
    "loader_details",
    "registry_of",
    "same_file",
]

#: The folder of pike's own modules (to tell its frames from a plugin's).
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class _Recording:
    """The part every pike loader adds to its standard base class."""

    #: Set by the finder that made the spec: where to record, what, and the file's
    #: stamp and digest (pike._filestate).
    pike_record: tuple[Registry, ModuleEntry, Stamp, bytes | None] | None = None
    #: The standard loader's exec_module, set by each subclass.
    _base_exec: Callable[..., None]

    def exec_module(self, module: ModuleType) -> None:
        target = self.pike_record
        if target is None:
            self._base_exec(module)
            return
        registry, entry, stamp, digest = target
        if not registry.begin(entry):
            raise PluginImportError(
                f"plugin module {entry.name!r} ({entry.path}) was not run: the PikeManager "
                "that found it has been cleaned up; import it inside the manager's block",
                entry.name,
                entry.path,
            )
        try:
            self._base_exec(module)
        except BaseException:
            registry.abandon(entry.name)
            raise
        # What landed: the module, or the object it put in its place (the
        # ``sys.modules[__name__] = obj`` idiom).
        landed = sys.modules.get(entry.name, module)
        if registry.land(Record(entry, landed, module.__spec__, stamp, digest)):
            return
        # The manager ended while this module ran: the import system takes the
        # module out as this raises; the manager takes out what it left.
        if registry.on_late is not None:
            registry.on_late(entry.name)
        raise PluginImportError(
            f"plugin module {entry.name!r} ({entry.path}) finished importing after its "
            "PikeManager was cleaned up, so it was taken out again; import it inside "
            "the manager's block",
            entry.name,
            entry.path,
        )


class SourceFileLoader(_Recording, machinery.SourceFileLoader):  # type: ignore[misc]
    """The standard source loader, recording into a manager's registry.

    The finder's stat of the source file (taken to check it and remember its
    state) also serves the loader's check of its bytecode cache: one stat per
    module, and both see the same file.
    """

    _base_exec = machinery.SourceFileLoader.exec_module
    pike_stat: os.stat_result | None = None

    def path_stats(self, path: str) -> Mapping[str, Any]:
        st = self.pike_stat
        if st is not None and path == self.path:
            self.pike_stat = None  # once: a reload takes a fresh one
            return {"mtime": st.st_mtime, "size": st.st_size}
        return super().path_stats(path)


class SourcelessFileLoader(_Recording, machinery.SourcelessFileLoader):
    """The standard bytecode loader, recording into a manager's registry."""

    _base_exec = machinery.SourcelessFileLoader.exec_module


class ExtensionFileLoader(_Recording, machinery.ExtensionFileLoader):
    """The standard extension-module loader, recording into a manager's registry."""

    _base_exec = machinery.ExtensionFileLoader.exec_module


def loader_details() -> tuple[tuple[Any, list[str]], ...]:
    """``FileFinder``'s loader details, in its order of precedence, with pike's loaders."""
    return (
        (ExtensionFileLoader, machinery.EXTENSION_SUFFIXES),
        (SourceFileLoader, machinery.SOURCE_SUFFIXES),
        (SourcelessFileLoader, machinery.BYTECODE_SUFFIXES),
    )


def registry_of(module: object) -> Registry | None:
    """The registry of the manager whose loader ran ``module``, or None."""
    try:
        loader = module.__spec__.loader  # type: ignore[attr-defined]
        if isinstance(loader, _Recording) and loader.pike_record is not None:
            return loader.pike_record[0]
    except Exception:  # no spec, or an object with a hostile __getattr__
        pass
    return None


def same_file(a: object, b: str) -> bool:
    """True if ``a`` is a path (a str) to the same file as ``b``."""
    if not isinstance(a, str) or not a:
        return False
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def _line_in(exc: BaseException, path: str) -> int | None:
    """The line of ``path`` where ``exc`` arose, if it can be told."""
    if issubclass(type(exc), SyntaxError):
        # A plugin may raise a SyntaxError of its own, with any file name or none.
        filename = getattr(exc, "filename", None)
        lineno = getattr(exc, "lineno", None)
        if type(lineno) is int and same_file(filename, path):
            return lineno
    lineno = None
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            lineno = tb.tb_lineno
        tb = tb.tb_next
    return lineno


def import_error(name: str, path: str, exc: BaseException) -> PluginImportError:
    """Wrap what plugin ``name`` raised at import into a PluginImportError (C6, C14)."""
    try:
        lineno = _line_in(exc, path)
    except Exception:  # a hostile exception's attributes
        lineno = None
    where = f"{path}, line {lineno}" if lineno else path
    error = PluginImportError(
        f"plugin module {name!r} failed to import ({where}): {_describe(exc)}",
        name,
        path,
        lineno,
    )
    # The traceback's first entry is pike's frame that caught it: drop it, so
    # the stored error shows the import and keeps none of pike's locals alive.
    try:
        tb = exc.__traceback__
        if tb is not None and os.path.dirname(tb.tb_frame.f_code.co_filename) == PACKAGE_DIR:
            exc.__traceback__ = tb.tb_next
    except Exception:  # pragma: no cover - an exception class with a __traceback__ property
        pass
    error.__cause__ = exc
    error.__suppress_context__ = True
    return error
