"""A plugin's ``__requires__`` checked against this host, and the host's block list.

``__requires__`` is a dict literal (docs/misbehaving.md, "Requirements"):

* ``"host"``: a PEP 440 specifier the host's version (``host=(name, version)``) must
  match;
* ``"python"``: a specifier for this Python's version;
* ``"platforms"``: a list of platforms (``sys.platform``, or how it begins:
  ``"linux"``, ``"darwin"``, ``"win32"``);
* ``"dependencies"``: a list of PEP 508 requirements on installed distributions
  (``"numpy>=1.24"``), checked against the distributions on ``sys.path`` (names
  normalised as ``packaging`` does) without importing them.

Versions and specifiers are PEP 440's, as ``packaging`` (the standard implementation)
reads them; an installed pre-release satisfies a specifier that contains it. What
packaging answers depends only on the strings asked about, so its answers are kept in
pike's cache folder (`Verdicts`): a warm start imports no ``packaging`` at all.

`check` gives each problem as a `Problem`: ``unmet`` ones (a requirement not met, or
one that cannot be read: an invalid specifier fails closed), and ones pike cannot
check (an unknown key; ``host`` without ``host=``), which never keep a plugin out.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from typing import Any

from pike import _cache
from pike._objects import a_type_name
from pike.errors import PikeTypeError, PikeValueError

__all__ = ["Installed", "Problem", "Verdicts", "blocked_of", "check", "host_of"]

KEYS = ("host", "python", "platforms", "dependencies")


class Problem:
    """One requirement of a plugin's that this host does not meet, or that pike cannot
    check (``unmet`` false): what it asks, what was found, and how to fix it."""

    __slots__ = ("fix", "found", "requirement", "unmet")

    def __init__(self, requirement: str, found: str, fix: str, *, unmet: bool = True) -> None:
        self.requirement = requirement
        self.found = found
        self.fix = fix
        self.unmet = unmet

    def __repr__(self) -> str:
        return f"Problem({self.requirement!r}, found={self.found!r}, unmet={self.unmet})"


# -- the arguments ------------------------------------------------------------------------


def host_of(host: object, verdicts: Verdicts) -> tuple[str, str] | None:
    """``host=`` checked: ``(name, version)``, the version a valid PEP 440 version."""
    if host is None:
        return None
    wanted = "pass (name, version), such as ('myapp', '2.3.1'), or None"
    if not isinstance(host, tuple) or len(host) != 2:
        raise PikeTypeError(f"host is {a_type_name(host)}; {wanted}")
    name, version = host
    if not isinstance(name, str) or not isinstance(version, str):
        raise PikeTypeError(f"host holds {a_type_name(name)} and {a_type_name(version)}; {wanted}")
    if not name.strip():
        raise PikeValueError(f"host has an empty name; {wanted}")
    if not verdicts.valid_version(version.strip()):
        raise PikeValueError(
            f"host version {version!r} is not a PEP 440 version; pass one such as '2.3.1'"
        )
    return name.strip(), version.strip()


def blocked_of(blocked: object, verdicts: Verdicts) -> dict[str, tuple[str, str]]:
    """``blocked=`` checked: ``{module name: (lowest good version, reason)}``."""
    if blocked is None:
        return {}
    wanted = "pass {'module': ('1.1.7', 'the reason')}, or None"
    if not isinstance(blocked, Mapping):
        raise PikeTypeError(f"blocked is {a_type_name(blocked)}; {wanted}")
    checked: dict[str, tuple[str, str]] = {}
    for name, value in blocked.items():
        if not isinstance(name, str):
            raise PikeTypeError(f"blocked holds the key {name!r}; {wanted}")
        if not name.strip():
            raise PikeValueError(f"blocked holds an empty module name; {wanted}")
        if (
            not isinstance(value, tuple)
            or len(value) != 2
            or not all(isinstance(part, str) for part in value)
        ):
            raise PikeTypeError(f"blocked[{name!r}] is {value!r}; {wanted}")
        if not verdicts.valid_version(value[0]):
            raise PikeValueError(
                f"blocked[{name!r}] has {value[0]!r}, which is not a PEP 440 version; "
                "give the lowest version that is good, such as '1.1.7'"
            )
        checked[name] = value
    return checked


def _valid_version(text: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        Version(text)
    except (InvalidVersion, ValueError, TypeError):  # ValueError: more digits than int takes
        return False
    return True


# -- packaging's answers, kept ------------------------------------------------------------

_VERDICTS = "verdicts-" + _cache.key_of("requires")
#: The most answers kept (past it, only those of the last run that learned one).
MAX_VERDICTS = 4096
_ANSWERS = (True, False, None)


class Verdicts:
    """packaging's answers about strings, kept in pike's cache folder: read on first use,
    written by `save` when something was learned. Every value read back is checked."""

    def __init__(self, avoid: tuple[str, ...] = ()) -> None:
        self._avoid = avoid  # plugin folders: no cache is written inside one
        self._known: dict[tuple[str, ...], Any] | None = None
        self._used: set[tuple[str, ...]] = set()
        self._learned = False

    def _table(self) -> dict[tuple[str, ...], Any]:
        if self._known is None:
            document = _cache.read(_VERDICTS)
            kept = document.get("verdicts") if document is not None else None
            self._known = {}
            if type(kept) is dict:
                for key, value in kept.items():
                    if _cache.strings(key) and key and _checked(key[0], value):
                        self._known[key] = value
        return self._known

    def _answer(self, key: tuple[str, ...], compute: Any) -> Any:
        table = self._table()
        self._used.add(key)
        if key in table:
            return table[key]
        value = table[key] = compute()
        self._learned = True
        return value

    def contains(self, specifier: str, version: str) -> bool | None:
        """Whether ``version`` matches ``specifier``, pre-releases included; None if
        either is not PEP 440's."""
        return self._answer(("contains", specifier, version), lambda: _contains(specifier, version))  # type: ignore[no-any-return]

    def valid_version(self, version: str) -> bool:
        return self._answer(("version", version), lambda: _valid_version(version))  # type: ignore[no-any-return]

    def less(self, version: str, than: str) -> bool | None:
        """Whether ``version`` is lower than ``than``; None if it is not a version."""
        return self._answer(("less", version, than), lambda: _less(version, than))  # type: ignore[no-any-return]

    def requirement(self, text: str) -> tuple[str, str, str] | None:
        """A PEP 508 requirement as ``(normalised name, specifier, marker)``; None if it
        is not one."""
        return self._answer(("requirement", text), lambda: _requirement(text))  # type: ignore[no-any-return]

    def marker(self, marker: str) -> bool | None:
        """Whether ``marker`` holds here; None if it is not a marker."""
        return self._answer(("marker", marker, *_environment()), lambda: _marker(marker))  # type: ignore[no-any-return]

    def save(self) -> None:
        """Keep what was learned; past `MAX_VERDICTS` answers, only this run's."""
        if self._learned and self._known is not None:
            known = self._known
            if len(known) > MAX_VERDICTS:
                known = {key: known[key] for key in self._used if key in known}
            _cache.write(_VERDICTS, {"verdicts": known}, avoid=self._avoid)
            self._learned = False


