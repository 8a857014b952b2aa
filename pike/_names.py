"""The rules of names: which files are modules, which names a plugin may take, and why not.

* A file is a module when its name ends with an import suffix, in the order of
  precedence the standard ``FileFinder`` uses when several files give one
  name: extension modules, then source, then bytecode. A folder is a package
  when it holds an ``__init__`` file, the same order choosing among several.
* A plugin module's name is one ``import`` can spell: an identifier that is not
  a keyword, and not ``__main__`` (a package's entry point).
* An isolated source's modules live in ``sys.modules`` under names that begin
  with a private prefix of their source (`private_prefix`), the same in every
  run for the same real path, so they never take a host's name nor meet another
  source's: ``utils`` is ``<prefix>__utils``, ``NodeA.nodes`` is
  ``<prefix>__NodeA.nodes`` (`private_key`); their plugin names stay what the
  folder says (`plugin_name`).
* No plugin takes a top-level name of the standard library or a built-in
  module; nor a name an earlier search path holds, a name the program blocked
  (``sys.modules[name] = None``), or one imported from another file: each is a
  `PluginCollisionError`, built here, naming both sides and the fix.

The import of plugins, static listing and the named managers all ask here.
"""

from __future__ import annotations

import binascii
import keyword
import os
import sys
from importlib import machinery

from pike._objects import location_of
from pike.errors import PluginCollisionError

__all__ = [
    "ARCHIVE_SUFFIXES",
    "INIT_FILES",
    "PRIVATE",
    "PROTECTED_NAMES",
    "SEPARATOR",
    "SUFFIXES",
    "already_imported",
    "blocked",
    "hidden",
    "installed_meets_plugin",
    "is_archive",
    "is_valid_name",
    "module_name_of",
    "name_collision",
    "names_class",
    "other_manager",
    "plugin_name",
    "private_key",
    "private_prefix",
    "protected",
    "split_key",
    "tracked",
    "unusable_name",
]

#: Module suffixes in FileFinder's order of precedence.
SUFFIXES: tuple[str, ...] = (
    *machinery.EXTENSION_SUFFIXES,
    *machinery.SOURCE_SUFFIXES,
    *machinery.BYTECODE_SUFFIXES,
)
#: The files that make a folder a package, in the same order.
INIT_FILES: tuple[str, ...] = tuple("__init__" + suffix for suffix in SUFFIXES)
# Longest first, so ".cpython-311-x86_64-linux-gnu.so" is matched before ".so".
_MATCH_ORDER = tuple(sorted(SUFFIXES, key=len, reverse=True))

#: Top-level names no plugin may take: the standard library and built-ins.
PROTECTED_NAMES: frozenset[str] = frozenset(sys.stdlib_module_names) | frozenset(
    sys.builtin_module_names
)


#: The files in a search path that are plugin archives (`pike._archive`), by suffix.
ARCHIVE_SUFFIXES = (".zip", ".pyz", ".whl")


def is_archive(filename: str) -> bool:
    """True if ``filename`` names a plugin archive (by its suffix, in any case)."""
    return filename.lower().endswith(ARCHIVE_SUFFIXES)


def tracked(relative: str) -> bool:
    """Whether a change to ``relative`` (a path inside a search path, relative to it) can
    matter to the plugins: a module file, a plugin archive, or a folder that is, or may
    become, a package. Never a bytecode cache, a hidden file, an editor's backup or swap
    file (``mod.py~``, ``.mod.py.swp``, ``.#mod.py``) or another file."""
    parts = relative.split(os.sep)
    name = parts[-1]
    if not name or any(part.startswith(".") or part == "__pycache__" for part in parts):
        return False
    if is_archive(name) or name.endswith(_MATCH_ORDER):
        return True
    return "." not in name  # a folder (a package, or one that may become one)


#: What the private prefix of every isolated source starts with.
PRIVATE = "_pike_"
#: Between a private prefix and a plugin's name (a prefix itself never holds it).
SEPARATOR = "__"


def private_prefix(source: str) -> str:
    """The prefix of the names an isolated source's modules take in ``sys.modules``.

    It depends on the source's real path alone (a folder or an archive): the
    same in every run and whatever else the manager searches, so a pickle made
    in one run loads in another. ``_pike_<folder name>_<checksum of the path>``: two
    CRC-32s, of the path and of it backwards (no ``hashlib``: it costs more to import
    than an isolated manager's whole start, "isolate 1000" benchmark row). The folder
    name is kept to ASCII letters, digits and single underscores inside it, so the
    first `SEPARATOR` in a key ends its prefix.
    """
    real = os.path.normcase(os.path.realpath(source))
    data = os.fsencode(real)
    digest = f"{binascii.crc32(data):08x}{binascii.crc32(data[::-1]):08x}"
    stem = "".join(c if c.isascii() and c.isalnum() else "_" for c in os.path.basename(real)).strip(
        "_"
    )
    while SEPARATOR in stem:
        stem = stem.replace(SEPARATOR, "_")
    stem = stem[:24].strip("_") or "source"
    return f"{PRIVATE}{stem}_{digest}"


def private_key(prefix: str, name: str) -> str:
    """The name plugin module ``name`` takes in ``sys.modules`` under private prefix
    ``prefix``: a top-level name of its own (``<prefix>__utils``), so a top-level
    plugin imports as one does without isolation."""
    return prefix + SEPARATOR + name


