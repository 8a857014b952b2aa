"""Plugin archives under isolation (docs/isolation.md, section "Archives").

With ``PikeManager(paths, isolate=True)`` a ``.zip``, ``.pyz`` or ``.whl`` file directly
in a search path is a source of its own. These tests hold that:

* its top-level modules and packages load in place, through pike's finder, each
  archive in a private namespace of its own: two archives may both hold a
  ``utils.py``, and each package's bare ``import utils`` finds its own archive's;
  entries name the archive as their ``source`` and their ``path`` (and
  ``__file__``) is ``<archive>/<member path>``;
* without isolation an archive is not loaded: it is in ``mgr.skipped``, with a
  reason that says ``isolate=True`` loads it;
* a corrupt archive (garbage, a truncated zip, a damaged member) is a
  ``PluginImportError`` naming it, under ``on_error``, and the other plugins load;
  an archive other users could change is an ``UntrustedPluginError``;
* refresh sees an archive replaced by a new copy (and one added or removed),
  reports its modules by their plugin names and loads the new code;
* a zipapp's ``__main__.py`` and a wheel's ``*.dist-info`` are no plugins;
* data files are read with ``importlib.resources`` and the loader's ``get_data``
  (what ``pkgutil.get_data`` calls); ``inspect.getsource`` and tracebacks show the
  source, also once the archive was replaced;
* the compiled code is kept in pike's cache folder, one ``archive-*`` file per
  archive, used by later managers and later interpreters, and a cache file that
  was tampered with (garbage, another archive's, an older copy's) or that another
  interpreter mode made never makes wrong code run;
* cleanup leaves no private name in ``sys.modules`` and no archive open, also after
  a refresh;
* static listing lists an archive's classes, with the archive as their source,
  without writing anything near the plugins, reports a corrupt archive in its
  errors, and leaves no archive open; the discovery index keeps each member's facts
  while the archive has its state and the member its CRC-32, and believes nothing of
  its archives that does not check out;
* an instance of a class from an archive pickles within a run, and in another run.

Archives are real zip files made with ``zipfile`` in ``tmp_path`` (or, for the tests
of other users, a folder under ``/tmp`` they can reach), loaded by the real import
system. What needs a fresh interpreter runs in a subprocess (``run_python``), what
needs another user runs as ``nobody`` (``as_nobody``).

An archive written a moment ago, whose times are too recent to vouch for it, has its
compiled code kept with a digest of its content (``pike._filestate``): no test waits
on the clock.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.resources
import inspect
import json
import os
import pickle
import subprocess
import sys
import textwrap
import traceback
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pike._names import private_prefix
from pike.discovery import static
from pike.errors import PluginImportError, UntrustedPluginError
from pike.manager import PikeManager
from tests.conftest import IS_ROOT, NOBODY, run_python

# -- helpers -----------------------------------------------------------------------------


def make_archive(path: Path, files: dict[str, str]) -> Path:
    """A real zip file at ``path`` holding ``files`` (member -> text, dedented).

    Written whole under a temporary name (no archive suffix, so no plugin) and
    renamed over ``path``: an archive that exists already is replaced, never
    rewritten in place.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".part")
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, text in files.items():
            archive.writestr(member, textwrap.dedent(text))
    os.replace(temporary, path)
    return path


def private_leftovers() -> list[str]:
    """Every name in ``sys.modules`` of any isolated source."""
    return sorted(n for n in list(sys.modules) if n.startswith("_pike_"))


def open_files(path: Path) -> list[str]:
    """The file descriptors of this process open on ``path`` (or on the file that was
    there, since replaced), as ``/proc/self/fd`` shows them."""
    found = []
    wanted = {str(path), os.path.realpath(path)}
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the descriptor listdir itself used
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.removesuffix(" (deleted)") in wanted:
                found.append(target)
    return found


needs_proc = pytest.mark.skipif(
    not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd to see open files"
)


@contextlib.contextmanager
def collector_off() -> Iterator[None]:
    """The cyclic garbage collector off for the block: a file closed only when a
    collection happens to run would otherwise look closed, or not, by chance."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def loaded(mgr: PikeManager) -> list[tuple[str, str, object]]:
    """``(plugin module, class, its value)`` of each class the manager loads."""
    found = []
    for cls in mgr.get_classes():
        entry = mgr.entry_of(cls)
        assert entry is not None
        found.append((entry.name, cls.__qualname__, cls.__dict__.get("value")))
    return sorted(found, key=repr)


def who_of(cls: type) -> object:
    """The ``who`` a `node` archive's class says."""
    return cls.__dict__["who"]


