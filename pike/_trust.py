"""Trust: pike does not load code that other users can change (contract C15).

A plugin folder or file that another user can write is a way into every
program that loads it, as a repository owned by someone else is for git
(CVE-2022-24765) and a key file others can write is for ssh. So, before
anything is imported, each search path, each package folder and each plugin
file (symbolic links followed to their targets) must be owned by the
effective user or by root, and must not be writable by others (``o+w``).
Group-writable is allowed: user-private groups make it common.

The checks read the stat pike takes of each file anyway (to notice later
changes, C9), so they cost no extra system call per module. Where there is no
POSIX ownership (Windows) nothing is checked.
"""

from __future__ import annotations

import os
import stat
from typing import Literal

try:  # a built-in module on POSIX; imported now so no block adds it to sys.modules
    import pwd
except ImportError:  # pragma: no cover - Windows
    pwd = None  # type: ignore[assignment]

from pike.errors import PikeTypeError, PikeValueError, UntrustedPluginError, _a_type_name

__all__ = ["Trust", "check_trust", "owners", "problem", "require_trusted", "require_trusted_folder"]

Trust = Literal["owner", "any"]

_geteuid = getattr(os, "geteuid", None)


def check_trust(trust: object) -> bool:
    """Validate the ``trust`` argument; True if files are to be checked."""
    if not isinstance(trust, str):
        raise PikeTypeError(f"trust is {_a_type_name(trust)}; use 'owner' (the default) or 'any'")
    if trust == "owner":
        return _geteuid is not None
    if trust == "any":
        return False
    raise PikeValueError(
        f"trust={trust!r} is not a trust policy; use 'owner' "
        "(the default: load only files owned by you or root that others cannot write) "
        "or 'any' (no check, e.g. in a container or on a mount without owners)"
    )


def _user(uid: int) -> str:
    if pwd is not None:
        try:
            return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
        except (KeyError, OverflowError):
            pass
    return f"uid {uid}"


def owners() -> frozenset[int]:
    """The owners a trusted file may have: the effective user and root."""
    return frozenset({_geteuid(), 0}) if _geteuid is not None else frozenset()


def problem(st: os.stat_result) -> str | None:
    """Why a file or folder with this stat is not to be trusted, or None if it is."""
    mode = st.st_mode
    uid = st.st_uid
    me = _geteuid() if _geteuid is not None else uid
    writable = bool(mode & stat.S_IWOTH)
    foreign = uid not in (me, 0)
    if not writable and not foreign:
        return None
    shown = f"{stat.filemode(mode)}, mode {stat.S_IMODE(mode):04o}, owner {_user(uid)}"
    if foreign:
        return (
            f"is owned by {_user(uid)}, not by you ({_user(me)}) or root ({shown}); "
            "another user could change the code it holds"
        )
    return f"is writable by other users ({shown}); anyone could put code in it"


def fix(path: str, st: os.stat_result) -> str:
    """What to do about an untrusted ``path``."""
    me = _geteuid() if _geteuid is not None else st.st_uid
    if st.st_uid not in (me, 0):
        how = f"chown {_user(me).split(' ')[0]} {path}"
        if st.st_mode & stat.S_IWOTH:
            how += f" and chmod o-w {path}"
    else:
        how = f"chmod o-w {path}"
    return f"fix: {how}, or pass trust='any' to load it anyway"


def require_trusted(name: str, path: str, st: os.stat_result) -> None:
    """Raise `UntrustedPluginError` if plugin ``name``'s ``path`` is untrusted."""
    why = problem(st)
    if why is not None:
        raise UntrustedPluginError(
            f"plugin module {name!r} was not imported: {path} {why}; {fix(path, st)}",
            name,
            path,
            owner=st.st_uid,
            mode=st.st_mode,
        )


def require_trusted_folder(name: str, folder: str) -> None:
    """Check the folder a plugin file lies in, and the bytecode cache beside it."""
    for directory in (folder, os.path.join(folder, "__pycache__")):
        try:
            st = os.stat(directory)
        except OSError:
            continue  # no cache yet (or the folder went away: the import will say)
        require_trusted(name, directory, st)
