"""pike: discover and load plugins from folders on disk.

    from pike import PikeManager

    with PikeManager(["plugins"]) as mgr:
        drivers = mgr.get_all_inherited_classes(Driver)

The public API is the names below; modules whose names start with an
underscore are private and may change.
"""

from pike._refresh import RefreshReport
from pike._walk import ModuleEntry, SkippedEntry
from pike.errors import (
    InactiveManagerError,
    PikeError,
    PikeTypeError,
    PikeValueError,
    PikeWarning,
    PluginCollisionError,
    PluginError,
    PluginImportError,
    SearchPathError,
)
from pike.finder import PikeFinder
from pike.manager import PikeManager

__version__ = "1.0.0"

__all__ = [
    "InactiveManagerError",
    "ModuleEntry",
    "PikeError",
    "PikeFinder",
    "PikeManager",
    "PikeTypeError",
    "PikeValueError",
    "PikeWarning",
    "PluginCollisionError",
    "PluginError",
    "PluginImportError",
    "RefreshReport",
    "SearchPathError",
    "SkippedEntry",
    "__version__",
]
