"""Importing the plugin modules a walk found, under the error policy (C5, C6).

Each top-level name is checked for a collision before anything runs; each module
is imported through the standard import system with the manager's finder
standing alone for that name; a module that fails leaves nothing half-imported.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from collections.abc import Callable, Iterable
from importlib import machinery
from types import ModuleType, TracebackType
from typing import Literal

from pike._gc import collector_paused
from pike._walk import ModuleEntry
from pike.errors import (
    PikeTypeError,
    PikeValueError,
    PikeWarning,
    PluginCollisionError,
    PluginError,
    PluginImportError,
    _a_type_name,
)
from pike.finder import PROTECTED_NAMES, PikeFinder, loading_for, owner_of

__all__ = ["ErrorPolicy", "OnError", "load_modules"]

OnError = Literal["raise", "warn", "collect"] | Callable[[PluginError], object]


class ErrorPolicy:
    """What to do with each plugin error: raise, warn, collect, or call back."""

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
                f"on_error is {_a_type_name(on_error)}; use 'raise', 'warn', "
                "'collect' or a callable that takes the error"
            )
        self.action = on_error
        self.errors: list[PluginError] = []

    def report(self, error: PluginError) -> None:
        """Record ``error``, then act on it; may raise."""
        self.errors.append(error)
        action = self.action
        if action == "raise":
            raise error
        if action == "warn":
            warnings.warn(str(error), PikeWarning, stacklevel=_caller_stacklevel())
        elif callable(action):
            action(error)


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _caller_stacklevel() -> int:
    """The stacklevel of the first frame outside pike, for warnings.warn."""
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and os.path.dirname(frame.f_code.co_filename) == _PACKAGE_DIR:
        frame = frame.f_back
        level += 1
    return level


def _same_file(a: str | None, b: str) -> bool:
    if not a:
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _location(module: ModuleType) -> str:
    spec = getattr(module, "__spec__", None)
    where = getattr(module, "__file__", None) or getattr(spec, "origin", None)
    return str(where) if where else "a module with no file"


def _stdlib_location(name: str) -> str:
    module = sys.modules.get(name)
    if module is not None:
        return _location(module)
    if name in sys.builtin_module_names:
        return "built-in"
    spec = machinery.PathFinder.find_spec(name)
    return str(spec.origin) if spec is not None and spec.origin else "the standard library"


def collision(
    entry: ModuleEntry, finder: PikeFinder, earlier: dict[str, ModuleEntry]
) -> PluginCollisionError | None:
    """The collision that keeps ``entry`` (a top-level plugin) from loading, if any."""
    name = entry.name
    path = entry.path
    held = earlier.get(name)
    if held is not None and held.path != path:
        return PluginCollisionError(
            f"plugin module {name!r} at {path} is hidden by plugin module {name!r} at "
            f"{held.path} in an earlier search path; rename one of them",
            name,
            path,
            other=held.path,
        )
    if name in PROTECTED_NAMES:
        other = _stdlib_location(name)
        kind = "built-in" if name in sys.builtin_module_names else "standard library"
        return PluginCollisionError(
            f"plugin module {name!r} at {path} would shadow the {kind} module {name!r} "
            f"({other}); rename the file",
            name,
            path,
            other=other,
        )
    if name not in sys.modules:
        return None
    module = sys.modules[name]
    if module is None:
        return PluginCollisionError(
            f"plugin module {name!r} at {path} cannot load: the program blocked the "
            f"name (sys.modules[{name!r}] is None); rename the file",
            name,
            path,
            other="blocked",
        )
    owner = owner_of(module)
    if owner is finder:
        return None
    other = _location(module)
    if owner is not None and owner in sys.meta_path:
        return PluginCollisionError(
            f"plugin module {name!r} at {path} is already loaded by another active "
            f"PikeManager from {other}; a top-level name belongs to one manager at a "
            "time, so rename one of them or use one manager",
            name,
            path,
            other=other,
        )
    if _same_file(getattr(module, "__file__", None), path):
        return None
    return PluginCollisionError(
        f"plugin module {name!r} at {path} would shadow module {name!r} already "
        f"imported from {other}; rename the file",
        name,
        path,
        other=other,
    )


def _line_in(exc: BaseException, path: str) -> int | None:
    if isinstance(exc, SyntaxError) and exc.filename and _same_file(exc.filename, path):
        return exc.lineno
    lineno = None
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            lineno = tb.tb_lineno
        tb = tb.tb_next
    return lineno


def forget_modules(names: Iterable[str]) -> None:
    """Remove ``names`` and their submodules from ``sys.modules``.

    A removed submodule is also unhooked from its parent package, if the
    parent's attribute still refers to it.
    """
    modules = sys.modules
    doomed = set(names)
    prefixes = tuple(name + "." for name in doomed)
    for key in [k for k in modules if k in doomed or k.startswith(prefixes)]:
        module = modules.pop(key)
        parent_name, _, child = key.rpartition(".")
        parent = modules.get(parent_name) if parent_name else None
        if parent is not None and getattr(parent, child, None) is module:
            delattr(parent, child)


def _replaced_itself(name: str, module: object, finder: PikeFinder, served_before: bool) -> bool:
    """True if the plugin ``finder`` just served put another object in its place.

    (``sys.modules[__name__] = SomeObject()``, an idiom some modules use.)
    """
    return owner_of(module) is None and not served_before and name in finder.served


def import_error(entry: ModuleEntry, exc: BaseException) -> PluginImportError:
    """Wrap the exception a plugin raised at import into a PluginImportError."""
    lineno = _line_in(exc, entry.path)
    where = f"{entry.path}, line {lineno}" if lineno else entry.path
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    error = PluginImportError(
        f"plugin module {entry.name!r} failed to import ({where}): {detail}",
        entry.name,
        entry.path,
        lineno,
    )
    # The traceback's first entry is the loop that caught it: drop it, so the
    # stored error shows the import and keeps none of pike's locals alive.
    tb = exc.__traceback__
    if tb is not None and os.path.dirname(tb.tb_frame.f_code.co_filename) == _PACKAGE_DIR:
        exc.__traceback__ = tb.tb_next
    error.__cause__ = exc
    error.__suppress_context__ = True
    return error


def load_modules(
    entries: list[ModuleEntry],
    finder: PikeFinder,
    policy: ErrorPolicy,
    on_interrupt: Callable[[], None],
) -> list[ModuleType]:
    """Import ``entries`` in order; return the modules that loaded.

    Errors go to ``policy``; a package that failed takes its submodules with
    it. ``KeyboardInterrupt`` (and other non-``Exception`` exits but
    ``SystemExit``) propagate after ``on_interrupt`` has run.
    """
    with collector_paused:
        return _load_each(entries, finder, policy, on_interrupt)


def _load_each(
    entries: list[ModuleEntry],
    finder: PikeFinder,
    policy: ErrorPolicy,
    on_interrupt: Callable[[], None],
) -> list[ModuleType]:
    modules: list[ModuleType] = []
    earlier: dict[str, ModuleEntry] = {}
    failed_prefix: str | None = None
    import_module = importlib.import_module
    for entry in entries:
        name = entry.name
        if failed_prefix is not None and name.startswith(failed_prefix):
            continue
        failed_prefix = None
        top = "." not in name
        if top:
            error = collision(entry, finder, earlier)
            earlier.setdefault(name, entry)
            if error is not None:
                failed_prefix = name + "."
                policy.report(error)
                continue
        try:
            if top:
                served_before = name in finder.served
                with loading_for(name, finder):
                    module = import_module(name)
            else:
                module = import_module(name)
        except (Exception, SystemExit) as exc:
            forget_modules([name])
            failed_prefix = name + "."
            policy.report(import_error(entry, exc))
            continue
        except BaseException:
            forget_modules([name])
            on_interrupt()
            raise
        if (
            top
            and owner_of(module) is not finder
            and not _replaced_itself(name, module, finder, served_before)
        ):
            # Served by someone else after all (another thread's manager, or a
            # file that changed under us): use it only if it is the same file.
            error = collision(entry, finder, {})
            if error is not None:
                failed_prefix = name + "."
                policy.report(error)
                continue
        modules.append(module)
    return modules