def _checked(kind: str, value: object) -> bool:
    if kind in ("contains", "less", "marker"):
        return value is True or value is False or value is None
    if kind == "version":
        return value is True or value is False
    if kind == "requirement":
        return value is None or (_cache.strings(value) and len(value) == 3)  # type: ignore[arg-type]
    return False


def _contains(specifier: str, version: str) -> bool | None:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    try:
        return SpecifierSet(specifier).contains(Version(version), prereleases=True)
    except (InvalidSpecifier, InvalidVersion, ValueError, TypeError):
        return None  # not PEP 440's (or more digits than an int takes): fails closed


def _less(version: str, than: str) -> bool | None:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(version) < Version(than)
    except (InvalidVersion, ValueError, TypeError):
        return None


def _requirement(text: str) -> tuple[str, str, str] | None:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        found = Requirement(text)
    except (InvalidRequirement, ValueError, TypeError):
        return None
    marker = "" if found.marker is None else str(found.marker)
    return _canonical(found.name), str(found.specifier), marker


def _marker(marker: str) -> bool | None:
    from packaging.markers import Marker

    try:
        return bool(Marker(marker).evaluate())
    except Exception:  # InvalidMarker, UndefinedComparison, UndefinedEnvironmentName...
        return None


def _environment() -> tuple[str, ...]:
    """What a marker's answer depends on, as text."""
    import platform

    return (
        python_version(),
        sys.platform,
        os.name,
        platform.machine(),
        platform.system(),
        platform.release(),
        platform.version(),
        platform.python_implementation(),
        sys.implementation.name,
    )


