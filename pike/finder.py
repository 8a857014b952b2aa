"""PikeFinder: the meta-path finder that serves plugin modules (contract C4, C5, C15).

It serves a top-level name only if a module or package of that name lies
directly in one of its search paths, and never a standard-library or built-in
name; it serves a submodule only of a package it served. The lookup itself is
the standard library's ``FileFinder``, one per folder, so specs, bytecode
caching, sourceless and extension modules are exactly what a normal import
gives; the loaders are the standard ones as subclassed in `pike._loader`,
which record each module in the finder's `Registry`.

Before handing out a spec the finder takes one stat of the file: it tells
whether the file can be trusted (C15) and is remembered to notice changes
(C9). It also keeps pike 0.2.0's helpers (``module_name_to_filename``,
``get_import_filename``, ``find_module``).
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from importlib import machinery
from importlib.machinery import ModuleSpec
from importlib.util import spec_from_file_location
from types import ModuleType
from typing import TYPE_CHECKING

from pike import _trust
from pike._filestate import file_state
from pike._loader import SourceFileLoader, loader_details
from pike._registry import Registry
from pike._walk import ModuleEntry, is_valid_name

if TYPE_CHECKING:
    from pike.loader import PikeLoader

__all__ = ["PROTECTED_NAMES", "PikeFinder", "claims", "reserved", "standing_aside"]

#: Top-level names no plugin may take: the standard library and built-ins.
PROTECTED_NAMES: frozenset[str] = frozenset(sys.stdlib_module_names) | frozenset(
    sys.builtin_module_names
)


def reserved(name: str) -> str | None:
    """``"built-in"`` or ``"standard library"`` if no plugin may take ``name``, else None."""
    if name not in PROTECTED_NAMES:
        return None
    return "built-in" if name in sys.builtin_module_names else "standard library"


#: While a manager imports one of its plugins it sets ``claims.claim`` to
#: ``(entry, finder)`` in its thread: other pike finders stand aside for that
#: name (if top-level), so the manager gets its own file, and its own finder
#: reuses the entry the walk made.
claims = threading.local()


@contextlib.contextmanager
def standing_aside(finder: PikeFinder) -> Iterator[None]:
    """In this thread, ``finder`` serves nothing for the length of the block.

    For imports that must find the installed module of a name, never a
    plugin's (an installed distribution's entry point, C5).
    """
    previous = getattr(claims, "aside", None)
    claims.aside = finder
    try:
        yield
    finally:
        claims.aside = previous


class PikeFinder:
    """Finds plugin modules and packages in ``paths``, for one manager.

    ``paths`` is a list of folders, used as given (the manager passes absolute,
    checked paths). ``registry`` records what its loaders ran. ``trust`` is
    ``"owner"`` (check each file, C15) or ``"any"``.

    A meta-path finder: ``isinstance(finder, importlib.abc.MetaPathFinder)``
    holds once a program has imported ``importlib.abc``. pike does not import
    it itself (it costs more than the rest of pike, C16); it registers the
    class with it where the program has.
    """

    def __init__(
        self, paths: Iterable[str] | None = None, *, trust: _trust.Trust = "owner"
    ) -> None:
        _register_with_abc()
        self.paths: list[str] = [os.fspath(p) for p in (paths or [])]
        self.registry = Registry()
        self._check = _trust.check_trust(trust)
        self._details = loader_details()
        self._top: list[tuple[str, machinery.FileFinder]] = [
            (p, machinery.FileFinder(p, *self._details)) for p in self.paths
        ]
        self._folders: dict[str, machinery.FileFinder] = {}
        # Folders whose trust (with their bytecode cache's) was checked, and the
        # owners a trusted file may have: both taken anew at each activation.
        self._trusted: set[str] = set()
        self._owners = _trust.owners()

    # -- the import protocol ----------------------------------------------------------

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        """The spec of a plugin module or submodule of this finder's, or None to pass."""
        if self.registry.closed or getattr(claims, "aside", None) is self:
            return None
        if path is None:
            return self._top_level(fullname)
        return self._submodule(fullname, path)

    def _top_level(self, name: str) -> ModuleSpec | None:
        if name in PROTECTED_NAMES or "." in name or not is_valid_name(name):
            return None
        claim: tuple[ModuleEntry, PikeFinder] | None = getattr(claims, "claim", None)
        if claim is not None and claim[0].name == name:
            if claim[1] is not self:
                return None
            # This manager is importing the entry it found: no folder listing needed.
            spec = self._spec_of(claim[0])
            if spec is not None:
                return self._prepared(spec, claim[0].search_path, claim[0].search_path, claim)
        for search_path, finder in self._top:
            spec = finder.find_spec(name)
            # A spec without a loader is a namespace package: a directory
            # without __init__, which is not a plugin.
            if spec is not None and spec.loader is not None:
                return self._prepared(spec, search_path, finder.path, claim)
        return None

    def _spec_of(self, entry: ModuleEntry) -> ModuleSpec | None:
        """The spec of a top-level entry, from its path alone, as FileFinder makes it."""
        path = entry.path
        for loader_class, suffixes in self._details:
            if path.endswith(tuple(suffixes)):
                loader = loader_class(entry.name, path)
                locations = [os.path.dirname(path)] if entry.is_package else None
                return spec_from_file_location(
                    entry.name, path, loader=loader, submodule_search_locations=locations
                )
        return None

    def _submodule(self, name: str, path: Sequence[str]) -> ModuleSpec | None:
        parent = self.registry.serves(name.rpartition(".")[0])
        if parent is None:
            return None  # not a package of this manager's
        for folder in list(path):
            if not isinstance(folder, str):
                continue
            finder = self._folders.get(folder)
            if finder is None:
                finder = self._folders[folder] = machinery.FileFinder(folder, *self._details)
            spec = finder.find_spec(name)
            if spec is not None and spec.loader is not None:
                claim = getattr(claims, "claim", None)
                return self._prepared(spec, parent.search_path, finder.path, claim)
        # Nothing, or only namespace portions: the standard path finder takes it.
        return None

    def _prepared(
        self,
        spec: ModuleSpec,
        search_path: str,
        folder: str,
        claim: tuple[ModuleEntry, PikeFinder] | None,
    ) -> ModuleSpec | None:
        """Check and stat the file ``spec`` found; tell its loader what to record."""
        origin = spec.origin
        if not isinstance(origin, str):  # pragma: no cover - FileFinder always sets it
            return None
        try:
            st = os.stat(origin)
        except OSError:
            return None  # gone since the folder was listed
        name = spec.name
        if self._check:
            # The common case inline: owned by you or root, and not o+w.
            if st.st_mode & stat.S_IWOTH or st.st_uid not in self._owners:
                _trust.require_trusted(name, origin, st)
            if folder not in self._trusted:  # each folder once
                _trust.require_trusted_folder(name, folder)
                self._trusted.add(folder)
        if claim is not None and claim[1] is self and claim[0].name == name:
            entry = claim[0]  # the walk's entry for it
            if entry.path != origin:
                entry = ModuleEntry(name, origin, search_path, entry.is_package)
        else:
            entry = ModuleEntry(
                name, origin, search_path, spec.submodule_search_locations is not None
            )
        stamp, digest = file_state(st, origin, time.time_ns())
        loader = spec.loader
        loader.pike_record = (self.registry, entry, stamp, digest)  # type: ignore[union-attr]
        if type(loader) is SourceFileLoader:
            loader.pike_stat = st
        return spec

    def invalidate_caches(self) -> None:
        """Forget the cached folder listings (called by importlib.invalidate_caches)."""
        for _path, finder in self._top:
            finder.invalidate_caches()
        self._folders.clear()
        self._trusted = set()
        self._owners = _trust.owners()

    # -- pike 0.2.0's helpers -----------------------------------------------------------

    def module_name_to_filename(self, fullname: str) -> str:
        """``"a.b.c"`` -> ``"a/b/c"``: a module name as a path relative to a search path."""
        return os.path.join(*fullname.split("."))

    def get_import_filename(self, module_path: str) -> str | None:
        """The file that imports ``module_path`` (a name given to
        [`module_name_to_filename`][pike.finder.PikeFinder.module_name_to_filename]).

        ``<path>/<module_path>/__init__.py`` for a package, else
        ``<path>/<module_path>.py``, in the first search path that has it.
        """
        for base_path in self.paths:
            target = os.path.join(base_path, module_path)
            if os.path.isdir(target):
                filename = os.path.join(target, "__init__.py")
            else:
                filename = target + ".py"
            if os.path.isfile(filename):
                return filename
        return None

    def find_module(self, fullname: str, path: Sequence[str] | None = None) -> PikeLoader | None:
        """A [`PikeLoader`][pike.loader.PikeLoader] for ``fullname`` in the search paths, or None.

        pike 0.2.0's lookup by file name. Standard-library and built-in names
        are never served (C5).
        """
        if reserved(fullname.partition(".")[0]) or not all(
            is_valid_name(part) for part in fullname.split(".")
        ):
            return None
        filename = self.get_import_filename(self.module_name_to_filename(fullname))
        from pike.loader import PikeLoader  # pike 0.2.0's loader, for its API only

        return PikeLoader(fullname, filename) if filename is not None else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.paths!r})"


_registered = False


def _register_with_abc() -> None:
    """Make PikeFinder a virtual ``importlib.abc.MetaPathFinder``, if that is imported."""
    global _registered
    if not _registered:
        abc = sys.modules.get("importlib.abc")
        if abc is not None:
            abc.MetaPathFinder.register(PikeFinder)
            _registered = True


_register_with_abc()
