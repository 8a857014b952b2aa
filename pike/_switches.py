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
from collections.abc import Callable, Iterable, Mapping

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


_compiled: dict[str, Callable[[str], object]] = {}


def _compile(pattern: str) -> Callable[[str], object]:
    """The matcher of ``pattern``, compiled once (``fnmatch`` and ``re`` imported only by a
    manager with switches on, as it is made: a block imports nothing for them)."""
    match = _compiled.get(pattern)
    if match is None:
        import fnmatch
        import re

        match = _compiled[pattern] = re.compile(fnmatch.translate(pattern)).match
    return match


def fnmatchcase(name: str, pattern: str) -> bool:
    """`fnmatch.fnmatchcase`, by `_compile`'s matchers."""
    return _compile(pattern)(name) is not None


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
    """``pattern`` can match a module inside ``package`` (a name that begins with
    ``package`` and a dot): ``pkg.sub``, ``*.sub`` and ``*one`` reach into ``pkg``."""
    tokens = _tokens(pattern)
    at = _closure({0}, tokens)
    for char in package + ".":
        moved = set()
        for i in at:
            if i < len(tokens) and _takes(tokens[i], char):
                moved.add(i if tokens[i] == "*" else i + 1)
        at = _closure(moved, tokens)
        if not at:
            return False
    return any(i < len(tokens) for i in at)  # something is left to match the rest


def _tokens(pattern: str) -> list[str]:
    """A shell-style pattern as fnmatch reads it: ``*``, ``?``, a ``[...]`` set, or one
    character each."""
    tokens: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "[":
            j = i + 1
            if j < len(pattern) and pattern[j] == "!":
                j += 1
            if j < len(pattern) and pattern[j] == "]":
                j += 1
            close = pattern.find("]", j)
            if close != -1:
                tokens.append(pattern[i : close + 1])
                i = close + 1
                continue
        tokens.append(char)
        i += 1
    return tokens


def _closure(at: set[int], tokens: list[str]) -> set[int]:
    """``at`` with each ``*`` also matched by nothing."""
    pending = list(at)
    while pending:
        i = pending.pop()
        if i < len(tokens) and tokens[i] == "*" and i + 1 not in at:
            at.add(i + 1)
            pending.append(i + 1)
    return at


def _takes(token: str, char: str) -> bool:
    if token in ("*", "?"):
        return True
    if len(token) > 1:  # a set
        return fnmatchcase(char, token)
    return token == char


