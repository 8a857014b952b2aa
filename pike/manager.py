"""PikeManager: load the plugins of drop-in folders for the length of a block.

    from pike.manager import PikeManager

    with PikeManager(["plugins"]) as mgr:
        drivers = mgr.get_all_inherited_classes(Driver)

The manager is active from the moment it is made (as in pike 0.2.0) until
``cleanup()``, the end of the ``with`` block, or its garbage collection; it can
be entered again afterwards.
"""

from __future__ import annotations

# weakref.finalize imports atexit on its first use: imported here, with pike, it
# does not appear in sys.modules during the first block (C7).
import atexit  # noqa: F401
import contextlib
import sys
import weakref
from collections.abc import Callable, Iterator
from types import ModuleType, TracebackType
from typing import Any, TypeVar

from pike import _walk
from pike._classes import apply_filter, defined_classes, module_name
from pike._loading import ErrorPolicy, OnError, load_modules
from pike._paths import is_within, normalize_search_paths
from pike._refresh import FileState, RefreshReport, dependents, drop_modules, file_states
from pike._session import Session
from pike._walk import ModuleEntry, SkippedEntry
from pike.errors import InactiveManagerError, PikeTypeError, PluginError, _a_type_name
from pike.finder import PikeFinder

__all__ = ["PikeManager"]

T = TypeVar("T")
_Manager = TypeVar("_Manager", bound="PikeManager")


def _end_quietly(session: Session) -> None:
    # Runs from a finalizer: it must never raise.
    with contextlib.suppress(Exception):
        session.end()


def _of_loaded(states: dict[str, FileState], modules: list[ModuleType]) -> dict[str, FileState]:
    """The file states of the modules that loaded."""
    loaded = {module_name(m) for m in modules}
    return {name: state for name, state in states.items() if name in loaded}


