"""Discovery helpers: ``filesystem`` looks at folders, ``py`` at imported modules,
``static`` at source files without running them. Each is imported on first use: a
host that lists plugins statically needs neither of the others (the "one of 10000,
static route" and "select one of 10000" benchmark rows time that first import)."""

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what type checkers see of the names below; nothing loaded here
    from pike.discovery import filesystem, py, static

__all__ = ["filesystem", "py", "static"]


def __getattr__(name: str) -> ModuleType:
    if name in __all__:
        return importlib.import_module(f"pike.discovery.{name}")
    raise AttributeError(f"module 'pike.discovery' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
