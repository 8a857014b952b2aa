"""Listing plugin classes from source alone: no plugin code runs.

    from pike.discovery import static

    listing = static.list_classes(["plugins"], base="Driver")
    for cls in listing.classes:
        print(cls.module, cls.name, cls.bases, f"{cls.path}:{cls.lineno}")

Files are found by the same rules as discovery (`pike._walk`) and parsed with
`ast`; nothing is imported, executed or written into the folders. Base
classes are resolved through each module's imports, so ``base`` follows
inheritance across the scanned files. What parsing learns is kept in the
discovery index (`pike.discovery._index`), so a second listing parses only
the files that changed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import partial
from itertools import compress, count, repeat
from typing import TYPE_CHECKING, Any, NamedTuple, overload

from pike import _cache, _walk
from pike._interpreter import collector_paused
from pike._names import PROTECTED_NAMES, name_collision, names_class, plugin_name, private_prefix
from pike._objects import a_type_name, type_name
from pike._paths import SearchPaths, normalize_search_paths
from pike._switches import Switches
from pike._value import Frozen, ReadOnlyDict, Value
from pike._walk import ModuleEntry, SkippedEntry
from pike.discovery._index import NO_ATTRS, NO_NAMES, Facts, Index, KeptListing
from pike.errors import PikeTypeError, PluginCollisionError

if TYPE_CHECKING:
    from pike._archive import Archive

__all__ = ["StaticClass", "StaticContractError", "StaticError", "StaticListing", "list_classes"]


class StaticClass(NamedTuple):
    """A class statement at the top level of a plugin module.

    ``bases`` are the base-class expressions as written; ``resolved_bases`` the
    same names followed through the module's imports (``from bases import
    Driver as D`` makes ``D`` resolve to ``bases.Driver``; under isolation, a
    bare import found in the plugin's own package resolves to the module it
    finds, ``NodeA.utils.Base``). ``source`` is the search path the module lies
    in. ``attrs`` maps the names the class body binds to literals to their
    values, ``dynamic`` holds the names it binds otherwise (never evaluated),
    and ``plugin`` is the module's ``__plugin__`` dict (docs/picking.md).
    Immutable (``attrs`` and ``plugin`` are read-only dicts); a named tuple.
    """

    module: str
    name: str
    path: str
    lineno: int
    bases: tuple[str, ...]
    resolved_bases: tuple[str, ...]
    source: str = ""
    attrs: Mapping[str, Any] = NO_ATTRS
    dynamic: frozenset[str] = NO_NAMES
    plugin: Mapping[Any, Any] = NO_ATTRS

    @property
    def qualname(self) -> str:
        """``module.Class``."""
        return f"{self.module}.{self.name}"

    @property
    def file(self) -> str:
        """The same as ``path``."""
        return self.path

    @property
    def line(self) -> int:
        """The same as ``lineno``."""
        return self.lineno


class StaticError(Frozen):
    """A plugin file that could not be read or parsed. Immutable, compared by value."""

    __slots__ = ("lineno", "message", "module", "path")
    __match_args__ = ("module", "path", "lineno", "message")

    module: str
    path: str
    lineno: int | None
    message: str

    def __init__(self, module: str, path: str, lineno: int | None, message: str) -> None:
        _set = object.__setattr__
        _set(self, "module", module)
        _set(self, "path", path)
        _set(self, "lineno", lineno)
        _set(self, "message", message)

    def __str__(self) -> str:
        where = f"{self.path}, line {self.lineno}" if self.lineno else self.path
        return f"plugin module {self.module!r} ({where}): {self.message}"


class StaticContractError(Frozen):
    """A listed class that claims a contract (``contract=``) and lacks some of its members
    by name, in its own body and its listed bases. Immutable, compared by value."""

    __slots__ = ("contract", "lineno", "missing", "module", "name", "path")
    __match_args__ = ("module", "name", "path", "lineno", "missing", "contract")

    module: str
    name: str
    path: str
    lineno: int
    missing: tuple[str, ...]
    contract: str

    def __init__(  # noqa: PLR0917 - a record's fields, positional as pickling gives them
        self,
        module: str,
        name: str,
        path: str,
        lineno: int,
        missing: tuple[str, ...],
        contract: str,
    ) -> None:
        _set = object.__setattr__
        _set(self, "module", module)
        _set(self, "name", name)
        _set(self, "path", path)
        _set(self, "lineno", lineno)
        _set(self, "missing", missing)
        _set(self, "contract", contract)

    @property
    def qualname(self) -> str:
        """``module.Class``, as `StaticClass` spells it."""
        return f"{self.module}.{self.name}"

    @property
    def line(self) -> int:
        """The same as ``lineno``."""
        return self.lineno

    def __str__(self) -> str:
        return (
            f"plugin class {self.qualname} ({self.path}, line {self.lineno}) lacks "
            f"{', '.join(self.missing)} of contract {self.contract}"
        )


class StaticListing(Value):
    """What [`list_classes`][pike.discovery.static.list_classes] found: classes in load
    order, the names of the modules parsed, errors, skipped entries, collisions, and
    (with ``contract=``) the classes that lack members of that contract."""

    __slots__ = ("classes", "collisions", "contract_errors", "errors", "module_names", "skipped")
    __match_args__ = (
        "classes",
        "module_names",
        "errors",
        "skipped",
        "collisions",
        "contract_errors",
    )

    def __init__(
        self,
        classes: Sequence[StaticClass] | None = None,
        module_names: list[str] | None = None,
        errors: list[StaticError] | None = None,
        skipped: list[SkippedEntry] | None = None,
        collisions: list[PluginCollisionError] | None = None,
        *,
        contract_errors: list[StaticContractError] | None = None,
    ) -> None:
        self.classes: Sequence[StaticClass] = [] if classes is None else classes
        self.module_names: list[str] = [] if module_names is None else module_names
        self.errors: list[StaticError] = [] if errors is None else errors
        self.skipped: list[SkippedEntry] = [] if skipped is None else skipped
        self.collisions: list[PluginCollisionError] = [] if collisions is None else collisions
        self.contract_errors: list[StaticContractError] = (
            [] if contract_errors is None else contract_errors
        )

    @property
    def modules(self) -> list[str]:
        """The same as ``module_names`` (pike 1.0's name)."""
        return self.module_names

    def __iter__(self) -> Iterator[StaticClass]:
        """Iterating a listing iterates its classes."""
        return iter(self.classes)

    def __len__(self) -> int:
        return len(self.classes)


def _kept_classes(
    kept: KeptListing, paths: list[str], positions: list[int] | None = None
) -> list[StaticClass] | None:
    """The classes of ``kept`` at ``positions`` (every class when None), made at once;
    None if their values do not check out. ``paths`` are the search paths (each
    class's source)."""
    with collector_paused:  # records of literals are acyclic
        fields = kept.fields(positions)
        if fields is None:
            return None
        modules, names, files, lines, bases, resolved, attrs, dynamic, plugins = fields
        sources: Iterable[str]
        if len(paths) == 1:
            sources = repeat(paths[0], len(names))
        else:
            of_file = {file: _source_of(file, paths) for file in set(files)}
            sources = map(of_file.__getitem__, files)
        rows = zip(
            modules,
            names,
            files,
            lines,
            bases,
            resolved,
            sources,
            attrs,
            dynamic,
            plugins,
            strict=True,
        )
        # StaticClass's own __new__, without its argument parsing, in bulk.
        return list(map(partial(tuple.__new__, StaticClass), rows))


class _KeptClasses(Sequence[StaticClass]):
    """The classes of a listing read back whole from the index, made when first looked at.

    A warm listing of 10,000 modules holds some 30,000 classes: making each one,
    and checking the values they are made from, costs more than checking every
    file ("warm listing 10000" benchmark row), and a caller that counts them never
    needs it. A read-only sequence that compares equal to a list of the same
    classes. Should the values not check out, the classes are listed afresh.
    """

    __slots__ = ("_afresh", "_kept", "_made", "_paths", "afresh")

    def __init__(
        self,
        kept: KeptListing,
        afresh: Callable[[], Sequence[StaticClass]],
        paths: list[str],
    ) -> None:
        self._kept = kept
        self._afresh = afresh
        self._paths = paths  # the search paths: each class's source
        self._made: list[StaticClass] | None = None
        self.afresh = False  # whether the values did not check out

    def _all(self) -> list[StaticClass]:
        made = self._made
        if made is None:
            made = _kept_classes(self._kept, self._paths)
            if made is None:
                self.afresh = True
                made = list(self._afresh())
            self._made = made
        return made

    def __len__(self) -> int:
        return len(self._all()) if self._made is not None else self._kept.count

    @overload
    def __getitem__(self, index: int) -> StaticClass: ...

    @overload
    def __getitem__(self, index: slice) -> list[StaticClass]: ...

    def __getitem__(self, index: int | slice) -> StaticClass | list[StaticClass]:
        return self._all()[index]

    def __iter__(self) -> Iterator[StaticClass]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (_KeptClasses, list, tuple)):
            return self._all() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._all())


