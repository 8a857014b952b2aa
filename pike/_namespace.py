"""Private namespaces: how an isolated plugin's bare imports find its own modules.

Under isolation each source (a search path, or an archive in one) keeps its
modules in ``sys.modules`` under names that begin with its private prefix
(`pike._names.private_key`: ``<prefix>__utils``), so two sources may both have a
``utils``. The
code of those modules runs with a builtins mapping of its source's own: a copy
of ``builtins``' namespace whose ``__import__`` is the source's. Nothing
process-wide changes: ``builtins.__import__``, ``sys.meta_path``'s other
finders and every module that is not a plugin's import as before.

The source's ``__import__`` resolves an absolute import statement in plugin
code (``import utils``, ``from utils.env import X``) by its first name:

1. a standard-library or built-in name is always the standard library's;
2. in a top-level plugin package (any of its modules, at any depth), a module or
   package of that name directly in the package's folder;
3. a module or package of that name at the top level of the source;
4. anything else is the host's, imported as usual.

What a name resolves to is worked out once per package and kept until the
folders may have changed (`Namespace.forget`: each activation and refresh).
Relative imports need no help: a plugin module's ``__package__`` is its private
name's.

The copy, one for all of a source's modules, is brought up to date whole as each
load or refresh begins, and before each module runs if the number of builtins
changed: a name the host (or a plugin, ``gettext.install``) adds to ``builtins``
reaches the modules that run after it; one the host rebinds reaches all of the
source's code from the next load or refresh.
"""

from __future__ import annotations

import builtins
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType
from typing import Any

from pike._archive import Archive
from pike._names import PROTECTED_NAMES, private_key
from pike._walk import ModuleEntry, scan_folder

__all__ = ["Namespace", "import_module"]

_UNSEEN = object()
_BUILTINS: dict[str, Any] = builtins.__dict__


class _Table(dict[str, "tuple[str, str] | tuple[()]"]):
    """What each name imported by the code of one package resolves to: the private name
    of the module it finds and of that module's top-level one (``utils.env`` ->
    ``(_pike_x__NodeA.utils.env, _pike_x__NodeA.utils)``), or ``()`` for the host's.

    Keyed by the whole name, so an import statement costs two lookups ("import
    statement in plugin code" benchmark row); ``tops`` holds what each first name
    resolves to, the private name or None."""

    __slots__ = ("home", "tops")

    def __init__(self, home: str | None) -> None:
        super().__init__()
        #: The private name of the top-level plugin package whose code this serves,
        #: or None for the source's top-level modules.
        self.home = home
        self.tops: dict[str, str | None] = {}


