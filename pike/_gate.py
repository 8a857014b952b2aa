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

from pike import _cache, _declared
from pike._declared import ABSENT, DYNAMIC, LITERAL, Declarations
from pike._filestate import FileState
from pike._objects import a_type_name
from pike._policy import warn
from pike._quarantine import FOLDER, Note, Quarantine, unavailable
from pike._requires import Installed, Verdicts, blocked_of, check, host_of, mode_of
from pike._switches import Switches
from pike._walk import ModuleEntry
from pike.errors import (
    PikeTypeError,
    PluginBlockedError,
    PluginDisabledError,
    PluginIncompatibleError,
    PluginQuarantinedError,
)

__all__ = ["Gate", "checked"]


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
    own = verdicts is None
    answers = Verdicts() if verdicts is None else verdicts
    found = mode_of(requires), host_of(host, answers), blocked_of(blocked, answers)
    if own:
        answers.save()
    return found


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
        self._verdicts = Verdicts()
        self.requires, self.host, self.blocked = checked(
            quarantine, requires, host, blocked, self._verdicts
        )
        self.quarantine: Quarantine | None = None
        if quarantine:
            why = unavailable()
            if why is not None:
                warn(f"quarantine is off: {why}; plugins load without it")
            else:
                folder = _cache.subfolder(FOLDER)
                if folder is not None:
                    self.quarantine = Quarantine(folder, roots)
        reads = self.requires != "ignore" or bool(self.blocked)
        self._declarations = Declarations(search_paths) if reads else None
        self._installed = Installed()

    # -- before anything is opened ---------------------------------------------------------

    def before_open(self, entry: ModuleEntry, st: object) -> None:
        """Raise the refusal of ``entry`` that needs nothing of it opened (turned off,
        quarantined); ``st`` is the stat of its file (an archive's, for a member)."""
        switches = self.switches
        if switches:
            reason = switches.reason(entry.name, entry.is_package)
            if reason is not None:
                raise PluginDisabledError(
                    f"plugin module {entry.name!r} ({entry.path}) is {reason}; it is not "
                    "imported (turn it on again, or do not import it)",
                    entry.name,
                    entry.path,
                    switch=reason,
                )
        quarantine = self.quarantine
        if quarantine is not None:
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

    # -- with its code in hand ------------------------------------------------------------

    def before_run(
        self,
        entry: ModuleEntry,
        code: object,
        source: Callable[[], bytes] | None,
        mark: tuple[int, int] | None,
    ) -> None:
        """Raise the refusal of ``entry`` that its declarations call for (blocked,
        incompatible), or warn; ``code`` is its compiled code (None for an extension
        module), ``source`` reads its source (None without one), ``mark`` vouches for
        what is kept of it (`pike._declared.Declarations.of`)."""
        declarations = self._declarations
        if declarations is None:
            return
        blocked = self.blocked.get(entry.name) if self.blocked else None
        if blocked is None and (code is None or not _declared.names_any(code)):
            return  # declares nothing: the common case, decided by a look at its names
        if code is None or source is None:
            declared = _declared.NOTHING
            if code is not None and "__requires__" in getattr(code, "co_names", ()):
                warn(
                    f"plugin module {entry.name!r} ({entry.path}) has no source to read "
                    "its __requires__ from; it is not checked"
                )
        else:
            declared = declarations.of(entry.search_path, entry.path, mark, source)
        if blocked is not None:
            self._check_blocked(entry, declared, *blocked)
        if self.requires != "ignore":
            self._check_requires(entry, declared)

    def _check_blocked(
        self, entry: ModuleEntry, declared: _declared.Declared, lowest: str, reason: str
    ) -> None:
        kind, version, line = declared[3], declared[4], declared[5]
        if kind == LITERAL and isinstance(version, str):
            if self._verdicts.less(version, lowest) is False:
                return
            found = f"its __version__ is {version!r}"
        elif kind == ABSENT:
            found, version = "it declares no __version__", None
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

    def _check_requires(self, entry: ModuleEntry, declared: _declared.Declared) -> None:
        kind, value, line = declared[0], declared[1], declared[2]
        if kind == ABSENT:
            return
        where = f"{entry.path}, line {line}" if line else entry.path
        if kind == DYNAMIC:
            warn(
                f"plugin module {entry.name!r} ({where}) sets __requires__ to something "
                "other than a literal, which pike cannot read without running it; write "
                "it as a dict literal. It is imported unchecked"
            )
            return
        problems = check(value, host=self.host, verdicts=self._verdicts, installed=self._installed)
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
    def running(self, entry: ModuleEntry, state: FileState) -> Iterator[None]:
        """The block in which ``entry`` runs: named in this process's quarantine note."""
        quarantine = self.quarantine
        note = Note.get(quarantine.folder) if quarantine is not None else None
        if note is None:
            yield
            return
        note.enter(entry.name, entry.path, state)
        try:
            yield
        finally:
            note.leave()

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
        self._verdicts.save()