class _Module:
    """One parsed module: its classes (and every name each one's body defines), the names
    its top level binds, and what it reports (`StaticError`s that list it all the same)."""

    __slots__ = ("bindings", "classes", "entry", "members", "notes")

    def __init__(self, entry: ModuleEntry) -> None:
        self.entry = entry
        self.bindings: dict[str, str] = {}
        self.classes: list[StaticClass] = []
        self.members: list[tuple[str, ...]] = []
        self.notes: list[StaticError] = []


def _from_facts(entry: ModuleEntry, facts: Facts) -> _Module | StaticError:
    """A parsed file, from its facts (the index's, or `pike.discovery._parse`'s)."""
    classes, bindings, error, plugin, notes = facts
    if error is not None:
        return StaticError(entry.name, entry.path, error[0], f"cannot be parsed: {error[1]}")
    module = _Module(entry)
    module.bindings = dict(bindings)
    shared = ReadOnlyDict(plugin) if plugin else NO_ATTRS
    module.classes = [
        StaticClass(
            entry.name,
            name,
            entry.path,
            line,
            bases,
            resolved,
            entry.source,
            ReadOnlyDict(attrs) if attrs else NO_ATTRS,
            frozenset(dynamic) if dynamic else NO_NAMES,
            shared,
        )
        for name, line, bases, resolved, attrs, dynamic, _members in classes
    ]
    module.members = [cls[6] for cls in classes]
    module.notes = [StaticError(entry.name, entry.path, line, text) for line, text in notes]
    return module


