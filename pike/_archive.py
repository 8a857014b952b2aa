"""Plugin archives: a ``.zip``, ``.pyz`` or ``.whl`` file in a search path, read in place.

Under isolation an archive is a source of its own (`pike._namespace`): its
top-level modules and packages are plugins, loaded from the archive without
extracting anything. The rules are the walk's, on the archive's members:

* a member ``NAME.py`` is a module, a folder holding ``__init__.py`` a package
  (the package wins over a module of the same name, as FileFinder's order
  says); names that cannot be imported, hidden members and ``__pycache__`` are
  passed over; only source is loaded (bytecode in an archive is nothing pike can
  check against its source);
* an archive that cannot be read as one (corrupt, truncated, not a zip file) is
  broken: the walk reports it, as a `PluginImportError` naming it, and goes on.

Archives carry no bytecode cache pike can trust, so pike keeps the compiled
code of their members in its cache folder (`pike._cache`): one file per
archive, valid for the state of the archive it was made from
(`pike._filestate`), each member's code kept with the CRC-32 of the source it
was compiled from, which is checked against the archive's directory before the
code is used.

``zipfile`` (and the codec of member names) is imported by `prepare`, which an
isolated manager calls when it is made if its folders hold an archive then: not
inside the block, where plugins run. (An archive added later is read with
``zipfile`` imported then; a plugin never takes a standard-library name, so it
is still the standard library's.) Folders without archives pay nothing for it
("isolate 1000" benchmark row).
"""

from __future__ import annotations

import errno
import os
import sys
import time
from types import CodeType
from typing import Any

from pike import _cache, _log
from pike._filestate import FileState
from pike._names import ARCHIVE_SUFFIXES, unusable_name

__all__ = ["Archive", "ArchiveError", "any_in", "prepare"]

logger = _log.get(__name__)

_CODE_FORMAT = 1


class ArchiveError(OSError):
    """An archive, or a member of it, that cannot be read; the message says why. An
    ``OSError``, as a file that cannot be read is."""


#: The largest member pike reads (a source file or a data file; past it, an error).
MAX_MEMBER = 64 * 2**20


def any_in(folders: list[str]) -> bool:
    """True if a plugin archive lies directly in one of ``folders`` (by name)."""
    for folder in folders:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        # Every name at once, each ending with a NUL ("isolate 1000" benchmark row).
        joined = ("\0".join(names) + "\0").lower()
        if any(suffix + "\0" in joined for suffix in ARCHIVE_SUFFIXES):
            return True
    return False


def prepare() -> None:
    """Import what reading archives needs, now (an isolated manager calls it when made,
    if its folders hold an archive; else it is imported when one is first read)."""
    import encodings.cp437  # noqa: F401 - member names without the UTF-8 flag
    import zipfile  # noqa: F401
    import zlib  # noqa: F401


