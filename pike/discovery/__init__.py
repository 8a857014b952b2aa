"""Discovery helpers: ``filesystem`` looks at folders, ``py`` at imported modules,
``static`` at source files without running them (imported on first use)."""

import importlib
from types import ModuleType

from pike.discovery import filesystem, py

__all__ = ["filesystem", "py", "static"]


def __getattr__(name: str) -> ModuleType:
    if name == "static":
        return importlib.import_module("pike.discovery.static")
    raise AttributeError(f"module 'pike.discovery' has no attribute {name!r}")