def split_key(key: str) -> tuple[str, str] | None:
    """``(prefix, plugin name)`` of a private key (see `private_key`), or None."""
    prefix, separator, name = key.partition(SEPARATOR)  # a prefix never holds one
    if not separator or not prefix.startswith(PRIVATE) or "." in prefix:
        return None
    return prefix, name


def plugin_name(key: str) -> str:
    """A plugin module's own name, from the name it takes in ``sys.modules``."""
    found = split_key(key)
    return key if found is None else found[1]


def module_name_of(filename: str) -> tuple[str, int] | None:
    """``(name, rank)`` of a module file's name (rank: its suffix's place in
    `SUFFIXES`), or None if it is not a module file."""
    for suffix in _MATCH_ORDER:
        if filename.endswith(suffix) and len(filename) > len(suffix):
            return filename[: -len(suffix)], SUFFIXES.index(suffix)
    return None


def is_valid_name(name: str) -> bool:
    """True for a name ``import`` can spell: an identifier that is not a keyword."""
    return name.isidentifier() and not keyword.iskeyword(name)


def unusable_name(name: str) -> str | None:
    """Why a module file or package named ``name`` is not a plugin module, or None."""
    if name == "__main__":
        return "__main__ is a package's entry point, not a plugin module"
    if is_valid_name(name):
        return None
    what = "a Python keyword" if keyword.iskeyword(name) else "not a valid Python identifier"
    return f"name {name!r} is {what}, so it cannot be imported; rename it"


def protected(name: str) -> str | None:
    """``"built-in"`` or ``"standard library"`` if no plugin may take ``name``, else None."""
    if name not in PROTECTED_NAMES:
        return None
    return "built-in" if name in sys.builtin_module_names else "standard library"


def names_class(dotted: str, wanted: str) -> bool:
    """True if the class named ``dotted`` is the one ``wanted`` names: the same dotted
    name, or, for a bare ``wanted`` (``"Driver"``), any class of that name."""
    if "." in wanted:
        return dotted == wanted
    return dotted.rpartition(".")[2] == wanted


# -- collisions ------------------------------------------------------------------------


def _stdlib_location(name: str) -> str:
    module = sys.modules.get(name)
    if module is not None:
        return location_of(module)
    if name in sys.builtin_module_names:
        return "built-in"
    spec = machinery.PathFinder.find_spec(name)
    return str(spec.origin) if spec is not None and spec.origin else "the standard library"


def name_collision(name: str, path: str, holder: str) -> PluginCollisionError | None:
    """The collision top-level plugin module ``name`` at ``path`` meets by its name alone.

    ``holder`` is the file of the first module of that name in the search paths
    (``path`` itself when it is the first): a later one is hidden by it. A
    standard-library or built-in name is taken whatever the folders hold.
    """
    if holder != path:
        return hidden(name, path, holder)
    kind = protected(name)
    if kind is None:
        return None
    other = _stdlib_location(name)
    return PluginCollisionError(
        f"plugin module {name!r} at {path} would shadow the {kind} module {name!r} "
        f"({other}); rename the file",
        name,
        path,
        other=other,
    )


def hidden(name: str, path: str, holder: str) -> PluginCollisionError:
    """Plugin module ``name`` at ``path`` is hidden by the one at ``holder``."""
    return PluginCollisionError(
        f"plugin module {name!r} at {path} is hidden by plugin module {name!r} at "
        f"{holder} in an earlier search path; rename one of them",
        name,
        path,
        other=holder,
    )


def blocked(name: str, path: str) -> PluginCollisionError:
    """The program set ``sys.modules[name] = None``: nothing may be imported as ``name``."""
    return PluginCollisionError(
        f"plugin module {name!r} at {path} cannot load: the program blocked the name "
        f"(sys.modules[{name!r}] is None); rename the file",
        name,
        path,
        other="blocked",
    )


def already_imported(name: str, path: str, module: object) -> PluginCollisionError:
    """``module``, from another file, holds plugin module ``name``'s name."""
    other = location_of(module)
    return PluginCollisionError(
        f"plugin module {name!r} at {path} would shadow module {name!r} already imported "
        f"from {other}; rename the file",
        name,
        path,
        other=other,
    )


def other_manager(name: str, path: str, module: object) -> PluginCollisionError:
    """Another active manager loaded ``module`` under plugin module ``name``'s name."""
    other = location_of(module)
    return PluginCollisionError(
        f"plugin module {name!r} at {path} is already loaded by another active PikeManager "
        f"from {other}; a top-level name belongs to one manager at a time, so rename one "
        "of them or use one manager",
        name,
        path,
        other=other,
    )


def installed_meets_plugin(entry_point: str, module: str, held: str) -> PluginCollisionError:
    """An installed entry point names ``module``, whose top-level name a drop-in
    folder's plugin, loaded from ``held``, holds."""
    top = module.partition(".")[0]
    return PluginCollisionError(
        f"installed entry point {entry_point!r} names module {module!r}, but {top!r} is the "
        f"drop-in folder's, loaded from {held}; rename one of them",
        module,
        held,
        other=held,
    )