class _Hierarchy:
    """Inheritance among the scanned classes, with re-exports followed."""

    def __init__(self, modules: dict[str, _Module]) -> None:
        self._modules = modules
        self._classes = {c.qualname: c for m in modules.values() for c in m.classes}

    def _canonical(self, name: str) -> str:
        """Follow re-exports (``pkg.Impl`` bound in pkg to ``pkg.impl.Impl``)."""
        for _ in range(len(self._modules) + 1):
            if name in self._classes:
                return name
            module, _, attr = name.rpartition(".")
            target = self._modules.get(module)
            bound = target.bindings.get(attr) if target is not None else None
            if bound is None or bound == name:
                return name
            name = bound
        return name  # pragma: no cover - a cycle of re-exports

    def ancestors(self, cls: StaticClass) -> tuple[str, ...]:
        """Every base of ``cls``, transitively, as canonical dotted names."""
        seen: list[str] = []
        pending = [self._canonical(b) for b in cls.resolved_bases]
        while pending:
            name = pending.pop()
            if name in seen:
                continue
            seen.append(name)
            parent = self._classes.get(name)
            if parent is not None:
                pending.extend(self._canonical(b) for b in parent.resolved_bases)
        return tuple(seen)


class _Gaps:
    """A contract's member names, and which listed classes lack some (``contract=``)."""

    __slots__ = ("bare", "contract", "wanted")

    def __init__(self, wanted: tuple[str, ...], bare: str, contract: str) -> None:
        self.wanted = wanted
        self.bare = bare  # this contract's class name: an ancestor of that name is it
        self.contract = contract

    def of(
        self,
        classes: list[StaticClass],
        members: list[tuple[str, ...]],
        ancestry: list[tuple[str, ...]],
        seen_as: list[tuple[str, ...]],
        keep: Callable[[tuple[str, ...]], bool] | None,
    ) -> list[tuple[StaticClass, tuple[str, ...]]]:
        """Each class that claims this contract (an ancestor named like it, or ``keep``
        accepts it) and lacks members by name, with those names; a class with an
        ancestor that is neither a listed class nor that contract is not judged."""
        own = {c.qualname: names for c, names in zip(classes, members, strict=True)}
        bare = self.bare
        found = []
        for cls, names, ancestors, seen in zip(classes, members, ancestry, seen_as, strict=True):
            named = any(names_class(name, bare) for name in seen)
            if not named and not (keep is not None and keep(seen)):
                continue
            have = set(names)
            for ancestor in ancestors:
                if names_class(ancestor, bare):
                    continue  # that contract: its declarations implement nothing, listed or not
                if ancestor in own:
                    have.update(own[ancestor])
                elif ancestor not in _NO_MEMBERS:
                    break  # a base pike cannot read: what it provides is not known
            else:
                missing = tuple(name for name in self.wanted if name not in have)
                if missing:
                    found.append((cls, missing))
        return found


