"""A plugin module's own load and unload hooks (docs/refresh.md, "Load and unload hooks").

A plugin module may define ``__pike_load__()``, run once it and the modules that
run again with it are in place, and ``__pike_unload__()``, run when it is
replaced, removed or taken out at cleanup. A hook runs in the thread that asked
for the change; what it raises, or its taking longer than `LIMIT` seconds, is a
[`PluginHookError`][pike.errors.PluginHookError], never raised into the host.
"""

from __future__ import annotations

import time

from pike._objects import describe
from pike._policy import line_in
from pike.errors import PluginHookError

__all__ = ["LIMIT", "LOAD", "UNLOAD", "call", "defines"]

LOAD = "__pike_load__"
UNLOAD = "__pike_unload__"

#: Seconds a hook may take before it is reported: it should hand slow work to a
#: thread of its own. pike cannot stop a hook that never returns.
LIMIT = 1.0


def defines(module: object, hook: str) -> bool:
    """True if ``module``'s namespace holds ``hook`` (read warily: it may be anything)."""
    try:
        namespace = object.__getattribute__(module, "__dict__")
        return type(namespace) is dict and namespace.get(hook) is not None
    except Exception:  # an object without a __dict__
        return False


def call(hook: str, module: object, name: str, path: str) -> PluginHookError | None:
    """Run ``module``'s ``hook`` if it has one; the error to report, if any.

    ``name`` and ``path`` are the plugin module's name and file, for the error.
    A ``KeyboardInterrupt`` propagates; anything else a hook raises is reported.
    """
    if not defines(module, hook):
        return None
    function = object.__getattribute__(module, "__dict__")[hook]
    start = time.monotonic()
    try:
        function()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit too: a hook never ends the host
        error = PluginHookError(
            f"plugin module {name!r}: its {hook}() raised {describe(exc)}; fix the hook, "
            "or catch what it raises inside it",
            name,
            path,
            _line(exc, path),
            hook=hook,
        )
        error.__cause__ = exc
        error.__suppress_context__ = True
        return error
    took = time.monotonic() - start
    if took > LIMIT:
        return PluginHookError(
            f"plugin module {name!r}: its {hook}() took {took:.1f} s, more than the "
            f"{LIMIT:g} s a hook may take; hand slow work to a thread of the plugin's own",
            name,
            path,
            hook=hook,
        )
    return None


def _line(exc: BaseException, path: str) -> int | None:
    try:
        return line_in(exc, path)
    except Exception:  # a hostile exception's attributes
        return None
