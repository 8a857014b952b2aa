"""Edges of isolation and archives (docs/isolation.md), each once a bug:

* ``find_inherited_classes`` finds classes in archives, as ``get_all_inherited_classes``;
* one isolated manager's cleanup leaves another active manager's modules in a
  private namespace they share, and the last one out takes the namespace;
* ``__import__`` called by hand in plugin code is the plugin's view, whatever it is
  given as ``globals``;
* refresh runs again a module whose bare import would find another module now (a
  helper added to its package, then removed);
* an archive replaced again and again leaves no file open behind;
* an archive's data files missing, or a path outside it, are ``FileNotFoundError``;
  member names no folder could hold are no modules; a member past the size pike
  reads is an error, not a memory blow-up;
* ``source=`` takes a path as the search paths do;
* a relative import never climbs above a top-level plugin package, as in plain Python.

Real folders and zip files in ``tmp_path``, the real import system.
"""

from __future__ import annotations

import os
import sys
import zipfile
from collections import UserDict
from pathlib import Path
from typing import Any

import pytest

from pike import _archive
from pike.errors import PikeTypeError, PluginImportError
from pike.manager import PikeManager
from tests.conftest import MakeTree


def private_names() -> list[str]:
    return sorted(n for n in list(sys.modules) if n.startswith("_pike_"))


