"""Importing the plugin modules a walk found, under the error policy (C5, C6, C14).

Every way pike imports plugins goes through `Loader`: discovery, refresh
and the named managers' drop-in folders. Each top-level name is checked for a
collision before anything runs; each module is imported through the standard
import system with the manager's finder standing alone for that name; what
the import returns is accepted only if the manager's own loader recorded it;
a module that fails leaves nothing half-imported.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable
from importlib import import_module, machinery
from types import ModuleType
from typing import Literal

from pike import _log
from pike._gc import collector_paused
from pike._loader import PACKAGE_DIR, import_error, registry_of, same_file
from pike._registry import Record
from pike._walk import ModuleEntry
from pike.errors import (
    PikeTypeError,
    PikeValueError,
    PikeWarning,
    PluginCollisionError,
    PluginError,
    _a_type_name,
)
from pike.finder import PROTECTED_NAMES, PikeFinder, claims, reserved

__all__ = ["ErrorPolicy", "Loader", "OnError", "forget_modules", "name_collision"]

OnError = Literal["raise", "warn", "collect"] | Callable[[PluginError], object]

logger = _log.get(__name__)

_MISSING = object()


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
        """Record ``error``, log it, then act on it; may raise."""
        self.errors.append(error)
        logger.info("%s", str(error))  # the text: a kept record must not keep frames alive
        action = self.action
        if action == "raise":
            raise error
        if action == "warn":
            warnings.warn(str(error), PikeWarning, stacklevel=_caller_stacklevel())
        elif callable(action):
            action(error)


_INSIDE = PACKAGE_DIR + os.sep  # pike's modules and pike.named's


def _caller_stacklevel() -> int:
    """The stacklevel of the first frame outside pike, for warnings.warn."""
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_INSIDE):
        frame = frame.f_back
        level += 1
    return level


def _location(module: object) -> str:
    try:
        where = getattr(module, "__file__", None) or getattr(
            getattr(module, "__spec__", None), "origin", None
        )
    except Exception:  # an object with a hostile __getattr__
        where = None
    return where if isinstance(where, str) and where else "a module with no file"


def _stdlib_location(name: str) -> str:
    module = sys.modules.get(name)
    if module is not None:
        return _location(module)
    if name in sys.builtin_module_names:
        return "built-in"
    spec = machinery.PathFinder.find_spec(name)
    return str(spec.origin) if spec is not None and spec.origin else "the standard library"


def _collision(entry: ModuleEntry, message: str, other: str) -> PluginCollisionError:
    return PluginCollisionError(message, entry.name, entry.path, other=other)


def name_collision(entry: ModuleEntry, held: ModuleEntry) -> PluginCollisionError | None:
    """The collision top-level ``entry`` meets by its name alone, nothing imported.

    ``held`` is the first entry of that name in the search paths (``entry``
    itself when it is the first): a later one is hidden by it. A standard-library
    or built-in name is taken whatever the folders hold.
    """
    if held.path != entry.path:
        return _hidden(entry, held)
    name = entry.name
    if name in PROTECTED_NAMES:
        kind = reserved(name)
        other = _stdlib_location(name)
        return _collision(
            entry,
            f"plugin module {name!r} at {entry.path} would shadow the {kind} module "
            f"{name!r} ({other}); rename the file",
            other,
        )
    return None


def _hidden(entry: ModuleEntry, holder: ModuleEntry) -> PluginCollisionError:
    name = entry.name
    return _collision(
        entry,
        f"plugin module {name!r} at {entry.path} is hidden by plugin module {name!r} at "
        f"{holder.path} in an earlier search path; rename one of them",
        holder.path,
    )


def forget_modules(names: set[str], *, submodules: bool = True) -> None:
    """Remove ``names`` and (unless told there are none) their submodules from ``sys.modules``.

    A removed submodule is also unhooked from its parent package, if the
    parent's attribute still refers to it. Iterates a snapshot: other threads
    may import meanwhile.
    """
    modules = sys.modules
    if submodules:
        prefixes = tuple(name + "." for name in names)
        doomed = [k for k in list(modules) if k in names or k.startswith(prefixes)]
    else:
        doomed = list(names)
    for key in doomed:
        module = modules.pop(key, None)
        parent_name, _, child = key.rpartition(".")
        parent = modules.get(parent_name) if parent_name else None
        if parent is not None and module is not None:
            try:
                if getattr(parent, child, None) is module:
                    delattr(parent, child)
            except Exception:  # a parent with hostile attribute access
                pass


class Loader:
    """Imports plugin modules through one finder, under one error policy.

    What it imports is recorded in ``finder.registry`` by the finder's loaders.
    ``on_interrupt`` is called before a ``KeyboardInterrupt`` propagates.
    """

    def __init__(
        self, finder: PikeFinder, policy: ErrorPolicy, on_interrupt: Callable[[], None]
    ) -> None:
        self.finder = finder
        self.registry = finder.registry
        self.policy = policy
        self.on_interrupt = on_interrupt

    def load(self, entries: list[ModuleEntry]) -> list[ModuleType]:
        """Import ``entries`` in order; return the modules of those that loaded.

        Errors go to the policy; a package that failed takes its submodules
        with it.
        """
        with collector_paused:
            return self._load_each(entries)

    def _load_each(self, entries: list[ModuleEntry]) -> list[ModuleType]:
        loaded: list[ModuleType] = []
        earlier: dict[str, ModuleEntry] = {}
        failed_prefix: str | None = None
        for entry in entries:
            name = entry.name
            if failed_prefix is not None and name.startswith(failed_prefix):
                continue
            failed_prefix = None
            try:
                module = self._import(entry, earlier)
            except PluginError as error:
                failed_prefix = name + "."
                if error.module_name != name:
                    # Raised by another plugin this one imports: this one failed.
                    error = import_error(name, entry.path, error)
                self.policy.report(error)
                continue
            loaded.append(module)
        return loaded

    def _import(self, entry: ModuleEntry, earlier: dict[str, ModuleEntry]) -> ModuleType:
        """Import one entry; raise a PluginError if it collides or fails."""
        name = entry.name
        top = "." not in name
        if top:
            held = earlier.setdefault(name, entry)
            existing = self._check_before(entry, held)
            if existing is not _MISSING:
                return existing  # type: ignore[return-value]
        # Claim the name in this thread (see pike.finder.claims), by hand: this
        # runs once per module.
        previous = getattr(claims, "claim", None)
        claims.claim = (entry, self.finder)
        try:
            module = import_module(name)
        except KeyboardInterrupt:
            self._forget(name)
            self.on_interrupt()
            raise
        except PluginError:
            self._forget(name)
            raise
        except BaseException as exc:  # C14: SystemExit, GeneratorExit... from a plugin
            self._forget(name)
            raise import_error(name, entry.path, exc) from exc
        finally:
            claims.claim = previous
        if not self.registry.owns(name, module):
            if top:
                # Served by someone else after all (another manager, or a file that
                # moved away meanwhile): use it only if it is the same file.
                self._foreign(entry, module)
            elif self.registry.get(name) is None:
                # A submodule of a borrowed package, or one the standard path
                # finder loaded (a __path__ leading elsewhere): used, not run by us.
                self.registry.borrow(Record(entry, module, None, None, borrowed=True))
        return module

    def _forget(self, name: str) -> None:
        """Take out what a failed import of ``name`` left: it and its submodules."""
        prefix = name + "."
        self.registry.forget({n for n in self.registry if n == name or n.startswith(prefix)})
        forget_modules({name})

    def _check_before(self, entry: ModuleEntry, held: ModuleEntry) -> object:
        """Raise the collision that keeps top-level ``entry`` from loading, if any.

        Returns the module to use if it is loaded already, else ``_MISSING``.
        """
        name = entry.name
        error = name_collision(entry, held)
        if error is not None:
            raise error
        existing = sys.modules.get(name, _MISSING)
        if existing is _MISSING:
            return _MISSING
        if existing is None:
            raise _collision(
                entry,
                f"plugin module {name!r} at {entry.path} cannot load: the program blocked "
                f"the name (sys.modules[{name!r}] is None); rename the file",
                "blocked",
            )
        record = self.registry.get(name)
        if record is None or record.module is not existing:
            self._foreign(entry, existing)
        elif record.entry.path != entry.path:
            raise _hidden(entry, record.entry)  # loaded by an earlier refresh or import
        return existing

    def _foreign(self, entry: ModuleEntry, module: object) -> None:
        """``module``, not loaded by this manager, holds ``entry``'s name: raise, or borrow it."""
        name = entry.name
        other = _location(module)
        owner = registry_of(module)
        if owner is not None and owner is not self.registry and not owner.closed:
            raise _collision(
                entry,
                f"plugin module {name!r} at {entry.path} is already loaded by another "
                f"active PikeManager from {other}; a top-level name belongs to one "
                "manager at a time, so rename one of them or use one manager",
                other,
            )
        if (owner is None or owner.closed) and same_file(other, entry.path):
            # The host imported this very file itself (or kept it from a manager
            # with unload=False): use it, but it stays the host's.
            self.registry.borrow(Record(entry, module, None, None, borrowed=True))
            return
        raise _collision(
            entry,
            f"plugin module {name!r} at {entry.path} would shadow module {name!r} "
            f"already imported from {other}; rename the file",
            other,
        )