def python_version() -> str:
    """This Python's version as PEP 440 writes it (``3.13.0rc1`` for a pre-release)."""
    major, minor, micro, level, serial = sys.version_info
    tag = {"alpha": "a", "beta": "b", "candidate": "rc"}.get(level)
    return f"{major}.{minor}.{micro}" + (f"{tag}{serial}" if tag else "")


_PYTHON = python_version()


# -- installed distributions ----------------------------------------------------------------


def _canonical(name: str) -> str:
    """A distribution's name normalised as packaging's ``canonicalize_name`` does (PEP 503),
    without importing packaging: the one rule, for installed names and required ones."""
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


class Installed:
    """The versions of the distributions on ``sys.path``, from their ``.dist-info`` and
    ``.egg-info`` folders (as ``importlib.metadata`` finds them: the first on ``sys.path``
    wins): the folders' listings on first use (kept in pike's cache folder by each
    folder's state, so a warm start lists none), a distribution's metadata read when
    asked for; nothing is imported."""

    def __init__(self, avoid: tuple[str, ...] = ()) -> None:
        self._avoid = avoid  # plugin folders: no cache is written inside one
        self._found: dict[str, list[str]] | None = None
        self._versions: dict[str, str | None] = {}

    def version(self, name: str) -> str | None:
        """The installed version of distribution ``name`` (normalised), or None."""
        if name in self._versions:
            return self._versions[name]
        if self._found is None:
            self._found = {}
            for folder, names in _listings(self._avoid):
                for entry in names:
                    stem = entry.rpartition(".")[0].partition("-")[0]
                    self._found.setdefault(_canonical(stem), []).append(os.path.join(folder, entry))
        version = None
        for path in self._found.get(name, ()):
            found = _distribution(path)
            if found is not None and found[0] == name:
                version = found[1]
                break
        self._versions[name] = version
        return version


_LISTINGS = "installed-names-" + _cache.key_of("requires")


