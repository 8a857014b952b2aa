"""What a manager refuses to run, asked by pike's loaders just before a plugin module
runs (docs/misbehaving.md).

In order, for each plugin module about to run:

1. before anything of it is opened: is it turned off (`pike._switches`; the walk has
   already skipped those it found, this refuses an import statement's), or held in
   quarantine (`pike._quarantine`)?
2. with its compiled code in hand (read, nothing run): is it on the block list
   (``blocked=``), does it meet its ``__requires__`` (`pike._requires`)? What it declares
   is read from its source only if its code names ``__requires__`` or ``__version__``
   (`pike._declared`), and kept by its file's state.
3. while it runs, this process's quarantine note names it.

A refusal is raised as its `PluginError` (the importer reports it under ``on_error``; an
import statement that asked for the module meets it as an ``ImportError``); what pike
only warns about is a `PikeWarning` (`pike._policy.warn`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Literal

from pike._filestate import FileState
from pike._objects import a_type_name
from pike._policy import warn
from pike._walk import ModuleEntry, names_inside
from pike.errors import (
    PikeTypeError,
    PikeValueError,
    PluginBlockedError,
    PluginDisabledError,
    PluginIncompatibleError,
    PluginQuarantinedError,
)

if TYPE_CHECKING:
    from pike._declared import Declarations, Declared
    from pike._quarantine import Note, Quarantine
    from pike._requires import Installed, Problem, Verdicts
    from pike._switches import Switches

__all__ = ["MODES", "Gate", "Requires", "checked"]

# What a manager needs of the gate's modules is imported when it is needed: quarantine
# (mmap, the notes) only with quarantine=True, requirements (and packaging's answers)
# only for a module that declares some, so `import pike.manager` pays for none of them.

Requires = Literal["enforce", "warn", "ignore"]
"""What ``requires=`` accepts (importable from ``pike.manager``)."""
MODES = ("enforce", "warn", "ignore")
_REQUIRES = "__requires__"
# How a name is declared (`pike._declared`'s kinds, which that module is not imported for).
_ABSENT, _LITERAL = 0, 1


def checked(
    quarantine: object,
    requires: object,
    host: object,
    blocked: object,
    verdicts: Verdicts | None = None,
) -> tuple[str, tuple[str, str] | None, dict[str, tuple[str, str]]]:
    """The arguments of a `Gate` checked (`PikeTypeError`, `PikeValueError`): ``requires``,
    ``host`` and ``blocked`` as the gate keeps them. Nothing else is done."""
    if not isinstance(quarantine, bool):
        raise PikeTypeError(f"quarantine is {a_type_name(quarantine)}; pass True or False")
    if not isinstance(requires, str):
        raise PikeTypeError(
            f"requires is {a_type_name(requires)}; pass 'enforce', 'warn' or 'ignore'"
        )
    if requires not in MODES:
        raise PikeValueError(
            f"requires={requires!r} is not a mode; pass 'enforce' (an unmet requirement "
            "keeps the plugin out), 'warn' (a warning, and it loads) or 'ignore'"
        )
    if host is None and blocked is None:
        return requires, None, {}
    from pike._requires import Verdicts, blocked_of, host_of

    answers = Verdicts() if verdicts is None else verdicts  # not saved: only checking
    return requires, host_of(host, answers), blocked_of(blocked, answers)


class Gate:
    """One manager's refusals (see the module's docstring), its arguments checked when it
    is made: ``switches``, ``quarantine`` (a bool), ``requires`` (a mode), ``host``,
    ``blocked``."""

    def __init__(
        self,
        search_paths: list[str],
        roots: tuple[str, ...],
        *,
        switches: Switches,
        quarantine: object = False,
        requires: object = "warn",
        host: object = None,
        blocked: object = None,
    ) -> None:
        self.switches = switches
        # bool(switches), known once: asked of each module ("quarantine 1000" row).
        self._switched = bool(switches)
        self._roots = roots  # plugin folders: no cache is written inside one
        self._verdicts: Verdicts | None = None
        if host is not None or blocked is not None:
            from pike._requires import Verdicts

            self._verdicts = Verdicts(roots)
        self.requires, self.host, self.blocked = checked(
            quarantine, requires, host, blocked, self._verdicts
        )
        self.quarantine: Quarantine | None = None
        if quarantine:
            from pike._quarantine import Quarantine, folder_for

            folder, why = folder_for(roots)
            if folder is None:
                warn(f"quarantine is off: {why}; plugins load without it")
            else:
                self.quarantine = Quarantine(folder, roots)
        self._search_paths = search_paths
        #: Whether anything is refused before a module is opened, or a module is named in
        #: the quarantine note (`admit`): not with no switch on and no quarantine.
        self.opens = self._switched or self.quarantine is not None
        #: Whether modules' declarations may matter (`before_run`).
        self.reads = self.requires != "ignore" or bool(self.blocked)
        self._declarations: Declarations | None = None
        self._installed: Installed | None = None
        # What each ``__requires__`` value checked found, by identity (kept alive with it).
        self._problems: dict[int, tuple[object, list[Problem]]] = {}

    # -- before anything is opened ---------------------------------------------------------

    def admit(self, entry: ModuleEntry, st: object, state: FileState) -> Note | None:
        """``entry`` is about to be opened and run: raise its refusal that needs nothing
        of it opened (turned off, quarantined; ``st`` is the stat of its file, an
        archive's for a member, and ``state`` that file's state). Else it is named in this
        process's quarantine note from here on, which is returned (the caller's to
        `Note.leave` when it ends); None without quarantine. Asked only when `opens`."""
        if self._switched:
            inside = partial(names_inside, entry) if entry.is_package else None
            reason = self.switches.reason(entry.name, entry.is_package, inside)
            if reason is not None:
                raise PluginDisabledError(
                    f"plugin module {entry.name!r} ({entry.path}) is {reason}; it is not "
                    "imported (turn it on again, or do not import it)",
                    entry.name,
                    entry.path,
                    switch=reason,
                )
        quarantine = self.quarantine
        if quarantine is None:
            return None
        if quarantine.any:
            held = quarantine.holds(entry.path, st)  # type: ignore[arg-type]
            if held is not None:
                raise PluginQuarantinedError(
                    f"plugin module {entry.name!r} ({entry.path}) is quarantined: the process "
                    f"died while importing it (pid {held.pid}); it is not imported while its "
                    f"file is unchanged. Fix or update it, or release it: "
                    f"mgr.release({entry.name!r}) or pike --release {entry.name} "
                    f"{entry.search_path}",
                    entry.name,
                    entry.path,
                    since=held.since,
                    pid=held.pid,
                )
        note = quarantine.note()
        if note is None:
            return None
        note.enter(entry, state)
        return note

    # -- with its code in hand ------------------------------------------------------------

    def before_run(
        self,
        entry: ModuleEntry,
        code: object,
        declaring: Callable[[FileState], tuple[Callable[[], bytes] | None, FileState | int]],
        state: FileState,
    ) -> None:
        """Raise the refusal of ``entry`` that its declarations call for (blocked,
        incompatible), or warn; ``code`` is its compiled code (None for an extension
        module), its file was in ``state``. Only if its declarations must be read,
        ``declaring(state)`` gives what reads its source (None without one) and what
        vouches for what is kept of it: its file's state, or an archive member's CRC-32."""
        blocked = self.blocked.get(entry.name) if self.blocked else None
        names = getattr(code, "co_names", ())
        if blocked is None and (self.requires == "ignore" or _REQUIRES not in names):
            return  # nothing to check: the common case, decided by a look at its code's names
        declarations = self._declarations
        if declarations is None:
            from pike._declared import Declarations

            declarations = self._declarations = Declarations(self._search_paths)
        source, vouch = declaring(state)
        if code is None or source is None:
            declared = declarations.nothing
            if _REQUIRES in names and self.requires != "ignore":
                warn(
                    f"plugin module {entry.name!r} ({entry.path}) has no source to read "
                    "its __requires__ from; it is not checked"
                )
        else:
            declared = declarations.of(entry.search_path, entry.path, vouch, source)
        if blocked is not None:
            self._check_blocked(entry, declared, *blocked)
        if self.requires != "ignore" and declared[0] != _ABSENT:
            self._check_requires(entry, declared)

    def _answers(self) -> Verdicts:
        if self._verdicts is None:
            from pike._requires import Verdicts

            self._verdicts = Verdicts(self._roots)
        return self._verdicts

    def _check_blocked(
        self, entry: ModuleEntry, declared: Declared, lowest: str, reason: str
    ) -> None:
        kind, version, line = declared[3], declared[4], declared[5]
        if kind == _LITERAL and isinstance(version, str):
            if self._answers().less(version, lowest) is False:
                return
            found = f"its __version__ is {version!r}"
        elif kind == _ABSENT:
            found, version = "it declares no __version__", None
        elif kind == _LITERAL:
            found, version = f"its __version__ is {version!r}, not a string", None
        else:
            found, version = "its __version__ is not a literal pike can read", None
        where = f"{entry.path}, line {line}" if line else entry.path
        raise PluginBlockedError(
            f"plugin module {entry.name!r} ({where}) is blocked below version {lowest}: "
            f"{reason}; {found}. Install version {lowest} or later of it (with "
            f"__version__ = '{lowest}' or higher, as a literal), or remove it",
            entry.name,
            entry.path,
            line,
            reason=reason,
            lowest_good_version=lowest,
            version=version if isinstance(version, str) else None,
        )

    def _check_requires(self, entry: ModuleEntry, declared: Declared) -> None:
        """Check what ``entry`` declares it requires (it declares something)."""
        kind, value, line = declared[0], declared[1], declared[2]
        if kind == _LITERAL:  # the common case, once per value (see below)
            known = self._problems.get(id(value))
            if known is not None and known[0] is value and not known[1]:
                return
        where = f"{entry.path}, line {line}" if line else entry.path
        if kind != _LITERAL:
            warn(
                f"plugin module {entry.name!r} ({where}) sets __requires__ to something "
                "other than a literal, which pike cannot read without running it; write "
                "it as a dict literal. It is imported unchecked"
            )
            return
        # Modules that declare the same (one value, read back from the cache) are checked
        # once ("requires 1000" benchmark row).
        known = self._problems.get(id(value))
        if known is not None and known[0] is value:
            problems = known[1]
        else:
            from pike._requires import Installed, check

            if self._installed is None:
                self._installed = Installed(self._roots)
            problems = check(
                value, host=self.host, verdicts=self._answers(), installed=self._installed
            )
            self._problems[id(value)] = (value, problems)
        for problem in problems:
            if not problem.unmet:
                warn(
                    f"plugin module {entry.name!r} ({where}): pike cannot check its "
                    f"requirement {problem.requirement}: {problem.fix}. It is imported"
                )
        unmet = [p for p in problems if p.unmet]
        if not unmet:
            return
        said = "; ".join(
            f"requires {p.requirement}, found {p.found or 'nothing'}: {p.fix}" for p in unmet
        )
        if self.requires == "warn":
            warn(
                f"plugin module {entry.name!r} ({where}) {said}. It is imported anyway "
                "(requires='warn'; requires='enforce' keeps it out)"
            )
            return
        first = unmet[0]
        raise PluginIncompatibleError(
            f"plugin module {entry.name!r} ({where}) {said}. It was not imported "
            "(requires='enforce')",
            entry.name,
            entry.path,
            line,
            requirement=first.requirement,
            found=first.found,
        )

    # -- while it runs -----------------------------------------------------------------------

    @contextlib.contextmanager
    def loading(self, entries: list[ModuleEntry]) -> Iterator[None]:
        """A batch of imports, ``entries`` (the importer's): this process's quarantine
        note learns them once, then is told only which begins (`pike._quarantine.Note`),
        and that none runs once the batch ends."""
        note = self.quarantine.note() if self.quarantine is not None else None
        if note is None:
            yield
            return
        note.hold(entries)
        try:
            yield
        finally:
            note.release()

    # -- the rest ------------------------------------------------------------------------------

    def release(self, name: str) -> list[str]:
        """Lift the quarantine of module ``name``: the files released (empty: not held)."""
        return self.quarantine.release(name) if self.quarantine is not None else []

    def quarantined(self) -> list[str]:
        """The names of the modules held in quarantine in this manager's folders."""
        return self.quarantine.names() if self.quarantine is not None else []

    def save(self) -> None:
        """Keep what was learned (declarations, packaging's answers) in the cache folder."""
        if self._declarations is not None:
            self._declarations.save()
        if self._verdicts is not None:
            self._verdicts.save()
