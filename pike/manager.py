"""PikeManager: load the plugins of drop-in folders for the length of a block.

    from pike.manager import PikeManager

    with PikeManager(["plugins"]) as mgr:
        drivers = mgr.get_all_inherited_classes(Driver)

The manager is active from the moment it is made (as in pike 0.2.0) until
``cleanup()``, the end of the ``with`` block, or its garbage collection; it can
be entered again afterwards.

Data flows one way: the folders are walked (`pike._walk`) into entries;
the `Loader` imports them through the manager's finder,
whose loaders write what ran into the registry (`pike._registry`);
classes are picked from the registry's records (`pike._classes`); refresh
diffs the registry against a new walk (`pike._refresh`); cleanup takes
out what the registry says the manager loaded (`pike._session`).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from types import ModuleType, TracebackType
from typing import Any, TypeVar

from pike import _refresh, _trust, _walk
from pike._classes import apply_filter, defined_classes, type_module
from pike._gc import collector_paused
from pike._loading import ErrorPolicy, Loader, OnError
from pike._paths import SearchPaths, is_within, normalize_search_paths
from pike._refresh import RefreshReport
from pike._registry import Record
from pike._session import Session
from pike._walk import ModuleEntry, SkippedEntry
from pike.errors import InactiveManagerError, PikeTypeError, PluginError, _a_type_name
from pike.finder import PikeFinder

__all__ = ["PikeManager"]

T = TypeVar("T")
_Manager = TypeVar("_Manager", bound="PikeManager")


class PikeManager:
    """Finds, imports and hands out the plugins in ``search_paths``.

    :param search_paths: a folder (``str`` or ``os.PathLike``) or an iterable of
        them; relative paths are taken from the current directory now.
    :param on_error: what a plugin error does: ``"raise"`` (default), ``"warn"``
        (a [`PikeWarning`][pike.errors.PikeWarning], then go on), ``"collect"`` (go on),
        or a callable that receives the [`PluginError`][pike.errors.PluginError].
    :param unload: remove the plugin modules from ``sys.modules`` at cleanup
        (default). ``False`` keeps them, for programs that import plugin modules
        lazily after the block.
    :param trust: ``"owner"`` (default): load only folders and files owned by
        you or root that other users cannot write (C15); ``"any"``: no check.
    :raises SearchPathError: a path does not exist, is not a folder or cannot be read.
    :raises UntrustedPathError: a path that other users could change.
    :raises PikeTypeError: a path or ``on_error`` of the wrong type (also a ``TypeError``).
    """

    def __init__(
        self,
        search_paths: SearchPaths = None,
        *,
        on_error: OnError = "raise",
        unload: bool = True,
        trust: _trust.Trust = "owner",
    ) -> None:
        check = _trust.check_trust(trust)
        self.search_paths: list[str] = normalize_search_paths(search_paths, trust=check)
        self._policy = ErrorPolicy(on_error)
        self.module_finder = PikeFinder(self.search_paths, trust=trust)
        self._registry = self.module_finder.registry
        self._session = Session(self.module_finder, self.search_paths, bool(unload))
        # session.end, not self.cleanup: errors keep the frames that hold this
        # callable, and must not keep the manager alive through them.
        self._loader = Loader(self.module_finder, self._policy, self._session.end)
        self._walk: _walk.Walk | None = None
        self._loaded = False
        self._classes: tuple[int, list[type]] | None = None
        self.add_to_meta_path()

    # -- lifecycle -----------------------------------------------------------

    def add_to_meta_path(self) -> None:
        """Activate the manager: put its finder first in ``sys.meta_path``.

        Done by the constructor and by ``with``; needed by hand only to reuse a
        manager after [`cleanup`][pike.manager.PikeManager.cleanup] without a ``with`` block.
        """
        with self._session.lock:
            if self._session.start():
                self._forget_discovery()
                self._policy.errors.clear()

    def cleanup(self) -> None:
        """Deactivate the manager and leave the interpreter as it was found.

        Removes the finder from ``sys.meta_path``, the plugin modules from
        ``sys.modules`` (unless ``unload=False``), the ``sys.path`` entries the
        plugins added under the search paths and their importer-cache entries.
        Classes already obtained keep working. Safe to call any number of times.
        """
        with self._session.lock:
            self._forget_discovery()
            self._session.end()

    def __del__(self) -> None:
        """Clean up (pike 0.2.0 calls it by hand too); never raises."""
        # A half-made manager has no session; at shutdown anything may be gone.
        with contextlib.suppress(Exception):
            self._session.end()

    def __enter__(self: _Manager) -> _Manager:
        self.add_to_meta_path()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    def _forget_discovery(self) -> None:
        self._walk = None
        self._loaded = False
        self._classes = None

    # -- what was found --------------------------------------------------------

    @property
    def active(self) -> bool:
        """True between activation and cleanup."""
        return self._session.active

    @property
    def errors(self) -> list[PluginError]:
        """The plugin errors met by the last discovery, in the order met."""
        return list(self._policy.errors)

    @property
    def skipped(self) -> list[SkippedEntry]:
        """Folder entries that are not plugin modules, each with its reason."""
        return list(self._scan().skipped)

    @property
    def modules(self) -> list[ModuleEntry]:
        """Every plugin module on the search paths, in load order (nothing is imported)."""
        return list(self._scan().modules)

    def _scan(self) -> _walk.Walk:
        walk = self._walk
        if walk is None:
            walk = self._walk = _walk.walk(self.search_paths)
        return walk

    def get_module_names(self) -> Iterator[str]:
        """An iterator over the names of the top-level plugin modules (not packages).

        In C3 order; nothing is imported; a name found in two search paths
        comes once. The folders are listed when this is called.
        """
        return iter(self._top_level_names(packages=False))

    def get_package_names(self) -> Iterator[str]:
        """An iterator over the names of the top-level plugin packages, like
        [`get_module_names`][pike.manager.PikeManager.get_module_names]."""
        return iter(self._top_level_names(packages=True))

    def _top_level_names(self, packages: bool) -> list[str]:
        names: list[str] = []
        for search_path in self.search_paths:
            try:
                found = _walk.top_level_names(search_path, packages=packages)
            except OSError as exc:
                raise _walk.vanished(search_path, exc) from None
            if names:
                seen = set(names)
                found = [name for name in found if name not in seen]
            names.extend(found)
        return names

    # -- loading -------------------------------------------------------------

    def _check_active(self) -> None:
        if not self._session.active:
            raise InactiveManagerError(
                "this PikeManager was cleaned up; use it inside its 'with' block, "
                "or call add_to_meta_path() to activate it again"
            )

    def _load(self) -> _walk.Walk:
        """Import every plugin module once per activation; return the walk."""
        with self._session.lock:
            walk = self._scan()
            if not self._loaded:
                self._check_active()
                self._policy.errors.clear()
                self._loader.load(walk.modules)
                self._loaded = True
                self._note_all_loaded(walk)
            return walk

    def _note_all_loaded(self, walk: _walk.Walk) -> None:
        """Mark ``walk`` if each of its entries is loaded, with a record of that very
        entry, and nothing else is: a refresh then goes through the records alone."""
        registry = self._registry
        if len(registry) != len(walk.modules):
            return
        get = registry.get
        for entry in walk.modules:
            record = get(entry.name)
            if record is None:
                return
            if record.entry is not entry:
                if record.entry != entry:
                    return
                record.entry = entry  # a sibling imported it first: the same entry, made anew
        walk.loaded_at = registry.version

    def _import_plugin(self, name: str) -> ModuleType:
        """Import plugin module ``name`` (and the packages above it) by the manager's rules.

        For the named managers' drop-in folders. Raises the PluginError that
        kept it from loading, or ImportError if no search path has it.
        """
        with self._session.lock:
            self._check_active()
            # Found by name, folders unlisted: one plugin of a large folder costs one (C16).
            entries = _walk.find_entries(self.search_paths, name)
            if not entries:
                raise ImportError(f"no plugin module {name!r} in {self.search_paths}")
            policy = ErrorPolicy("raise")
            loaded = Loader(self.module_finder, policy, self._session.end).load(entries)
            self._classes = None
            return loaded[-1]

    def refresh(self) -> RefreshReport:
        """Rescan the search paths and bring the loaded plugins up to date (C9).

        New modules are imported, modules whose file changed (and modules that
        use them) are executed afresh as new module objects, modules whose file
        is gone are dropped. The next
        [`get_classes`][pike.manager.PikeManager.get_classes] reflects the folders
        as they are now. Errors follow ``on_error``.
        """
        with self._session.lock:
            self._check_active()
            if not self._loaded:
                before = set(self._registry)
                walk = self._load()
                added = [e.name for e in walk.modules if e.name in self._registry]
                added = [name for name in added if name not in before]
                return RefreshReport(added=added, errors=list(self._policy.errors))
            previous = self._scan()
            # If loading raises below, the next call loads afresh (and raises
            # again) rather than serve what is left.
            self._classes = None
            self._walk = None
            self._loaded = False
            report, self._walk = _refresh.run(
                self._loader, previous, self.search_paths, self._invalidate_caches
            )
            self._loaded = True
            return report

    def _invalidate_caches(self) -> None:
        """Forget every cached folder listing under the search paths."""
        self.module_finder.invalidate_caches()
        cache = sys.path_importer_cache
        for key in list(cache):
            if is_within(key, self._session.roots):
                cache.pop(key, None)

    def get_modules(self) -> list[ModuleType]:
        """Import every plugin module (C3 order) and return those that loaded."""
        return [record.module for record in self._records()]  # type: ignore[misc]

    def _records(self) -> list[Record]:
        walk = self._load()
        get = self._registry.get
        found = []
        for entry in walk.modules:
            record = get(entry.name)
            if record is not None and record.entry.path == entry.path:
                found.append(record)
        return found

    def get_classes(self, filter_func: Callable[[type], object] | None = None) -> list[type]:
        """Each class defined in a plugin module, once, in load order.

        Classes merely imported into a plugin module are not plugins.
        ``filter_func(cls)`` keeps the classes for which it returns true; a
        class that makes it raise is left out and reported under ``on_error``
        as a [`PluginObjectError`][pike.errors.PluginObjectError].
        """
        if filter_func is not None and not callable(filter_func):
            raise PikeTypeError(
                f"filter_func is {_a_type_name(filter_func)}; pass a callable "
                "that takes a class and returns a bool, or None"
            )
        return self._filtered(filter_func, "filter_func about it")

    def get_all_inherited_classes(self, base_class: type[T]) -> list[type[T]]:
        """The plugin classes that are strict subclasses of ``base_class``."""
        return self._filtered(*_subclass_test(base_class))

    def find_inherited_classes(self, base_class: type[T]) -> list[type[T]]:
        """The plugin classes that subclass ``base_class``, importing only their modules (C16).

        What [`get_all_inherited_classes`][pike.manager.PikeManager.get_all_inherited_classes]
        returns for classes declared in the source (a ``class`` statement at
        a module's top level, deriving from ``base_class`` through names the
        source spells), with only the modules that declare one imported (and
        what they import). The candidates come from static listing, through
        the discovery index: a warm call parses nothing. A class made at run
        time (by ``type()``, a decorator returning another class, a base
        chosen by a function call) is not seen; use
        ``get_all_inherited_classes`` for folders that make them.
        """
        inherits, asked = _subclass_test(base_class)
        from pike.discovery import static

        listing = static._listed(self.search_paths, _could_derive(base_class))
        wanted = list(dict.fromkeys(c.module for c in listing.classes))
        with self._session.lock, collector_paused:
            self._check_active()
            entries: dict[str, ModuleEntry] = {}
            for name in wanted:
                for entry in _walk.find_entries(self.search_paths, name):
                    entries.setdefault(entry.name, entry)
            self._loader.load(list(entries.values()))
            self._classes = None
            loaded = self._registry.snapshot()
            records = [
                loaded[name]
                for name in listing.modules
                if name in loaded and not loaded[name].borrowed
            ]
            classes = defined_classes(records, self._registry)
        return self._pick(classes, inherits, asked)

    def _filtered(self, keep: Callable[[type], object] | None, asked: str) -> list[Any]:
        # The collector stays paused from importing to picking the classes, so
        # its pass over all that was just made runs once, afterwards.
        with self._session.lock, collector_paused:
            records = self._records()
            version = self._registry.version
            cached = self._classes
            if cached is not None and cached[0] == version:
                classes = cached[1]
            else:
                classes = defined_classes(records, self._registry)
                self._classes = (version, classes)
        return self._pick(classes, keep, asked)

    def _pick(
        self, classes: list[type], keep: Callable[[type], object] | None, asked: str
    ) -> list[Any]:
        """The ``classes`` ``keep`` accepts; one that makes it raise is reported (C14)."""

        def where(cls: type) -> tuple[str, str]:
            name = type_module(cls) or "?"
            record = self._registry.get(name)
            return name, record.entry.path if record is not None else "?"

        return apply_filter(classes, keep, asked, self._policy.report, where)

    def __repr__(self) -> str:
        state = "active" if self.active else "inactive"
        return f"<PikeManager {state} search_paths={self.search_paths!r}>"


def _subclass_test(base_class: object) -> tuple[Callable[[type], bool], str]:
    """The test for strict subclasses of ``base_class``, and how a failure of it reads."""
    if not isinstance(base_class, type):
        raise PikeTypeError(
            f"base_class is {base_class!r}, not a class; pass the class the plugins derive from"
        )

    def inherits(cls: type) -> bool:
        return cls is not base_class and issubclass(cls, base_class)

    return (
        inherits,
        f"whether it is a subclass of {type_module(base_class)}.{base_class.__qualname__}",
    )


def _could_derive(base_class: type) -> Callable[[list[str]], bool]:
    """Whether a class with these ancestors (static dotted names) may derive from ``base_class``.

    An ancestor named like it, or one that names a class already imported
    (the host's own bases, say ``framework.Driver``) deriving from it.
    """
    bare = base_class.__name__

    def could(ancestors: list[str]) -> bool:
        for name in ancestors:
            if name.rpartition(".")[2] == bare:
                return True
            found = _imported(name)
            if isinstance(found, type):
                try:
                    if issubclass(found, base_class):
                        return True
                except Exception:  # a class whose __subclasscheck__ raises: not ours to judge
                    continue
        return False

    return could


def _imported(dotted: str) -> object:
    """The object ``dotted`` names among modules already imported (nothing is imported)."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module = sys.modules.get(".".join(parts[:cut]))
        if module is None:
            continue
        found: object = module
        try:
            for attr in parts[cut:]:
                found = getattr(found, attr)
        except Exception:  # absent, or an attribute that raises
            return None
        return found
    return None
