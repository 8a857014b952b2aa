"""Importing plugin modules: pike's loaders, and the importer that drives them.

**The loaders** are the standard library's (``SourceFileLoader``,
``SourcelessFileLoader``, ``ExtensionFileLoader``), subclassed under the same
names and behaving the same: bytecode caching, ``get_source``, resources and
tracebacks are the standard library's. What each adds is its manager's
`Session`, given when the finder makes it: the loader records each module
once it has run. If the session ended meanwhile, the loader refuses to run
the module, or, if it was already running, takes out what it left when it
finishes: a late import leaves nothing of the manager's behind.

**The importer** imports the entries a walk found, whichever way they are
asked for (discovery, refresh, a named manager's drop-in folder). Each
top-level name is checked for a collision before anything runs
(`pike._names`); each module is imported through the standard import system,
with the manager's own finder alone serving that name in this thread (`claimed`);
what the import returns is accepted only if the manager's loader recorded it;
a module that fails leaves nothing half-imported. Errors go to the manager's
`ErrorPolicy`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Mapping
from functools import partial
from importlib import import_module, machinery
from types import CodeType, ModuleType
from typing import TYPE_CHECKING, Any

from pike._filestate import FileState
from pike._hooks import LOAD
from pike._interpreter import MANY_MODULES, collector_paused
from pike._names import already_imported, blocked, hidden, name_collision, other_manager
from pike._objects import location_of
from pike._policy import ErrorPolicy, import_error
from pike._session import Expected, Record, Session, session_of
from pike._walk import ModuleEntry
from pike.errors import PluginError, PluginImportError

if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec

    from pike._archive import Archive
    from pike._gate import Gate
    from pike._quarantine import Note

__all__ = [
    "ArchiveLoader",
    "Claim",
    "ExtensionFileLoader",
    "Importer",
    "SourceFileLoader",
    "SourcelessFileLoader",
    "claimed",
    "loader_details",
]


class _Recording:
    """The part every pike loader adds to its standard base class."""

    #: The session to record into; None for a loader used on its own (it is then
    #: exactly the standard one).
    session: Session | None
    #: What the manager refuses to run (`pike._gate`), asked just before a module runs.
    gate: Gate | None = None
    name: str
    #: The standard loader's exec_module, set by each subclass.
    _base_exec: Callable[..., None]
    #: The finder's stat of the file, while the module runs.
    _finder_stat: os.stat_result | None = None

    def exec_module(self, module: ModuleType) -> None:
        session = self.session
        expected = session.expected(self.name) if session is not None else None
        if session is None or expected is None:
            self._base_exec(module)
            return
        entry = expected.entry
        namespace = expected.namespace
        if namespace is not None:  # the source's builtins: its __import__ finds its modules
            module.__dict__["__builtins__"] = namespace.current_builtins()
        if not session.begin(self.name, expected):
            raise PluginImportError(
                f"plugin module {entry.name!r} ({entry.path}) was not run: the PikeManager "
                "that found it has been cleaned up; import it inside the manager's block",
                entry.name,
                entry.path,
            )
        self._finder_stat = expected.st
        try:
            gate = self.gate
            if gate is None:
                self._base_exec(module)
            else:
                self._run_past(gate, module, expected)
        except BaseException:
            session.abandon(entry.key, expected.state)
            raise
        finally:
            self._finder_stat = None
        # What landed: the module, or the object it put in its place (the
        # ``sys.modules[__name__] = obj`` idiom).
        landed = sys.modules.get(module.__name__, module)
        if session.land(Record(entry, landed, module.__spec__, expected.state)):
            return
        # The manager ended while this module ran: the import system takes the
        # module out as this raises; the session takes out what it left.
        session.sweep(entry.key)
        raise PluginImportError(
            f"plugin module {entry.name!r} ({entry.path}) finished importing after its "
            "PikeManager was cleaned up, so it was taken out again; import it inside "
            "the manager's block",
            entry.name,
            entry.path,
        )

    def _run_past(self, gate: Gate, module: ModuleType, expected: Expected) -> None:
        """Run ``module`` if ``gate`` lets it (else raise its refusal): asked before its
        file is opened, then with its code read, which then runs as the standard
        loader runs it."""
        if not gate.opens:  # nothing turned off, no quarantine: the common case
            self._run(gate, module, expected)
            return
        # From here on a crash (reading its code, or running it) is this module's.
        note = gate.admit(expected.entry, expected.st, expected.state)
        try:
            self._run(gate, module, expected)
        finally:
            if note is not None:
                note.leave()

    def _run(self, gate: Gate, module: ModuleType, expected: Expected) -> None:
        """Read the module's code, ask the gate about it, run it."""
        code = self._code(module)
        if gate.reads:
            gate.before_run(expected.entry, code, self._declaring, expected.state)
        if code is None:
            self._base_exec(module)
        else:
            exec(code, module.__dict__)  # what the standard exec_module does with it

    def _code(self, module: ModuleType) -> CodeType | None:
        """The module's code, as the standard ``exec_module`` gets it (None: it has
        none, an extension module, and runs by ``_base_exec``)."""
        code: CodeType | None = self.get_code(module.__name__)  # type: ignore[attr-defined]
        if code is None:
            raise ImportError(
                f"cannot load module {module.__name__!r} when get_code() returns None"
            )
        return code

    def _declaring(self, state: FileState) -> tuple[Callable[[], bytes] | None, FileState | int]:
        """What the gate reads the module's declarations with, asked only if it must: what
        reads its source (None: it has none), and what vouches for what is kept of it
        (`pike._declared`): its file's ``state``."""
        return None, state


