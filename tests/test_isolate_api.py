"""The surface of isolation (docs/isolation.md): its arguments, the command line, named
managers and a finder of its own.

* ``isolate`` is checked when a manager or listing is made; ``source=`` picks a
  search path or archive, and a wrong one says what to pass;
* ``mgr.entry_of`` gives a class's plugin entry (its plain name and source);
  plugin errors carry their ``source``;
* ``pike --isolate`` lists one name from two paths twice, with a SOURCE column,
  and a ``source`` key in the JSON document (classes and errors);
* named managers with ``isolate=True``: two drop-in folders, or two wheels in one
  drop-in folder, may both ship a top-level ``utils``;
* a ``PikeFinder(isolate=True)`` put in ``sys.meta_path`` by hand serves its
  paths' modules under their private names.

Real folders and archives in ``tmp_path``, the real import system.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pike._names import private_prefix
from pike.discovery import static
from pike.errors import PikeTypeError, PikeValueError, PluginImportError
from pike.finder import PikeFinder
from pike.manager import PikeManager
from pike.named import DriverManager, ExtensionManager
from tests.conftest import MakeTree

REPO = Path(__file__).resolve().parent.parent

NODE = {
    "node/__init__.py": "from utils import WHO\n\nclass Node:\n    who = WHO\n",
    "utils.py": "",  # filled per folder
}


def two_folders(make_tree: MakeTree) -> tuple[Path, Path]:
    """Two search paths, each with a package ``node`` whose bare ``import utils`` must
    find its own folder's ``utils``."""
    a = make_tree({**NODE, "utils.py": "WHO = 'a'\n"}, name="a")
    b = make_tree({**NODE, "utils.py": "WHO = 'b'\n"}, name="b")
    return a, b


