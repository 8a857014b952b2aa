"""Shared fixtures: real plugin folders in tmp_path, and a guard that every test
leaves the interpreter as it found it (sys.modules, sys.path, sys.meta_path,
sys.path_importer_cache)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

MakeTree = Callable[..., Path]


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Create ``files`` (relative path -> source) under ``root``; return root."""
    root.mkdir(parents=True, exist_ok=True)
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return root


def kept_listings(cache: Path) -> list[Path]:
    """The files of the whole listings kept in the cache folder ``cache`` (each with a
    document of what its classes declare beside it: `values_of`)."""
    return [path for path in cache.glob("listing-*") if not path.name.endswith("-values")]


def values_of(listing: Path) -> Path:
    """The file of what the classes of the kept listing ``listing`` declare."""
    return listing.with_name(listing.name + "-values")


@pytest.fixture
def make_tree(tmp_path: Path) -> MakeTree:
    """``make_tree({"a.py": "...", "pkg/__init__.py": ""}, name="plugins")``."""
    counter = iter(range(1_000_000))

    def make(files: dict[str, str], name: str | None = None) -> Path:
        return write_tree(tmp_path / (name or f"plugins{next(counter)}"), files)

    return make


def _under(module: object, root: str) -> bool:
    location = getattr(module, "__file__", None)
    if not location:
        paths = list(getattr(module, "__path__", None) or [])
        location = paths[0] if paths else None
    return isinstance(location, str) and os.path.abspath(location).startswith(root)


@pytest.fixture(autouse=True, scope="session")
def ctrl_c() -> Iterator[None]:
    """Ctrl-C (SIGINT) raises KeyboardInterrupt here and in the Pythons the tests start,
    as in a terminal, even when the suite was started with SIGINT ignored (a background
    job of a shell without job control): the tests that press Ctrl-C rely on it."""
    ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    if ignored:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """pike's cache goes to a temporary folder, for this process and its children."""
    before = os.environ.get("PIKE_CACHE_DIR")
    os.environ["PIKE_CACHE_DIR"] = str(tmp_path_factory.mktemp("pike-cache"))
    yield
    if before is None:
        del os.environ["PIKE_CACHE_DIR"]
    else:
        os.environ["PIKE_CACHE_DIR"] = before


@pytest.fixture(autouse=True)
def interpreter_guard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fail a test that leaks plugin modules or import-system state."""
    root = str(tmp_path_factory.getbasetemp())
    realroot = os.path.realpath(root)
    modules_before = set(sys.modules)
    path_before = list(sys.path)
    meta_before = list(sys.meta_path)
    yield
    leaked = sorted(
        name
        for name, module in list(sys.modules.items())
        if _under(module, root) or _under(module, realroot)
    )
    removed = sorted(modules_before - set(sys.modules))
    cache_leaks = [
        key
        for key in list(sys.path_importer_cache)
        if isinstance(key, str) and (key.startswith(root) or key.startswith(realroot))
    ]
    assert leaked == [], f"plugin modules left in sys.modules: {leaked}"
    assert removed == [], f"modules removed that the test did not load: {removed}"
    assert sys.path == path_before
    assert sys.meta_path == meta_before
    assert cache_leaks == []


def run_python(
    code: str, *args: str, cwd: Path | None = None, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter that imports pike from this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, *args, "-c", textwrap.dedent(code)],
        check=False,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


# -- running as an unprivileged user (permission and ownership tests) -----------------

NOBODY = 65534
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _unprivileged_python() -> str | None:
    """A Python that user ``nobody`` can run: this one, or the system's."""
    import shutil

    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    for candidate in (sys.executable, "/usr/bin/python3"):
        probe = subprocess.run(
            [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", candidate,
             "-c", "import sys; print(sys.version_info >= (3, 10))"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if probe.stdout.strip() == "True":
            return candidate
    return None


@pytest.fixture(scope="session")
def as_nobody() -> Iterator[Callable[..., subprocess.CompletedProcess[str]]]:
    """Run code as user ``nobody`` (uid 65534) with this checkout's pike.

    For tests of permissions and ownership when the suite runs as root: root
    reads everything and owns the temporary folders. pike is copied to a
    folder ``nobody`` can read. Skips where the suite does not run as root.
    """
    import shutil
    import tempfile

    if not IS_ROOT:
        pytest.skip("needs root to switch to an unprivileged user (the suite runs as one)")
    python = _unprivileged_python()
    if python is None:
        pytest.skip("no Python that user nobody can run")
    home = Path(tempfile.mkdtemp(prefix="pike-nobody-"))
    home.chmod(0o755)
    shutil.copytree(REPO / "pike", home / "pike", ignore=shutil.ignore_patterns("__pycache__"))

    def run(code: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(home), "PYTHONDONTWRITEBYTECODE": "1"}
        return subprocess.run(
            ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
             python, "-c", textwrap.dedent(code)],
            capture_output=True, text=True, cwd=cwd or home, env=env, timeout=120, check=False,
        )  # fmt: skip

    yield run
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def world_tree() -> Iterator[Callable[..., Path]]:
    """``world_tree(files, owner=uid)``: a plugin tree other users can reach (under /tmp).

    Owned by ``owner`` (root only may give one), removed after the test.
    """
    import shutil
    import tempfile

    made: list[Path] = []

    def make(files: dict[str, str], *, owner: int | None = None) -> Path:
        root = Path(tempfile.mkdtemp(prefix="pike-tree-"))
        made.append(root)
        root.chmod(0o755)
        write_tree(root, files)
        if owner is not None:
            for path in [root, *root.rglob("*")]:
                os.chown(path, owner, owner)
        return root

    yield make
    for root in made:
        shutil.rmtree(root, ignore_errors=True)