class SourceFileLoader(_Recording, machinery.SourceFileLoader):  # type: ignore[misc]
    """The standard source loader, recording into a manager's session.

    The finder's stat of the source file (taken to check it and to remember
    its state) also serves the loader's check of its bytecode cache: one stat
    per module, and both see the same file.
    """

    _base_exec = machinery.SourceFileLoader.exec_module

    def __init__(
        self, fullname: str, path: str, session: Session | None = None, gate: Gate | None = None
    ) -> None:
        super().__init__(fullname, path)
        self.session = session
        self.gate = gate

    def path_stats(self, path: str) -> Mapping[str, Any]:
        st = self._finder_stat
        if st is not None and path == self.path:
            return {"mtime": st.st_mtime, "size": st.st_size}
        return super().path_stats(path)

    def _declaring(self, state: FileState) -> tuple[Callable[[], bytes] | None, FileState | int]:
        return self._source, state

    def _source(self) -> bytes:
        data: bytes = self.get_data(self.path)
        return data


class SourcelessFileLoader(_Recording, machinery.SourcelessFileLoader):
    """The standard bytecode loader, recording into a manager's session."""

    _base_exec = machinery.SourcelessFileLoader.exec_module

    def __init__(
        self, fullname: str, path: str, session: Session | None = None, gate: Gate | None = None
    ) -> None:
        super().__init__(fullname, path)
        self.session = session
        self.gate = gate


class ExtensionFileLoader(_Recording, machinery.ExtensionFileLoader):
    """The standard extension-module loader, recording into a manager's session."""

    _base_exec = machinery.ExtensionFileLoader.exec_module

    def __init__(
        self, fullname: str, path: str, session: Session | None = None, gate: Gate | None = None
    ) -> None:
        super().__init__(fullname, path)
        self.session = session
        self.gate = gate

    #: The note naming this module, from `create_module` to the end of `exec_module`.
    _note: Note | None = None

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        """The standard ``create_module``, which runs the module's machine code: the gate
        is asked first, and the module is named in the quarantine note from here on."""
        session, gate = self.session, self.gate
        expected = session.expected(self.name) if session is not None else None
        if expected is None or gate is None:
            return super().create_module(spec)
        self._note = gate.admit(expected.entry, expected.st, expected.state) if gate.opens else None
        try:
            if gate.reads:
                gate.before_run(expected.entry, None, self._declaring, expected.state)
            return super().create_module(spec)
        except BaseException:
            self._leave()
            raise

    def _run_past(self, gate: Gate, module: ModuleType, expected: Expected) -> None:
        try:
            self._base_exec(module)  # let in by create_module
        finally:
            self._leave()

    def _leave(self) -> None:
        note, self._note = self._note, None
        if note is not None:
            note.leave()


