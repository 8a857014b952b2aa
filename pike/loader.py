"""PikeLoader: pike 0.2.0's loader by file path, on top of the standard loaders.

0.2.0 compiled and executed each file by hand. This one hands the file to the
standard ``SourceFileLoader`` (as subclassed by pike, `pike._importing`), so
bytecode caches are written and reused and ``__spec__``, ``__cached__`` and
``__loader__`` are what a normal import sets. A module it loads stays in
``sys.modules``, as in 0.2.0: use a [`PikeManager`][pike.manager.PikeManager] for
plugins that are cleaned up afterwards.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
from types import ModuleType

from pike._importing import SourceFileLoader
from pike._policy import import_error
from pike._trust import Trust, TrustPolicy
from pike.errors import PluginImportError

__all__ = ["PikeLoader"]


def _is_init(path: str) -> bool:
    return os.path.basename(path).startswith("__init__")


class PikeLoader(importlib.abc.Loader):
    """Loads the module ``fullname`` from the file ``module_path``.

    ``trust`` is checked as [`PikeManager`][pike.manager.PikeManager] checks it:
    by default the file and its folder must be yours (or root's) and not
    writable by others.
    """

    def __init__(self, fullname: str, module_path: str, *, trust: Trust = "owner") -> None:
        self.fullname = fullname
        self.module_path = os.fspath(module_path)
        self._trust = TrustPolicy(trust)

    def is_package(self, fullname: str | None = None) -> bool:
        """True if the file is a package's ``__init__`` (``fullname`` is not used)."""
        return _is_init(self.module_path)

    def augment_module(self, fullname: str, module: ModuleType) -> ModuleType:
        """Set ``__path__`` (for a package) and ``__package__`` on ``module``; return it."""
        if self.is_package():
            module.__path__ = [os.path.dirname(self.module_path)]
            module.__package__ = fullname
        else:
            module.__package__ = fullname.rpartition(".")[0]
        return module

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        """None: the default module creation."""
        return None

    def exec_module(self, module: ModuleType) -> None:
        """Execute the file in ``module`` (through the standard source loader)."""
        SourceFileLoader(module.__name__, self.module_path).exec_module(module)

    def load_module(self, fullname: str) -> ModuleType:
        """Import ``fullname`` from the file; the module already in ``sys.modules`` is kept.

        Raises [`PluginImportError`][pike.errors.PluginImportError] (an ``ImportError``) for
        another name, a file that is not Python source, or a module that fails.
        """
        if fullname != self.fullname:
            raise PluginImportError(
                f"this PikeLoader loads {self.fullname!r} from {self.module_path}, "
                f"not {fullname!r}; ask the finder for a loader of {fullname!r}",
                fullname,
                self.module_path,
            )
        existing = sys.modules.get(fullname)
        if existing is not None:
            return existing
        module = self.load_module_by_path(fullname, self.module_path)
        if module is None:
            raise PluginImportError(
                f"cannot load {fullname!r}: {self.module_path} is not a .py file",
                fullname,
                self.module_path,
            )
        return module

    def load_module_by_path(self, module_name: str, path: str) -> ModuleType | None:
        """Import ``module_name`` from ``path`` into ``sys.modules``; None if not a .py file."""
        path = os.fspath(path)
        if os.path.splitext(path)[1].lower() != ".py":
            return None
        if self._trust.checks:
            try:
                st = os.stat(path)
            except OSError as exc:
                raise import_error(module_name, path, exc) from exc
            self._trust.require_plugin(module_name, path, st)
            self._trust.require_folder(module_name, os.path.dirname(os.path.abspath(path)))
        package = os.path.dirname(path) if _is_init(path) else None
        spec = importlib.util.spec_from_file_location(
            module_name,
            path,
            loader=SourceFileLoader(module_name, path),
            submodule_search_locations=[package] if package is not None else None,
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except KeyboardInterrupt:
            self._forget(module_name, module)
            raise
        except BaseException as exc:
            self._forget(module_name, module)
            raise import_error(module_name, path, exc) from exc
        return sys.modules.get(module_name, module)

    @staticmethod
    def _forget(name: str, module: ModuleType) -> None:
        if sys.modules.get(name) is module:
            del sys.modules[name]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.fullname!r}, {self.module_path!r})"