def make_zip(path: Path, files: dict[str, str | bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(path.name + ".part")
    with zipfile.ZipFile(scratch, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    os.replace(scratch, path)
    return path


def test_find_inherited_classes_finds_classes_in_archives(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    host = "from collections import UserDict\n"  # a base class of the host's
    make_zip(folder / "node.zip", {"c.py": host + "class C(UserDict): pass\n"})
    (folder / "a.py").write_text(host + "class A(UserDict): pass\n")
    with PikeManager([folder], isolate=True, on_error="collect") as mgr:
        found = sorted(cls.__name__ for cls in mgr.find_inherited_classes(UserDict))
        assert found == ["A", "C"] and mgr.errors == []
        everything = sorted(c.__name__ for c in mgr.get_all_inherited_classes(UserDict))
        assert everything == found
    assert private_names() == []


def test_cleanup_leaves_what_another_active_manager_loaded(make_tree: MakeTree) -> None:
    shared = make_tree({"a.py": "X = 'a'\n"}, name="shared")
    other = make_tree({"other.py": ""}, name="other")
    first = PikeManager([shared], isolate=True)
    first.load_plugin("a")
    (shared / "b.py").write_text("X = 'b'\n")
    second = PikeManager([other, shared], isolate=True)
    b = second.load_plugin("b")
    first.cleanup()
    assert sys.modules.get(b.__name__) is b  # the second manager's, still active
    assert second.get_path("b") == str(shared / "b.py")
    second.cleanup()
    assert private_names() == []


def test_import_by_hand_in_plugin_code_is_the_plugins_view(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "node/__init__.py": (
                "def by_hand():\n"
                "    return __import__('utils'), __import__('utils', None), "
                "__import__('utils', 5)\n"
            ),
            "node/utils.py": "WHO = 'node'\n",
        }
    )
    with PikeManager([root], isolate=True) as mgr:
        node = mgr.load_plugin("node")
        assert {m.WHO for m in node.by_hand()} == {"node"}


def test_refresh_runs_again_a_module_whose_bare_import_finds_another(
    make_tree: MakeTree,
) -> None:
    root = make_tree(
        {
            "node/__init__.py": "import helpers\n\nclass Node:\n    who = helpers.WHO\n",
            "helpers.py": "WHO = 'top'\n",
        }
    )

    def who(mgr: PikeManager) -> list[object]:
        return [getattr(c, "who", None) for c in mgr.get_classes() if c.__name__ == "Node"]

    with PikeManager([root], isolate=True) as mgr:
        assert who(mgr) == ["top"]
        (root / "node" / "helpers.py").write_text("WHO = 'package'\n")
        report = mgr.refresh()
        assert "node" in report.changed and "node.helpers" in report.added
        assert who(mgr) == ["package"]
        (root / "node" / "helpers.py").unlink()
        report = mgr.refresh()
        assert "node" in report.changed and report.removed == ["node.helpers"]
        assert who(mgr) == ["top"]


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_an_archive_replaced_again_and_again_leaves_no_file_open(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    archive = make_zip(folder / "node.zip", {"plug.py": "V = 0\nclass Plug: pass\n"})

    def open_files() -> int:
        return len(os.listdir("/proc/self/fd"))

    with PikeManager([folder], isolate=True) as mgr:
        mgr.get_classes()
        before = open_files()
        for version in range(1, 21):
            make_zip(archive, {"plug.py": f"V = {version}\nclass Plug: pass\n"})
            mgr.refresh()
            [plug] = mgr.get_classes()
        assert sys.modules[plug.__module__].V == 20
        assert open_files() <= before + 1  # the reading in use, at most
    assert private_names() == []


def test_what_an_archive_lacks_is_file_not_found(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    make_zip(folder / "node.zip", {"node/__init__.py": "", "node/data.txt": "hello"})
    with PikeManager([folder], isolate=True) as mgr:
        node = mgr.load_plugin("node")
        loader: Any = node.__loader__
        here = os.path.dirname(str(node.__file__))
        assert loader.get_data(os.path.join(here, "data.txt")) == b"hello"
        with pytest.raises(FileNotFoundError):
            loader.get_data(os.path.join(here, "missing.txt"))
        with pytest.raises(FileNotFoundError):
            loader.get_data("/etc/hostname")


def test_member_names_no_folder_could_hold_are_no_modules(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    make_zip(
        folder / "odd.zip",
        {"/rooted.py": "X = 'rooted'\n", "a//b.py": "X = 'b'\n", "plain.py": "X = 'plain'\n"},
    )
    with PikeManager([folder], isolate=True) as mgr:
        assert [entry.name for entry in mgr.entries] == ["plain"]
        assert mgr.load_plugin("plain").X == "plain"


def test_a_member_past_the_size_pike_reads_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    huge = b"#" * (_archive.MAX_MEMBER + 1)  # compresses to almost nothing
    make_zip(folder / "big.zip", {"big.py": huge, "small.py": "X = 1\n"})
    with PikeManager([folder], isolate=True, on_error="collect") as mgr:
        mgr.get_modules()
        [error] = mgr.errors
        assert isinstance(error, PluginImportError) and error.module_name == "big"
        assert "more than pike reads" in str(error.__cause__)
        assert mgr.load_plugin("small").X == 1


def test_source_takes_a_path_as_search_paths_do(tmp_path: Path, make_tree: MakeTree) -> None:
    root = make_tree({"one.py": "X = 1\n"})
    make_zip(root / "packed.zip", {"two.py": "X = 2\n"})
    with PikeManager([root], isolate=True) as mgr:
        assert mgr.load_plugin("one", source=Path(root)).X == 1
        assert mgr.load_plugin("one", source=str(root) + os.sep).X == 1
        assert mgr.load_plugin("two", source=root / "packed.zip").X == 2
        assert mgr.get_path("two", source=root / "." / "packed.zip") == str(
            root / "packed.zip" / "two.py"
        )
        with pytest.raises(PikeTypeError, match="source is"):
            mgr.load_plugin("one", source=3)  # type: ignore[arg-type]


def test_a_relative_import_never_climbs_above_a_plugin_package(make_tree: MakeTree) -> None:
    root = make_tree({"node/__init__.py": "from .. import other\n", "other.py": ""})
    with PikeManager([root], isolate=True, on_error="collect") as mgr:
        mgr.get_modules()
        [error] = mgr.errors
        assert error.module_name == "node"
        assert "beyond top-level package" in str(error.__cause__)


def test_a_pickle_names_an_archive_before_any_walk_read_it(tmp_path: Path) -> None:
    import pickle

    folder = tmp_path / "plugins"
    make_zip(folder / "node.zip", {"plug.py": "class Plug:\n    value = 7\n"})
    with PikeManager([folder], isolate=True) as first:
        [plug] = first.get_classes()
        data = pickle.dumps(plug())
    assert private_names() == []
    with PikeManager([folder], isolate=True) as second:
        again = pickle.loads(data)  # nothing walked or loaded yet
        assert type(again).value == 7
        assert second.entry_of(type(again)) is not None
    assert private_names() == []


def test_names_no_source_of_the_manager_has_are_no_modules(make_tree: MakeTree) -> None:
    import importlib

    from pike._names import private_key, private_prefix

    root = make_tree({"one.py": "X = 1\n", "pkg/__init__.py": ""})
    prefix = private_prefix(str(root))
    with PikeManager([root], isolate=True):
        for name in (
            "_pike_nowhere_0000000000000000__one",  # no source of this manager's
            prefix,  # a prefix alone
            private_key(prefix, "missing"),  # no such module
            private_key(prefix, "not-a-name"),
            "one",  # plugins never take a plain name
        ):
            with pytest.raises(ModuleNotFoundError):
                importlib.import_module(name)
        assert importlib.import_module(private_key(prefix, "one")).X == 1
    assert private_names() == []


def test_an_archive_replaced_after_the_walk_loads_as_it_is_now(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    archive = make_zip(folder / "node.zip", {"plug.py": "V = 'old'\n"})
    with PikeManager([folder], isolate=True) as mgr:
        assert [entry.name for entry in mgr.entries] == ["plug"]  # walked, not loaded
        make_zip(archive, {"plug.py": "V = 'new'\n", "more.py": ""})
        [module] = mgr.get_modules()
        assert module.V == "new"


def test_load_plugin_reaches_into_archives(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    make_zip(
        folder / "node.zip",
        {"pkg/__init__.py": "", "pkg/sub.py": "X = 'sub'\n", "mod.py": "X = 'mod'\n"},
    )
    (folder / "broken.zip").write_bytes(b"no zip")
    with PikeManager([folder], isolate=True) as mgr:
        assert mgr.load_plugin("pkg.sub").X == "sub"
        assert mgr.load_plugin("mod").X == "mod"
        for missing in ("pkg.nothing", "mod.sub", "nothing", "bad-name"):
            with pytest.raises(PluginImportError, match="no plugin module"):
                mgr.load_plugin(missing)
        with pytest.raises(PluginImportError, match="plugin archive"):
            mgr.load_plugin("x", source=folder / "broken.zip")


def test_a_broken_wheel_in_a_drop_in_folder_declares_nothing(tmp_path: Path) -> None:
    from pike.named import ExtensionManager

    folder = tmp_path / "plugins"
    make_zip(
        folder / "good-1.0-py3-none-any.whl",
        {
            "good/__init__.py": "class P: pass\n",
            "good-1.0.dist-info/entry_points.txt": "[demo.plugins]\ngood = good:P\n",
        },
    )
    make_zip(folder / "plain.zip", {"plain.py": ""})  # no declarations
    (folder / "broken-1.0-py3-none-any.whl").write_bytes(b"no zip")
    with ExtensionManager("demo.plugins", search_paths=[folder], isolate=True) as mgr:
        assert mgr.names() == ["good"]
    assert private_names() == []


def test_a_builtin_one_plugin_adds_reaches_the_next(make_tree: MakeTree) -> None:
    import builtins

    root = make_tree(
        {
            "a_first.py": "import builtins\nbuiltins.ADDED_BY_A_PLUGIN = 'a'\n",
            "b_second.py": "SEEN = ADDED_BY_A_PLUGIN\n",  # a name of builtins by then
        }
    )
    try:
        with PikeManager([root], isolate=True) as mgr:
            modules = {m.__name__.rpartition("__")[2]: m for m in mgr.get_modules()}
            assert modules["b_second"].SEEN == "a"
    finally:
        vars(builtins).pop("ADDED_BY_A_PLUGIN", None)


def test_odd_imports_in_plugin_code_fail_as_they_do_outside_pike(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "node/__init__.py": (
                "import pike\n\n"
                "def bytes_name():\n    return __import__(b'utils')\n\n"
                "def relative():\n    return pike.import_module('.utils', __package__)\n"
            ),
            "node/utils.py": "WHO = 'node'\n",
        }
    )
    with PikeManager([root], isolate=True) as mgr:
        node = mgr.load_plugin("node")
        with pytest.raises(TypeError):
            node.bytes_name()
        assert node.relative().WHO == "node"


def test_kept_code_of_the_wrong_shape_is_never_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pike import _cache

    monkeypatch.setenv("PIKE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    folder = tmp_path / "plugins"
    make_zip(folder / "node.zip", {"plug.py": "V = 'archive'\n"})
    with PikeManager([folder], isolate=True) as mgr:
        mgr.get_modules()
    [kept] = (tmp_path / "cache").glob("archive-*")
    document = _cache.read(kept.name)
    assert document is not None
    evil = compile("V = 'evil'\n", "evil", "exec")
    crc = next(iter(document["code"].values()))[0]
    for code in (
        {"plug.py": (crc, "not code"), 5: (crc, evil)},  # wrong types
        {"plug.py": (crc + 1, evil)},  # compiled from another source
        "not a dict",
    ):
        _cache.write(kept.name, {**document, "code": code})
        with PikeManager([folder], isolate=True) as mgr:
            [module] = mgr.get_modules()
            assert module.V == "archive", code
    _cache.write(kept.name, {**document, "optimize": sys.flags.optimize + 1})
    with PikeManager([folder], isolate=True) as mgr:
        [module] = mgr.get_modules()
        assert module.V == "archive"