def loaded_from(folder: Path) -> list[tuple[str, str, object]]:
    """`loaded` by a manager of its own over ``folder``, cleaned up again."""
    with PikeManager([folder], isolate=True) as mgr:
        return loaded(mgr)


def node(name: str, who: str) -> dict[str, str]:
    """An archive holding package ``name`` whose module imports ``utils`` by bare name,
    and a top-level ``utils.py`` saying ``who``."""
    return {
        f"{name}/__init__.py": "from .nodes import Node\n",
        f"{name}/nodes.py": """\
            import utils


            class Node:
                who = utils.WHO
            """,
        "utils.py": f"WHO = {who!r}\n",
    }


def valued(value: str) -> dict[str, str]:
    """An archive with one module, ``plug``, whose class ``Plug`` has ``value``."""
    return {"plug.py": f"class Plug:\n    value = {value!r}\n"}


@pytest.fixture(autouse=True)
def nothing_private() -> Iterator[None]:
    """No test starts or ends with a private name in ``sys.modules``; the plain names
    the plugins here use are not the host's."""
    taken = [n for n in ("utils", "NodeA", "NodeB", "plug") if n in sys.modules]
    assert taken == [], f"the host already has {taken}"
    assert private_leftovers() == []
    yield
    assert private_leftovers() == []


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of the test's own (``private_cache`` shares one per session),
    for this process and the interpreters it starts; bytecode may be written (pike keeps
    none of an archive's under ``-B`` or ``PYTHONDONTWRITEBYTECODE``, as Python)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("PIKE_CACHE_DIR", str(folder))
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    return folder


def test_no_code_is_kept_when_no_bytecode_may_be_written(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    folder = tmp_path / "plugins"
    make_archive(folder / "node.zip", {"plug.py": "class Plug:\n    value = 1\n"})
    with PikeManager([folder], isolate=True) as mgr:
        assert [c.__name__ for c in mgr.get_classes()] == ["Plug"]
    assert cache_files(cache) == set()


def cache_files(cache: Path) -> set[Path]:
    """The cache files of archives' code in ``cache``."""
    return set(cache.glob("archive-*"))


# -- each archive is a source of its own ---------------------------------------------------


def test_two_archives_each_give_their_package_their_own_utils(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    first = make_archive(folder / "first.zip", node("NodeA", "first"))
    second = make_archive(folder / "second.zip", node("NodeB", "second"))
    with PikeManager([folder], isolate=True) as mgr:
        expected = [
            (name, os.path.join(str(archive), *member.split("/")), str(archive), package)
            for archive, name, member, package in [
                (first, "NodeA", "NodeA/__init__.py", True),
                (first, "NodeA.nodes", "NodeA/nodes.py", False),
                (first, "utils", "utils.py", False),
                (second, "NodeB", "NodeB/__init__.py", True),
                (second, "NodeB.nodes", "NodeB/nodes.py", False),
                (second, "utils", "utils.py", False),
            ]
        ]
        entries = mgr.entries
        assert sorted((e.name, e.path, e.source, e.is_package) for e in entries) == sorted(expected)
        assert all(e.search_path == str(folder) for e in entries)
        classes = mgr.get_classes()
        assert sorted((c.__qualname__, who_of(c)) for c in classes) == [
            ("Node", "first"),
            ("Node", "second"),
        ]
        for cls in classes:
            entry = mgr.entry_of(cls)
            assert entry is not None
            archive = first if who_of(cls) == "first" else second
            assert entry.source == str(archive)
            assert cls.__module__ == f"{private_prefix(str(archive))}__{entry.name}"
        for entry in entries:
            module = sys.modules[entry.key]
            assert entry.key == f"{private_prefix(entry.source)}__{entry.name}"
            assert module.__file__ == entry.path
        # Each package's bare ``import utils`` found its own archive's module.
        for archive, package, who in [(first, "NodeA", "first"), (second, "NodeB", "second")]:
            prefix = private_prefix(str(archive))
            nodes = sys.modules[f"{prefix}__{package}.nodes"]
            assert nodes.utils is sys.modules[f"{prefix}__utils"]
            assert (nodes.utils.WHO, nodes.utils.__file__) == (who, str(archive / "utils.py"))
        assert "utils" not in sys.modules
    assert private_leftovers() == []


def test_without_isolation_archives_are_skipped_saying_isolate_loads_them(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "plugins"
    archives = [
        make_archive(folder / "first.zip", node("NodeA", "first")),
        make_archive(folder / "app.pyz", {"__main__.py": "", "zpkg/__init__.py": ""}),
        make_archive(folder / "w-1.0-py3-none-any.whl", {"wpkg/__init__.py": ""}),
    ]
    (folder / "plain.py").write_text("class Plain:\n    pass\n")
    with PikeManager([folder], on_error="collect") as mgr:
        assert [e.name for e in mgr.entries] == ["plain"]
        assert [c.__name__ for c in mgr.get_classes()] == ["Plain"]
        assert mgr.errors == []
        skipped = {s.path: s.reason for s in mgr.skipped}
        for archive in archives:
            assert "isolate=True" in skipped[str(archive)]
        loaded_files = [getattr(m, "__file__", None) or "" for m in list(sys.modules.values())]
        assert not [f for f in loaded_files if any(f.startswith(str(a)) for a in archives)]


# -- broken and untrusted archives ---------------------------------------------------------


def garbage(path: Path) -> None:
    path.write_bytes(b"this is no zip file\n" * 64)


def truncated(path: Path) -> None:
    make_archive(path, node("NodeB", "truncated"))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("damage", [garbage, truncated], ids=["garbage", "truncated"])
def test_a_corrupt_archive_is_a_plugin_import_error_and_the_rest_loads(
    tmp_path: Path, damage: Callable[[Path], None]
) -> None:
    folder = tmp_path / "plugins"
    make_archive(folder / "good.zip", node("NodeA", "good"))
    (folder / "plain.py").write_text("class Plain:\n    pass\n")
    bad = folder / "x.zip"
    damage(bad)
    with PikeManager([folder], isolate=True, on_error="collect") as mgr:
        classes = mgr.get_classes()
        assert sorted(c.__qualname__ for c in classes) == ["Node", "Plain"]
        [error] = mgr.errors
        assert isinstance(error, PluginImportError)
        assert error.path == str(bad)
        assert error.module_name == "x"
        assert str(bad) in str(error)
        assert not [e for e in mgr.entries if e.source == str(bad)]
    with pytest.raises(PluginImportError) as info, PikeManager([folder], isolate=True) as mgr:
        mgr.get_classes()
    assert info.value.path == str(bad)
    assert private_leftovers() == []


def test_an_archive_with_a_damaged_member_is_a_plugin_import_error(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    make_archive(folder / "good.zip", valued("good"))
    bad = make_archive(folder / "bad.zip", {"NodeA/__init__.py": "class Node:\n    pass\n"})
    data = bytearray(bad.read_bytes())
    at = data.index(b"NodeA/__init__.py")  # the member's own header: its name, then data
    data[at : at + 8] = b"\xff" * 8  # the directory still lists it; reading it fails
    bad.write_bytes(bytes(data))
    with PikeManager([folder], isolate=True, on_error="collect") as mgr:
        assert loaded(mgr) == [("plug", "Plug", "good")]
        [error] = mgr.errors
        assert isinstance(error, PluginImportError)
        assert error.module_name == "NodeA"
        assert error.path == os.path.join(str(bad), "NodeA", "__init__.py")
        assert str(bad) in str(error)


def test_an_archive_others_can_write_is_an_untrusted_plugin_error(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    make_archive(folder / "good.zip", valued("good"))
    loose = make_archive(folder / "loose.zip", node("NodeA", "loose"))
    loose.chmod(0o666)
    with PikeManager([folder], isolate=True, on_error="collect") as mgr:
        assert loaded(mgr) == [("plug", "Plug", "good")]
        errors = mgr.errors
        assert sorted(e.module_name for e in errors) == ["NodeA", "utils"]
        for error in errors:
            assert isinstance(error, UntrustedPluginError)
            assert error.path == str(loose)
            assert error.mode & 0o777 == 0o666
            assert f"chmod o-w {loose}" in str(error)
        # Nothing of it ran (its namespace's own empty package aside).
        assert not [
            n for n in private_leftovers() if n.startswith(private_prefix(str(loose)) + "__")
        ]
    with pytest.raises(UntrustedPluginError), PikeManager([folder], isolate=True) as mgr:
        mgr.get_classes()
    with PikeManager([folder], isolate=True, trust="any") as mgr:
        assert [name for name, _cls, _value in loaded(mgr)] == ["NodeA.nodes", "plug"]


@pytest.mark.skipif(not IS_ROOT, reason="only root can give a file to another user")
def test_root_refuses_an_archive_owned_by_another_user(
    world_tree: Callable[..., Path],
) -> None:
    folder = world_tree({"plain.py": "class Plain:\n    pass\n"})
    theirs = make_archive(folder / "theirs.zip", valued("theirs"))
    os.chown(theirs, NOBODY, NOBODY)
    with PikeManager([folder], isolate=True, on_error="collect") as mgr:
        assert [c.__name__ for c in mgr.get_classes()] == ["Plain"]
        [error] = mgr.errors
        assert isinstance(error, UntrustedPluginError)
        assert (error.module_name, error.path, error.owner) == ("plug", str(theirs), NOBODY)


def test_an_unprivileged_user_is_refused_an_archive_others_can_change(
    as_nobody: Callable[..., subprocess.CompletedProcess[str]], world_tree: Callable[..., Path]
) -> None:
    folder = world_tree({}, owner=NOBODY)  # nobody's own folder
    mine = make_archive(folder / "mine.zip", {"mine.py": "class Mine:\n    pass\n"})
    someone_elses = make_archive(folder / "someone.zip", {"theirs.py": "class Theirs: pass\n"})
    open_to_all = make_archive(folder / "open.zip", {"loose.py": "class Loose:\n    pass\n"})
    os.chown(mine, NOBODY, NOBODY)
    os.chown(someone_elses, 4242, 4242)
    os.chown(open_to_all, NOBODY, NOBODY)
    open_to_all.chmod(0o666)
    code = f"""
        import json
        from pike.manager import PikeManager
        with PikeManager([{str(folder)!r}], isolate=True, on_error="collect") as mgr:
            print(json.dumps([
                [c.__name__ for c in mgr.get_classes()],
                sorted([type(e).__name__, e.module_name, e.path] for e in mgr.errors),
            ]))
    """
    ran = as_nobody(code)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == [
        ["Mine"],
        [
            ["UntrustedPluginError", "loose", str(open_to_all)],
            ["UntrustedPluginError", "theirs", str(someone_elses)],
        ],
    ]


# -- refresh -------------------------------------------------------------------------------


def test_an_archive_replaced_by_a_new_copy_is_seen_by_refresh(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    archive = make_archive(folder / "node.zip", node("NodeA", "first"))
    with PikeManager([folder], isolate=True) as mgr:
        [old] = mgr.get_classes()
        assert who_of(old) == "first"
        old_module = sys.modules[f"{private_prefix(str(archive))}__NodeA.nodes"]
        make_archive(archive, node("NodeA", "second"))  # a new copy, renamed over it
        report = mgr.refresh()
        assert sorted(report.changed) == ["NodeA", "NodeA.nodes", "utils"]
        assert (report.added, report.removed, report.errors) == ([], [], [])
        [new] = mgr.get_classes()
        assert new is not old
        assert who_of(new) == "second"
        entry = mgr.entry_of(new)
        assert entry is not None and entry.source == str(archive)
        module = sys.modules[f"{private_prefix(str(archive))}__NodeA.nodes"]
        assert module is not old_module and module.utils.WHO == "second"
        assert mgr.refresh().changed == []  # nothing changed since
    assert private_leftovers() == []


def test_an_archive_added_or_removed_is_seen_by_refresh(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "plain.py").write_text("class Plain:\n    pass\n")
    with PikeManager([folder], isolate=True) as mgr:
        assert [c.__name__ for c in mgr.get_classes()] == ["Plain"]
        archive = make_archive(folder / "node.zip", node("NodeA", "added"))
        report = mgr.refresh()
        assert sorted(report.added) == ["NodeA", "NodeA.nodes", "utils"]
        assert (report.changed, report.removed, report.errors) == ([], [], [])
        assert sorted((c.__name__, c.__dict__.get("who")) for c in mgr.get_classes()) == [
            ("Node", "added"),
            ("Plain", None),
        ]
        archive.unlink()
        report = mgr.refresh()
        assert sorted(report.removed) == ["NodeA", "NodeA.nodes", "utils"]
        assert [c.__name__ for c in mgr.get_classes()] == ["Plain"]
        prefix = private_prefix(str(archive))
        assert not [n for n in private_leftovers() if n.startswith(prefix + "__")]
    assert private_leftovers() == []


# -- zipapps and wheels --------------------------------------------------------------------


def test_a_zipapp_and_a_wheel_load_their_packages_only(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    zipapp = make_archive(
        folder / "tool.pyz",
        {
            "__main__.py": "raise SystemExit('the zipapp was run')\n",
            "zpkg/__init__.py": "class Zipped:\n    pass\n",
        },
    )
    wheel = make_archive(
        folder / "wpkg-1.0-py3-none-any.whl",
        {
            "wpkg/__init__.py": "from .core import Wheeled\n",
            "wpkg/core.py": "class Wheeled:\n    pass\n",
            "wpkg-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: wpkg\nVersion: 1.0\n",
            "wpkg-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n",
            "wpkg-1.0.dist-info/RECORD": "",
        },
    )
    with PikeManager([folder], isolate=True) as mgr:
        assert sorted((e.name, e.source) for e in mgr.entries) == [
            ("wpkg", str(wheel)),
            ("wpkg.core", str(wheel)),
            ("zpkg", str(zipapp)),
        ]
        assert sorted(c.__name__ for c in mgr.get_classes()) == ["Wheeled", "Zipped"]
        assert mgr.errors == []
        names = private_leftovers()
        assert f"{private_prefix(str(zipapp))}____main__" not in names
        assert not [n for n in names if "dist" in n or "__main__" in n]


# -- data files, source and tracebacks -----------------------------------------------------

RAISING = {
    "NodeA/__init__.py": "from .nodes import Node\n",
    "NodeA/nodes.py": """\
        class Node:
            def run(self):
                raise RuntimeError("raised in the archive")
        """,
    "NodeA/data.txt": "data of NodeA\n",
    "NodeA/assets/__init__.py": "",
    "NodeA/assets/icon.txt": "an icon\n",
}


def test_data_files_source_and_tracebacks_come_from_the_archive(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    archive = make_archive(folder / "node.zip", RAISING)
    with PikeManager([folder], isolate=True) as mgr:
        [cls] = mgr.get_classes()
        prefix = private_prefix(str(archive))
        package = sys.modules[f"{prefix}__NodeA"]
        assert package.__name__ == f"{prefix}__NodeA"
        files = importlib.resources.files(package.__name__)
        assert files.joinpath("data.txt").read_text() == "data of NodeA\n"
        assets = importlib.resources.files(f"{prefix}__NodeA.assets")
        assert assets.joinpath("icon.txt").read_text() == "an icon\n"
        # What pkgutil.get_data does (pkgutil itself stays unimported: test_trust.py
        # takes any module whose name begins with "pkg" for a plugin left behind).
        assert package.__file__ is not None
        wanted = os.path.join(os.path.dirname(package.__file__), "data.txt")
        loader: Any = package.__loader__
        assert loader.get_data(wanted) == b"data of NodeA\n"
        assert not list(tmp_path.rglob("data.txt"))  # read in place, never extracted
        source = inspect.getsource(cls)
        assert source.startswith("class Node:\n")
        assert 'raise RuntimeError("raised in the archive")' in source
        with pytest.raises(RuntimeError) as info:
            cls().run()
        shown = "".join(traceback.format_exception(info.value))
        member = os.path.join(str(archive), "NodeA", "nodes.py")
        assert f'File "{member}", line 3, in run' in shown
        assert 'raise RuntimeError("raised in the archive")' in shown


def test_source_and_tracebacks_follow_an_archive_replaced_since(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    archive = make_archive(folder / "node.zip", RAISING)
    with PikeManager([folder], isolate=True) as mgr:
        [old] = mgr.get_classes()
        assert "raised in the archive" in inspect.getsource(old)
        replaced = dict(RAISING)
        replaced["NodeA/nodes.py"] = """\
            class Node:
                def run(self):
                    raise KeyError("raised in the new copy")
            """
        make_archive(archive, replaced)
        assert sorted(mgr.refresh().changed) == ["NodeA", "NodeA.assets", "NodeA.nodes"]
        [new] = mgr.get_classes()
        with pytest.raises(KeyError) as info:
            new().run()
        assert 'raise KeyError("raised in the new copy")' in inspect.getsource(new)
        shown = "".join(traceback.format_exception(info.value))
        assert 'raise KeyError("raised in the new copy")' in shown


# -- the compiled code in the cache folder -------------------------------------------------

LISTING_CODE = """
    import json, sys
    from pike.manager import PikeManager
    with PikeManager([{folder!r}], isolate=True) as mgr:
        found = sorted(
            [mgr.entry_of(c).name, c.__qualname__, c.__dict__.get("value")]
            for c in mgr.get_classes()
        )
    assert not [n for n in sys.modules if n.startswith("_pike_")]
    print(json.dumps(found))
"""


def test_the_compiled_code_is_kept_in_the_cache_folder_and_used_again(
    tmp_path: Path, cache: Path
) -> None:
    folder = tmp_path / "plugins"
    archive = make_archive(folder / "node.zip", valued("kept"))
    original = archive.read_bytes()
    assert loaded_from(folder) == [("plug", "Plug", "kept")]
    [kept] = cache_files(cache)
    written = kept.stat()
    # A second manager, and a second interpreter, load the same classes from it...
    assert loaded_from(folder) == [("plug", "Plug", "kept")]
    ran = run_python(LISTING_CODE.format(folder=str(folder)))
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == [["plug", "Plug", "kept"]]
    # ... with nothing compiled anew: the file is the one the first manager wrote.
    assert cache_files(cache) == {kept}
    now = kept.stat()
    assert (now.st_ino, now.st_mtime_ns, now.st_size) == (
        written.st_ino,
        written.st_mtime_ns,
        written.st_size,
    )
    # Nothing was written into the plugin folder, nor into the archive.
    assert [p.name for p in folder.iterdir()] == ["node.zip"]
    assert archive.read_bytes() == original


def test_a_replaced_archive_does_not_run_the_code_kept_for_its_old_copy(
    tmp_path: Path, cache: Path
) -> None:
    folder = tmp_path / "plugins"
    archive = make_archive(folder / "node.zip", valued("old"))
    assert loaded_from(folder) == [("plug", "Plug", "old")]
    make_archive(archive, valued("new"))
    assert loaded_from(folder) == [("plug", "Plug", "new")]
    ran = run_python(LISTING_CODE.format(folder=str(folder)))
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == [["plug", "Plug", "new"]]


@pytest.mark.parametrize("planted", ["garbage", "another archive's", "an older copy's"])
def test_a_tampered_cache_file_never_makes_wrong_code_run(
    tmp_path: Path, cache: Path, planted: str
) -> None:
    folder = tmp_path / "plugins"
    archive = folder / "node.zip"
    others: set[Path] = set()  # the cache files of other archives
    if planted == "garbage":
        bad = b"pike-cache, or so it says\n" * 40
    elif planted == "another archive's":
        elsewhere = make_archive(tmp_path / "elsewhere" / "node.zip", valued("elsewhere"))
        assert loaded_from(elsewhere.parent) == [("plug", "Plug", "elsewhere")]
        others = cache_files(cache)
        [other] = others
        bad = other.read_bytes()
    else:  # what was kept for this very archive before it was replaced
        make_archive(archive, valued("older"))
        assert loaded_from(folder) == [("plug", "Plug", "older")]
        [older] = cache_files(cache)
        bad = older.read_bytes()
    make_archive(archive, valued("current"))
    assert loaded_from(folder) == [("plug", "Plug", "current")]
    [kept] = cache_files(cache) - others
    assert kept.read_bytes() != bad  # the current copy's code is what it keeps now
    kept.write_bytes(bad)
    assert loaded_from(folder) == [("plug", "Plug", "current")]
    kept.write_bytes(bad)
    ran = run_python(LISTING_CODE.format(folder=str(folder)))
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == [["plug", "Plug", "current"]]


def test_code_compiled_under_another_optimization_level_is_not_used(
    tmp_path: Path, cache: Path
) -> None:
    folder = tmp_path / "plugins"
    make_archive(folder / "node.zip", {"plug.py": "class Plug:\n    value = __debug__\n"})
    optimized = run_python(LISTING_CODE.format(folder=str(folder)), "-O")
    assert optimized.returncode == 0, optimized.stderr
    assert json.loads(optimized.stdout) == [["plug", "Plug", False]]
    assert len(cache_files(cache)) == 1  # kept, for the next run
    plain = run_python(LISTING_CODE.format(folder=str(folder)))
    assert plain.returncode == 0, plain.stderr
    assert json.loads(plain.stdout) == [["plug", "Plug", True]]


# -- cleanup -------------------------------------------------------------------------------


@needs_proc
def test_cleanup_leaves_no_private_name_and_no_archive_open(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    archive = make_archive(folder / "node.zip", RAISING)
    with collector_off():
        with PikeManager([folder], isolate=True) as mgr:
            classes = mgr.get_classes()  # kept after the block, as a host keeps them
            package = f"{private_prefix(str(archive))}__NodeA"
            assert importlib.resources.files(package).joinpath("data.txt").read_text()
            assert inspect.getsource(classes[0])
            assert private_leftovers()
        assert private_leftovers() == []
        assert open_files(archive) == []
    assert [c.__name__ for c in classes] == ["Node"]


@needs_proc
def test_no_archive_is_left_open_by_a_module_that_outlived_a_refresh(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    archive = make_archive(folder / "node.zip", RAISING)
    (folder / "plain.py").write_text("class Plain:\n    pass\n")
    with collector_off():
        with PikeManager([folder], isolate=True) as mgr:
            classes = mgr.get_classes()  # kept after the block, as a host keeps them
            (folder / "added.py").write_text("class Added:\n    pass\n")
            assert mgr.refresh().added == ["added"]
            [node_class] = [c for c in classes if c.__name__ == "Node"]
            assert "raised in the archive" in inspect.getsource(node_class)
        assert private_leftovers() == []
        assert open_files(archive) == []
    assert sorted(c.__name__ for c in classes) == ["Node", "Plain"]


# -- static listing ------------------------------------------------------------------------


def everything_in(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``root``, with its size and modification time."""
    return {str(p): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in root.rglob("*")}


def test_static_listing_reads_archives_in_place(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    first = make_archive(folder / "first.zip", node("NodeA", "first"))
    wheel = make_archive(
        folder / "wpkg-1.0-py3-none-any.whl",
        {
            "wpkg/__init__.py": "from bases import Base\n\n\nclass Wheeled(Base):\n    pass\n",
            "wpkg-1.0.dist-info/METADATA": "Name: wpkg\n",
        },
    )
    broken = folder / "broken.zip"
    garbage(broken)
    (folder / "plain.py").write_text("class Plain:\n    pass\n")
    before = everything_in(tmp_path)
    listing = static.list_classes([folder], isolate=True)
    assert everything_in(tmp_path) == before  # nothing extracted, nothing written
    found = sorted((c.module, c.name, c.path, c.source) for c in listing.classes)
    assert found == [
        ("NodeA.nodes", "Node", os.path.join(str(first), "NodeA", "nodes.py"), str(first)),
        ("plain", "Plain", str(folder / "plain.py"), str(folder)),
        ("wpkg", "Wheeled", os.path.join(str(wheel), "wpkg", "__init__.py"), str(wheel)),
    ]
    [node_class] = [c for c in listing.classes if c.name == "Node"]
    assert node_class.lineno == 4
    [error] = listing.errors
    assert error.path == str(broken)
    assert error.module == "broken"
    assert private_leftovers() == []
    assert "utils" not in sys.modules and "NodeA" not in sys.modules


@needs_proc
def test_static_listing_leaves_no_archive_open(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    archive = make_archive(folder / "first.zip", node("NodeA", "first"))
    with collector_off():
        listing = static.list_classes([folder], isolate=True)
        assert [c.name for c in listing.classes] == ["Node"]
        assert open_files(archive) == []


def index_of(cache: Path) -> tuple[str, dict[str, Any]]:
    """The name and document of the one search path index in ``cache``."""
    from pike import _cache

    [index] = cache.glob("index-*")
    document = _cache.read(index.name)
    assert document is not None
    return index.name, document


def with_member(document: dict[str, Any], value: object) -> dict[str, Any]:
    """``document`` with what it keeps of ``plug.zip``'s ``plug.py`` replaced by ``value``."""
    state, members = document["archives"]["plug.zip"]
    archives = {**document["archives"], "plug.zip": (state, {**members, "plug.py": value})}
    return {**document, "archives": archives}


def listed_names(folder: Path) -> list[str]:
    return sorted(c.name for c in static.list_classes([folder], isolate=True).classes)


def test_the_index_keeps_archive_members_facts_while_the_archive_holds(
    tmp_path: Path, cache: Path
) -> None:
    from pike import _cache

    folder = tmp_path / "plugins"
    make_archive(folder / "plug.zip", valued("one"))
    assert listed_names(folder) == ["Plug"]
    name, document = index_of(cache)
    crc, _facts = document["archives"]["plug.zip"][1]["plug.py"]
    assert crc == zipfile.ZipFile(folder / "plug.zip").getinfo("plug.py").CRC
    # Facts planted under the member's CRC are what a listing uses: it parsed nothing.
    planted = ((("Planted", 1, (), (), {}, (), ()),), (), None, {}, ())
    _cache.write(name, with_member(document, (crc, planted)))
    assert listed_names(folder) == ["Planted"]
    # Another archive state: the member is parsed again, however its kept facts look.
    make_archive(
        folder / "plug.zip", {"plug.py": "class Plug:\n    pass\n\nclass More:\n    pass\n"}
    )
    assert listed_names(folder) == ["More", "Plug"]
    _name, document = index_of(cache)
    assert document["archives"]["plug.zip"][1]["plug.py"][1] != planted


BAD_MEMBERS = [
    "facts",
    (1,),  # a part missing
    ("crc", ((), (), None)),  # a CRC that is no number
    (0, ((), (), None)),  # another content's CRC
    (None, ((), (), None)),
]


@pytest.mark.parametrize("value", BAD_MEMBERS, ids=range(len(BAD_MEMBERS)))
def test_an_archive_members_kept_facts_of_the_wrong_shape_are_drawn_afresh(
    tmp_path: Path, cache: Path, value: object
) -> None:
    from pike import _cache

    folder = tmp_path / "plugins"
    make_archive(folder / "plug.zip", valued("one"))
    assert listed_names(folder) == ["Plug"]
    name, document = index_of(cache)
    _cache.write(name, with_member(document, value))
    assert listed_names(folder) == ["Plug"]
    crc, facts = index_of(cache)[1]["archives"]["plug.zip"][1]["plug.py"]
    plug = ("Plug", 1, (), (), {"value": "one"}, (), ("value",))
    assert (type(crc), facts) == (int, ((plug,), (), None, {}, ()))


@pytest.mark.parametrize(
    "archives",
    ["archives", {"plug.zip": "state"}, {"plug.zip": ((1, 2), {})}, {"plug.zip": (None, [])}],
    ids=range(4),
)
def test_an_index_whose_archives_do_not_check_out_is_not_believed(
    tmp_path: Path, cache: Path, archives: object
) -> None:
    from pike import _cache

    folder = tmp_path / "plugins"
    make_archive(folder / "plug.zip", valued("one"))
    (folder / "plain.py").write_text("class Plain:\n    pass\n")
    assert listed_names(folder) == ["Plain", "Plug"]
    name, document = index_of(cache)
    _cache.write(name, {**document, "archives": archives})
    assert listed_names(folder) == ["Plain", "Plug"]
    assert "plug.py" in index_of(cache)[1]["archives"]["plug.zip"][1]


# -- pickling ------------------------------------------------------------------------------

SIZED = {
    "NodeA/__init__.py": """\
        class Node:
            def __init__(self, size):
                self.size = size
        """,
}


def test_an_instance_of_an_archive_class_pickles_within_a_run(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    make_archive(folder / "node.zip", SIZED)
    with PikeManager([folder], isolate=True) as mgr:
        [cls] = mgr.get_classes()
        again = pickle.loads(pickle.dumps(cls(3)))
        assert type(again) is cls
        assert vars(again) == {"size": 3}
    assert private_leftovers() == []


def test_a_pickle_of_an_archive_class_loads_in_another_run(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    make_archive(folder / "node.zip", SIZED)
    made = run_python(
        f"""
        import pickle, sys
        from pike.manager import PikeManager
        with PikeManager([{str(folder)!r}], isolate=True) as mgr:
            [cls] = mgr.get_classes()
            sys.stdout.write(pickle.dumps(cls(3)).hex())
        """
    )
    assert made.returncode == 0, made.stderr
    loaded_again = run_python(
        f"""
        import pickle
        from pike.manager import PikeManager
        with PikeManager([{str(folder)!r}], isolate=True) as mgr:
            again = pickle.loads(bytes.fromhex({made.stdout!r}))  # before any load
            [cls] = mgr.get_classes()
            print(type(again) is cls, vars(again))
        """
    )
    assert loaded_again.returncode == 0, loaded_again.stderr
    assert loaded_again.stdout == "True {'size': 3}\n"