# Bases that give a class none of a contract's members (a listed contract's own bases
# among them: what a Protocol or an ABC derives from).
_NO_MEMBERS = frozenset(
    {
        "object",
        "builtins.object",
        "typing.Protocol",
        "typing.Generic",
        "typing_extensions.Protocol",
        "abc.ABC",
    }
)


def _derives_from(base_class: type) -> Callable[[tuple[str, ...]], bool]:
    """Whether a class with these ancestors (static dotted names) may derive from ``base_class``.

    An ancestor named like it, or one naming a class already imported (the
    host's own bases, say ``framework.Driver``) that derives from it.
    """
    bare = base_class.__name__

    def could(ancestors: tuple[str, ...]) -> bool:
        for name in ancestors:
            if names_class(name, bare):
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


def list_classes(
    search_paths: SearchPaths,
    base: str | type | None = None,
    *,
    isolate: bool = False,
    disabled: str | Iterable[str] | None = None,
    only: str | Iterable[str] | None = None,
    safe_mode: bool = False,
    environ: Mapping[str, str] | None = None,
    contract: type | None = None,
) -> StaticListing:
    """List the top-level classes of the plugin modules in ``search_paths``.

    ``search_paths`` is taken as [`PikeManager`][pike.manager.PikeManager] takes it
    (same errors). ``base`` keeps the classes that derive from it, directly or
    through other scanned classes: a name (``"Driver"``, ``"bases.Driver"`` or
    ``"bases:Driver"``; a bare name matches any class of that name), or a class
    (a class of its name, or deriving from an imported class that derives from
    it). Files that do not parse are in ``errors``; modules without source
    (``.pyc``, extension modules) in ``skipped``; modules that would not load
    because of their name alone (a standard-library name, a name an earlier
    search path has) in ``collisions``, as the errors a manager would report,
    and their classes are not listed. ``isolate`` lists the search paths as a
    manager with ``isolate=True`` loads them: one name in two search paths is
    two modules, and bare imports resolve as the plugins' own would.
    ``disabled``, ``only`` and ``safe_mode`` (and ``PIKE_DISABLE``, ``PIKE_ONLY``,
    ``PIKE_SAFE_MODE``, read from ``environ``: ``os.environ`` by default) turn modules
    off as a manager's do: they are in ``skipped``, never opened.
    ``contract`` (a `typing.Protocol` or an abstract base class) reports, in
    ``contract_errors``, the classes that subclass it by name (or match ``base``)
    and whose own body and listed bases lack a member of it by name; a class with
    a base that is not listed (but that contract) is not judged
    ([contracts](https://pyarmory-pike.readthedocs.io/en/latest/picking/#contracts)).
    """
    if not isinstance(isolate, bool):
        raise PikeTypeError(f"isolate is {a_type_name(isolate)}; pass True or False")
    gaps: _Gaps | None = None
    if contract is not None:
        from pike._contracts import contract_of

        checked = contract_of(contract, "contract")
        # Its bare class name (a nested or local contract's last part): how bases name it.
        bare = type_name(checked.cls).rpartition(".")[2]
        gaps = _Gaps(tuple(checked.members), bare, checked.name)
    switches = Switches(disabled, only, safe_mode, environ=environ)
    paths = normalize_search_paths(search_paths)
    keep: Callable[[tuple[str, ...]], bool] | None
    if base is None:
        keep = None
    elif isinstance(base, str):
        wanted = base.replace(":", ".")
        keep = partial(_any_names, wanted)
    elif isinstance(base, type):
        keep = _derives_from(base)
    else:
        raise PikeTypeError(f"base is {a_type_name(base)}; pass a class name as a str, or a class")
    if isolate:
        return _isolated(paths, keep, switches, gaps)
    if switches or gaps is not None:  # a whole listing is kept of every module, classes only
        index = Index(paths) if _cache.directory() is not None else None
        return _computed(paths, keep, index, switches=switches, gaps=gaps)
    return _listed(paths, keep)