class Namespace:
    """One isolated source: its private prefix, and its plugins' imports.

    ``source`` is a search path (a folder) or an archive (``archive``, read
    already); ``prefix`` the private prefix of its modules' keys.
    """

    def __init__(self, source: str, prefix: str, archive: Archive | None = None) -> None:
        self.source = source
        self.prefix = prefix
        self.archive = archive
        self._keys = private_key(prefix, "")  # what the keys of its modules start with
        self._names: dict[str, frozenset[str]] = {}
        self._tables: dict[object, _Table] = {}
        self._homes: dict[str | None, _Table] = {}
        self._import = _import_of(self)
        #: The builtins the source's modules run with.
        self.builtins: dict[str, Any] = {}
        self._synced = -1
        self.sync_builtins()

    def sync_builtins(self, *, whole: bool = False) -> None:
        """Bring the copy of ``builtins``' namespace up to date: ``whole`` (as each load
        begins), or if it grew or shrank (as each module runs: one comparison)."""
        if whole or len(_BUILTINS) != self._synced:
            mine = self.builtins
            fresh = dict(_BUILTINS)
            fresh["__import__"] = self._import
            # One update in C: plugin code running in another thread never sees the
            # host's __import__ in the copy, not even for a moment.
            mine.update(fresh)
            for name in [n for n in mine if n not in fresh]:
                del mine[name]
            self._synced = len(_BUILTINS)

    def current_builtins(self) -> dict[str, Any]:
        """The builtins a module of the source runs with, brought up to date if the number
        of builtins changed (as each module runs)."""
        if len(_BUILTINS) != self._synced:
            self.sync_builtins()
        return self.builtins

    def forget(self) -> None:
        """Forget what names resolved to and what the folders hold: they may have changed.

        Cleared in place: the source's ``__import__`` holds these very dicts.
        """
        self._names.clear()  # first: nothing resolved from here on uses an old listing
        self._tables.clear()
        for table in list(self._homes.values()):  # an import running now may hold one
            table.clear()
            table.tops.clear()
        self._homes.clear()

    def resolutions(self) -> dict[tuple[str | None, str], str | None]:
        """What each first name the plugins imported resolved to, by the package whose
        code imported it (None: the source's top-level modules)."""
        return {
            (home, top): found
            for home, table in list(self._homes.items())
            for top, found in list(table.tops.items())
        }

    def changed_since(self, before: dict[tuple[str | None, str], str | None]) -> set[str | None]:
        """The packages (None: the source's top level) some first name of whose imports,
        resolved as ``before`` says, resolves otherwise now (a file came or went)."""
        changed: set[str | None] = set()
        for (home, top), found in before.items():
            if home in changed:
                continue
            table = self._homes.get(home)
            if table is None:
                table = self._homes[home] = _Table(home)
            if self.resolve(table, top) != found:
                changed.add(home)
        return changed

    # -- resolving -------------------------------------------------------------------

    def table(self, package: object) -> _Table:
        """The table for the code of package ``package`` (a module's ``__package__``)."""
        home: str | None = None
        if isinstance(package, str) and package.startswith(self._keys):
            home = package.partition(".")[0]  # the key of its top-level plugin package
        table = self._homes.get(home)
        if table is None:
            table = self._homes[home] = _Table(home)
        self._tables[package] = table
        return table

    def resolve(self, table: _Table, top: str) -> str | None:
        """The private name first name ``top`` finds for the code ``table`` serves, or
        None (the host's). The rule of what a bare import finds."""
        found = table.tops.get(top, _UNSEEN)
        if found is not _UNSEEN:
            return found  # type: ignore[return-value]
        found = None
        if top not in PROTECTED_NAMES and top.isidentifier():
            home = table.home
            if home is not None and top in self._listed(home[len(self._keys) :]):
                found = f"{home}.{top}"
            elif top in self._listed(""):
                found = self._keys + top
        table.tops[top] = found
        return found

    def resolve_name(self, table: _Table, name: object) -> tuple[str, str] | tuple[()]:
        """What the imported name ``name`` resolves to for the code ``table`` serves (see
        `_Table`), now kept in it."""
        if type(name) is not str:
            return ()  # the host's __import__ says what is wrong with it
        top = name.partition(".")[0]
        private = self.resolve(table, top)
        found: tuple[str, str] | tuple[()] = (
            (private + name[len(top) :], private) if private is not None else ()
        )
        table[name] = found
        return found

    def find(self, package: object, top: str) -> str | None:
        """The private name first name ``top`` finds for the code of package ``package``
        (a module's ``__package__``), or None for the host's."""
        table = self._tables.get(package)
        if table is None:
            table = self.table(package)
        return self.resolve(table, top)

    def learn(self, entries: Iterable[ModuleEntry]) -> None:
        """Take what each folder of the source holds from a walk's ``entries`` (those of
        this source), rather than list the folders again ("isolate 1000" benchmark row)."""
        entries = list(entries)
        # The top first, in bulk: a flat folder has nothing else ("isolate 1000" row).
        self._names[""] = frozenset(e.name for e in entries if "." not in e.name)
        found: dict[str, set[str]] = {}
        for entry in entries:
            if "." in entry.name:
                folder, _dot, name = entry.name.rpartition(".")
                names = found.get(folder)
                if names is None:
                    names = found[folder] = set()
                names.add(name)
        for folder, names in found.items():
            self._names[folder] = frozenset(names)

    def _listed(self, folder: str) -> frozenset[str]:
        names = self._names.get(folder)
        if names is None:
            names = self._names[folder] = self._list(folder)
        return names

    def _list(self, folder: str) -> frozenset[str]:
        """The module and package names directly in ``folder`` (dotted, relative to the
        source; ``""`` for its top)."""
        if self.archive is not None:
            return self.archive.names_in(folder)
        path = os.path.join(self.source, *folder.split(".")) if folder else self.source
        try:
            listing = scan_folder(path)
        except OSError:
            return frozenset()
        return frozenset(listing.names(packages=False)) | frozenset(listing.names(packages=True))

    def import_module(self, name: str, package: str | None, globals_: Mapping[str, Any]) -> Any:
        """`importlib.import_module` as the import statements of the code whose globals
        are ``globals_`` resolve names: the module ``name`` itself."""
        if name.startswith("."):
            from importlib import import_module as standard

            return standard(name, package or globals_.get("__package__"))
        top = name.partition(".")[0]
        target = self.find(globals_.get("__package__"), top)
        from importlib import import_module as standard

        return standard(name if target is None else target + name[len(top) :])