class Switches:
    """The off switches of one manager, checked when it is made (see the module's
    docstring). False when nothing is turned off."""

    __slots__ = ("_disabled", "_needed", "_only", "_sifted", "environ", "given", "safe")

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
        for name in (DISABLE, ONLY, SAFE_MODE):
            if name in env and not isinstance(env[name], str):
                raise PikeTypeError(
                    f"environ[{name!r}] is {a_type_name(env[name])}; a variable's value is a str"
                )
        #: The variables as they were read, for a later listing to see the same.
        self.environ = {name: env[name] for name in (DISABLE, ONLY, SAFE_MODE) if name in env}
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
        # What the last walk decided of packages `only` does not match: kept for a module
        # inside (`_needed`), or off (`_sifted`); an import of one is judged the same.
        self._needed: set[str] = set()
        self._sifted: set[str] = set()
        #: What turned safe mode on, or None.
        self.safe: str | None = None
        if safe_mode:
            self.safe = "safe_mode=True"
        elif env.get(SAFE_MODE, "").strip().lower() in _YES:
            self.safe = f"{SAFE_MODE}={env[SAFE_MODE].strip()}"
        for pattern, _origin in self._disabled:
            _compile(pattern)
        for patterns, _origin in self._only:
            for pattern in patterns:
                _compile(pattern)

    def __bool__(self) -> bool:
        return bool(self._disabled or self._only or self.safe)

    def reason(
        self,
        name: str,
        is_package: bool = False,
        inside: Callable[[], list[str] | None] | None = None,
    ) -> str | None:
        """Why plugin module ``name`` (dotted) is turned off, or None if it is not. A
        package ``only`` does not match is on if the last walk kept it for a module
        inside (`sift`), off if it did not; if no walk saw it, on if a module inside is
        on, ``inside()`` giving their names (else None: then on when a pattern of
        ``only`` can reach into it)."""
        if is_package and name in self._needed:  # a walk kept it for a module inside
            found = self._reason(name)
            return None if found is None or found[1] else found[0]
        if not is_package or name in self._sifted:
            found = self._reason(name)
            return None if found is None else found[0]
        found = self._reason(name)
        if found is None or not found[1]:
            return None if found is None else found[0]
        # No walk saw it, and only only= keeps it out: on for a module inside that is on.
        names = None if inside is None else inside()
        if names is None:
            reached = self._reason(name, reaching=True)
            return None if reached is None else reached[0]
        return None if any(self._reason(inner) is None for inner in names) else found[0]

    def turns_off(self, name: str, module: str | None = None) -> str | None:
        """Why a named plugin (an entry point called ``name``) is turned off, or None: the
        patterns match its name or, for a drop-in folder's (``module``, its module's
        dotted name), that module's name as for `reason`. Safe mode covers drop-in
        folders only: installed distributions are installed software."""
        if module is not None and self.safe is not None:
            return f"turned off: safe mode ({self.safe})"

        def matches(pattern: str) -> bool:
            return fnmatchcase(name, pattern) or (module is not None and _matches(module, pattern))

        for pattern, origin in self._disabled:
            if matches(pattern):
                return f"turned off: matches {pattern!r} ({origin})"
        for patterns, origin in self._only:
            if not any(matches(p) for p in patterns):
                return f"turned off: matches none of {list(patterns)!r} ({origin})"
        return None

    def sift(self, names: list[tuple[str, bool]]) -> dict[int, str | None]:
        """The positions of the modules (``(name, is_package)``, packages before what is
        in them) that are turned off, each with its reason. A package ``only`` does not
        match is kept if a module inside it is (it must import first); a module inside a
        package that is off is off with it, its reason None (its package is the one
        reported)."""
        if not self:
            return {}
        reasons = [self._reason(name) for name, _is_package in names]
        needed: set[str] = set()  # packages above a module that is on
        for (name, _is_package), reason in zip(names, reasons, strict=True):
            above = name
            while reason is None and "." in above:
                above = above.rpartition(".")[0]
                needed.add(above)
        self._needed, self._sifted = needed, set()  # this walk's, of every search path
        off: dict[int, str | None] = {}
        dropped: list[str] = []  # the prefixes of packages turned off
        for i, ((name, is_package), reason) in enumerate(zip(names, reasons, strict=True)):
            if reason is None or (reason[1] and name in needed):
                continue
            if is_package and reason[1]:
                self._sifted.add(name)
            inside = any(name.startswith(prefix) for prefix in dropped)
            off[i] = None if inside else reason[0]
            if is_package:
                dropped.append(name + ".")
        return off

    def _reason(self, name: str, *, reaching: bool = False) -> tuple[str, bool] | None:
        """Why ``name`` is off by its own name or a package's above it, and whether only
        for ``only`` (a package that a module inside needs is on all the same). With
        ``reaching``, a pattern of ``only`` that reaches into ``name`` keeps it."""
        if self.safe is not None:
            return f"turned off: safe mode ({self.safe})", False
        for pattern, origin in self._disabled:
            if _matches(name, pattern):
                return f"turned off: matches {pattern!r} ({origin})", False
        for patterns, origin in self._only:
            if not any(
                _matches(name, p) or (reaching and _reaches_into(name, p)) for p in patterns
            ):
                return f"turned off: matches none of {list(patterns)!r} ({origin})", True
        return None

    def __repr__(self) -> str:
        return f"Switches(disabled={self._disabled!r}, only={self._only!r}, safe={self.safe!r})"