def _source_of(path: str, search_paths: list[str]) -> str:
    """The search path file ``path`` lies in (the first, if they nest)."""
    for search_path in search_paths:
        if path.startswith(os.path.join(search_path, "")):
            return search_path
    return ""  # pragma: no cover - every listed file lies in a search path


def _any_names(wanted: str, ancestors: tuple[str, ...]) -> bool:
    return any(names_class(name, wanted) for name in ancestors)


def _listed(paths: list[str], keep: Callable[[tuple[str, ...]], bool] | None) -> StaticListing:
    """The listing of ``paths``: the classes whose ancestors ``keep`` accepts."""
    index = Index(paths) if _cache.directory() is not None else None
    if index is not None:
        with collector_paused:
            kept = index.kept_listing()
            listing = _from_kept(paths, kept, keep) if kept is not None else None
        if listing is not None:
            return listing
    return _computed(paths, keep, index)


def _isolated(
    paths: list[str],
    keep: Callable[[tuple[str, ...]], bool] | None,
    switches: Switches,
    gaps: _Gaps | None,
) -> StaticListing:
    """The listing of ``paths`` under isolation: each file's facts from the index while
    they hold, names resolved in each source's namespace (no whole listing is kept)."""
    index = Index(paths) if _cache.directory() is not None else None
    return _computed(paths, keep, index, isolate=True, switches=switches, gaps=gaps)


def _renamed(cls: StaticClass, module: str, name: Callable[[str], str]) -> StaticClass:
    """``cls`` in module ``module``, each resolved base renamed by ``name``."""
    return cls._replace(module=module, resolved_bases=tuple(map(name, cls.resolved_bases)))


def _in_namespaces(
    modules: dict[str, _Module], paths: list[str], archives: Mapping[str, Archive]
) -> Callable[[str], str]:
    """Under isolation: each module's bindings and resolved bases as private names, each
    first name resolved as the plugin's own import would resolve it (`pike._namespace`).
    Returns the way back from a private name to the plugin's own."""
    from pike._namespace import Namespace  # isolation's alone

    spaces = {path: Namespace(path, private_prefix(path)) for path in paths}
    for path, archive in archives.items():
        spaces[path] = Namespace(path, private_prefix(path), archive)
    for module in modules.values():
        entry = module.entry
        space = spaces[entry.source]
        package = entry.key if entry.is_package else entry.key.rpartition(".")[0]

        def private(name: str, package: str = package, space: Namespace = space) -> str:
            top = name.partition(".")[0]
            target = space.find(package, top)
            return name if target is None else target + name[len(top) :]

        module.bindings = {k: private(v) for k, v in module.bindings.items()}
        module.classes = [_renamed(c, entry.key, private) for c in module.classes]

    return plugin_name