def _import_of(namespace: Namespace) -> Callable[..., ModuleType]:
    """The ``__import__`` of ``namespace``'s modules.

    Its path is kept short ("import statement in plugin code" benchmark row): the
    importing package's table, the name in it; a plugin module already loaded (and
    done initialising) is returned without going through the import system again.
    """
    tables = namespace._tables
    table_of = namespace.table
    resolve_name = namespace.resolve_name
    modules = sys.modules
    real = _BUILTINS

    def __import__(  # the builtin's own name, as tracebacks show it
        name: str,
        globals: Mapping[str, Any] | None = None,
        locals: object = None,
        fromlist: Any = (),
        level: int = 0,
    ) -> ModuleType:
        if not level:
            try:
                package = globals.get("__package__")  # type: ignore[union-attr]
            except AttributeError:  # called by hand without globals: the caller's own
                globals = sys._getframe(1).f_globals
                package = globals.get("__package__")
            table = tables.get(package)
            if table is None:
                table = table_of(package)
            found = table.get(name)
            if found is None:
                found = resolve_name(table, name)
            if found:
                full, top = found
                if not fromlist:
                    module = modules.get(full)
                    outer = modules.get(top) if full != top else module
                    spec = getattr(module, "__spec__", None)
                    if (
                        spec is not None
                        and outer is not None
                        and not getattr(spec, "_initializing", False)
                        and (outer is module or _initialised(outer))
                    ):
                        return outer
                module = real["__import__"](full, globals, locals, fromlist, 0)
                if fromlist:
                    return module  # type: ignore[no-any-return]
                if full == top:
                    return modules[top]
                # As the import system does for the front of a dotted name: wait until
                # the package is initialised (another thread may be running it).
                return real["__import__"](top, globals, locals, ("__name__",), 0)  # type: ignore[no-any-return]
        return real["__import__"](name, globals, locals, fromlist, level)  # type: ignore[no-any-return]

    __import__.namespace = namespace  # type: ignore[attr-defined]
    return __import__


def _initialised(module: object) -> bool:
    """True if ``module`` has finished running (no thread is still initialising it)."""
    spec = getattr(module, "__spec__", None)
    return spec is not None and not getattr(spec, "_initializing", False)


def import_module(name: str, package: str | None = None) -> Any:
    """Import ``name`` as the calling plugin's own import statement would find it.

    In a module of an isolated plugin, ``import_module("utils")`` gives the
    plugin's own ``utils`` where ``import utils`` would; anywhere else it is
    `importlib.import_module`.
    """
    frame = sys._getframe(1)
    found = frame.f_builtins.get("__import__")
    namespace = getattr(found, "namespace", None)
    if isinstance(namespace, Namespace):
        return namespace.import_module(name, package, frame.f_globals)
    from importlib import import_module as standard

    return standard(name, package)
