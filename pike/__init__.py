"""pike: discover and load plugins from folders on disk.

    from pike import PikeManager

    with PikeManager(["plugins"]) as mgr:
        drivers = mgr.get_all_inherited_classes(Driver)

The public API is the names below; modules whose names start with an
underscore are private and may change.
"""

from typing import TYPE_CHECKING

from pike._refresh import RefreshReport
from pike._walk import ModuleEntry, SkippedEntry
from pike.errors import (
    AmbiguousPluginError,
    EntryPointError,
    InactiveManagerError,
    MultipleMatches,
    NoMatches,
    NoUniqueMatch,
    PikeError,
    PikeTypeError,
    PikeValueError,
    PikeWarning,
    PluginBlockedError,
    PluginCollisionError,
    PluginContractError,
    PluginDisabledError,
    PluginError,
    PluginHookError,
    PluginImportError,
    PluginIncompatibleError,
    PluginNotFoundError,
    PluginObjectError,
    PluginQuarantinedError,
    SearchPathError,
    UntrustedPathError,
    UntrustedPluginError,
)
from pike.finder import PikeFinder
from pike.manager import LazyClass, PikeManager

# The version is read on first use (below) from pike/_version.txt, which the build writes
# from git tags (pyproject.toml, [tool.setuptools_scm]).
__version__: str

if TYPE_CHECKING:  # loaded on first use at run time (below); seen by type checkers now
    from pike._namespace import import_module
    from pike.named import (
        DispatchExtensionManager,
        DriverManager,
        EnabledExtensionManager,
        Extension,
        ExtensionManager,
        HookManager,
        NamedExtensionManager,
        NameDispatchExtensionManager,
    )

# Named plugins (pike.named) load on first use: importlib.metadata is not free.
_NAMED = (
    "DispatchExtensionManager",
    "DriverManager",
    "EnabledExtensionManager",
    "Extension",
    "ExtensionManager",
    "HookManager",
    "NameDispatchExtensionManager",
    "NamedExtensionManager",
)


def _read_version() -> str:
    try:
        with open(f"{__path__[0]}/_version.txt", encoding="utf-8") as file:
            return file.read().strip()
    except OSError:  # a source tree never built nor installed: ask the installed copy
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("pike")
        except PackageNotFoundError:  # not installed either: no version known
            return "0+unknown"


def __getattr__(name: str) -> object:
    if name in _NAMED:
        import pike.named

        return getattr(pike.named, name)
    if name == "import_module":  # isolated plugins' own import, loaded on first use
        from pike._namespace import import_module

        globals()["import_module"] = import_module
        return import_module
    if name == "__version__":
        globals()["__version__"] = found = _read_version()
        return found
    raise AttributeError(f"module 'pike' has no attribute {name!r}")


__all__ = [  # noqa: RUF022 - grouped: the manager, records, errors, named plugins
    "DispatchExtensionManager",
    "DriverManager",
    "EnabledExtensionManager",
    "Extension",
    "ExtensionManager",
    "HookManager",
    "NameDispatchExtensionManager",
    "NamedExtensionManager",
    "AmbiguousPluginError",
    "EntryPointError",
    "InactiveManagerError",
    "LazyClass",
    "MultipleMatches",
    "NoMatches",
    "NoUniqueMatch",
    "ModuleEntry",
    "PikeError",
    "PikeFinder",
    "PikeManager",
    "PikeTypeError",
    "PikeValueError",
    "PikeWarning",
    "PluginBlockedError",
    "PluginCollisionError",
    "PluginContractError",
    "PluginDisabledError",
    "PluginError",
    "PluginImportError",
    "PluginIncompatibleError",
    "PluginNotFoundError",
    "PluginHookError",
    "PluginObjectError",
    "PluginQuarantinedError",
    "RefreshReport",
    "SearchPathError",
    "SkippedEntry",
    "UntrustedPathError",
    "UntrustedPluginError",
    "import_module",
    "__version__",
]