class Archive:
    """One archive, as it was when opened: its members, its modules, their code.

    ``path`` is the archive file, ``state`` its state then. Raises
    `ArchiveError` if the file is no readable archive.
    """

    def __init__(self, path: str, st: os.stat_result, now_ns: int | None = None) -> None:
        import zipfile

        self.path = path
        self.state = FileState.of(st, path, time.time_ns() if now_ns is None else now_ns)
        try:
            with zipfile.ZipFile(path) as archive:
                infos = archive.infolist()
        except (OSError, zipfile.BadZipFile, ValueError, EOFError, RuntimeError) as exc:
            raise ArchiveError(f"cannot be read as an archive ({exc})") from None
        self._crc: dict[str, int] = {}
        #: The member declaring entry points, as a drop-in distribution's: a wheel's
        #: ``*.dist-info/entry_points.txt``, or one at the top; None if there is none.
        self.entry_points: str | None = None
        # Each folder of the archive ("" for its top, "pkg/sub" below): the modules and
        # packages directly in it, by name, as (member, is_package).
        self._folders: dict[str, dict[str, tuple[str, bool]]] = {}
        self._sizes: dict[str, int] = {}
        for info in infos:
            name = info.filename
            self._sizes[name] = info.file_size
            if name == "entry_points.txt" or (
                name.endswith(".dist-info/entry_points.txt") and name.count("/") == 1
            ):
                self.entry_points = min(name, self.entry_points or name)
            if name.endswith("/") or not name.endswith(".py"):
                continue
            self._crc[name] = info.CRC
        for member in sorted(self._crc):
            parts = member.split("/")
            # Hidden, Python's own, or a name no folder could hold ("/abs.py", "a//b.py",
            # "C:x.py"): never a module.
            if any(not p or p.startswith(".") or p == "__pycache__" or ":" in p for p in parts):
                continue
            stem, folder = parts[-1][:-3], parts[:-1]
            if stem == "__init__":
                if not folder or unusable_name(folder[-1]) is not None:
                    continue
                # A package: a name in the folder above it, winning over a module.
                self._folder("/".join(folder[:-1]))[folder[-1]] = (member, True)
            elif unusable_name(stem) is None:
                self._folder("/".join(folder)).setdefault(stem, (member, False))
        self._zip: Any = None
        self._code: dict[str, tuple[int, CodeType]] | None = None
        self._dirty = False

    def _folder(self, folder: str) -> dict[str, tuple[str, bool]]:
        found = self._folders.get(folder)
        if found is None:
            found = self._folders[folder] = {}
        return found

    # -- what it holds ------------------------------------------------------------------

    def modules(self, folder: str = "") -> list[tuple[str, str, bool]]:
        """``(name, member, is_package)`` of the modules and packages in ``folder``, by
        name; only packages whose folders above are packages are reachable."""
        return [(name, *found) for name, found in sorted(self._folders.get(folder, {}).items())]

    def names_in(self, folder: str) -> frozenset[str]:
        """The module and package names directly in ``folder`` (dotted, ``""`` for the
        top), as a private namespace asks."""
        return frozenset(self._folders.get(folder.replace(".", "/"), {}))

    def find(self, folder: str, name: str) -> tuple[str, bool] | None:
        """``(member, is_package)`` of module ``name`` in ``folder``, or None."""
        return self._folders.get(folder, {}).get(name)

    def crc_of(self, member: str) -> int:
        """The CRC-32 the archive gives for module ``member``'s content."""
        return self._crc[member]

    def holds(self, data: object) -> bool:
        """Whether what was kept of this archive in the state ``data`` (`FileState` data)
        still holds: the same file and, if its times were too recent to vouch for it
        then, the same content (a digest of what it held is kept with its state). The
        one rule for everything kept per archive: its code, and the index's facts."""
        stored = FileState.from_data(data)
        return (
            stored is not None
            and stored.key == self.state.key
            and not stored.content_differs(self.path)
        )

    def member_of(self, path: str) -> str:
        """The member a path of the ``archive/member`` form names (raises
        ``FileNotFoundError`` for a path outside the archive)."""
        inside = os.path.join(self.path, "")
        if not path.startswith(inside):
            raise FileNotFoundError(errno.ENOENT, "not a file of the archive", path)
        return path[len(inside) :].replace(os.sep, "/")

    def path_of(self, member: str) -> str:
        """The ``archive/member`` form of a member's path, as ``__file__`` has it."""
        return os.path.join(self.path, *member.split("/"))

    # -- reading --------------------------------------------------------------------------

    def read(self, member: str) -> bytes:
        """The bytes of ``member``; ``FileNotFoundError`` if the archive has no such
        member, `ArchiveError` (an ``OSError``) if it cannot be read or is larger than
        `MAX_MEMBER`."""
        import zipfile

        size = self._sizes.get(member)
        if size is None:
            where = self.path_of(member)
            raise FileNotFoundError(errno.ENOENT, "no such member in the archive", where)
        if size > MAX_MEMBER:
            raise ArchiveError(
                f"{self.path}: {member} holds {size} bytes, more than pike reads from an "
                f"archive ({MAX_MEMBER})"
            )
        try:
            if self._zip is None:
                self._zip = zipfile.ZipFile(self.path)
            data: bytes = self._zip.read(member)
        except (zipfile.BadZipFile, ValueError, EOFError, RuntimeError, KeyError) as exc:
            raise ArchiveError(f"{self.path}: cannot read {member} ({exc})") from None
        return data

    def code(self, member: str) -> CodeType:
        """The compiled code of ``member``: from pike's cache folder when it was compiled
        from this very source, else compiled now (and kept for `save`)."""
        if self._code is None:
            self._code = self._cached()
        crc = self.crc_of(member)
        kept = self._code.get(member)
        if kept is not None and kept[0] == crc:
            return kept[1]
        code = compile(self.read(member), self.path_of(member), "exec", dont_inherit=True)
        self._code[member] = (crc, code)
        self._dirty = True
        return code

    def _name(self) -> str:
        # Code compiled under -O or -OO differs: another file, as for Python's own caches.
        real = os.path.realpath(self.path)
        return "archive-" + _cache.key_of("archive", _CODE_FORMAT, sys.flags.optimize, real)

    def _cached(self) -> dict[str, tuple[int, CodeType]]:
        """The code kept for this archive in its present state; every value checked."""
        document = _cache.read(self._name())
        if document is None or not self.holds(document.get("state")):
            return {}
        if document.get("optimize") != sys.flags.optimize:
            return {}
        code = document.get("code")
        if type(code) is not dict:
            return {}
        kept: dict[str, tuple[int, CodeType]] = {}
        for member, value in code.items():
            if (
                type(member) is str
                and type(value) is tuple
                and len(value) == 2
                and type(value[0]) is int
                and type(value[1]) is CodeType
            ):
                kept[member] = value
        return kept

    def save(self, avoid: tuple[str, ...]) -> None:
        """Keep the code compiled since the archive was opened in pike's cache folder
        (never inside ``avoid``, the plugin folders)."""
        if not self._dirty or self._code is None or sys.dont_write_bytecode:
            return  # nothing new; or the program asked for no bytecode to be written
        self._dirty = False
        document = {
            "state": self.state.to_data(),
            "optimize": sys.flags.optimize,
            "code": dict(self._code),
        }
        _cache.write(self._name(), document, avoid=avoid, folders=(os.path.dirname(self.path),))

    def close(self) -> None:
        """Close the archive file, if a member was read."""
        archive, self._zip = self._zip, None
        if archive is not None:
            archive.close()