class PikeManager:
    """Finds, imports and hands out the plugins in ``search_paths``.

    :param search_paths: a folder (``str`` or ``os.PathLike``) or an iterable of
        them; relative paths are taken from the current directory now.
    :param on_error: what a plugin error does: ``"raise"`` (default), ``"warn"``
        (a :class:`~pike.errors.PikeWarning`, then go on), ``"collect"`` (go on),
        or a callable that receives the :class:`~pike.errors.PluginError`.
    :param unload: remove the plugin modules from ``sys.modules`` at cleanup
        (default). ``False`` keeps them, for programs that import plugin modules
        lazily after the block.
    :raises SearchPathError: a path does not exist, is not a folder or cannot be read.
    :raises PikeTypeError: a path or ``on_error`` of the wrong type (also a ``TypeError``).
    """

    def __init__(
        self,
        search_paths: Any = None,
        *,
        on_error: OnError = "raise",
        unload: bool = True,
    ) -> None:
        self.search_paths: list[str] = normalize_search_paths(search_paths)
        self._policy = ErrorPolicy(on_error)
        self.module_finder = PikeFinder(self.search_paths)
        self._session = Session(self.module_finder, self.search_paths, bool(unload))
        self._walk: _walk.Walk | None = None
        self._modules: list[ModuleType] | None = None
        self._classes: list[type] | None = None
        self._states: dict[str, FileState] = {}
        self._finalizer = weakref.finalize(self, _end_quietly, self._session)
        self._finalizer.atexit = False
        self.add_to_meta_path()

    # -- lifecycle -----------------------------------------------------------

    def add_to_meta_path(self) -> None:
        """Activate the manager: put its finder first in ``sys.meta_path``.

        Done by the constructor and by ``with``; needed by hand only to reuse a
        manager after :meth:`cleanup` without a ``with`` block.
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
        self._modules = None
        self._classes = None
        self._states = {}

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
        :meth:`get_module_names`."""
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

    def _load(self) -> list[ModuleType]:
        with self._session.lock:
            if self._modules is not None:
                return self._modules
            self._check_active()
            self._policy.errors.clear()
            walk = self._scan()
            # Each file's state is taken before it is imported: a file edited
            # meanwhile then differs at the next refresh, and runs afresh.
            states = file_states(walk.modules)
            # session.end, not self.cleanup: errors keep the frames that hold this
            # callable, and must not keep the manager alive through them.
            modules = load_modules(
                walk.modules, self.module_finder, self._policy, self._session.end
            )
            self._modules = modules
            self._states = _of_loaded(states, modules)
            return modules

    def refresh(self) -> RefreshReport:
        """Rescan the search paths and bring the loaded plugins up to date (C9).

        New modules are imported, modules whose file changed (and modules that
        use them) are executed afresh as new module objects, modules whose file
        is gone are dropped. The next :meth:`get_classes` reflects the folders
        as they are now. Errors follow ``on_error``.
        """
        with self._session.lock:
            self._check_active()
            if self._modules is None:
                loaded = [module_name(m) or "" for m in self._load()]
                return RefreshReport(added=loaded, errors=list(self._policy.errors))
            before = {module_name(m) or "": m for m in self._modules}
            old_paths = {e.name: e.path for e in self._scan().modules}
            self._invalidate_caches()
            walk = self._walk = _walk.walk(self.search_paths)
            now_paths = {e.name: e.path for e in walk.modules}
            states = self._states
            gone = {n for n in before if n not in now_paths}
            moved = {n for n in before if n in now_paths and now_paths[n] != old_paths.get(n)}
            edited = {
                n
                for n in before
                if n in now_paths and (n not in states or states[n].differs(now_paths[n]))
            }
            changed = (moved | edited | dependents(moved | edited | gone, before)) - gone
            # A package executed afresh takes its submodules with it.
            prefixes = tuple(n + "." for n in changed | gone)
            changed |= {n for n in before if n.startswith(prefixes) and n not in gone}
            drop_modules(sorted(changed | gone), old_paths)
            # Nothing of the old state may be served if loading raises below.
            self._modules = self._classes = None
            kept = {n: s for n, s in states.items() if n not in changed and n not in gone}
            self._states = kept
            self._policy.errors.clear()
            # As in _load, each state is taken before its file is imported.
            fresh = file_states(
                e for e in walk.modules if e.name in changed or e.name not in before
            )
            modules = load_modules(
                walk.modules, self.module_finder, self._policy, self._session.end
            )
            self._modules = modules
            after = {module_name(m) or "" for m in modules}
            self._states = _of_loaded({**kept, **fresh}, modules)
            order = {e.name: i for i, e in enumerate(walk.modules)}
            old_order = {name: i for i, name in enumerate(old_paths)}

            def ordered(names: set[str], rank: dict[str, int]) -> list[str]:
                return sorted(names, key=lambda n: (rank.get(n, len(rank)), n))

            return RefreshReport(
                added=ordered(after - set(before), order),
                changed=ordered(changed, order),
                removed=ordered(gone, old_order),
                errors=list(self._policy.errors),
            )

    def _invalidate_caches(self) -> None:
        """Forget every cached folder listing under the search paths."""
        self.module_finder.invalidate_caches()
        cache = sys.path_importer_cache
        for key in [k for k in cache if is_within(k, self._session.roots)]:
            del cache[key]

    def get_modules(self) -> list[ModuleType]:
        """Import every plugin module (C3 order) and return those that loaded."""
        return list(self._load())

    def get_classes(self, filter_func: Callable[[type], object] | None = None) -> list[type]:
        """Each class defined in a plugin module, once, in load order.

        Classes merely imported into a plugin module are not plugins.
        ``filter_func(cls)`` keeps the classes for which it returns true.
        """
        if filter_func is not None and not callable(filter_func):
            raise PikeTypeError(
                f"filter_func is {_a_type_name(filter_func)}; pass a callable "
                "that takes a class and returns a bool, or None"
            )
        with self._session.lock:
            classes = self._classes
            if classes is None:
                classes = defined_classes(self._load())
                self._classes = classes
        return apply_filter(classes, filter_func)

    def get_all_inherited_classes(self, base_class: type[T]) -> list[type[T]]:
        """The plugin classes that are strict subclasses of ``base_class``."""
        if not isinstance(base_class, type):
            raise PikeTypeError(
                f"base_class is {base_class!r}, not a class; pass the class the plugins derive from"
            )

        def inherits(cls: type) -> bool:
            return cls is not base_class and issubclass(cls, base_class)

        return self.get_classes(inherits)

    def __repr__(self) -> str:
        state = "active" if self.active else "inactive"
        return f"<PikeManager {state} search_paths={self.search_paths!r}>"
