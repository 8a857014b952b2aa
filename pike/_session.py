"""What an active manager installs into the interpreter, and how it is taken out.

A session puts its finder first in ``sys.meta_path`` and remembers ``sys.path``.
Ending it (contract C7) removes the finder, unloads every module whose top-level
name the finder served, drops the ``sys.path`` entries added meanwhile that point
inside the search paths, and forgets ``sys.path_importer_cache`` entries under
them. A session never refers to its manager, so a finalizer can end it when the
manager is collected.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter

from pike._paths import is_within, roots_of
from pike.finder import PikeFinder, owner_of

__all__ = ["Session"]


class Session:
    """The interpreter state one manager owns while it is active."""

    def __init__(self, finder: PikeFinder, search_paths: list[str], unload: bool) -> None:
        self.finder = finder
        self.unload = unload
        self.roots = roots_of(search_paths)
        self.lock = threading.RLock()
        self._sys_path_before: list[str] | None = None

    @property
    def active(self) -> bool:
        return self._sys_path_before is not None

    def start(self) -> bool:
        """Put the finder first in ``sys.meta_path``; False if it was already there."""
        with self.lock:
            if self.finder in sys.meta_path:
                return False
            self._sys_path_before = list(sys.path)
            self.finder.invalidate_caches()
            sys.meta_path.insert(0, self.finder)
            return True

    def end(self) -> None:
        """Take out everything the session installed; safe to call any number of times."""
        with self.lock:
            finder = self.finder
            meta_path = sys.meta_path
            while finder in meta_path:
                meta_path.remove(finder)
            if self.unload:
                self._unload()
            finder.served.clear()
            before, self._sys_path_before = self._sys_path_before, None
            if before is not None:
                self._restore_sys_path(before)
            self._forget_importer_cache()

    def _unload(self) -> None:
        finder = self.finder
        if not finder.served:
            return
        modules = sys.modules
        ours = set()
        for name in finder.served:
            module = modules.get(name)
            if module is None or self._belongs_here(module):
                ours.add(name)
        if not ours:
            return
        for key in [k for k in modules if k.partition(".")[0] in ours]:
            del modules[key]

    def _belongs_here(self, module: object) -> bool:
        """True unless ``module`` (under a name we served) is someone else's now."""
        owner = owner_of(module)
        if owner is not None:
            return owner is self.finder
        # A plugin that replaced itself in sys.modules leaves an object with no
        # location of its own: it goes with the name. A module from elsewhere stays.
        try:
            spec = getattr(module, "__spec__", None)
            where = getattr(module, "__file__", None) or getattr(spec, "origin", None)
        except Exception:
            return True
        return not isinstance(where, str) or is_within(where, self.roots)

    def _restore_sys_path(self, before: list[str]) -> None:
        if sys.path == before:
            return
        remaining = Counter(before)
        kept = []
        for entry in sys.path:
            if remaining[entry] > 0:
                remaining[entry] -= 1
                kept.append(entry)
            elif not is_within(entry, self.roots):
                kept.append(entry)
        sys.path[:] = kept

    def _forget_importer_cache(self) -> None:
        cache = sys.path_importer_cache
        for key in [k for k in cache if is_within(k, self.roots)]:
            del cache[key]