def _listings(avoid: tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
    """Each ``sys.path`` folder with the names of the metadata folders in it, in order:
    as kept in the cache folder while the folder has the state it had, else listed (and
    kept, unless the cache folder lies inside one of ``avoid``)."""
    from pike._filestate import FileState

    document = _cache.read(_LISTINGS) or {}
    kept = document.get("folders")
    kept = kept if type(kept) is dict else {}
    now = time.time_ns()
    found: list[tuple[str, tuple[str, ...]]] = []
    fresh: dict[str, object] = {}
    for entry in sys.path:
        if not isinstance(entry, str):
            continue
        folder = os.path.abspath(entry or ".")
        try:
            st = os.stat(folder)
        except OSError:
            continue
        held = kept.get(folder)
        if (
            type(held) is tuple
            and len(held) == 2
            and _cache.strings(held[1])
            and not any("\0" in name for name in held[1])
        ):
            state = FileState.from_data(held[0])
            if state is not None and state.holds(folder, st):
                found.append((folder, held[1]))
                fresh[folder] = held
                continue
        try:
            with os.scandir(folder) as it:
                names = tuple(sorted(e.name for e in it if e.name.endswith(_METADATA_FOLDERS)))
        except OSError:
            continue
        found.append((folder, names))
        fresh[folder] = (FileState.of(st, folder, now).to_data(), names)
    if fresh != kept:
        _cache.write(_LISTINGS, {"folders": fresh}, avoid=avoid)
    return found


_METADATA_FOLDERS = (".dist-info", ".egg-info")


def _distribution(path: str) -> tuple[str, str] | None:
    """``(normalised name, version)`` of a ``.dist-info`` or ``.egg-info`` folder (or
    file), from its metadata's headers."""
    for inside in ("METADATA", "PKG-INFO", ""):
        candidate = os.path.join(path, inside) if inside else path
        try:
            with open(candidate, "rb") as file:
                head = file.read(16384).decode("utf-8", "replace")
        except (OSError, ValueError):  # ValueError: a name with NUL, from a damaged cache
            continue
        name = version = None
        for line in head.splitlines():
            if not line.strip():
                break  # the headers end
            key, _, value = line.partition(":")
            if key == "Name":
                name = value.strip()
            elif key == "Version":
                version = value.strip()
        if name and version:
            return _canonical(name), version
    return None


# -- the check --------------------------------------------------------------------------------


def check(
    requires: object,
    *,
    host: tuple[str, str] | None,
    verdicts: Verdicts,
    installed: Installed,
) -> list[Problem]:
    """The problems of a literal ``__requires__`` on this host (empty: all met)."""
    if type(requires) is not dict:
        return [
            Problem(
                f"__requires__ = {_shown(requires)}",
                "",
                "make __requires__ a dict literal, such as {'python': '>=3.11'}",
            )
        ]
    problems: list[Problem] = []
    for key, value in requires.items():
        if key == "host":
            problems.extend(_host(value, host, verdicts))
        elif key == "python":
            problems.extend(_versioned("python", value, _PYTHON, verdicts))
        elif key == "platforms":
            problems.extend(_platforms(value))
        elif key == "dependencies":
            problems.extend(_dependencies(value, verdicts, installed))
        else:
            problems.append(
                Problem(
                    f"{_shown(key)}: {_shown(value)}",
                    "",
                    f"pike knows the keys {', '.join(KEYS)}; this one is not checked",
                    unmet=False,
                )
            )
    return problems


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _versioned(what: str, value: object, version: str, verdicts: Verdicts) -> list[Problem]:
    if not isinstance(value, str):
        return [
            Problem(
                f"{what} {_shown(value)}",
                version,
                f"write {what}'s requirement as a PEP 440 specifier string, such as '>=3.11'",
            )
        ]
    answer = verdicts.contains(value, version)
    if answer is None:
        return [
            Problem(
                f"{what} {value}",
                version,
                f"{value!r} is not a PEP 440 specifier; "
                "fix it in the plugin's __requires__ (such as '>=2.1,<3')",
            )
        ]
    if answer:
        return []
    if what == "python":
        fix = (
            f"run the host on a Python that matches {value!r}, or use a version of the "
            f"plugin for Python {version}"
        )
    else:
        fix = (
            f"use a version of {what} that matches {value!r}, or a version of the plugin "
            f"made for {what} {version}"
        )
    return [Problem(f"{what} {value}", version, fix)]


def _host(value: object, host: tuple[str, str] | None, verdicts: Verdicts) -> list[Problem]:
    if host is None:
        return [
            Problem(
                f"host {_shown(value)}",
                "",
                "the host gave no version to check it against (PikeManager(host=(name, "
                "version)), pike --host NAME==VERSION)",
                unmet=False,
            )
        ]
    return _versioned(host[0], value, host[1], verdicts)


def _platforms(value: object) -> list[Problem]:
    here = sys.platform
    if not isinstance(value, (list, tuple)) or not all(isinstance(p, str) and p for p in value):
        return [
            Problem(
                f"platforms {_shown(value)}",
                here,
                "write platforms as a list of platform names, such as ['linux', 'darwin']",
            )
        ]
    if any(here.startswith(p) for p in value):
        return []
    return [
        Problem(
            f"platforms {list(value)!r}",
            here,
            f"the plugin runs only on {', '.join(value) or 'no platform'}; "
            f"remove it from the plugin folder on {here}, or use a version of it for {here}",
        )
    ]


def _dependencies(value: object, verdicts: Verdicts, installed: Installed) -> list[Problem]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(d, str) for d in value):
        return [
            Problem(
                f"dependencies {_shown(value)}",
                "",
                "write dependencies as a list of requirement strings, such as ['numpy>=1.24']",
            )
        ]
    problems = []
    for text in value:
        parsed = verdicts.requirement(text)
        if parsed is None:
            problems.append(
                Problem(
                    f"dependency {text!r}",
                    "",
                    f"{text!r} is not a PEP 508 requirement; fix it in the plugin's __requires__",
                )
            )
            continue
        name, specifier, marker = parsed
        if marker:
            holds = verdicts.marker(marker)
            if holds is None:
                problems.append(
                    Problem(
                        f"dependency {text!r}",
                        "",
                        f"its marker {marker!r} cannot be evaluated here (PEP 508); fix it "
                        "in the plugin's __requires__",
                    )
                )
                continue
            if not holds:
                continue  # not wanted here
        version = installed.version(name)
        if version is None:
            problems.append(
                Problem(
                    f"dependency {text}",
                    "not installed",
                    f"install it: pip install {text.split(';')[0].strip()!r}",
                )
            )
            continue
        if specifier and not verdicts.contains(specifier, version):
            problems.append(
                Problem(
                    f"dependency {text}",
                    f"{name} {version}",
                    f"install a matching version: pip install {text.split(';')[0].strip()!r}",
                )
            )
    return problems
