"""Trust: pike does not load code that other users can change.

A plugin folder or file that another user can write is a way into every
program that loads it, as a repository owned by someone else is for git
(CVE-2022-24765) and a key file others can write is for ssh. The rule, for
each search path, package folder, bytecode cache folder, plugin file and
drop-in ``entry_points.txt`` (symbolic links followed to their targets): it
must be owned by the effective user or by root, and not be writable by others
(``o+w``). Group-writable is allowed: user-private groups make it common.

The checks read the stat pike takes of each file anyway, so they cost no
extra system call per module. Where there is no POSIX ownership (Windows)
nothing is checked.
"""

from __future__ import annotations

import os
import stat
from typing import Literal

try:  # a built-in module on POSIX; imported now so no block adds it to sys.modules
    import pwd
except ImportError:  # pragma: no cover - Windows
    pwd = None  # type: ignore[assignment]

from pike._objects import a_type_name
from pike.errors import PikeTypeError, PikeValueError, UntrustedPathError, UntrustedPluginError

__all__ = ["ANY_HINT", "Trust", "TrustPolicy"]

#: How an error about an untrusted path tells to load it anyway (the command line
#: says it in its own words).
ANY_HINT = "pass trust='any'"

Trust = Literal["owner", "any"]
"""What ``trust`` accepts: ``"owner"`` loads only folders and files owned by you or
root and writable by no one else; ``"any"`` checks nothing (for containers and
mounts without owners). Importable from ``pike.manager``."""

_geteuid = getattr(os, "geteuid", None)


def _user(uid: int) -> str:
    if pwd is not None:
        try:
            return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
        except (KeyError, OverflowError):
            pass
    return f"uid {uid}"


class TrustPolicy:
    """The ``trust`` argument, checked, and the rule it asks for.

    ``trust="owner"`` (the default) checks every file and folder by the rule
    above; ``trust="any"`` checks nothing (for containers and mounts without
    owners). ``checks`` tells which.
    """

    __slots__ = ("_owners", "checks")

    def __init__(self, trust: object = "owner") -> None:
        if not isinstance(trust, str):
            raise PikeTypeError(
                f"trust is {a_type_name(trust)}; use 'owner' (the default) or 'any'"
            )
        if trust not in ("owner", "any"):
            raise PikeValueError(
                f"trust={trust!r} is not a trust policy; use 'owner' "
                "(the default: load only files owned by you or root that others cannot "
                "write) or 'any' (no check, e.g. in a container or on a mount without owners)"
            )
        self.checks = trust == "owner" and _geteuid is not None
        self._owners: frozenset[int] = frozenset()
        self.renew()

    def renew(self) -> None:
        """Take the effective user again (a manager does at each activation)."""
        self._owners = frozenset({_geteuid(), 0}) if _geteuid is not None else frozenset()

    def trusted(self, st: os.stat_result) -> bool:
        """True if a file or folder with this stat passes (always, when nothing is checked)."""
        return not self.checks or (not st.st_mode & stat.S_IWOTH and st.st_uid in self._owners)

    # -- the errors ----------------------------------------------------------------

    def _problem(self, st: os.stat_result) -> str:
        mode, uid = st.st_mode, st.st_uid
        me = _geteuid() if _geteuid is not None else uid
        shown = f"{stat.filemode(mode)}, mode {stat.S_IMODE(mode):04o}, owner {_user(uid)}"
        if uid not in self._owners:
            return (
                f"is owned by {_user(uid)}, not by you ({_user(me)}) or root ({shown}); "
                "another user could change the code it holds"
            )
        return f"is writable by other users ({shown}); anyone could put code in it"

    def _fix(self, path: str, st: os.stat_result) -> str:
        if st.st_uid not in self._owners:
            me = _geteuid() if _geteuid is not None else st.st_uid
            how = f"chown {_user(me).split(' ')[0]} {path}"
            if st.st_mode & stat.S_IWOTH:
                how += f" and chmod o-w {path}"
        else:
            how = f"chmod o-w {path}"
        return f"fix: {how}, or {ANY_HINT} to load it anyway"

    def require_plugin(self, name: str, path: str, st: os.stat_result) -> None:
        """Raise `UntrustedPluginError` if plugin ``name``'s file or folder ``path`` fails."""
        if not self.trusted(st):
            raise UntrustedPluginError(
                f"plugin module {name!r} was not imported: {path} {self._problem(st)}; "
                f"{self._fix(path, st)}",
                name,
                path,
                owner=st.st_uid,
                mode=st.st_mode,
            )

    def require_folder(self, name: str, folder: str) -> None:
        """Check the folder a plugin file lies in, and the bytecode cache beside it."""
        for directory in (folder, os.path.join(folder, "__pycache__")):
            try:
                st = os.stat(directory)
            except OSError:
                continue  # no cache yet (or the folder went away: the import will say)
            self.require_plugin(name, directory, st)

    def require_path(self, path: str, st: os.stat_result, why: str = "") -> None:
        """Raise `UntrustedPathError` if the folder or file ``path`` fails;
        ``why`` says what it decides (for a file that names the plugins to run)."""
        if not self.trusted(st):
            reason = f"{self._problem(st)}{'; ' + why if why else ''}; {self._fix(path, st)}"
            raise UntrustedPathError(path, reason, owner=st.st_uid, mode=st.st_mode)