def _computed(
    paths: list[str],
    keep: Callable[[tuple[str, ...]], bool] | None,
    index: Index | None,
    *,
    isolate: bool = False,
    switches: Switches | None = None,
    gaps: _Gaps | None = None,
) -> StaticListing:
    """The listing of ``paths``, each file's facts from ``index`` while they hold; the
    modules ``switches`` turn off skipped, unopened; the classes that lack members of
    a contract (``gaps``) reported."""
    modules: dict[str, _Module] = {}
    with collector_paused:  # ASTs are acyclic: reference counting frees them
        if isolate:
            walk = _walk.walk(paths, isolate=True)
        else:
            walk = index.walk() if index is not None else _walk.walk(paths)
        if switches:
            _walk.sift(walk, switches)
        listing = StaticListing(skipped=list(walk.skipped))
        try:
            _scan_entries(walk.modules, listing, modules, index, walk.archives)
            plain = _in_namespaces(modules, paths, walk.archives) if isolate else None
        finally:
            for archive in walk.archives.values():
                archive.close()  # read: nothing else will
        for path, reason in walk.broken:
            name = os.path.basename(path).rpartition(".")[0]
            listing.errors.append(StaticError(name, path, None, f"plugin archive {reason}"))
    classes = [c for m in modules.values() for c in m.classes]
    keep_whole = (
        not isolate
        and not switches
        and gaps is None
        and index is not None
        and index.can_keep(listing.collisions)
    )
    ancestry: list[tuple[str, ...]] | None = None  # each class's ancestors, worked out once
    if keep is not None or keep_whole or gaps is not None:
        hierarchy = _Hierarchy(modules)
        ancestry = [hierarchy.ancestors(c) for c in classes]
    if index is not None:
        if keep_whole and ancestry is not None:
            by_path = {entry.path: entry for entry in walk.modules}
            files = [m.entry for m in modules.values()]
            parsed = {entry.path for entry in files}
            files += [by_path[e.path] for e in listing.errors if e.path not in parsed]
            index.keep(_columns_of(listing, modules, classes, ancestry), files)
        index.save()
    seen_as = ancestry
    if ancestry is not None and plain is not None:
        # A base named as the plugins name it, or a class loaded.
        seen_as = [(*a, *map(plain, a)) for a in ancestry]
    if gaps is not None and ancestry is not None and seen_as is not None:
        members = [names for m in modules.values() for names in m.members]
        found = gaps.of(classes, members, ancestry, seen_as, keep)
        listing.contract_errors = [
            StaticContractError(
                plain(c.module) if plain is not None else c.module,
                c.name,
                c.path,
                c.lineno,
                missing,
                gaps.contract,
            )
            for c, missing in found
        ]
    if keep is not None and seen_as is not None:
        classes = [c for c, ancestors in zip(classes, seen_as, strict=True) if keep(ancestors)]
    if plain is not None:  # back from private names to the plugins' own
        classes = [_renamed(c, plain(c.module), plain) for c in classes]
    listing.classes = classes
    listing.module_names = [plain(name) for name in modules] if plain is not None else list(modules)
    return listing


def _columns_of(
    listing: StaticListing,
    modules: dict[str, _Module],
    classes: list[StaticClass],
    ancestry: list[tuple[str, ...]],
) -> dict[str, object]:
    """A whole listing (before any ``base`` filter) as the columns of a `KeptListing`."""
    names = list(modules)
    position = {name: i for i, name in enumerate(names)}
    tuples: dict[tuple[str, ...], int] = {}

    def at(value: tuple[str, ...]) -> int:
        return tuples.setdefault(value, len(tuples))

    return {
        "modules": tuple(names),
        "count": len(classes),
        "names": "\n".join(c.name for c in classes),
        "owners": [position[c.module] for c in classes],
        "lines": [c.lineno for c in classes],
        "bases": [at(c.bases) for c in classes],
        "resolved": [at(c.resolved_bases) for c in classes],
        "ancestors": [at(a) for a in ancestry],
        "tuples": tuple(tuples),
        "attrs": tuple((i, dict(c.attrs)) for i, c in enumerate(classes) if c.attrs),
        "dynamic": tuple((i, tuple(c.dynamic)) for i, c in enumerate(classes) if c.dynamic),
        "plugins": tuple(
            (position[name], dict(m.classes[0].plugin))
            for name, m in modules.items()
            if m.classes and m.classes[0].plugin
        ),
        "errors": tuple((e.module, e.path, e.lineno, e.message) for e in listing.errors),
        "skipped": tuple((e.path, e.reason) for e in listing.skipped),
    }