def wheel(path: Path, name: str, who: str) -> Path:
    """A wheel shipping package ``name`` and a top-level ``utils``, declaring entry point
    ``who`` in group ``demo.plugins``."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            f"{name}/__init__.py", "from utils import WHO\n\nclass P:\n    who = WHO\n"
        )
        archive.writestr("utils.py", f"WHO = {who!r}\n")
        archive.writestr(
            f"{name}-1.0.dist-info/entry_points.txt", f"[demo.plugins]\n{who} = {name}:P\n"
        )
    return path


def private_names() -> list[str]:
    return sorted(n for n in list(sys.modules) if n.startswith("_pike_"))


# -- arguments ---------------------------------------------------------------------------


@pytest.mark.parametrize("wrong", [1, "yes", None])
def test_isolate_must_be_a_bool(make_tree: MakeTree, wrong: object) -> None:
    root = make_tree({"one.py": "class One: pass\n"})
    with pytest.raises(PikeTypeError, match="isolate is"):
        PikeManager([root], isolate=wrong)  # type: ignore[arg-type]
    with pytest.raises(PikeTypeError, match="isolate is"):
        static.list_classes([root], isolate=wrong)  # type: ignore[arg-type]
    assert private_names() == []


def test_source_picks_the_search_path(make_tree: MakeTree) -> None:
    a, b = two_folders(make_tree)
    with PikeManager([a, b], isolate=True) as mgr:
        assert mgr.isolate is True
        assert mgr.load_plugin("node", source=str(b)).Node.who == "b"
        assert mgr.get_path("node", source=str(b)) == str(b / "node" / "__init__.py")
        assert mgr.get_path("node", source=str(a)) is None  # not loaded from a
        with pytest.raises(PikeValueError, match="not one of this manager's search paths"):
            mgr.load_plugin("node", source=str(a / "node"))
        with pytest.raises(PluginImportError, match="no plugin module 'missing'"):
            mgr.load_plugin("missing", source=str(a))
    assert private_names() == []


def test_entry_of_names_a_class_by_its_plugin(make_tree: MakeTree) -> None:
    a, b = two_folders(make_tree)
    with PikeManager([a, b], isolate=True) as mgr:
        classes = mgr.get_classes()
        entries = [mgr.entry_of(cls) for cls in classes]
        assert [(e.name, e.source) for e in entries if e is not None] == [
            ("node", str(a)),
            ("node", str(b)),
        ]
        assert classes[0].__module__ == f"{private_prefix(str(a))}__node"
        assert mgr.entry_of(json) is None and mgr.entry_of(object()) is None
        assert mgr.entry_of(sys.modules[classes[1].__module__]) == entries[1]


def test_errors_carry_their_source(make_tree: MakeTree) -> None:
    a = make_tree({"bad.py": "raise ValueError('no')\n"}, name="a")
    b = make_tree({"bad.py": "raise ValueError('no')\n"}, name="b")
    with PikeManager([a, b], isolate=True, on_error="collect") as mgr:
        mgr.get_classes()
        assert [(e.module_name, e.source) for e in mgr.errors] == [
            ("bad", str(a)),
            ("bad", str(b)),
        ]
        assert all("_pike_" not in str(e) for e in mgr.errors)


# -- the command line --------------------------------------------------------------------


def pike_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pike", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )


def test_the_command_line_isolates(make_tree: MakeTree) -> None:
    a, b = two_folders(make_tree)
    shown = pike_cli("--isolate", str(a), str(b))
    assert shown.returncode == 0, shown.stderr
    header, first, second = shown.stdout.splitlines()[:3]
    assert header.split() == ["MODULE", "CLASS", "BASES", "SOURCE", "FILE"]
    assert first.split()[:2] == second.split()[:2] == ["node", "Node"]
    assert "_pike_" not in shown.stdout
    plain = pike_cli(str(a), str(b))  # without it: the second is hidden, as before
    assert plain.returncode == 1 and "SOURCE" not in plain.stdout
    for mode in ([], ["--static"]):
        document = json.loads(pike_cli("--isolate", "--json", *mode, str(a), str(b)).stdout)
        found = [(c["module"], c["source"]) for c in document["classes"]]
        assert found == [("node", str(a)), ("node", str(b))], mode


def test_the_command_lines_errors_say_their_source(make_tree: MakeTree) -> None:
    root = make_tree({"bad.py": "raise ValueError('no')\n"})
    (root / "broken.zip").write_bytes(b"not a zip file")
    document = json.loads(pike_cli("--isolate", "--json", str(root)).stdout)
    found = sorted((e["module"], e["source"]) for e in document["errors"])
    assert found == [("bad", str(root)), ("broken", str(root / "broken.zip"))]


# -- named managers ----------------------------------------------------------------------


def test_named_managers_over_two_folders_each_get_their_own_utils(make_tree: MakeTree) -> None:
    a = make_tree(
        {"utils.py": "WHO = 'a'\n", "first.py": "from utils import WHO\n", "entry_points.txt":
         "[demo.plugins]\nfirst = first:WHO\n"}, name="a",
    )  # fmt: skip
    b = make_tree(
        {"utils.py": "WHO = 'b'\n", "second.py": "from utils import WHO\n", "entry_points.txt":
         "[demo.plugins]\nsecond = second:WHO\n"}, name="b",
    )  # fmt: skip
    with ExtensionManager("demo.plugins", search_paths=[a, b], isolate=True) as mgr:
        found: dict[str, object] = {ext.name: ext.plugin for ext in mgr}
        assert found == {"first": "a", "second": "b"}
    assert private_names() == []


def test_two_wheels_in_a_drop_in_folder_both_ship_utils(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    folder.mkdir()
    wheel(folder / "plug_a-1.0-py3-none-any.whl", "plug_a", "a")
    wheel(folder / "plug_b-1.0-py3-none-any.whl", "plug_b", "b")
    with ExtensionManager("demo.plugins", search_paths=[folder], isolate=True) as mgr:
        assert sorted((ext.name, ext.plugin.who) for ext in mgr) == [("a", "a"), ("b", "b")]
        paths = sorted(os.path.relpath(str(ext.path), folder) for ext in mgr)
        assert paths == [
            os.path.join("plug_a-1.0-py3-none-any.whl", "plug_a", "__init__.py"),
            os.path.join("plug_b-1.0-py3-none-any.whl", "plug_b", "__init__.py"),
        ]
    with DriverManager("demo.plugins", "b", search_paths=[folder], isolate=True) as driver:
        assert getattr(driver.driver, "who", None) == "b"
    # Without isolation a wheel is no drop-in distribution: nothing is declared.
    with ExtensionManager("demo.plugins", search_paths=[folder]) as mgr:
        assert mgr.names() == []
    assert private_names() == []


# -- a finder of its own -----------------------------------------------------------------


def test_a_finder_of_its_own_serves_private_names(make_tree: MakeTree) -> None:
    a, _b = two_folders(make_tree)
    finder = PikeFinder([str(a)], isolate=True)
    prefix = private_prefix(str(a))
    sys.meta_path.insert(0, finder)
    try:
        import importlib

        node = importlib.import_module(f"{prefix}__node")
        assert node.Node.who == "a"
        assert "node" not in sys.modules and "utils" not in sys.modules
    finally:
        sys.meta_path.remove(finder)
        for name in private_names():
            del sys.modules[name]
