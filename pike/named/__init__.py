"""Named plugins, with stevedore's API: drivers, extensions, hooks and dispatch.

A stevedore program switches by changing its imports::

    from pike.named import driver, extension

    mgr = driver.DriverManager(namespace="mydrivers", name="simple_driver1")
    print(mgr.driver().get_name())
    for ext in extension.ExtensionManager(namespace="myextensions"):
        print(ext.name, ext.plugin)

A *namespace* is an entry-point group. Its plugins come from two sources, in
this order: drop-in folders (pike's ``search_paths=``) that declare names in
an ``entry_points.txt`` file, in the format a distribution uses; then the
entry points of installed distributions. Folder plugins load through a
[`PikeManager`][pike.manager.PikeManager] (its isolation and cleanup), active
until the manager's ``close()`` or the end of a ``with`` block.

The modules are stevedore's: [`extension`][pike.named.extension],
[`named`][pike.named.named], [`enabled`][pike.named.enabled],
[`driver`][pike.named.driver], [`hook`][pike.named.hook],
[`dispatch`][pike.named.dispatch] and ``exception`` (whose errors are
[`pike.errors`][pike.errors]'s).
"""

from pike.errors import (
    AmbiguousPluginError,
    EntryPointError,
    MultipleMatches,
    NoMatches,
    NoUniqueMatch,
    PluginNotFoundError,
)
from pike.named import dispatch, driver, enabled, exception, extension, hook, named
from pike.named.dispatch import DispatchExtensionManager, NameDispatchExtensionManager
from pike.named.driver import DriverManager
from pike.named.enabled import EnabledExtensionManager
from pike.named.extension import Extension, ExtensionManager
from pike.named.hook import HookManager
from pike.named.named import NamedExtensionManager

__all__ = [
    "AmbiguousPluginError",
    "DispatchExtensionManager",
    "DriverManager",
    "EnabledExtensionManager",
    "EntryPointError",
    "Extension",
    "ExtensionManager",
    "HookManager",
    "MultipleMatches",
    "NameDispatchExtensionManager",
    "NamedExtensionManager",
    "NoMatches",
    "NoUniqueMatch",
    "PluginNotFoundError",
    "dispatch",
    "driver",
    "enabled",
    "exception",
    "extension",
    "hook",
    "named",
]
