"""Deterministic synthetic plugin trees for the benchmark.

Every tree is a pure function of its parameters, written once into a scratch
folder and reused while its files are intact.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

BASE_MODULE = "bench_base"

_BASE_SOURCE = '''"""The base class every benchmark plugin derives from, and a contract."""

from typing import Protocol


class Runs(Protocol):
    """What the host calls on a plugin: every class of the trees conforms."""

    name: str

    def run(self, data): ...


class Base:
    name = "base"

    def run(self, data):
        raise NotImplementedError


class Special(Base):
    """The base only one module of the drop-in tree derives from."""
'''

_MODULE = '''"""Benchmark plugin module {i}: three plugin classes and a helper."""

import os

from bench_base import Base

CONSTANT_{i} = {i}


def helper_{i}(value):
    """Scale a value the way plugin {i} does."""
    return value * CONSTANT_{i} + len(os.sep)


class Plugin{i}Reader(Base):
    """Reads things."""

    name = "plugin_{i}_reader"

    def run(self, data):
        total = 0
        for item in data:
            total += helper_{i}(item)
        return total

    def describe(self):
        return f"{{self.name}}: {{CONSTANT_{i}}}"


class Plugin{i}Writer(Base):
    """Writes things."""

    name = "plugin_{i}_writer"

    def run(self, data):
        return [helper_{i}(item) for item in data if item % 2]

    def describe(self):
        return f"{{self.name}} writes"


class Plugin{i}Checker(Base):
    """Checks things."""

    name = "plugin_{i}_checker"

    def run(self, data):
        return all(helper_{i}(item) >= 0 for item in data)
'''


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _marker(root: Path) -> Path:
    # Beside the tree, not in it: the tree holds plugin files only.
    return root.with_name(root.name + ".complete")


def _ready(root: Path, marker: str) -> bool:
    done = _marker(root)
    return root.is_dir() and done.exists() and done.read_text() == marker


def _finish(root: Path, marker: str) -> Path:
    _marker(root).write_text(marker)
    return root


def base_folder(scratch: Path) -> Path:
    """A folder holding ``bench_base.py``, put on sys.path by every side."""
    root = scratch / "base"
    base = root / f"{BASE_MODULE}.py"
    if not base.exists() or base.read_text() != _BASE_SOURCE:
        _write(base, _BASE_SOURCE)
    return root


def flat(scratch: Path, count: int) -> Path:
    """``count`` plugin modules directly in one folder."""
    root = scratch / f"flat{count}"
    marker = f"flat {count} v1"
    if _ready(root, marker):
        return root
    shutil.rmtree(root, ignore_errors=True)
    for i in range(count):
        _write(root / f"plugin_{i:05d}.py", _MODULE.format(i=i))
    return _finish(root, marker)


_DECLARES = """
__version__ = "1.0.{i}"
__requires__ = {{
    "host": ">=1.0",
    "python": ">=3.8",
    "platforms": ["linux", "darwin", "win32"],
    "dependencies": ["pip>=1"],
}}
"""


def declaring(scratch: Path, count: int) -> Path:
    """The ``count`` modules of `flat`, each also declaring at its top (after its
    docstring) ``__version__ = "1.0.<i>"`` and a ``__requires__`` that a host
    ``("bench", "2.0")`` on Linux, macOS or Windows with pip installed meets: the host
    ``>=1.0``, Python ``>=3.8``, those platforms, the dependency ``pip>=1``."""
    root = scratch / f"requires{count}"
    marker = f"requires {count} v1"
    if _ready(root, marker):
        return root
    shutil.rmtree(root, ignore_errors=True)
    for i in range(count):
        docstring, rest = _MODULE.format(i=i).split("\n", 1)
        _write(root / f"plugin_{i:05d}.py", docstring + "\n" + _DECLARES.format(i=i) + rest)
    return _finish(root, marker)


def settled(root: Path) -> None:
    """Wait until no file under ``root`` was written so recently that pike would not trust
    its times (`pike._filestate`: 100 ms, three seconds for whole-second times), so
    that what pike keeps of each file by its state is kept from the first run."""
    newest = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in filenames:
            st = os.stat(os.path.join(dirpath, name))
            newest = max(newest, st.st_mtime_ns, st.st_ctime_ns)
    window = 3.2 if newest % 1_000_000_000 == 0 else 0.2
    wait = window - (time.time_ns() - newest) / 1e9
    if wait > 0:
        time.sleep(wait)


def archive(scratch: Path, count: int) -> Path:
    """A folder holding one plugin archive, ``plugins.zip``, of the ``count`` modules of
    `flat` (loaded only with ``isolate=True``)."""
    import zipfile

    root = scratch / f"archive{count}"
    marker = f"archive {count} v1"
    if _ready(root, marker):
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    with zipfile.ZipFile(root / "plugins.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(count):
            zf.writestr(f"plugin_{i:05d}.py", _MODULE.format(i=i))
    return _finish(root, marker)


def nested(scratch: Path, count: int) -> Path:
    """``count`` plugin modules in leaf packages three levels deep."""
    root = scratch / f"nested{count}"
    marker = f"nested {count} v1"
    if _ready(root, marker):
        return root
    shutil.rmtree(root, ignore_errors=True)
    per_leaf = 10
    leaves = max(1, count // per_leaf)
    for i in range(count):
        leaf = i // per_leaf % leaves
        top, mid, low = leaf // 20, leaf // 4 % 5, leaf % 4
        package = root / f"top{top}" / f"mid{mid}" / f"low{low}"
        for level in (package.parent.parent, package.parent, package):
            init = level / "__init__.py"
            if not init.exists():
                _write(init, "")
        _write(package / f"plugin_{i:05d}.py", _MODULE.format(i=i))
    return _finish(root, marker)


def listing(scratch: Path, count: int) -> Path:
    """``count`` small module files for listing (never imported)."""
    root = scratch / f"listing{count}"
    marker = f"listing {count} v1"
    if _ready(root, marker):
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for i in range(count):
        (root / f"plugin_{i:05d}.py").write_text(f"VALUE = {i}\n")
    return _finish(root, marker)


_STATEMENTS = '''"""Import statements in a loop, each of a module already loaded; run as an
isolated plugin module and as a plain one (sys.path), the same source."""

from time import perf_counter_ns

import sibling  # loaded before anything is timed


def empty(n):
    """The loop alone: taken off the others, so their times are the statement's."""
    start = perf_counter_ns()
    for _ in range(n):
        pass
    return perf_counter_ns() - start


