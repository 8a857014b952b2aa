"""PikeManager: load the plugins of drop-in folders for the length of a block.

    from pike.manager import PikeManager

    with PikeManager(["plugins"]) as mgr:
        drivers = mgr.get_all_inherited_classes(Driver)

The manager is active from the moment it is made (as in pike 0.2.0) until
``cleanup()``, the end of the ``with`` block, or its garbage collection; it can
be entered again afterwards.

It makes the `pike._session.Session` that owns what it holds in the
interpreter, and hands it to its finder, its importer, refresh and cleanup.
Data flows one way: the folders are walked (`pike._walk`) into entries; the
`pike._importing.Importer` imports them through the finder, whose loaders
record what ran in the session; classes are picked from the session's records
(`pike._classes`); refresh diffs the records against a new walk
(`pike._refresh`); cleanup takes out what the session says was loaded.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from pike import _refresh, _walk
from pike._classes import apply_filter, defined_classes, named_classes, subclass_test
from pike._gate import Gate, Requires
from pike._importing import Importer
from pike._interpreter import collector_paused
from pike._lazy import LazyClass
from pike._names import is_archive
from pike._objects import a_type_name, describe, type_module, type_name
from pike._paths import SearchPaths, normalize_search_paths, roots_of
from pike._policy import ErrorPolicy, OnError
from pike._refresh import RefreshReport
from pike._session import Record, Session
from pike._switches import Switches
from pike._trust import Trust, TrustPolicy
from pike._walk import ModuleEntry, SkippedEntry
from pike.errors import (
    InactiveManagerError,
    PikeTypeError,
    PikeValueError,
    PluginError,
    PluginImportError,
    PluginObjectError,
)
from pike.finder import PikeFinder

# The types of PikeManager's arguments, named for programs that pass them on.
__all__ = ["LazyClass", "OnError", "PikeManager", "Requires", "SearchPaths", "Trust"]

T = TypeVar("T")
StrPath = str | os.PathLike[str]
"""A path as ``refresh`` and ``watch`` take it: a ``str`` or an ``os.PathLike``."""
_Manager = TypeVar("_Manager", bound="PikeManager")

if TYPE_CHECKING:
    from weakref import WeakValueDictionary

    from pike._contracts import Contract
    from pike._watch import Watch
    from pike.discovery.static import StaticClass


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
        you or root that other users cannot write; ``"any"``: no check
        ([security](https://pyarmory-pike.readthedocs.io/en/latest/security/)).
    :param isolate: give each search path a private namespace
        ([plugins that share module names](https://pyarmory-pike.readthedocs.io/en/latest/isolation/)):
        the same name in two search paths is two modules, a plugin package's
        bare imports find its own modules first, and plugin modules live in
        ``sys.modules`` under a private prefix of their search path. ``False``
        (default): pike 0.2.0's names.

    What keeps a bad plugin from taking the host down
    ([when a plugin misbehaves](https://pyarmory-pike.readthedocs.io/en/latest/misbehaving/)):

    :param disabled: a pattern (shell-style, case-sensitive) or an iterable of them:
        the plugin modules whose dotted name (or a package's above it) matches are
        turned off: never opened, listed in ``skipped``. ``PIKE_DISABLE``
        (comma-separated) adds to them.
    :param only: the same: only the matching modules are loaded (then ``disabled``
        takes out its matches); ``PIKE_ONLY`` narrows further.
    :param safe_mode: turn every plugin off (they are listed, in ``skipped``), as
        ``PIKE_SAFE_MODE=1`` does.
    :param quarantine: a module that a process died while importing (``os._exit``, a
        crash, a kill) is not imported by later starts while its file is unchanged: a
        [`PluginQuarantinedError`][pike.errors.PluginQuarantinedError] instead, until
        [`release`][pike.manager.PikeManager.release]. Off by default.
    :param host: ``(name, version)``: who the host is, for plugins whose
        ``__requires__`` names a ``"host"`` version.
    :param requires: what a plugin's unmet ``__requires__`` (read from its source
        before it runs) does: ``"warn"`` (default: a
        [`PikeWarning`][pike.errors.PikeWarning], and it loads), ``"enforce"`` (a
        [`PluginIncompatibleError`][pike.errors.PluginIncompatibleError] under
        ``on_error``; it is not imported) or ``"ignore"``.
    :param blocked: ``{module name: (lowest good version, reason)}``: a module of that
        name whose ``__version__`` is lower (or not a literal) is not imported: a
        [`PluginBlockedError`][pike.errors.PluginBlockedError] under ``on_error``.
    :param environ: where ``PIKE_DISABLE``, ``PIKE_ONLY`` and ``PIKE_SAFE_MODE`` are read
        (when the manager is made): ``os.environ`` by default; ``{}`` ignores them.
    :raises SearchPathError: a path does not exist, is not a folder or cannot be read.
    :raises UntrustedPathError: a path that other users could change.
    :raises PikeTypeError: a path or an argument of the wrong type (also a ``TypeError``).
    :raises PikeValueError: an argument of the right type but an unusable value.
    """

    def __init__(
        self,
        search_paths: SearchPaths = None,
        *,
        on_error: OnError = "raise",
        unload: bool = True,
        trust: Trust = "owner",
        isolate: bool = False,
        disabled: str | Iterable[str] | None = None,
        only: str | Iterable[str] | None = None,
        safe_mode: bool = False,
        quarantine: bool = False,
        host: tuple[str, str] | None = None,
        requires: Requires = "warn",
        blocked: Mapping[str, tuple[str, str]] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        checked = TrustPolicy(trust)
        if not isinstance(isolate, bool):
            raise PikeTypeError(f"isolate is {a_type_name(isolate)}; pass True or False")
        self._switches = Switches(disabled, only, safe_mode, environ=environ)
        self._policy = ErrorPolicy(on_error)
        self.search_paths: list[str] = normalize_search_paths(
            search_paths, checked if checked.checks else None
        )
        self._roots = roots_of(self.search_paths)
        self._gate = Gate(
            self.search_paths,
            self._roots,
            switches=self._switches,
            quarantine=quarantine,
            requires=requires,
            host=host,
            blocked=blocked,
        )
        self._session = Session(unload=bool(unload), isolate=isolate)
        #: Whether each search path (and plugin archive) has a private namespace.
        self.isolate = isolate
        if isolate:
            from pike import _archive  # only isolated managers read archives

            if _archive.any_in(self.search_paths):
                _archive.prepare()  # what reading archives imports, before any plugin runs
            for search_path in self.search_paths:
                self._session.add_source(search_path)
        self.module_finder = PikeFinder(
            self.search_paths, trust=trust, session=self._session, gate=self._gate
        )
        # The manager is not handed down: errors keep the frames that hold what is,
        # and must not keep the manager alive through them.
        self._importer = Importer(self._session, self._policy, self._gate)
        self._walk: _walk.Walk | None = None
        self._loaded = False
        # The session's version while the walk's entries and its records match one to
        # one (each entry loaded, with a record of that very entry): refresh then goes
        # through the records alone.
        self._in_step: int | None = None
        self._classes: tuple[int, list[type]] | None = None
        # The watches made by `watch`, stopped at cleanup (by identity; one never
        # entered goes when it is collected). Made by the first `watch`.
        self._watches: WeakValueDictionary[int, Watch] | None = None
        self._session.start(self.module_finder, self._roots)

    # -- lifecycle -----------------------------------------------------------

    def add_to_meta_path(self) -> None:
        """Activate the manager: put its finder first in ``sys.meta_path``.

        Done by the constructor and by ``with``; needed by hand only to reuse a
        manager after [`cleanup`][pike.manager.PikeManager.cleanup] without a ``with`` block.
        """
        session = self._session
        with session.lock:
            if session.start(self.module_finder, self._roots):
                self._forget_discovery()
                self._policy.errors.clear()

    def cleanup(self) -> None:
        """Deactivate the manager and leave the interpreter as it was found.

        Removes the finder from ``sys.meta_path``, the plugin modules from
        ``sys.modules`` (unless ``unload=False``), the ``sys.path`` entries the
        plugins added under the search paths and their importer-cache entries.
        Classes already obtained keep working. Safe to call any number of times.
        """
        for watch in list(self._watches.values()) if self._watches is not None else ():
            watch.stop()  # before the lock: a watch's refresh may be waiting for it
        with self._session.lock:
            self._forget_discovery()
            self._session.end()
            self._policy.errors.extend(self._session.end_errors)  # the unload hooks'

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
        self._in_step = None
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
    def entries(self) -> list[ModuleEntry]:
        """Every plugin module on the search paths, in load order (nothing is imported)."""
        return list(self._scan().modules)

    @property
    def modules(self) -> list[ModuleEntry]:
        """The same as [`entries`][pike.manager.PikeManager.entries] (pike 1.0's name)."""
        return self.entries

    def _scan(self) -> _walk.Walk:
        walk = self._walk
        if walk is None:
            walk = self._walk = _walk.walk(
                self.search_paths, isolate=self._session.isolate, switches=self._switches
            )
            if self.isolate:
                self._session.learn(walk)
        return walk

    def get_module_names(self) -> Iterator[str]:
        """An iterator over the names of the top-level plugin modules (not packages).

        In load order; nothing is imported; a name found in two search paths
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
                found = _walk.scan_folder(search_path).names(packages=packages)
            except OSError as exc:
                raise _walk.vanished(search_path, exc) from None
            if names:
                seen = set(names)
                found = [name for name in found if name not in seen]
            names.extend(found)
        if self._switches:  # a module turned off is as good as not there: the walk's
            on = {entry.name for entry in self._scan().modules}
            names = [name for name in names if name in on]
        return names

    def get_path(
        self, module_name: str, *, source: str | os.PathLike[str] | None = None
    ) -> str | None:
        """The file plugin module ``module_name`` was loaded from by this manager.

        None if the manager did not load it (or only uses the host's own import
        of that file). Under isolation, where two search paths may each have a
        module of that name, ``source`` (a search path) says whose; without it,
        the first loaded.
        """
        record = self._session.find(module_name, _source(source))
        return record.path if record is not None and not record.borrowed else None

    def entry_of(self, obj: object) -> ModuleEntry | None:
        """The entry of the plugin module this manager loaded that ``obj`` comes from: a
        class or function (by its ``__module__``), or a module; None for anything else.

        Its ``name`` is the plugin's name and ``source`` where it was loaded from,
        also under isolation, where ``__module__`` is the private name.
        """
        kind = type(obj)  # never obj's own attributes first: a plugin's may raise
        key: object
        if issubclass(kind, type):
            key = type_module(obj)  # type: ignore[arg-type]
        elif issubclass(kind, ModuleType):
            key = object.__getattribute__(obj, "__dict__").get("__name__")
        else:
            try:
                key = getattr(obj, "__module__", None)
            except Exception:  # an object whose attributes raise
                return None
        record = self._session.get(key) if type(key) is str else None
        return record.entry if record is not None and not record.borrowed else None

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
                self._importer.load(walk.modules)
                self._importer.report_broken(walk.broken)
                self._loaded = True
                self._in_step = self._step_of(walk)
            else:
                self._importer.run_load_hooks()  # of modules the host imported since
            return walk

    def _step_of(self, walk: _walk.Walk) -> int | None:
        """The session's version if each entry of ``walk`` is loaded, with a record of that
        very entry, and nothing else is (see ``_in_step``); else None."""
        session = self._session
        if len(session) != len(walk.modules):
            return None
        get = session.get
        for entry in walk.modules:
            record = get(entry.key)
            if record is None:
                return None
            if record.entry is not entry:
                if record.entry != entry:
                    return None
                record.entry = entry  # a sibling imported it first: the same entry, made anew
        return session.version

    def load_plugin(self, name: str, *, source: str | os.PathLike[str] | None = None) -> ModuleType:
        """Import plugin module ``name`` by the manager's rules, and the packages above it.

        ``name`` may be dotted (a package's submodule). It is found by name,
        with no folder listed, so one plugin of a large folder costs one; in the
        first search path that has it, or in ``source`` (one of the search
        paths: under isolation, each may have its own). Raises the
        [`PluginError`][pike.errors.PluginError] that kept it from loading,
        whatever ``on_error`` says, or a
        [`PluginImportError`][pike.errors.PluginImportError] if no search path has it.
        """
        chosen = _source(source)
        with self._session.lock:
            self._check_active()
            paths = self.search_paths
            if chosen is not None:
                paths = [path for path in paths if path == chosen]
            if chosen is not None and not paths:
                in_one = os.path.dirname(chosen) in self.search_paths
                if not (self.isolate and in_one and is_archive(chosen)):
                    raise PikeValueError(
                        f"source {chosen!r} is not one of this manager's search paths "
                        f"{self.search_paths} (nor, under isolation, an archive in one); "
                        "pass one of them, or None"
                    )
                entries = self._in_archive(chosen, name)  # a plugin archive in a search path
            else:
                entries = self._find(paths, name)
            if not entries:
                raise PluginImportError(f"no plugin module {name!r} in {paths}", name, "")
            loaded = Importer(self._session, ErrorPolicy("raise"), self._gate).load(entries)
            self._classes = None
            return loaded[-1]

    def _find(self, paths: list[str], name: str) -> list[ModuleEntry]:
        """The entries of ``name`` and the packages above it: in the first of ``paths``
        that has it, as the walk orders sources (under isolation each search path's
        own modules, then its archives)."""
        if not self.isolate:
            return _walk.find_entries(paths, name)
        for path in paths:
            entries = _walk.find_entries([path], name, isolate=True)
            for archive in () if entries else _walk.archives_in(path):
                try:
                    entries = self._in_archive(archive, name)
                except PluginError:
                    continue  # unreadable: the walk reports it
                if entries:
                    break
            if entries:
                return entries
        return []

    def _in_archive(self, path: str, name: str) -> list[ModuleEntry]:
        """The entries of ``name`` and the packages above it in plugin archive ``path``,
        whose namespace the session then has."""
        from pike._archive import Archive, ArchiveError

        try:
            archive = Archive(path, os.stat(path))
        except (OSError, ArchiveError) as exc:
            raise PluginImportError(f"plugin archive {path}: {exc}", name, path) from None
        self._session.add_source(path, archive)
        return _walk.find_in_archive(archive, name)

    @contextlib.contextmanager
    def standing_aside(self) -> Iterator[None]:
        """A block in which this manager serves no module, in this thread.

        For importing code that must never meet a plugin of this manager's (an
        installed distribution's entry point, say).
        """
        with self.module_finder.standing_aside():
            yield

    def refresh(self, paths: StrPath | Iterable[StrPath] | None = None) -> RefreshReport:
        """Rescan the search paths and bring the loaded plugins up to date.

        New modules are imported, modules whose file changed (and modules that
        use them) are executed afresh as new module objects, modules whose file
        is gone are dropped; however each module came to be loaded. A module
        whose new version fails to import keeps its old one (``kept`` in the
        report). The next [`get_classes`][pike.manager.PikeManager.get_classes]
        reflects the folders as they are now. Errors follow ``on_error``.

        ``paths`` (a path, or an iterable of them: files or folders, relative to
        the current folder) limits the refresh to the modules under them and
        those that use them; paths outside the search paths are ignored.
        """
        scope = None if paths is None else _refresh.Scope(_paths_given(paths), self.search_paths)
        return self._refresh(self._importer, scope)

    def _refresh(self, importer: Importer, scope: _refresh.Scope | None) -> RefreshReport:
        session = self._session
        with session.lock:
            self._check_active()
            previous = self._scan()
            in_step = self._in_step is not None and self._in_step == session.version
            # If importing raises below, the next call loads afresh (and raises
            # again) rather than serve what is left.
            self._forget_discovery()
            report, walk = _refresh.run(
                session,
                importer,
                previous,
                self.search_paths,
                in_step=in_step,
                scope=scope,
                switches=self._switches,
            )
            self._walk = walk
            self._loaded = True
            # What ran again took the walk's entries; a refresh of some paths only
            # leaves the walk's other changes for later.
            if in_step and not report.errors and (scope is None or walk is previous):
                self._in_step = session.version
            else:
                self._in_step = self._step_of(walk)
            return report

    def watch(
        self,
        on_change: Callable[[RefreshReport], object] | None = None,
        *,
        debounce: float = 0.005,
        backend: str = "auto",
        poll_interval: float = 0.5,
    ) -> Watch:
        """Watch the search paths and refresh what changes, as it changes: a context
        manager, watching once ``with`` has entered it, until its block ends or the
        manager is cleaned up.

        Each batch of changes (it ends once nothing more changed for ``debounce``
        seconds, at the latest after 20 times that) refreshes the modules it touched
        and those that use them, as ``refresh(paths)`` does; a report that says
        anything goes to ``on_change(report)``, in the watcher's thread, or, without
        a callback, to the iterator ``with`` gives. Plugin errors are in the report,
        never raised, whatever ``on_error`` says; a callback that raises is logged.

        ``backend``: ``"watchfiles"`` (the operating system's notifications, through
        the ``watchfiles`` package: ``pip install 'pike[watch]'``), ``"poll"`` (a
        refresh every ``poll_interval`` seconds), or ``"auto"`` (watchfiles if
        installed, else polling, with a [`PikeWarning`][pike.errors.PikeWarning]).
        """
        from pike import _watch  # threads and watchfiles, only for a manager that watches

        checked = _watch.check(on_change, debounce, backend, poll_interval)
        self._check_active()
        if self._watches is None:
            from weakref import WeakValueDictionary  # (not at import: "import pike.manager")

            self._watches = WeakValueDictionary()
        watches = self._watches
        if any(watch.watching for watch in watches.values()):
            raise PikeValueError(
                "this PikeManager is watched already (each change would reach only one "
                "of the watches); share its reports, or end that watch first"
            )
        importer = Importer(self._session, ErrorPolicy("collect"), self._gate)

        def refresh(paths: list[str] | None) -> RefreshReport:
            scope = None if paths is None else _refresh.Scope(paths, self.search_paths)
            return self._refresh(importer, scope)

        def active() -> bool:
            return self._session.active

        watch = _watch.Watch(refresh, active, self.search_paths, on_change, *checked)
        watches[id(watch)] = watch
        watch.on_stop = lambda done: watches.pop(id(done), None)
        return watch

    @property
    def quarantined(self) -> list[str]:
        """The names of the plugin modules of these search paths held in quarantine
        (``quarantine=True``): a process died while importing each, and its file has not
        changed since."""
        return self._gate.quarantined()

    def release(self, name: str) -> list[str]:
        """Lift the quarantine of plugin module ``name`` (its full dotted name), from the
        manager's next load (a `refresh`, or the next activation) on; returns the files
        released.

        :raises PikeValueError: ``name`` is not held in quarantine here (the message
            lists those that are), or the manager was made without ``quarantine=True``.
        """
        if not isinstance(name, str):
            raise PikeTypeError(f"name is {a_type_name(name)}; pass a module name (str)")
        released = self._gate.release(name)
        if not released:
            held = self._gate.quarantined()
            if self._gate.quarantine is None:
                why = "this manager was made without quarantine=True (or quarantine is off)"
            else:
                why = f"held in quarantine here: {held}" if held else "none is held here"
            raise PikeValueError(f"plugin module {name!r} is not in quarantine; {why}")
        return released

    def get_modules(self) -> list[ModuleType]:
        """Import every plugin module (in load order) and return those that loaded."""
        return [record.module for record in self._records()]  # type: ignore[misc]

    def _records(self) -> list[Record]:
        walk = self._load()
        get = self._session.get
        found = []
        for entry in walk.modules:
            record = get(entry.key)
            if record is not None and record.entry.path == entry.path:
                found.append(record)
        return found

    def get_classes(
        self, filter_func: Callable[[type], object] | None = None, *, conforms: object = None
    ) -> list[type]:
        """Each class defined in a plugin module, once, in load order.

        Classes merely imported into a plugin module are not plugins.
        ``filter_func(cls)`` keeps the classes for which it returns true; a
        class that makes it raise is left out and reported under ``on_error``
        as a [`PluginObjectError`][pike.errors.PluginObjectError].

        ``conforms``: a `typing.Protocol` or an abstract base class; only the
        classes that implement it are returned. One that subclasses it and does
        not is a [`PluginContractError`][pike.errors.PluginContractError] under
        ``on_error``; another class (a helper) is left out unsaid
        ([contracts](https://pyarmory-pike.readthedocs.io/en/latest/picking/#contracts)).
        """
        if filter_func is not None and not callable(filter_func):
            raise PikeTypeError(
                f"filter_func is {a_type_name(filter_func)}; pass a callable "
                "that takes a class and returns a bool, or None"
            )
        contract = _contract(conforms)
        return self._filtered(filter_func, "filter_func about it", contract, False)

    def get_all_inherited_classes(
        self, base_class: type[T], *, conforms: object = None
    ) -> list[type[T]]:
        """The plugin classes that are strict subclasses of ``base_class``.

        With ``conforms`` (see [`get_classes`][pike.manager.PikeManager.get_classes]),
        only those that implement it; each that does not is a
        [`PluginContractError`][pike.errors.PluginContractError] under ``on_error``.
        """
        inherits, asked = subclass_test(base_class)
        contract = _contract(conforms)
        return self._filtered(inherits, asked, contract, True)

    def find_inherited_classes(
        self, base_class: type[T], *, conforms: object = None
    ) -> list[type[T]]:
        """The plugin classes that subclass ``base_class``, importing only their modules.

        What [`get_all_inherited_classes`][pike.manager.PikeManager.get_all_inherited_classes]
        returns for classes declared in the source (a ``class`` statement at
        a module's top level, deriving from ``base_class`` through names the
        source spells), with only the modules that declare one imported (and
        what they import). The candidates come from static listing, through
        the discovery index: a warm call parses nothing. A class made at run
        time (by ``type()``, a decorator returning another class, a base
        chosen by a function call) is not seen; use
        ``get_all_inherited_classes`` for folders that make them. ``conforms`` as
        for ``get_all_inherited_classes``.
        """
        subclass_test(base_class)  # its errors first
        contract = _contract(conforms)
        return self._select(base_class, None, None, contract)

    def select(
        self,
        base: type[T] | None = None,
        *,
        where: Callable[[StaticClass], object] | None = None,
        limit: int | None = None,
        conforms: object = None,
    ) -> list[type[T]]:
        """The plugin classes declared in source that derive from ``base`` and that
        ``where`` accepts, importing only their modules.

        The candidates are the classes
        [`find_inherited_classes`][pike.manager.PikeManager.find_inherited_classes]
        would find (every listed class when ``base`` is None) for whose
        [`StaticClass`][pike.discovery.static.StaticClass] ``where`` returns
        true: it sees what the source declares (``attrs``, ``plugin``) before
        any plugin runs. Their modules are imported in listing order; a real
        class that is not a strict subclass of ``base`` is dropped. With
        ``limit``, importing stops once that many classes are kept
        ([picking plugins by what they declare](https://pyarmory-pike.readthedocs.io/en/latest/picking/)).

        A ``where`` that raises is a
        [`PluginObjectError`][pike.errors.PluginObjectError] under ``on_error``
        (that class is left out), as is a module that fails to import. With
        ``conforms`` (see [`get_classes`][pike.manager.PikeManager.get_classes]), only
        the classes that implement it are kept (and counted for ``limit``); with a
        ``base``, each that does not is a
        [`PluginContractError`][pike.errors.PluginContractError] under ``on_error``.

        :raises PikeTypeError: ``base`` is not a class, ``where`` not a callable, or
            ``conforms`` neither a Protocol nor an abstract base class.
        :raises PikeValueError: ``limit`` is not a positive int.
        """
        _check_where(where)
        if limit is not None and (type(limit) is not int or limit < 1):
            raise PikeValueError(
                f"limit is {limit!r}; pass a positive int (how many classes to keep), or None"
            )
        contract = _contract(conforms)
        return self._select(base, where, limit, contract)

    def lazy_classes(
        self,
        base: type | None = None,
        *,
        where: Callable[[StaticClass], object] | None = None,
    ) -> list[LazyClass]:
        """The candidates [`select`][pike.manager.PikeManager.select] would import, as
        [`LazyClass`][pike.manager.LazyClass] records: nothing is imported until one's
        ``load()`` is called.

        :raises PikeTypeError: ``base`` is not a class, or ``where`` not a callable.
        """
        _check_where(where)
        candidates = self._candidates(base, where)
        return [LazyClass(static, base, self._load_class) for static in candidates]

    def _candidates(
        self, base: type | None, where: Callable[[StaticClass], object] | None
    ) -> list[StaticClass]:
        """The listed classes that derive from ``base`` (all when None) and that ``where``
        accepts; one that makes ``where`` raise is reported."""
        if base is not None:
            subclass_test(base)  # its errors, before anything is listed
        from pike.discovery import static

        # The same switches, the environment as it was read when the manager was made.
        (disabled, only, safe_mode), environ = self._switches.given, self._switches.environ
        listing = static.list_classes(
            self.search_paths,
            base=base,
            isolate=self._session.isolate,
            disabled=disabled,
            only=only,
            safe_mode=safe_mode,
            environ=environ,
        )
        if where is None:
            return list(listing.classes)
        kept = []
        for cls in listing.classes:
            try:
                if where(cls):
                    kept.append(cls)
            except Exception as exc:
                error = PluginObjectError(
                    f"plugin class {cls.qualname} ({cls.path}, line {cls.lineno}) made "
                    f"where raise {describe(exc)}; it is left out",
                    cls.module,
                    cls.path,
                    cls.lineno,
                    qualname=cls.name,
                )
                error.__cause__ = exc
                self._policy.report(error)
        return kept

    def _select(
        self,
        base: type | None,
        where: Callable[[StaticClass], object] | None,
        limit: int | None,
        contract: Contract | None,
    ) -> list[Any]:
        """Import the modules of the candidates (all at once, or one by one up to
        ``limit`` classes kept); return the real candidates that derive from ``base``
        (and conform to ``contract``)."""
        inherits, asked = subclass_test(base) if base is not None else (None, "")
        wanted: dict[tuple[str, str], set[str]] = {}
        for static in self._candidates(base, where):
            wanted.setdefault((static.module, static.source), set()).add(static.name)
        session = self._session
        if limit is None:
            with session.lock, collector_paused:
                self._check_active()
                classes = self._import_declared(wanted)
            return self._pick(classes, inherits, asked, contract, base is not None)
        kept: list[type] = []
        with session.lock, collector_paused:
            self._check_active()
            for module, names in wanted.items():
                classes = self._import_declared({module: names})
                kept.extend(self._pick(classes, inherits, asked, contract, base is not None))
                if len(kept) >= limit:
                    break
        return kept[:limit]

    def _declaring(self, name: str, source: str) -> list[ModuleEntry]:
        """The entries of module ``name`` (and the packages above it) as listed from
        ``source``: under isolation it is looked for there alone."""
        if not self.isolate:
            return _walk.find_entries(self.search_paths, name)
        if source not in self.search_paths:  # a plugin archive
            return self._in_archive(source, name)
        return _walk.find_entries([source], name, isolate=True)

    def _import_declared(self, wanted: Mapping[tuple[str, str], set[str]]) -> list[type]:
        """Import the modules ``wanted`` names (``(module, source)``: the names of
        its classes); return those classes, as the modules define them."""
        entries: dict[str, ModuleEntry] = {}
        keys = []
        for (name, source), names in wanted.items():
            try:
                found = self._declaring(name, source)
            except PluginError as error:
                self._policy.report(error)
                continue
            for entry in found:
                entries.setdefault(entry.key, entry)
            if found:
                keys.append((found[-1].key, names))
        self._importer.load(list(entries.values()))
        self._classes = None
        session = self._session
        classes = []
        for key, names in keys:
            record = session.get(key)
            if record is not None and not record.borrowed:
                classes.extend(named_classes(record, names, session.names()))
        return classes

    def _load_class(self, static: StaticClass, base: type | None) -> type:
        """The real class of ``static``, its module imported (and the packages above it),
        whatever ``on_error`` says (`LazyClass.load`)."""
        session = self._session
        with session.lock, collector_paused:
            self._check_active()
            entries = self._declaring(static.module, static.source)
            if not entries:
                raise PluginImportError(
                    f"plugin module {static.module!r} ({static.path}) is gone", static.module, ""
                )
            Importer(session, ErrorPolicy("raise"), self._gate).load(entries)
            self._classes = None
            record = session.get(entries[-1].key)
            classes = (
                [] if record is None else named_classes(record, {static.name}, session.names())
            )
        inherits, asked = subclass_test(base) if base is not None else (None, "")
        raising = ErrorPolicy("raise").report
        found = apply_filter(
            classes, inherits, asked, raising, lambda cls: (static.module, static.path)
        )
        if not found:
            wanted = "" if base is None else f" deriving from {type_name(base)}"
            raise PluginObjectError(
                f"plugin module {static.module} ({static.path}) defines no class "
                f"{static.name}{wanted} once imported; list its classes again",
                static.module,
                static.path,
                static.lineno,
                qualname=static.name,
            )
        return found[0]

    def _filtered(
        self,
        keep: Callable[[type], object] | None,
        asked: str,
        contract: Contract | None,
        by_base: bool,
    ) -> list[Any]:
        # The collector stays paused from importing to picking the classes, so
        # its pass over all that was just made runs once, afterwards.
        session = self._session
        with session.lock, collector_paused:
            records = self._records()
            cached = self._classes
            if cached is not None and cached[0] == session.version:
                classes = cached[1]
            else:
                classes = defined_classes(records, session.names())
                session.settle_users()  # each record examined now: refresh asks fewer
                self._classes = (session.version, classes)
        return self._pick(classes, keep, asked, contract, by_base)

    def _pick(
        self,
        classes: list[type],
        keep: Callable[[type], object] | None,
        asked: str,
        contract: Contract | None = None,
        by_base: bool = False,
    ) -> list[Any]:
        """The ``classes`` ``keep`` accepts (and that conform to ``contract``: each that
        does not, asked for ``by_base`` or subclassing it, is reported); one that makes
        a check raise is reported."""
        report = self._policy.report
        kept = apply_filter(classes, keep, asked, report, self._where)
        if contract is None:
            return kept
        from pike._contracts import conforming

        return conforming(kept, contract, by_base, report, self._where)

    def _where(self, cls: type) -> tuple[str, str]:
        """A plugin class's module name and file, for its errors."""
        key = type_module(cls) or "?"
        record = self._session.get(key)
        if record is None:
            return key, "?"
        return record.entry.name, record.entry.path

    def __repr__(self) -> str:
        state = "active" if self.active else "inactive"
        return f"<PikeManager {state} search_paths={self.search_paths!r}>"


def _contract(conforms: object) -> Contract | None:
    """``conforms=`` checked (`pike._contracts`, imported only when one is given)."""
    if conforms is None:
        return None
    from pike._contracts import contract_of

    return contract_of(conforms)


def _check_where(where: object) -> None:
    if where is not None and not callable(where):
        raise PikeTypeError(
            f"where is {a_type_name(where)}; pass a callable that takes a StaticClass "
            "(what the source declares) and returns a bool, or None"
        )


def _source(source: object) -> str | None:
    """A ``source=`` argument as the search paths are kept: absolute, as a ``str``."""
    if source is None:
        return None
    if not isinstance(source, (str, os.PathLike)):
        raise PikeTypeError(
            f"source is {a_type_name(source)}; pass a search path or a plugin archive in "
            "one (str or os.PathLike), or None"
        )
    return os.path.abspath(os.fspath(source))


def _paths_given(paths: object) -> list[str]:
    """A ``paths=`` argument (a path, or an iterable of them) as absolute ``str`` paths."""
    wanted = "pass a path (str or os.PathLike), an iterable of them, or None"
    items = [paths] if isinstance(paths, (str, os.PathLike)) else paths
    if isinstance(paths, (bytes, bytearray)):
        items = None
    try:
        given = list(items)  # type: ignore[call-overload]
    except TypeError:
        raise PikeTypeError(f"paths is {a_type_name(paths)}; {wanted}") from None
    result = []
    for item in given:
        if not isinstance(item, (str, os.PathLike)):
            raise PikeTypeError(f"paths holds {a_type_name(item)}; {wanted}")
        path = os.fspath(item)
        if not isinstance(path, str) or "\0" in path:
            raise PikeTypeError(f"paths holds {item!r}; {wanted} (a str path without NUL)")
        result.append(os.path.abspath(path))
    return result
