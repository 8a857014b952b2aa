"""Random edits to a plugin folder, and after each one the index and refresh agree with
the folder as it is (docs/design.md, "Caches" and "Refresh").

The edits are the ones real folders see: files written, rewritten with the same size,
removed, renamed; folders made, made packages and back; times set back to what they were
(a tarball unpacked over the folder); links whose targets go and come back. After each,
static listing through the index must say what a listing without any cache says, and a
manager that refreshes must hold what the files hold now. On every filesystem the machine
offers the tests (the temporary folder, and a memory filesystem where there is one).
"""

from __future__ import annotations

import os
import random
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pike import _walk
from pike.discovery import static
from pike.manager import PikeManager

OLD = 1_600_000_000_000_000_000  # 2020


def _filesystems() -> list[str]:
    found = ["tmp"]
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        found.append("shm")
    return found


@pytest.fixture(params=_filesystems())
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    if request.param == "tmp":
        yield tmp_path / "fs"
        return
    import tempfile

    where = Path(tempfile.mkdtemp(prefix="pike-truth-", dir="/dev/shm"))
    yield where
    shutil.rmtree(where, ignore_errors=True)


class Folder:
    """A plugin folder, and the random edits made to it."""

    def __init__(self, root: Path, outside: Path, start: int) -> None:
        self.root = root
        self.outside = outside
        self.rng = random.Random(start)
        self.counter = 0
        root.mkdir(parents=True)
        outside.mkdir(parents=True)

    def source(self) -> str:
        """A module's source: every one the same size, so a rewrite may keep it."""
        self.counter += 1
        value = 10**6 + self.rng.randrange(10**6)
        return f"VALUE = {value}\n\nclass K{self.counter:04d}:\n    pass\n"

    def files(self) -> list[Path]:
        return sorted(p for p in self.root.rglob("*.py") if "__pycache__" not in p.parts)

    def folders(self) -> list[Path]:
        return [
            self.root,
            *sorted(
                p
                for p in self.root.rglob("*")
                if p.is_dir() and p.name != "__pycache__" and not p.is_symlink()
            ),
        ]

    def edit(self) -> str:
        rng = self.rng
        files = [f for f in self.files() if not f.is_symlink()]
        kind = rng.choice(
            [
                "new",
                "new",
                "rewrite",
                "same size",
                "remove",
                "rename",
                "folder",
                "init",
                "uninit",
                "times back",
                "link",
                "target",
                "touch",
            ]
        )
        if kind == "new" or not files:
            folder = rng.choice(self.folders())
            (folder / f"m{rng.randrange(40):02d}.py").write_text(self.source())
            return "new"
        victim = rng.choice(files)
        if kind == "rewrite":
            victim.write_text(self.source())
        elif kind == "same size":
            before = victim.stat()
            victim.write_text(self.source())
            os.utime(victim, ns=(before.st_atime_ns, before.st_mtime_ns))
        elif kind == "remove":
            victim.unlink()
        elif kind == "rename":
            victim.rename(victim.with_name(f"r{rng.randrange(40):02d}.py"))
        elif kind == "folder":
            folder = rng.choice(self.folders()) / f"p{rng.randrange(6)}"
            folder.mkdir(exist_ok=True)
            (folder / f"m{rng.randrange(9)}.py").write_text(self.source())
        elif kind == "init":
            folder = rng.choice(self.folders())
            if folder != self.root:
                (folder / "__init__.py").write_text(self.source())
        elif kind == "uninit":
            inits = [f for f in files if f.name == "__init__.py"]
            if inits:
                rng.choice(inits).unlink()
        elif kind == "times back":
            for path in [*self.folders(), *files]:
                os.utime(path, ns=(OLD, OLD))
        elif kind == "link":
            target = self.outside / f"t{rng.randrange(5)}.py"
            if not target.exists():
                target.write_text(self.source())
            link = self.root / f"l{rng.randrange(5)}.py"
            if not link.exists() and not link.is_symlink():
                link.symlink_to(target)
        elif kind == "target":
            targets = sorted(self.outside.glob("t*.py")) + sorted(self.outside.glob("t*.away"))
            if targets:
                target = rng.choice(targets)
                if target.suffix == ".py":
                    target.rename(target.with_suffix(".away"))
                else:
                    target.rename(target.with_suffix(".py"))
        elif kind == "touch":
            victim.touch()
        return kind

    def values(self) -> dict[str, str]:
        """What each plugin module's file says its VALUE is, by module name, as a fresh
        walk finds the modules."""
        found = {}
        for entry in _walk.walk([str(self.root)]).modules:
            try:
                first = Path(entry.path).read_text().partition("\n")[0]
            except OSError:
                continue
            found[entry.name] = first.removeprefix("VALUE = ")
        return found


def _listing(paths: list[Path]) -> tuple[object, ...]:
    listing = static.list_classes(paths)
    return (
        [(c.module, c.name, c.lineno, c.bases) for c in listing.classes],
        list(listing.module_names),
        sorted((e.module, e.message) for e in listing.errors),
        sorted(str(s) for s in listing.skipped),
    )


def _uncached(paths: list[Path]) -> tuple[object, ...]:
    before = os.environ["PIKE_CACHE_DIR"]
    os.environ["PIKE_CACHE_DIR"] = "off"
    try:
        return _listing(paths)
    finally:
        os.environ["PIKE_CACHE_DIR"] = before


@pytest.mark.parametrize("start", [1, 2, 3])
def test_the_index_always_says_what_the_folder_holds(place: Path, start: int) -> None:
    folder = Folder(place / "plugins", place / "outside", start)
    for step in range(70):
        kind = folder.edit()
        if folder.rng.random() < 0.5:
            for path in [*folder.folders(), *folder.files()]:
                os.utime(path, ns=(OLD, OLD), follow_symlinks=False)
        assert _listing([folder.root]) == _uncached([folder.root]), (step, kind)


@pytest.mark.parametrize("start", [4, 5, 6])
def test_refresh_always_holds_what_the_files_hold(place: Path, start: int) -> None:
    folder = Folder(place / "plugins", place / "outside", start)
    (folder.root / "m00.py").write_text(folder.source())
    with PikeManager([folder.root], on_error="collect") as mgr:
        mgr.get_classes()
        for step in range(70):
            kind = folder.edit()
            if folder.rng.random() < 0.5:
                for path in [*folder.folders(), *folder.files()]:
                    os.utime(path, ns=(OLD, OLD), follow_symlinks=False)
            mgr.refresh()
            held = {module.__name__: str(module.VALUE) for module in mgr.get_modules()}
            failed = tuple(e.module_name for e in mgr.errors)
            expected = {
                name: value
                for name, value in folder.values().items()
                if name not in failed and not name.startswith(tuple(f + "." for f in failed))
            }
            assert held == expected, (step, kind)
            assert [e.name for e in mgr.entries] == [
                e.name for e in _walk.walk([str(folder.root)]).modules
            ]
    assert not [
        name
        for name in sys.modules
        if name.startswith(("m", "r", "p", "l"))
        and str(place) in str(getattr(sys.modules[name], "__file__", ""))
    ]