def import_os(n):
    start = perf_counter_ns()
    for _ in range(n):
        import os
    return perf_counter_ns() - start


def from_os(n):
    start = perf_counter_ns()
    for _ in range(n):
        from os import path
    return perf_counter_ns() - start


def import_sibling(n):
    start = perf_counter_ns()
    for _ in range(n):
        import sibling
    return perf_counter_ns() - start
'''


def statements(scratch: Path) -> Path:
    """Two folders of the same two modules, ``plugins`` (a search path) and ``plain``
    (put on sys.path): ``bench_statements`` times import statements in loops
    (``import os``, ``from os import path``, ``import sibling``), ``sibling`` is
    the other module of its folder."""
    root = scratch / "statements"
    marker = "statements v1"
    if _ready(root, marker):
        return root
    shutil.rmtree(root, ignore_errors=True)
    for folder in ("plugins", "plain"):
        _write(root / folder / "bench_statements.py", _STATEMENTS)
        _write(root / folder / "sibling.py", '"""The other module of the folder."""\n\nVALUE = 1\n')
    return _finish(root, marker)


NAMED_GROUP = "bench.named"
DROP_IN_GROUP = "bench.dropin"


def extensions(scratch: Path, count: int) -> Path:
    """The ``count`` modules of `flat`, each reader class also declaring the file
    extension it reads: ``extensions = (".e<i>",)``."""
    root = scratch / f"extensions{count}"
    marker = f"extensions {count} v1"
    if _ready(root, marker):
        return root
    shutil.rmtree(root, ignore_errors=True)
    declared = '    name = "plugin_{i}_reader"\n'
    for i in range(count):
        source = _MODULE.format(i=i)
        line = declared.format(i=i)
        source = source.replace(line, f'{line}    extensions = (".e{i}",)\n', 1)
        _write(root / f"plugin_{i:05d}.py", source)
    return _finish(root, marker)


def drop_in(scratch: Path, count: int) -> Path:
    """``count`` plugin modules in one folder, each declared in its ``entry_points.txt``.

    The declarations name ``plugin_<i>`` as ``plugin_<i>:Plugin<i>Reader``. One
    more module, ``the_special``, is the only one deriving from ``Special``.
    """
    root = scratch / f"dropin{count}"
    marker = f"dropin {count} v2"
    if _ready(root, marker):
        return root
    shutil.rmtree(root, ignore_errors=True)
    lines = [f"[{DROP_IN_GROUP}]"]
    for i in range(count):
        _write(root / f"plugin_{i:05d}.py", _MODULE.format(i=i))
        lines.append(f"plugin_{i:05d} = plugin_{i:05d}:Plugin{i}Reader")
    _write(root / "entry_points.txt", "\n".join(lines) + "\n")
    special = f"from {BASE_MODULE} import Special\n\n\nclass TheOne(Special):\n    pass\n"
    _write(root / "the_special.py", special)
    return _finish(root, marker)


def write_file_list(root: Path) -> Path:
    """Write the module files under ``root`` to ``<root>.files``, one path a line.

    The floors that stat each file read their paths from it, so they do not list
    the folders just before they are timed (which pike, in its own process,
    does not get to do either).
    """
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        files += [os.path.join(dirpath, f) for f in filenames if f.endswith(".py")]
    listed = root.parent / f"{root.name}.files"
    listed.write_text("\n".join(sorted(files)), encoding="utf-8")
    return listed


def installed(scratch: Path, dists: int, per_dist: int) -> Path:
    """A site-packages folder of ``dists`` distributions, ``per_dist`` entry points each.

    Each distribution is a ``*.dist-info`` (METADATA and entry_points.txt, as
    pip leaves it) and one module defining the classes its entry points name,
    all in the group ``NAMED_GROUP``; entry point names are ``ep_<dist>_<i>``.
    """
    root = scratch / f"site{dists}x{per_dist}"
    marker = f"site {dists} {per_dist} v1"
    if _ready(root, marker):
        return root
    shutil.rmtree(root, ignore_errors=True)
    for d in range(dists):
        module = f"bench_dist_{d:03d}"
        classes = "".join(f"class Plugin{i}:\n    pass\n\n\n" for i in range(per_dist))
        _write(root / f"{module}.py", classes)
        info = root / f"bench_dist_{d:03d}-1.0.dist-info"
        meta = f"Metadata-Version: 2.1\nName: bench-dist-{d:03d}\nVersion: 1.0\n"
        _write(info / "METADATA", meta)
        points = "".join(f"ep_{d:03d}_{i:03d} = {module}:Plugin{i}\n" for i in range(per_dist))
        other = f"[other.group]\nx = {module}:Plugin0\n"
        _write(info / "entry_points.txt", f"[{NAMED_GROUP}]\n{points}\n{other}")
    return _finish(root, marker)


def drop_bytecode(root: Path) -> None:
    """Remove every ``__pycache__`` below ``root`` (for a cold start)."""
    for dirpath, dirnames, _files in os.walk(root):
        if "__pycache__" in dirnames:
            shutil.rmtree(os.path.join(dirpath, "__pycache__"))
            dirnames.remove("__pycache__")
