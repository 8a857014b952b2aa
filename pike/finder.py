"""PikeFinder: the meta-path finder that serves plugin modules by top-level name.

It serves a name only if a module or package of that name lies directly in one
of its search paths, and never a standard-library or built-in name (contract C4,
C5). The lookup itself is the standard library's ``FileFinder``, one per search
path, so specs, loaders, bytecode caching, sourceless and extension modules are
exactly what a normal import would give. Submodules are left to the standard
path finder through the package's ``__path__``.
"""

from __future__ import annotations

import importlib.abc
import os
import sys
import threading
from collections.abc import Iterable, Sequence
from importlib import machinery
from importlib.machinery import ModuleSpec
from types import ModuleType

from pike._walk import is_valid_name

__all__ = ["PROTECTED_NAMES", "PikeFinder", "loading_for", "owner_of"]

#: Top-level names no plugin may take: the standard library and built-ins.
PROTECTED_NAMES: frozenset[str] = frozenset(sys.stdlib_module_names) | frozenset(
    sys.builtin_module_names
)

_LOADER_DETAILS = (
    (machinery.ExtensionFileLoader, machinery.EXTENSION_SUFFIXES),
    (machinery.SourceFileLoader, machinery.SOURCE_SUFFIXES),
    (machinery.SourcelessFileLoader, machinery.BYTECODE_SUFFIXES),
)

# The attribute a served spec carries to say which finder served it.
_OWNER_ATTR = "_pike_finder"

# While a manager imports one of its own top-level plugins, other pike finders
# in this thread stand aside for that name, so the manager gets its own file.
_local = threading.local()


class loading_for:
    """Context manager: ``finder`` alone may serve ``name`` in this thread."""

    __slots__ = ("_finder", "_name", "_previous")

    def __init__(self, name: str, finder: PikeFinder) -> None:
        self._name = name
        self._finder = finder
        self._previous: tuple[str, PikeFinder] | None = None

    def __enter__(self) -> None:
        self._previous = getattr(_local, "claim", None)
        _local.claim = (self._name, self._finder)

    def __exit__(self, *exc_info: object) -> None:
        _local.claim = self._previous


def owner_of(module: object) -> PikeFinder | None:
    """The PikeFinder that served ``module``, or None for any other module."""
    try:
        owner = getattr(getattr(module, "__spec__", None), _OWNER_ATTR, None)
    except Exception:  # an object with a hostile __getattr__ in sys.modules
        return None
    return owner if isinstance(owner, PikeFinder) else None


class PikeFinder(importlib.abc.MetaPathFinder):
    """Finds top-level plugin modules and packages in ``paths``.

    ``paths`` is a list of folders; each is used as given (the manager passes
    absolute paths). ``served`` holds the top-level names this finder has served.
    """

    def __init__(self, paths: Iterable[str] | None = None) -> None:
        self.paths: list[str] = [os.fspath(p) for p in (paths or [])]
        self._finders = [machinery.FileFinder(p, *_LOADER_DETAILS) for p in self.paths]
        self.served: set[str] = set()

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        """Return the spec of a top-level plugin module, or None to pass."""
        if path is not None or "." in fullname:
            return None
        if fullname in PROTECTED_NAMES or not is_valid_name(fullname):
            return None
        claim = getattr(_local, "claim", None)
        if claim is not None and claim[0] == fullname and claim[1] is not self:
            return None
        for finder in self._finders:
            spec = finder.find_spec(fullname)
            # A spec without a loader is a namespace package: a directory
            # without __init__, which is not a plugin.
            if spec is not None and spec.loader is not None:
                setattr(spec, _OWNER_ATTR, self)
                self.served.add(fullname)
                return spec
        return None

    def invalidate_caches(self) -> None:
        """Forget the cached folder listings (called by importlib.invalidate_caches)."""
        for finder in self._finders:
            finder.invalidate_caches()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.paths!r})"