class ArchiveLoader(_Recording):
    """Loads a module from a plugin archive in place (`pike._archive`): its code compiled
    once and kept in pike's cache folder; source, resources and data read from the
    archive. Records into its session as the other loaders do."""

    def __init__(  # noqa: PLR0917 - what the finder knows of the member
        self,
        fullname: str,
        path: str,
        archive: Archive,
        member: str,
        session: Session,
        gate: Gate | None = None,
    ) -> None:
        self.name = fullname
        self.path = path
        self.archive = archive
        self.member = member
        self.session = session
        self.gate = gate

    def create_module(self, spec: object) -> None:
        return None  # the default module

    def _base_exec(self, module: ModuleType) -> None:
        code = self._code(module)
        assert code is not None  # an archive's members are Python source
        exec(code, module.__dict__)

    def _code(self, module: ModuleType) -> CodeType | None:
        # Lines read through a loader carry no file time that linecache could check: an
        # older copy of this archive's member must not show in tracebacks of this one.
        lines = sys.modules.get("linecache")
        if lines is not None:
            lines.cache.pop(self.path, None)
        return self.archive.code(self.member)

    def _declaring(self, state: FileState) -> tuple[Callable[[], bytes] | None, FileState | int]:
        # The member's CRC-32, in the archive's directory, vouches for it.
        return partial(self.archive.read, self.member), self.archive.crc_of(self.member)

    def get_code(self, fullname: str) -> object:
        return self.archive.code(self.member)

    def get_source(self, fullname: str) -> str:
        from importlib.util import decode_source

        return decode_source(self.archive.read(self.member))

    def get_filename(self, fullname: str) -> str:
        return self.path

    def is_package(self, fullname: str) -> bool:
        return self.member.endswith("/__init__.py")

    def get_data(self, path: str) -> bytes:
        """A file of the archive, by its ``archive/member`` path (``pkgutil.get_data``)."""
        return self.archive.read(self.archive.member_of(path))

    def get_resource_reader(self, fullname: str) -> _ArchiveFiles | None:
        if not self.is_package(fullname):
            return None
        return _ArchiveFiles(self.archive.path, self.member.rpartition("/")[0])

    def __repr__(self) -> str:
        return f"<ArchiveLoader {self.name!r} from {self.path!r}>"


class _ArchiveFiles:
    """A package's resources in an archive, for ``importlib.resources.files``."""

    def __init__(self, archive: str, folder: str) -> None:
        self._archive = archive
        self._folder = folder

    def files(self) -> object:
        import zipfile

        return zipfile.Path(self._archive, at=self._folder + "/")


def loader_details(session: Session, gate: Gate | None = None) -> tuple[tuple[Any, list[str]], ...]:
    """``FileFinder``'s loader details, in its order of precedence: pike's loaders,
    recording into ``session``, asking ``gate`` before a module runs."""
    return (
        (partial(ExtensionFileLoader, session=session, gate=gate), machinery.EXTENSION_SUFFIXES),
        (partial(SourceFileLoader, session=session, gate=gate), machinery.SOURCE_SUFFIXES),
        (partial(SourcelessFileLoader, session=session, gate=gate), machinery.BYTECODE_SUFFIXES),
    )


# -- the claim -----------------------------------------------------------------------------


class Claim:
    """The entry a session is importing in this thread (see `claimed`)."""

    __slots__ = ("entry", "session")

    def __init__(self, entry: ModuleEntry, session: Session) -> None:
        self.entry = entry
        self.session = session


_claims = threading.local()


def claimed() -> Claim | None:
    """The import a manager is making in this thread, if any.

    While a manager imports one of its plugins, every other pike finder
    stands aside for that name (so two managers over folders with the same
    name each get their own file), and its own finder serves it from the
    entry its walk made (no folder listed).
    """
    claim: Claim | None = getattr(_claims, "claim", None)
    return claim


# -- the importer --------------------------------------------------------------------------

_MISSING = object()
_NOTHING = contextlib.nullcontext()