def _from_kept(
    paths: list[str], kept: KeptListing, keep: Callable[[tuple[str, ...]], bool] | None
) -> StaticListing | None:
    """The listing a kept listing holds; None if what ``keep`` needs does not check out."""
    if keep is None:

        def afresh() -> Sequence[StaticClass]:
            return _computed(paths, None, Index(paths)).classes

        classes: Sequence[StaticClass] = _KeptClasses(kept, afresh, paths)
    else:
        ancestors = kept.ancestors()
        if ancestors is None:
            return None
        # Each distinct tuple of ancestors is judged once (most classes share theirs).
        verdicts = [keep(ancestry) for ancestry in kept.tuples]
        picked = list(compress(count(), map(verdicts.__getitem__, ancestors)))
        # Only the picked classes are made, at once: a base's classes are looked at.
        made = _kept_classes(kept, paths, None if len(picked) == kept.count else picked)
        if made is None:
            return None
        classes = made
    return StaticListing(
        classes=classes,
        module_names=list(kept.modules),
        errors=[StaticError(*error) for error in kept.errors],
        skipped=[SkippedEntry(path, reason) for path, reason in kept.skipped],
    )


def _scan_entries(
    entries: list[ModuleEntry],
    listing: StaticListing,
    modules: dict[str, _Module],
    index: Index | None,
    archives: Mapping[str, Archive],
) -> None:
    first: dict[str, ModuleEntry] = {}  # top-level name -> the first entry that has it
    collided = False  # the current top-level entry would not load, by its name alone
    sources: list[ModuleEntry] = []
    for entry in entries:
        name = entry.name
        if "." not in name:
            held = first.setdefault(entry.key, entry)
            # The common case first: the first of its name, and no protected name.
            if held is entry and name not in PROTECTED_NAMES:
                collided = False
            else:
                error = name_collision(name, entry.path, held.path)
                collided = error is not None
                if error is not None:
                    listing.collisions.append(error)
        if collided:
            continue  # a colliding module, or a submodule of a colliding package
        if not entry.path.endswith(".py"):
            reason = "no source to read (bytecode or extension module); listed when imported"
            listing.skipped.append(SkippedEntry(entry.path, reason))
            continue
        sources.append(entry)
    known: dict[str, Facts] = {}
    if index is not None:
        files = sources
        if archives:  # each archive's members apart, looked up by the archive's state
            members: dict[str, list[ModuleEntry]] = {path: [] for path in archives}
            files = []
            for entry in sources:
                members.get(entry.source, files).append(entry)
            for path, inside in members.items():
                known.update(index.known_members(archives[path], inside))
        known.update(index.known(files))
    for entry in sources:
        facts = known.get(entry.key)
        if facts is None:
            from pike.discovery._parse import facts_of  # ast, only for a file to parse

            archive = archives.get(entry.source) if archives else None
            if archive is None:
                facts = facts_of(entry)
                if index is not None:
                    index.store(entry, facts)
            else:  # read in place, never extracted
                facts = facts_of(entry, partial(archive.read, archive.member_of(entry.path)))
                if index is not None:
                    index.store_member(archive, entry, facts)
        found = _from_facts(entry, facts)
        if isinstance(found, StaticError):
            listing.errors.append(found)
        else:
            modules[entry.key] = found
            listing.errors += found.notes
