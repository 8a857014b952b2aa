"""Which plugins are turned off: ``disabled=``, ``only=``, safe mode, and the environment.

The one rule (docs/misbehaving.md, "Turning plugins off"): patterns are shell-style and
case-sensitive (`fnmatch.fnmatchcase`), matched against a plugin module's full dotted
name, and a package's match reaches everything in it. ``only`` keeps the modules that
match (and the packages a pattern reaches into, which their submodules need), then
``disabled`` takes out its matches. ``PIKE_DISABLE`` (comma-separated) adds to
``disabled``, ``PIKE_ONLY`` narrows further (a module must match both ``only`` sets),
and ``PIKE_SAFE_MODE`` set to ``1``, ``true`` or ``yes`` (or ``safe_mode=True``) turns
every drop-in plugin off. A module turned off is never opened: the walk moves it to the
skipped entries (`sift`), with the switch or pattern that turned it off as the reason,
and the finder refuses an import of it (`reason`).

Named managers match the same patterns against entry-point names (`turns_off`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from pike._objects import a_type_name
from pike.errors import PikeTypeError, PikeValueError

__all__ = ["DISABLE", "ONLY", "SAFE_MODE", "Switches", "patterns_of"]

DISABLE = "PIKE_DISABLE"
ONLY = "PIKE_ONLY"
SAFE_MODE = "PIKE_SAFE_MODE"
_YES = ("1", "true", "yes")


def patterns_of(value: object, argument: str) -> tuple[str, ...] | None:
    """``value`` given as ``argument`` (one pattern, an iterable of them, or None) as a
    tuple of patterns; raises `PikeTypeError` / `PikeValueError` naming the argument."""
    if value is None:
        return None
    wanted = "pass a pattern (str), an iterable of them, or None"
    if isinstance(value, str):
        items: list[object] = [value]
    elif isinstance(value, (bytes, bytearray, Mapping)) or not isinstance(value, Iterable):
        raise PikeTypeError(f"{argument} is {a_type_name(value)}; {wanted}")
    else:
        items = list(value)
    found = []
    for item in items:
        if not isinstance(item, str):
            raise PikeTypeError(f"{argument} holds {a_type_name(item)}; {wanted}")
        pattern = item.strip()
        if not pattern or "\0" in pattern or "," in pattern:
            raise PikeValueError(
                f"{argument} holds {item!r}; a pattern is a module name, or a shell-style "
                "pattern of one ('legacy_*', 'pkg.sub'), without commas or NUL"
            )
        found.append(pattern)
    return tuple(found)


def _listed(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip() and "\0" not in part)


def fnmatchcase(name: str, pattern: str) -> bool:
    """`fnmatch.fnmatchcase`, imported on first use (only a manager with switches on)."""
    from fnmatch import fnmatchcase as match

    return match(name, pattern)


def _matches(name: str, pattern: str) -> bool:
    """``name`` or a package above it matches ``pattern``."""
    if fnmatchcase(name, pattern):
        return True
    while "." in name:
        name = name.rpartition(".")[0]
        if fnmatchcase(name, pattern):
            return True
    return False


def _reaches_into(package: str, pattern: str) -> bool:
    """``pattern`` may match a module inside ``package``: its leading dotted parts match
    ``package``'s (``pkg.sub`` and ``*.sub`` reach into ``pkg``)."""
    depth = package.count(".") + 1
    parts = pattern.split(".")
    return len(parts) > depth and fnmatchcase(package, ".".join(parts[:depth]))


class Switches:
    """The off switches of one manager, checked when it is made (see the module's
    docstring). False when nothing is turned off."""

    __slots__ = ("_disabled", "_only", "given", "safe")

    def __init__(
        self,
        disabled: object = None,
        only: object = None,
        safe_mode: object = False,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(safe_mode, bool):
            raise PikeTypeError(f"safe_mode is {a_type_name(safe_mode)}; pass True or False")
        if environ is not None and not isinstance(environ, Mapping):
            raise PikeTypeError(
                f"environ is {a_type_name(environ)}; pass a mapping of variable names to "
                "values (os.environ, {} to ignore the environment), or None"
            )
        env = os.environ if environ is None else environ
        given = patterns_of(disabled, "disabled") or ()
        kept = patterns_of(only, "only")
        #: The arguments, checked (an iterator given is read once): ``(disabled, only,
        #: safe_mode)``.
        self.given = (given or None, kept, safe_mode)
        # (pattern, where it comes from)
        self._disabled = tuple((p, "disabled=") for p in given) + tuple(
            (p, DISABLE) for p in _listed(env.get(DISABLE, ""))
        )
        self._only: list[tuple[tuple[str, ...], str]] = []
        if kept is not None:
            self._only.append((kept, "only="))
        narrowed = _listed(env.get(ONLY, ""))
        if narrowed:
            self._only.append((narrowed, ONLY))
        #: What turned safe mode on, or None.
        self.safe: str | None = None
        if safe_mode:
            self.safe = "safe_mode=True"
        elif env.get(SAFE_MODE, "").strip().lower() in _YES:
            self.safe = f"{SAFE_MODE}={env[SAFE_MODE].strip()}"

    def __bool__(self) -> bool:
        return bool(self._disabled or self._only or self.safe)

    def reason(self, name: str, is_package: bool = False) -> str | None:
        """Why plugin module ``name`` (dotted) is turned off, or None if it is not."""
        if self.safe is not None:
            return f"turned off: safe mode ({self.safe})"
        for patterns, origin in self._only:
            if not any(_matches(name, p) for p in patterns) and not (
                is_package and any(_reaches_into(name, p) for p in patterns)
            ):
                return f"turned off: matches none of {list(patterns)!r} ({origin})"
        for pattern, origin in self._disabled:
            if _matches(name, pattern):
                return f"turned off: matches {pattern!r} ({origin})"
        return None

    def turns_off(self, name: str, module: str | None = None) -> str | None:
        """Why a named plugin (an entry point called ``name``) is turned off, or None: the
        patterns match its name or, for a drop-in folder's (``module``, its module's
        dotted name), that module's name as for `reason`. Safe mode covers drop-in
        folders only: installed distributions are installed software."""
        if module is not None and self.safe is not None:
            return f"turned off: safe mode ({self.safe})"

        def matches(pattern: str) -> bool:
            return fnmatchcase(name, pattern) or (module is not None and _matches(module, pattern))

        for patterns, origin in self._only:
            if not any(matches(p) for p in patterns):
                return f"turned off: matches none of {list(patterns)!r} ({origin})"
        for pattern, origin in self._disabled:
            if matches(pattern):
                return f"turned off: matches {pattern!r} ({origin})"
        return None

    def sift(self, names: list[tuple[str, bool]]) -> dict[int, str | None]:
        """The positions of the modules (``(name, is_package)``, packages before what is
        in them) that are turned off, each with its reason; a module inside a package
        that is off is off with it, its reason None (its package is the one reported)."""
        off: dict[int, str | None] = {}
        if not self:
            return off
        dropped: list[str] = []  # the prefixes of packages turned off
        for i, (name, is_package) in enumerate(names):
            if dropped and any(name.startswith(prefix) for prefix in dropped):
                off[i] = None
                continue
            reason = self.reason(name, is_package)
            if reason is not None:
                off[i] = reason
                if is_package:
                    dropped.append(name + ".")
        return off

    def __repr__(self) -> str:
        return f"Switches(disabled={self._disabled!r}, only={self._only!r}, safe={self.safe!r})"