class Importer:
    """Imports plugin modules into one session, under one error policy; what ``gate``
    (the manager's, `pike._gate`) learned while they loaded is kept after each load."""

    def __init__(self, session: Session, policy: ErrorPolicy, gate: Gate | None = None) -> None:
        self.session = session
        self.policy = policy
        self.gate = gate

    def load(self, entries: list[ModuleEntry], *, hooks: bool = True) -> list[ModuleType]:
        """Import ``entries`` in order; return the modules of those that loaded.

        Errors go to the policy; a package that failed takes its submodules
        with it. A ``KeyboardInterrupt`` ends the session, then propagates.
        Then the load hooks due run (`run_load_hooks`), unless ``hooks`` is false
        (refresh runs them once it has swapped what it loaded).
        """
        if self.session.isolate:
            self.session.sync_builtins()
        gate = self.gate
        try:
            with collector_paused, gate.loading(entries) if gate is not None else _NOTHING:
                if len(entries) > MANY_MODULES:
                    collector_paused.many_modules()
                loaded = self._load_each(entries)
        finally:
            self.session.catch_up()
            if self.session.isolate:
                self.session.save_code()
            if self.gate is not None:
                self.gate.save()
        if hooks:
            self.run_load_hooks()
        return loaded

    def run_load_hooks(self) -> None:
        """Run the load hook of each module landed since they last ran (`pike._hooks`);
        their errors are noted under the policy, never raised."""
        session = self.session
        for record in session.due():
            # A hook before it may have ended the session, or reloaded this module.
            if session.active and session.get(record.entry.key) is record:
                for error in session.call_hooks(LOAD, (record,)):
                    self.policy.note(error)

    def report_broken(self, broken: list[tuple[str, str]]) -> None:
        """Report the plugin archives a walk could not read (``(path, reason)``) as
        `PluginImportError`s, under the error policy; the other plugins load."""
        for path, reason in broken:
            name = os.path.basename(path).rpartition(".")[0]
            error = PluginImportError(
                f"plugin archive {path} {reason}; replace it with a good copy, or "
                "move it out of the plugin folder",
                name,
                path,
            )
            error.source = path
            self.policy.report(error)

    def _load_each(self, entries: list[ModuleEntry]) -> list[ModuleType]:
        loaded: list[ModuleType] = []
        first: dict[str, ModuleEntry] = {}  # top-level name -> the first entry that has it
        failed_prefix: str | None = None
        for entry in entries:
            name = entry.name
            if failed_prefix is not None and name.startswith(failed_prefix):
                continue
            failed_prefix = None
            try:
                module = self._import(entry, first)
            except PluginError as error:
                failed_prefix = name + "."
                if error.module_name != name:
                    # Raised by another plugin this one imports: this one failed.
                    error = import_error(name, entry.path, error)
                if error.source is None:
                    error.source = entry.source
                self.policy.report(error)
                continue
            loaded.append(module)
        return loaded

    def _import(self, entry: ModuleEntry, first: dict[str, ModuleEntry]) -> ModuleType:
        """Import one entry; raise a PluginError if it collides or fails."""
        name = entry.name
        session = self.session
        key = entry.key
        top = "." not in name
        if top:
            existing = self._check_before(entry, first.setdefault(key, entry), key)
            if existing is not _MISSING:
                return existing  # type: ignore[return-value]
        # Claim the name in this thread, by hand: this runs once per module.
        previous = getattr(_claims, "claim", None)
        _claims.claim = Claim(entry, session)
        try:
            module = import_module(key)
        except KeyboardInterrupt:
            self._forget(key)
            session.end()
            raise
        except PluginError:
            self._forget(key)
            raise
        except BaseException as exc:  # SystemExit, GeneratorExit... from a plugin
            self._forget(key)
            raise import_error(name, entry.path, exc) from exc
        finally:
            _claims.claim = previous
        if not session.owns(key, module):
            if top:
                # Served by someone else after all (another manager, or a file that
                # moved away meanwhile): use it only if it is the same file.
                self._foreign(entry, module)
            elif session.get(key) is None:
                # A submodule of a borrowed package, or one the standard path
                # finder loaded (a __path__ leading elsewhere): used, not run by us.
                session.borrow(Record(entry, module, None, None, borrowed=True))
        return module

    def _forget(self, key: str) -> None:
        """Take out what a failed import of ``key`` left: it and its submodules."""
        prefix = key + "."
        self.session.forget([key, *(n for n in self.session if n.startswith(prefix))])

    def _check_before(self, entry: ModuleEntry, held: ModuleEntry, key: str) -> object:
        """Raise the collision that keeps top-level ``entry`` from loading, if any.

        Returns the module to use if it is loaded already, else ``_MISSING``.
        """
        name = entry.name
        error = name_collision(name, entry.path, held.path)
        if error is not None:
            raise error
        existing = sys.modules.get(key, _MISSING)
        if existing is _MISSING:
            return _MISSING
        if existing is None:
            raise blocked(name, entry.path)
        record = self.session.get(key)
        if record is None or record.module is not existing:
            self._foreign(entry, existing)
        elif record.entry.path != entry.path:
            raise hidden(name, entry.path, record.entry.path)  # an earlier refresh or import
        return existing

    def _foreign(self, entry: ModuleEntry, module: object) -> None:
        """``module``, not loaded by this manager, holds ``entry``'s name: raise, or borrow it."""
        owner = session_of(module)
        if owner is not None and owner is not self.session and owner.active:
            raise other_manager(entry.name, entry.path, module)
        if (owner is None or not owner.active) and _is_file(module, entry.path):
            # The host imported this very file itself (or kept it from a manager
            # with unload=False): use it, but it stays the host's.
            self.session.borrow(Record(entry, module, None, None, borrowed=True))
            return
        raise already_imported(entry.name, entry.path, module)


def _is_file(module: object, path: str) -> bool:
    """True if ``module`` was loaded from the file ``path``."""
    try:
        return os.path.samefile(location_of(module), path)
    except (OSError, ValueError):
        return False
