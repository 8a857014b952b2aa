"""PikeFinder: the meta-path finder that serves plugin modules.

It serves a top-level name only if a module or package of that name lies
directly in one of its search paths, and never a standard-library or built-in
name; it serves a submodule only of a package its manager loaded. The lookup
itself is the standard library's ``FileFinder``, one per folder; the entry its
manager is importing (found by the walk, by the same precedence) it serves
from its path alone, with the spec ``FileFinder`` would make. Either way specs,
bytecode caching, sourceless and extension modules are exactly what a normal
import gives; the loaders are the standard ones as subclassed in
`pike._importing`, which record each module in the manager's session.

Before handing out a spec the finder takes one stat of the file: it tells
whether the file can be trusted (`pike._trust`) and is its state for
refresh (`pike._filestate`). It also keeps pike 0.2.0's helpers
(``module_name_to_filename``, ``get_import_filename``, ``find_module``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from importlib import machinery
from importlib.machinery import ModuleSpec
from importlib.util import spec_from_file_location
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pike._filestate import FileState
from pike._importing import ArchiveLoader, claimed, loader_details
from pike._names import (
    PROTECTED_NAMES,
    is_valid_name,
    plugin_name,
    private_prefix,
    protected,
    split_key,
)
from pike._session import Expected, Session
from pike._trust import Trust, TrustPolicy
from pike._walk import ModuleEntry, archives_in

if TYPE_CHECKING:
    from pike._gate import Gate
    from pike._namespace import Namespace
    from pike.loader import PikeLoader

__all__ = ["PikeFinder"]


class PikeFinder:
    """Finds plugin modules and packages in ``paths``, for one manager.

    ``paths`` is a list of folders, used as given (the manager passes absolute,
    checked paths). ``trust`` is ``"owner"`` (check each file and folder,
    `pike._trust`) or ``"any"``. ``session`` is the manager's (what its loaders
    record into); a finder made on its own, to be put into ``sys.meta_path``
    by the program, records into one of its own. ``isolate`` (for a finder of
    its own; a manager's session says it) serves each path's modules under the
    path's private keys only (`pike._namespace`). ``gate`` is the manager's: what its
    loaders ask before a module runs (`pike._gate`).

    A meta-path finder: ``isinstance(finder, importlib.abc.MetaPathFinder)``
    holds once a program has imported ``importlib.abc``. pike does not import
    it itself (it costs more than the rest of pike's core); it registers the
    class with it where the program has.
    """

    def __init__(
        self,
        paths: Iterable[str] | None = None,
        *,
        trust: Trust = "owner",
        session: Session | None = None,
        isolate: bool = False,
        gate: Gate | None = None,
    ) -> None:
        _register_with_abc()
        self.paths: list[str] = [os.fspath(p) for p in (paths or [])]
        self._trust = TrustPolicy(trust)
        self._trust_name = trust
        if session is None:
            session = Session.detached(isolate=bool(isolate))
            if session.isolate:
                for path in self.paths:
                    session.add_source(path)
        self._session = session
        self._gate = gate
        self._details = loader_details(self._session, gate)
        self._top: list[tuple[str, machinery.FileFinder]] = [
            (p, machinery.FileFinder(p, *self._details)) for p in self.paths
        ]
        self._folders: dict[str, machinery.FileFinder] = {}
        # Folders whose trust (with their bytecode cache's) was checked: taken anew
        # whenever the listings are forgotten (at each activation).
        self._trusted: set[str] = set()
        self._aside = threading.local()

    # -- the import protocol ----------------------------------------------------------

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        """The spec of a plugin module or submodule of this finder's, or None to pass."""
        if not self._session.active or getattr(self._aside, "on", False):
            return None
        if path is None:
            return self._top_level(fullname)
        return self._submodule(fullname, path)

    @contextlib.contextmanager
    def standing_aside(self) -> Iterator[None]:
        """In this thread, this finder serves nothing for the length of the block."""
        previous = getattr(self._aside, "on", False)
        self._aside.on = True
        try:
            yield
        finally:
            self._aside.on = previous

    def _top_level(self, name: str) -> ModuleSpec | None:
        if self._session.isolate:  # a private key of a source's; no other top-level name
            return self._private_top(name)
        if name in PROTECTED_NAMES or "." in name or not is_valid_name(name):
            return None
        claim = claimed()
        mine = None
        if claim is not None and claim.entry.key == name:
            if claim.session is not self._session:
                return None  # another manager is importing its own module of that name
            # This manager is importing the entry it found: no folder listing needed.
            mine = claim.entry
            spec = self._spec_of(mine)
            if spec is not None and (
                prepared := self._prepared(spec, mine.search_path, mine.search_path, mine)
            ):
                return prepared
            # Its file is gone since the walk: the search paths are looked up as they are now.
        for search_path, finder in self._top:
            spec = finder.find_spec(name)
            # A spec without a loader is a namespace package: a directory
            # without __init__, which is not a plugin.
            if spec is not None and spec.loader is not None:
                return self._prepared(spec, search_path, finder.path, mine)
        return None

    def _private_top(self, key: str) -> ModuleSpec | None:
        """The spec of a top-level module of an isolated source, by its private key
        (`pike._names.private_key`): served as a top-level plugin is without isolation."""
        found = split_key(key)
        if found is None or "." in found[1] or not is_valid_name(found[1]):
            return None
        prefix, name = found
        session = self._session
        namespace = session.namespace(prefix) or self._archive_named(prefix)
        if namespace is None:
            return None
        if namespace.archive is not None:
            return self._member(key, namespace, "")
        source = namespace.source
        claim = claimed()
        if claim is not None and claim.entry.key == key:
            if claim.session is not session:
                return None  # another manager is importing its own module of that key
            mine = claim.entry  # the walk's entry: no folder listing needed
            spec = self._spec_of(mine)
            if spec is not None and (
                prepared := self._prepared(spec, source, source, mine, namespace)
            ):
                return prepared
        finder = self._folders.get(source)
        if finder is None:
            finder = self._folders[source] = machinery.FileFinder(source, *self._details)
        spec = finder.find_spec(name)
        if spec is None or spec.loader is None or not isinstance(spec.origin, str):
            return None  # nothing, or a namespace package: no plugin
        entry = ModuleEntry(
            name, spec.origin, source, spec.submodule_search_locations is not None, key=key
        )
        spec = self._spec_of(entry)  # made again under its key
        return None if spec is None else self._prepared(spec, source, source, entry, namespace)

    def _spec_of(self, entry: ModuleEntry) -> ModuleSpec | None:
        """The spec of an entry, from its path alone, as FileFinder makes it."""
        path = entry.path
        for loader, suffixes in self._details:
            if path.endswith(tuple(suffixes)):
                locations = [os.path.dirname(path)] if entry.is_package else None
                return spec_from_file_location(
                    entry.key,
                    path,
                    loader=loader(entry.key, path),
                    submodule_search_locations=locations,
                )
        return None

    def _submodule(self, name: str, path: Sequence[str]) -> ModuleSpec | None:
        session = self._session
        parent = session.serves(name.rpartition(".")[0])
        if parent is None:
            return None  # not a package of this manager's
        if parent.source != parent.search_path:  # a package in an archive
            found = split_key(name)
            namespace = session.namespace(found[0]) if found is not None else None
            if namespace is None or namespace.archive is None:
                return None  # pragma: no cover - an archive's entries have its namespace
            folder = namespace.archive.member_of(parent.path).rpartition("/")[0]
            return self._member(name, namespace, folder)
        search_path, folders = parent.search_path, list(path)
        claim = claimed()
        mine = claim.entry if claim is not None and claim.session is session else None
        if mine is not None and mine.key == name and folders == [_folder_of(mine)]:
            # The walk's own entry, in the one folder its parent searches: no folder
            # listing needed, as for a top-level entry ("nested 1000" benchmark row).
            spec = self._spec_of(mine)
            if spec is not None and (
                prepared := self._prepared(spec, search_path, folders[0], mine)
            ):
                return prepared
            # Its file is gone since the walk: the folder is looked up as it is now.
        for folder in folders:
            if not isinstance(folder, str):
                continue
            finder = self._folders.get(folder)
            if finder is None:
                finder = self._folders[folder] = machinery.FileFinder(folder, *self._details)
            spec = finder.find_spec(name)
            if spec is not None and spec.loader is not None:
                return self._prepared(spec, search_path, finder.path, mine)
        # Nothing, or only namespace portions: the standard path finder takes it.
        return None

    def _member(self, key: str, namespace: Namespace, folder: str) -> ModuleSpec | None:
        """The spec of module ``key`` of an archive (`pike._archive`), from ``folder`` in it."""
        from pike._archive import Archive, ArchiveError

        archive = namespace.archive
        assert archive is not None
        try:
            st = os.stat(archive.path)
        except OSError:
            return None  # gone since it was read
        if FileState.of(st, archive.path, time.time_ns()).key != archive.state.key:
            try:  # replaced since it was read: read as it is now
                archive = Archive(archive.path, st)
            except ArchiveError:
                return None
            self._session.add_source(archive.path, archive)
        found = archive.find(folder, plugin_name(key).rpartition(".")[2])
        if found is None:
            return None
        member, is_package = found
        path = archive.path_of(member)
        claim = claimed()
        mine = claim.entry if claim is not None and claim.session is self._session else None
        if mine is not None and mine.key == key and mine.path == path:
            entry = mine
        else:
            entry = ModuleEntry(
                plugin_name(key),
                path,
                os.path.dirname(archive.path),
                is_package,
                archive.path,
                key=key,
            )
        trust = self._trust
        if trust.checks:
            if not trust.trusted(st):
                trust.require_plugin(entry.name, archive.path, st)
            container = os.path.dirname(archive.path)
            if container not in self._trusted:
                trust.require_folder(entry.name, container)
                self._trusted.add(container)
        loader: Any = ArchiveLoader(key, path, archive, member, self._session, self._gate)
        spec = ModuleSpec(key, loader, origin=path, is_package=is_package)
        spec.has_location = True
        if is_package:
            spec.submodule_search_locations = [os.path.dirname(path)]
        state = FileState.of(st, archive.path, time.time_ns())
        self._session.expect(key, Expected(entry, state, st, namespace))
        return spec

    def _archive_named(self, prefix: str) -> Namespace | None:
        """The namespace of the plugin archive in a search path whose private prefix is
        ``prefix``, if there is one (a pickle may name it before the walk read it)."""
        from pike._archive import Archive, ArchiveError

        for search_path in self.paths:
            for path in archives_in(search_path):
                if private_prefix(path) == prefix:
                    try:
                        archive = Archive(path, os.stat(path))
                    except (OSError, ArchiveError):
                        return None
                    return self._session.add_source(path, archive)
        return None

    def _prepared(
        self,
        spec: ModuleSpec,
        search_path: str,
        folder: str,
        mine: ModuleEntry | None,
        namespace: Namespace | None = None,
    ) -> ModuleSpec | None:
        """Check and stat the file ``spec`` found; tell the session what its loader runs."""
        origin = spec.origin
        if not isinstance(origin, str):  # pragma: no cover - FileFinder always sets it
            return None
        try:
            st = os.stat(origin)
        except OSError:
            return None  # gone since the folder was listed
        key = spec.name
        if mine is not None and mine.key == key and mine.path == origin:
            entry = mine  # the walk's own entry for it
        else:
            # Under isolation the key is the source's private prefix, then the plugin's name.
            name = plugin_name(key)
            entry = ModuleEntry(
                name, origin, search_path, spec.submodule_search_locations is not None, key=key
            )
        trust = self._trust
        if trust.checks:
            if not trust.trusted(st):
                trust.require_plugin(entry.name, origin, st)
            if folder not in self._trusted:  # each folder once
                trust.require_folder(entry.name, folder)
                self._trusted.add(folder)
        if namespace is None and self._session.isolate:
            found = split_key(key)
            namespace = self._session.namespace(found[0]) if found is not None else None
        state = FileState.of(st, origin, time.time_ns())
        self._session.expect(key, Expected(entry, state, st, namespace))
        return spec

    def invalidate_caches(self) -> None:
        """Forget the cached folder listings (called by importlib.invalidate_caches)."""
        for _path, finder in self._top:
            finder.invalidate_caches()
        self._folders.clear()
        self._trusted = set()
        self._trust.renew()

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

        pike 0.2.0's lookup by file name, checked by this finder's ``trust``.
        Standard-library and built-in names are never served.
        """
        if protected(fullname.partition(".")[0]) or not all(
            is_valid_name(part) for part in fullname.split(".")
        ):
            return None
        filename = self.get_import_filename(self.module_name_to_filename(fullname))
        from pike.loader import PikeLoader  # pike 0.2.0's loader, for its API only

        if filename is None:
            return None
        return PikeLoader(fullname, filename, trust=self._trust_name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.paths!r})"


_registered = False


def _folder_of(entry: ModuleEntry) -> str:
    """The folder an entry lies in (a package's: the folder of its own folder)."""
    folder = os.path.dirname(entry.path)
    return os.path.dirname(folder) if entry.is_package else folder


def _register_with_abc() -> None:
    """Make PikeFinder a virtual ``importlib.abc.MetaPathFinder``, if that is imported."""
    global _registered
    if not _registered:
        abc = sys.modules.get("importlib.abc")
        if abc is not None:
            abc.MetaPathFinder.register(PikeFinder)
            _registered = True


_register_with_abc()
