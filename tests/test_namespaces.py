"""Isolation gives each search path a private namespace (docs/isolation.md).

With ``PikeManager(search_paths, isolate=True)`` (and
``static.list_classes(paths, isolate=True)``) these tests hold that:

* search paths never meet: one top-level name in two search paths is two
  modules, and each plugin's ``import X`` finds the ``X`` of its own search path
  (without isolation that is a ``PluginCollisionError``, as before);
* a plugin package's bare imports, from any of its modules at any depth, find
  the package's own modules first, then the search path's top level, then the
  host's; a standard-library name is always the standard library's. The layout
  of ComfyUI custom nodes (one folder per node, each with its own ``utils``) and
  QwenPaw's ``sys.path.insert(0, os.path.dirname(__file__))`` idiom work;
* plugin modules live in ``sys.modules`` under `pike._names.private_prefix` of
  their search path, the same in every run, and cleanup leaves none of them;
  files, tracebacks, ``inspect`` and ``pickle`` (within a run and across runs)
  work; a top-level plugin named like a standard-library module, or a second
  active manager over the same folder, is still a collision; entries and errors
  give plain plugin names;
* nothing process-wide changes: ``builtins.__import__``, ``sys.meta_path`` (but
  for pike's finder) and the builtins of modules that are not plugins; the
  names the host adds to ``builtins`` reach plugin code; ``pike.import_module``
  resolves as a plugin's import statement would;
* refresh reloads within the namespace and resolves bare imports afresh;
* static listing lists and resolves names the same way;
* two threads loading two isolated managers at once both get their own.

Every test uses real folders (``make_tree``) and the real import system; those
that need a fresh interpreter run in a subprocess (``run_python``).
"""

from __future__ import annotations

import builtins
import inspect
import json
import pickle
import sys
import threading
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import pike
from pike._names import plugin_name, private_prefix
from pike.discovery import static
from pike.errors import PluginCollisionError, PluginImportError
from pike.manager import PikeManager
from tests.conftest import MakeTree, run_python

# -- helpers -----------------------------------------------------------------------------


def under(prefix: str) -> list[str]:
    """The names in ``sys.modules`` that are ``prefix`` or lie under it."""
    return sorted(n for n in list(sys.modules) if n.startswith(prefix + "__"))


def private_leftovers() -> list[str]:
    """Every name in ``sys.modules`` of any isolated source."""
    return sorted(n for n in list(sys.modules) if n.startswith("_pike_"))


def by_name(classes: list[type]) -> dict[str, type]:
    named = {c.__qualname__: c for c in classes}
    assert len(named) == len(classes), f"two classes of one name: {classes}"
    return named


def by_plain_name(classes: list[type]) -> dict[str, type]:
    """Classes by their plain dotted name (``NodeA.utils.Base``): the module's name
    without its source's private name, and the class's."""
    named = {f"{plugin_name(c.__module__)}.{c.__qualname__}": c for c in classes}
    assert len(named) == len(classes), f"two classes of one name: {classes}"
    return named


def module(prefix: str, name: str) -> ModuleType:
    """The isolated plugin module ``name`` of the source whose private name is ``prefix``."""
    return sys.modules[f"{prefix}__{name}"]


@pytest.fixture(autouse=True)
def no_plain_names() -> None:
    """The plain names these tests' plugins use are not the host's to begin with."""
    taken = [n for n in ("utils", "helpers", "plug", "NodeA", "NodeB") if n in sys.modules]
    assert taken == [], f"the host already has {taken}"
    assert private_leftovers() == []


# -- search paths never meet -------------------------------------------------------------


def two_search_paths(make_tree: MakeTree) -> tuple[Path, Path]:
    a = make_tree(
        {
            "utils.py": "WHO = 'a'\n",
            "plug.py": "import utils\nclass PlugA:\n    who = utils.WHO\n",
            "lonely.py": (
                "try:\n"
                "    import only_in_b\n"
                "except ImportError:\n"
                "    FOUND = False\n"
                "else:\n"
                "    FOUND = True\n"
            ),
        },
        name="a",
    )
    b = make_tree(
        {
            "utils.py": "WHO = 'b'\n",
            "plug.py": "from utils import WHO\nclass PlugB:\n    who = WHO\n",
            "only_in_b.py": "",
        },
        name="b",
    )
    return a, b


@pytest.mark.parametrize("order", ["ab", "ba"])
def test_one_name_in_two_search_paths_is_two_modules(make_tree: MakeTree, order: str) -> None:
    a, b = two_search_paths(make_tree)
    paths = [a, b] if order == "ab" else [b, a]
    pa, pb = private_prefix(str(a)), private_prefix(str(b))
    assert pa != pb
    with PikeManager(paths, isolate=True) as mgr:
        classes = by_name(mgr.get_classes())
        assert mgr.errors == []
        assert sorted(classes) == ["PlugA", "PlugB"]
        assert classes["PlugA"].who == "a"  # type: ignore[attr-defined]
        assert classes["PlugB"].who == "b"  # type: ignore[attr-defined]
        utils_a, utils_b = module(pa, "utils"), module(pb, "utils")
        assert utils_a is not utils_b
        assert utils_a.__file__ == str(a / "utils.py")
        assert utils_b.__file__ == str(b / "utils.py")
        assert module(pa, "plug").utils is utils_a
        assert classes["PlugA"].__module__ == f"{pa}__plug"
        assert classes["PlugB"].__module__ == f"{pb}__plug"
        # A name only the other search path holds is not found: the paths never meet.
        assert module(pa, "lonely").FOUND is False
        assert f"{pa}__only_in_b" not in sys.modules
        # The plain names are nobody's.
        assert not {"utils", "plug", "only_in_b", "lonely"} & set(sys.modules)
    assert under(pa) == under(pb) == []
    assert private_leftovers() == []


def test_one_name_in_two_search_paths_without_isolation_collides(make_tree: MakeTree) -> None:
    a, b = two_search_paths(make_tree)
    with pytest.raises(PluginCollisionError) as info, PikeManager([a, b]) as mgr:
        mgr.get_classes()
    assert info.value.module_name == "plug"
    with PikeManager([a, b], on_error="collect") as mgr:
        assert sorted(by_name(mgr.get_classes())) == ["PlugA"]
        assert sorted(e.module_name for e in mgr.errors) == ["plug", "utils"]
        assert all(isinstance(e, PluginCollisionError) for e in mgr.errors)
        assert {e.path for e in mgr.errors} == {str(b / "plug.py"), str(b / "utils.py")}
        assert sys.modules["utils"].WHO == "a"
        assert sys.modules["lonely"].FOUND is True  # without isolation they meet
    assert private_leftovers() == []


# -- bare imports find the package's own modules first -------------------------------------


def test_bare_imports_at_any_depth_find_the_package_own_modules(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "utils.py": "WHO = 'top'\ndef f():\n    return 'top.f'\n",
            "NodeA/__init__.py": "",
            "NodeA/utils/__init__.py": "WHO = 'NodeA'\ndef f():\n    return 'NodeA.f'\n",
            "NodeA/utils/env.py": "X = 'NodeA.env'\n",
            "NodeA/json.py": "HIJACKED = True\n",
            "NodeA/sub/__init__.py": "",
            "NodeA/sub/deep.py": """
                import utils
                from utils import f
                import utils.env
                from utils.env import X
                import json
                import pike
                from NodeA.utils import WHO as ABSOLUTE
                from ..utils import WHO as RELATIVE

                SEEN = (utils.WHO, f(), utils.env.X, X, ABSOLUTE, RELATIVE)
            """,
            # No utils of its own: the search path's top-level one.
            "NodeC/__init__.py": "import utils\nfrom utils import f\nSEEN = (utils.WHO, f())\n",
            "NodeC/deeper/__init__.py": "",
            "NodeC/deeper/leaf.py": "import utils\nSEEN = utils.WHO\n",
        },
        name="search",
    )
    prefix = private_prefix(str(root))
    with PikeManager([root], isolate=True) as mgr:
        mgr.get_modules()
        assert mgr.errors == []
        deep = module(prefix, "NodeA.sub.deep")
        assert deep.SEEN == ("NodeA", "NodeA.f", "NodeA.env", "NodeA.env", "NodeA", "NodeA")
        assert deep.utils is module(prefix, "NodeA.utils")
        assert deep.utils.__file__ == str(root / "NodeA" / "utils" / "__init__.py")
        # A standard-library name is the standard library's, even with NodeA/json.py.
        assert deep.json is json
        assert not hasattr(deep.json, "HIJACKED")
        assert module(prefix, "NodeA.json").HIJACKED is True  # a plugin module of its own
        # A name neither the package nor the search path holds is the host's.
        assert deep.pike is pike
        assert module(prefix, "NodeC").SEEN == ("top", "top.f")
        assert module(prefix, "NodeC").utils is module(prefix, "utils")
        assert module(prefix, "NodeC.deeper.leaf").SEEN == "top"
        assert "utils" not in sys.modules
    assert under(prefix) == []


def test_a_bare_import_at_call_time_finds_the_package_own_module(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "extra.py": "WHO = 'top'\n",
            "NodeA/__init__.py": "",
            "NodeA/extra.py": "WHO = 'NodeA'\n",
            "NodeA/nodes.py": (
                "def later():\n    import extra\n    from extra import WHO\n    return extra, WHO\n"
            ),
        }
    )
    prefix = private_prefix(str(root))
    with PikeManager([root], isolate=True) as mgr:
        nodes = mgr.load_plugin("NodeA.nodes")
        assert f"{prefix}__NodeA.extra" not in sys.modules  # not loaded yet
        extra, who = nodes.later()
        assert who == "NodeA"
        assert extra is module(prefix, "NodeA.extra")
        assert extra.__file__ == str(root / "NodeA" / "extra.py")
        assert mgr.get_path("NodeA.extra") == extra.__file__  # the manager's own
        assert f"{prefix}__extra" not in sys.modules and "extra" not in sys.modules
    assert under(prefix) == []


def test_a_host_module_of_the_same_name_is_neither_taken_nor_touched(make_tree: MakeTree) -> None:
    # ComfyUI itself has a top-level ``utils``: the nodes' own come first, the host's
    # is what a node without one gets, and it stays the host's.
    host = make_tree({"utils.py": "WHO = 'host'\n"}, name="host")
    root = make_tree(
        {
            "NodeA/__init__.py": "import utils\nWHO = utils.WHO\n",
            "NodeA/utils.py": "WHO = 'NodeA'\n",
            "NodeB/__init__.py": "import utils\nWHO = utils.WHO\n",
        },
        name="custom_nodes",
    )
    code = f"""
        import sys
        sys.path.insert(0, {str(host)!r})
        import utils
        from pike.manager import PikeManager
        from pike._names import plugin_name, private_prefix
        prefix = private_prefix({str(root)!r})
        with PikeManager([{str(root)!r}], isolate=True) as mgr:
            mgr.get_modules()
            print(mgr.errors)
            print(sys.modules[prefix + "__NodeA"].WHO, sys.modules[prefix + "__NodeB"].WHO)
            print(sys.modules[prefix + "__NodeB"].utils is utils, sys.modules["utils"] is utils)
        print(sys.modules["utils"] is utils, utils.WHO)
        print([n for n in sys.modules if n.startswith("_pike_")])
    """
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "[]",
        "NodeA host",
        "True True",
        "True host",
        "[]",
    ]


def comfyui_node(name: str, tag: str, layout: str) -> dict[str, str]:
    """A ComfyUI custom node: a package whose nodes module imports its own ``utils`` bare."""
    if layout == "module":
        helpers = {f"{name}/utils.py": f"TAG = {tag!r}\n"}
        imports = "import utils\nfrom utils import TAG\n"
    else:
        helpers = {
            f"{name}/utils/__init__.py": f"TAG_INIT = {tag!r}\n",
            f"{name}/utils/env.py": f"TAG = {tag!r}\n",
        }
        imports = "import utils.env\nfrom utils.env import TAG\nassert utils.TAG_INIT == TAG\n"
    return {
        f"{name}/__init__.py": "from .nodes import NODE_CLASS_MAPPINGS\n",
        f"{name}/nodes.py": (
            f"{imports}"
            f"class {name}Node:\n"
            "    tag = TAG\n"
            "    helper = utils.__name__\n"
            f"NODE_CLASS_MAPPINGS = {{{name + 'Node'!r}: {name}Node}}\n"
        ),
        **helpers,
    }


@pytest.mark.parametrize("layout", ["module", "package"])
@pytest.mark.parametrize(("first", "second"), [("NodeA", "NodeB"), ("NodeB", "NodeA")])
def test_comfyui_nodes_each_see_their_own_utils(
    make_tree: MakeTree, layout: str, first: str, second: str
) -> None:
    # "one" goes to the node that loads first in one case, to the one that loads
    # second in the other.
    root = make_tree(
        {**comfyui_node(first, "one", layout), **comfyui_node(second, "two", layout)},
        name="custom_nodes",
    )
    prefix = private_prefix(str(root))
    with PikeManager([root], isolate=True) as mgr:
        classes = by_name(mgr.get_classes())
        assert mgr.errors == []
        assert sorted(classes) == ["NodeANode", "NodeBNode"]
        assert classes[f"{first}Node"].tag == "one"  # type: ignore[attr-defined]
        assert classes[f"{second}Node"].tag == "two"  # type: ignore[attr-defined]
        for node in (first, second):
            assert classes[f"{node}Node"].helper == f"{prefix}__{node}.utils"  # type: ignore[attr-defined]
            mapping = module(prefix, node).NODE_CLASS_MAPPINGS
            assert mapping == {f"{node}Node": classes[f"{node}Node"]}
        suffix = "utils.py" if layout == "module" else "utils/__init__.py"
        assert module(prefix, f"{first}.utils").__file__ == str(root / first / suffix)
        assert "utils" not in sys.modules
    assert under(prefix) == []


def test_sys_path_insert_of_the_package_folder_finds_its_own_helpers(
    make_tree: MakeTree,
) -> None:
    # QwenPaw's idiom: a package puts its own folder first on sys.path, then imports.
    idiom = (
        "import os, sys\n"
        "sys.path.insert(0, os.path.dirname(__file__))\n"
        "import utils\n"
        "from helpers import VALUE\n"
        "WHO = utils.WHO\n"
    )
    root = make_tree(
        {
            "utils.py": "WHO = 'top'\n",
            "NodeA/__init__.py": idiom,
            "NodeA/utils.py": "WHO = 'NodeA'\n",
            "NodeA/helpers.py": "VALUE = 'NodeA.helpers'\n",
            "NodeB/__init__.py": idiom,
            "NodeB/utils.py": "WHO = 'NodeB'\n",
            "NodeB/helpers.py": "VALUE = 'NodeB.helpers'\n",
        },
        name="qwenpaw",
    )
    prefix = private_prefix(str(root))
    path_before = list(sys.path)
    with PikeManager([root], isolate=True) as mgr:
        mgr.get_modules()
        assert mgr.errors == []
        for node in ("NodeA", "NodeB"):
            package = module(prefix, node)
            seen = (package.WHO, package.VALUE)
            assert seen == (node, f"{node}.helpers")
            assert package.utils is module(prefix, f"{node}.utils")
            assert str(root / node) in sys.path  # the plugins' own doing, in the block
        assert "utils" not in sys.modules and "helpers" not in sys.modules
    assert sys.path == path_before
    assert not any(str(entry).startswith(str(root)) for entry in sys.path)
    assert under(prefix) == []


# -- the private prefix ------------------------------------------------------------------


def test_the_private_prefix_is_the_same_in_every_run(make_tree: MakeTree, tmp_path: Path) -> None:
    root = make_tree(
        {"NodeA/__init__.py": "", "NodeA/nodes.py": "class Node:\n    pass\n"}, name="stable"
    )
    code = f"""
        from pike._names import plugin_name, private_prefix
        from pike.manager import PikeManager
        print(private_prefix({str(root)!r}))
        with PikeManager([{str(root)!r}], isolate=True) as mgr:
            [cls] = mgr.get_classes()
            print(cls.__module__)
    """
    runs = [run_python(code) for _ in range(2)]
    for result in runs:
        assert result.returncode == 0, result.stderr
    assert runs[0].stdout == runs[1].stdout
    prefix = private_prefix(str(root))
    assert runs[0].stdout.splitlines() == [prefix, f"{prefix}__NodeA.nodes"]
    assert prefix.startswith("_pike_") and prefix.isidentifier()
    # The real path alone: a symbolic link to the folder gives the same name; another
    # folder of the same name, another name.
    link = tmp_path / "link"
    link.symlink_to(root, target_is_directory=True)
    assert private_prefix(str(link)) == prefix
    other = make_tree({}, name="elsewhere") / "stable"
    other.mkdir()
    assert private_prefix(str(other)) != prefix


def test_a_folder_name_that_is_no_identifier_gives_a_usable_prefix(make_tree: MakeTree) -> None:
    root = make_tree(
        {"utils.py": "WHO = 1\n", "NodeA/__init__.py": "import utils\nWHO = utils.WHO\n"},
        name="my plugins-\u00e9.d",
    )
    prefix = private_prefix(str(root))
    assert prefix.isidentifier() and prefix.isascii()
    with PikeManager([root], isolate=True) as mgr:
        mgr.get_modules()
        assert mgr.errors == []
        assert module(prefix, "NodeA").WHO == 1
    assert private_leftovers() == []


def test_plugin_modules_live_under_the_private_prefix_and_cleanup_takes_them(
    make_tree: MakeTree,
) -> None:
    root = make_tree(
        {
            "top.py": "class Top:\n    pass\n",
            "NodeA/__init__.py": "",
            "NodeA/nodes.py": "class Node:\n    pass\n",
            "NodeA/broken.py": "raise RuntimeError('broken on purpose')\n",
        }
    )
    prefix = private_prefix(str(root))
    with PikeManager([root], isolate=True, on_error="collect") as mgr:
        classes = by_name(mgr.get_classes())
        assert [e.module_name for e in mgr.errors] == ["NodeA.broken"]
        assert under(prefix) == [
            *(f"{prefix}__{n}" for n in ("NodeA", "NodeA.nodes", "top")),
        ]
        nodes = module(prefix, "NodeA.nodes")
        assert nodes.__name__ == f"{prefix}__NodeA.nodes"
        assert nodes.__file__ == str(root / "NodeA" / "nodes.py")
        assert nodes.__spec__ is not None and nodes.__spec__.origin == nodes.__file__
        assert module(prefix, "NodeA").__path__ == [str(root / "NodeA")]
        assert classes["Node"].__module__ == f"{prefix}__NodeA.nodes"
        assert not {"top", "NodeA", "NodeA.nodes"} & set(sys.modules)
        assert mgr.get_path("NodeA.nodes") == str(root / "NodeA" / "nodes.py")
    assert under(prefix) == []
    assert private_leftovers() == []
    # Entered again, then cleaned up again: the same.
    with mgr:
        assert sorted(by_name(mgr.get_classes())) == ["Node", "Top"]
        assert f"{prefix}__NodeA.nodes" in sys.modules
    assert private_leftovers() == []


def test_tracebacks_and_inspect_show_the_plugin_source(make_tree: MakeTree) -> None:
    source = (
        "class Node:\n"
        "    '''A node.'''\n"
        "\n"
        "    def run(self) -> None:\n"
        "        raise ValueError('raised in the plugin')\n"
    )
    root = make_tree({"NodeA/__init__.py": "", "NodeA/nodes.py": source})
    path = str(root / "NodeA" / "nodes.py")
    with PikeManager([root], isolate=True) as mgr:
        [found] = mgr.get_classes()
        node: Any = found
        assert inspect.getsource(node) == source
        assert inspect.getsourcefile(node) == path
        assert inspect.getmodule(node) is module(private_prefix(str(root)), "NodeA.nodes")
        with pytest.raises(ValueError, match="raised in the plugin") as info:
            node().run()
        text = "".join(traceback.format_exception(info.value))
        assert f'File "{path}", line 5, in run' in text
        assert "raise ValueError('raised in the plugin')" in text
        assert inspect.getsource(node.run).startswith("    def run(self)")


def test_pickling_a_plugin_instance_within_a_run(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "NodeA/__init__.py": "",
            "NodeA/nodes.py": "class Node:\n    def __init__(self, v):\n        self.v = v\n",
        }
    )
    with PikeManager([root], isolate=True) as mgr:
        [node] = mgr.get_classes()
        copy: Any = pickle.loads(pickle.dumps(node(41)))
        assert copy.v == 41
        assert type(copy) is node
        assert pickle.loads(pickle.dumps(node)) is node


def test_a_pickle_made_in_one_run_loads_in_another(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "NodeA/__init__.py": "",
            "NodeA/nodes.py": "class Node:\n    def __init__(self, v):\n        self.v = v\n",
            "NodeA/other.py": "class Other:\n    pass\n",
            "top.py": "class Top:\n    pass\n",
        }
    )
    made = run_python(
        f"""
        import pickle
        from pike.manager import PikeManager
        with PikeManager([{str(root)!r}], isolate=True) as mgr:
            [node] = [c for c in mgr.get_classes() if c.__name__ == "Node"]
            print(pickle.dumps(node(41)).hex())
            [top] = [c for c in mgr.get_classes() if c.__name__ == "Top"]
            print(pickle.dumps(top()).hex())
        """
    )
    assert made.returncode == 0, made.stderr
    data, top = made.stdout.split()
    # Loaded by a manager over the same folder that has loaded nothing yet.
    loaded = run_python(
        f"""
        import pickle, sys
        from pike.manager import PikeManager
        data = bytes.fromhex({data!r})
        with PikeManager([{str(root)!r}], isolate=True) as mgr:
            obj = pickle.loads(data)
            cls = type(obj)
            print(cls.__name__, obj.v, cls.__module__ == sys.modules[cls.__module__].__name__)
            print(mgr.get_path("NodeA.nodes") == sys.modules[cls.__module__].__file__)
            print(cls in mgr.get_classes(), mgr.errors)
        with PikeManager([{str(root)!r}], isolate=True) as mgr:
            print(type(pickle.loads(bytes.fromhex({top!r}))).__qualname__)
        print([n for n in sys.modules if n.startswith("_pike_")])
        """
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.splitlines() == ["Node 41 True", "True", "True []", "Top", "[]"]


def test_a_top_level_plugin_named_like_a_stdlib_module_still_collides(
    make_tree: MakeTree,
) -> None:
    root = make_tree(
        {
            "json.py": "HIJACKED = True\nclass Fake:\n    pass\n",
            "ok.py": "import json\nclass Ok:\n    dumps = json.dumps\n",
        }
    )
    prefix = private_prefix(str(root))
    with PikeManager([root], isolate=True, on_error="collect") as mgr:
        classes = by_name(mgr.get_classes())
        assert sorted(classes) == ["Ok"]
        [error] = mgr.errors
        assert isinstance(error, PluginCollisionError)
        assert error.module_name == "json"
        assert error.path == str(root / "json.py")
        assert "standard library module 'json'" in str(error)
        assert classes["Ok"].dumps is json.dumps  # type: ignore[attr-defined]
        assert f"{prefix}__json" not in sys.modules
        assert sys.modules["json"] is json and not hasattr(json, "HIJACKED")
    with pytest.raises(PluginCollisionError), PikeManager([root], isolate=True) as mgr:
        mgr.get_classes()
    assert private_leftovers() == []


def test_two_isolated_managers_over_one_folder(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "NodeA/__init__.py": "",
            "NodeA/nodes.py": "class Node:\n    pass\n",
            "helpers.py": "VALUE = 1\n",
        }
    )
    prefix = private_prefix(str(root))
    first = PikeManager([root], isolate=True)
    try:
        [node] = first.get_classes()
        held = {name: sys.modules[name] for name in under(prefix)}
        assert len(held) == 3  # NodeA, NodeA.nodes, helpers
        second = PikeManager([root], isolate=True)
        try:
            with pytest.raises(PluginCollisionError) as info:
                second.get_classes()
            assert "another active PikeManager" in str(info.value)
            assert info.value.module_name in {"NodeA", "helpers"}
        finally:
            second.cleanup()
        assert {name: sys.modules.get(name) for name in held} == held
        assert under(prefix) == sorted(held)
        assert first.get_classes() == [node]
        with PikeManager([root], isolate=True, on_error="collect") as third:
            assert third.get_classes() == []
            assert sorted(e.module_name for e in third.errors) == ["NodeA", "helpers"]
            assert all(isinstance(e, PluginCollisionError) for e in third.errors)
        assert {name: sys.modules.get(name) for name in held} == held
    finally:
        first.cleanup()
    assert private_leftovers() == []


def test_entries_and_errors_name_plain_plugin_names(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "top.py": "",
            "NodeA/__init__.py": "",
            "NodeA/nodes.py": "class Node:\n    pass\n",
            "NodeA/broken.py": "raise RuntimeError('broken on purpose')\n",
            "NodeB/__init__.py": "",
            "NodeB/uses.py": "import broken\n",
            "NodeB/broken.py": "def fail():\n    raise RuntimeError('B')\nfail()\n",
        }
    )
    prefix = private_prefix(str(root))
    with PikeManager([root], isolate=True, on_error="collect") as mgr:
        entries = mgr.entries
        assert [e.name for e in entries] == [
            "NodeA",
            "NodeA.broken",
            "NodeA.nodes",
            "NodeB",
            "NodeB.broken",
            "NodeB.uses",
            "top",
        ]
        assert {e.source for e in entries} == {str(root)}
        assert {e.search_path for e in entries} == {str(root)}
        assert [e.key for e in entries] == [f"{prefix}__{e.name}" for e in entries]
        mgr.get_classes()
        errors = mgr.errors
        assert all(isinstance(e, PluginImportError) for e in errors)
        # A plugin raising, and one whose bare import of its own module raises.
        assert [(e.module_name, e.path) for e in errors] == [
            ("NodeA.broken", str(root / "NodeA" / "broken.py")),
            ("NodeB.broken", str(root / "NodeB" / "broken.py")),
            ("NodeB.uses", str(root / "NodeB" / "uses.py")),
        ]
        for error in errors:
            assert f"plugin module {error.module_name!r}" in str(error)
            assert prefix not in str(error)
    with pytest.raises(PluginImportError) as info, PikeManager([root], isolate=True) as mgr:
        mgr.get_classes()
    assert info.value.module_name == "NodeA.broken"
    assert private_leftovers() == []


# -- no process-wide hook ----------------------------------------------------------------


def test_nothing_process_wide_changes(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "NodeA/__init__.py": "import builtins\nSEEN = builtins.__import__\n",
            "NodeA/later.py": "import builtins\ndef seen():\n    return builtins.__import__\n",
        }
    )
    prefix = private_prefix(str(root))
    real_import = builtins.__import__
    meta_before = list(sys.meta_path)
    hooks_before = list(sys.path_hooks)
    with PikeManager([root], isolate=True) as mgr:
        assert builtins.__import__ is real_import
        mgr.get_modules()
        assert builtins.__import__ is real_import
        assert module(prefix, "NodeA").SEEN is real_import
        assert module(prefix, "NodeA.later").seen() is real_import
        added = [f for f in sys.meta_path if not any(f is g for g in meta_before)]
        assert added == [mgr.module_finder]
        assert [f for f in sys.meta_path if f is not mgr.module_finder] == meta_before
        assert sys.path_hooks == hooks_before
        assert sys.modules["builtins"] is builtins
    assert builtins.__import__ is real_import
    assert sys.meta_path == meta_before


def test_modules_that_are_not_plugins_keep_the_normal_builtins(make_tree: MakeTree) -> None:
    host = make_tree({"hostmod.py": "X = 1\n"}, name="host")
    root = make_tree({"NodeA/__init__.py": "import json, colorsys, hostmod\n"})
    code = f"""
        import builtins, sys
        sys.path.insert(0, {str(host)!r})
        from pike.manager import PikeManager
        from pike._names import plugin_name, private_prefix
        print([n for n in ("json", "colorsys", "hostmod") if n in sys.modules])
        with PikeManager([{str(root)!r}], isolate=True) as mgr:
            mgr.get_modules()
            print(mgr.errors)
            plugin = sys.modules[private_prefix({str(root)!r}) + "__NodeA"]
            import json, colorsys, hostmod
            print(plugin.json is json, plugin.colorsys is colorsys, plugin.hostmod is hostmod)
            print([m.__builtins__ is builtins.__dict__ for m in (json, colorsys, hostmod)])
            print(json.decoder.__builtins__ is builtins.__dict__)
    """
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "[]",
        "[]",
        "True True True",
        "[True, True, True]",
        "True",
    ]


def test_import_module_resolves_as_the_caller_import_statement(make_tree: MakeTree) -> None:
    import importlib

    root = make_tree(
        {
            "helpers.py": "WHO = 'top'\n",
            "NodeA/__init__.py": """
                from pike import import_module
                OWN = import_module("utils")
                ENV = import_module("utils.env")
                RELATIVE = import_module(".utils", __package__)
                TOP = import_module("helpers")
                STD = import_module("json")

                def later():
                    return import_module("utils")
            """,
            "NodeA/utils/__init__.py": "WHO = 'NodeA'\n",
            "NodeA/utils/env.py": "X = 1\n",
        }
    )
    prefix = private_prefix(str(root))
    assert pike.import_module is pike._namespace.import_module
    with PikeManager([root], isolate=True) as mgr:
        mgr.get_modules()
        assert mgr.errors == []
        node = module(prefix, "NodeA")
        assert node.OWN is module(prefix, "NodeA.utils")
        assert node.ENV is module(prefix, "NodeA.utils.env")
        assert node.RELATIVE is node.OWN
        assert node.TOP is module(prefix, "helpers")
        assert node.STD is json
        assert node.later() is node.OWN
        # From the host: importlib.import_module, whatever the plugins hold.
        assert pike.import_module("json") is importlib.import_module("json") is json
        assert pike.import_module("._names", "pike") is importlib.import_module("._names", "pike")
        with pytest.raises(ModuleNotFoundError):
            pike.import_module("utils")
        with pytest.raises(TypeError):
            pike.import_module(".utils")
        with pytest.raises(TypeError):
            importlib.import_module(".utils")
    assert under(prefix) == []


def test_names_the_host_adds_to_builtins_reach_plugin_code(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "first.py": "SEEN = PIKE_TEST_HOSTNAME\n",
            "second.py": "SEEN = (PIKE_TEST_HOSTNAME, PIKE_TEST_LATER)\n",
        }
    )
    prefix = private_prefix(str(root))
    setattr(builtins, "PIKE_TEST_HOSTNAME", 1)  # noqa: B010
    try:
        with PikeManager([root], isolate=True) as mgr:
            # Made after the manager, before the module runs.
            setattr(builtins, "PIKE_TEST_LATER", 2)  # noqa: B010
            assert [m.SEEN for m in mgr.get_modules()] == [1, (1, 2)]
            assert module(prefix, "first").SEEN == 1
    finally:
        for name in ("PIKE_TEST_HOSTNAME", "PIKE_TEST_LATER"):
            if hasattr(builtins, name):
                delattr(builtins, name)


def test_a_builtin_added_between_two_plugin_modules_reaches_the_second(
    make_tree: MakeTree,
) -> None:
    root = make_tree(
        {
            "first.py": "SEEN = PIKE_TEST_ONE\n",
            "second.py": "SEEN = PIKE_TEST_TWO\n",
            "third.py": "SEEN = PIKE_TEST_THREE\n",
        }
    )
    setattr(builtins, "PIKE_TEST_ONE", 1)  # noqa: B010
    try:
        with PikeManager([root], isolate=True) as mgr:
            assert mgr.load_plugin("first").SEEN == 1
            setattr(builtins, "PIKE_TEST_TWO", 2)  # noqa: B010
            assert mgr.load_plugin("second").SEEN == 2
            # One name more and one less: as many builtins as before.
            delattr(builtins, "PIKE_TEST_ONE")
            setattr(builtins, "PIKE_TEST_THREE", 3)  # noqa: B010
            assert mgr.load_plugin("third").SEEN == 3
    finally:
        for name in ("PIKE_TEST_ONE", "PIKE_TEST_TWO", "PIKE_TEST_THREE"):
            if hasattr(builtins, name):
                delattr(builtins, name)


def test_a_builtin_the_host_rebinds_is_seen_rebound(make_tree: MakeTree) -> None:
    root = make_tree(
        {"first.py": "SEEN = PIKE_TEST_VALUE\n", "second.py": "SEEN = PIKE_TEST_VALUE\n"}
    )
    setattr(builtins, "PIKE_TEST_VALUE", "old")  # noqa: B010
    try:
        with PikeManager([root], isolate=True) as mgr:
            assert mgr.load_plugin("first").SEEN == "old"
            setattr(builtins, "PIKE_TEST_VALUE", "new")  # noqa: B010
            assert mgr.load_plugin("second").SEEN == "new"
    finally:
        if hasattr(builtins, "PIKE_TEST_VALUE"):
            delattr(builtins, "PIKE_TEST_VALUE")


# -- refresh -----------------------------------------------------------------------------


def test_refresh_reloads_an_edited_utils_and_its_dependents(make_tree: MakeTree) -> None:
    def node(name: str, version: int) -> dict[str, str]:
        return {
            f"{name}/__init__.py": "",
            f"{name}/utils.py": f"class Base:\n    VERSION = {version}\n",
            f"{name}/nodes.py": f"from utils import Base\nclass {name}Node(Base):\n    pass\n",
        }

    root = make_tree({**node("NodeA", 1), **node("NodeB", 1)})
    prefix = private_prefix(str(root))
    with PikeManager([root], isolate=True) as mgr:
        old = by_plain_name(mgr.get_classes())
        assert sorted(old) == [
            "NodeA.nodes.NodeANode",
            "NodeA.utils.Base",
            "NodeB.nodes.NodeBNode",
            "NodeB.utils.Base",
        ]
        assert old["NodeA.nodes.NodeANode"].__mro__[1] is old["NodeA.utils.Base"]
        (root / "NodeA" / "utils.py").write_text("class Base:\n    VERSION = 22\n")
        report = mgr.refresh()
        assert report.errors == []
        assert sorted(report.changed) == ["NodeA.nodes", "NodeA.utils"]
        assert report.added == report.removed == []
        new = by_plain_name(mgr.get_classes())
        assert sorted(new) == sorted(old)
        for name in ("NodeA.nodes.NodeANode", "NodeA.utils.Base"):
            assert new[name] is not old[name]
        assert new["NodeA.nodes.NodeANode"].__mro__[1] is new["NodeA.utils.Base"]
        assert new["NodeA.nodes.NodeANode"].VERSION == 22  # type: ignore[attr-defined]
        assert module(prefix, "NodeA.utils").Base is new["NodeA.utils.Base"]
        # The other node's own utils: untouched.
        for name in ("NodeB.nodes.NodeBNode", "NodeB.utils.Base"):
            assert new[name] is old[name]
        assert new["NodeB.utils.Base"].VERSION == 1  # type: ignore[attr-defined]
        assert not mgr.refresh()
    assert under(prefix) == []


def test_refresh_of_the_search_path_utils_reloads_only_the_packages_that_use_it(
    make_tree: MakeTree,
) -> None:
    root = make_tree(
        {
            "utils.py": "WHO = 'top'\n",
            "NodeA/__init__.py": "import utils\nWHO = utils.WHO\n",
            "NodeA/utils.py": "WHO = 'NodeA'\n",
            "NodeC/__init__.py": "import utils\nWHO = utils.WHO\n",
        }
    )
    prefix = private_prefix(str(root))
    with PikeManager([root], isolate=True) as mgr:
        mgr.get_modules()
        node_a = module(prefix, "NodeA")
        assert (node_a.WHO, module(prefix, "NodeC").WHO) == ("NodeA", "top")
        (root / "utils.py").write_text("WHO = 'top, edited'\n")
        report = mgr.refresh()
        assert report.errors == []
        assert sorted(report.changed) == ["NodeC", "utils"]
        assert module(prefix, "NodeC").WHO == "top, edited"
        assert module(prefix, "NodeA") is node_a
    assert under(prefix) == []


def test_refresh_finds_a_module_added_to_the_package(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "helpers.py": "WHO = 'top'\n",
            "NodeA/__init__.py": "",
            "NodeA/nodes.py": "import helpers\nWHO = helpers.WHO\n",
        }
    )
    prefix = private_prefix(str(root))
    nodes = root / "NodeA" / "nodes.py"
    with PikeManager([root], isolate=True) as mgr:
        mgr.get_modules()
        assert module(prefix, "NodeA.nodes").WHO == "top"
        (root / "NodeA" / "helpers.py").write_text("WHO = 'own'\n")
        nodes.write_text("import helpers\nWHO = helpers.WHO  # touched\n")
        report = mgr.refresh()
        assert report.errors == []
        assert report.added == ["NodeA.helpers"]
        assert "NodeA.nodes" in report.changed
        assert module(prefix, "NodeA.nodes").WHO == "own"
        assert module(prefix, "NodeA.nodes").helpers is module(prefix, "NodeA.helpers")
        # And back: with the package's own gone, the search path's again.
        (root / "NodeA" / "helpers.py").unlink()
        nodes.write_text("import helpers\nWHO = helpers.WHO  # touched again\n")
        report = mgr.refresh()
        assert report.errors == []
        assert report.removed == ["NodeA.helpers"]
        assert "NodeA.nodes" in report.changed
        assert module(prefix, "NodeA.nodes").WHO == "top"
        assert f"{prefix}__NodeA.helpers" not in sys.modules
    assert under(prefix) == []


# -- static listing ----------------------------------------------------------------------


def static_trees(make_tree: MakeTree) -> tuple[Path, Path]:
    a = make_tree(
        {
            "plug.py": "class P:\n    pass\n",
            "utils.py": "class Base:\n    pass\n",
            "NodeA/__init__.py": "",
            "NodeA/utils.py": "class Base:\n    pass\n",
            "NodeA/nodes.py": (
                "from utils import Base\n"
                "import utils\n"
                "class Node(Base):\n    pass\n"
                "class Other(utils.Base):\n    pass\n"
            ),
            "NodeC/__init__.py": "",
            "NodeC/nodes.py": "from utils import Base\nclass CNode(Base):\n    pass\n",
        },
        name="a",
    )
    b = make_tree({"plug.py": "class P:\n    pass\n"}, name="b")
    return a, b


def test_static_listing_isolated(make_tree: MakeTree) -> None:
    a, b = static_trees(make_tree)
    listing = static.list_classes([a, b], isolate=True)
    assert listing.collisions == [] and listing.errors == []
    found = {(c.module, c.name, c.source): c for c in listing.classes}
    assert len(found) == len(listing.classes)
    assert ("plug", "P", str(a)) in found
    assert ("plug", "P", str(b)) in found
    assert found["plug", "P", str(b)].path == str(b / "plug.py")
    assert found["NodeA.nodes", "Node", str(a)].resolved_bases == ("NodeA.utils.Base",)
    assert found["NodeA.nodes", "Other", str(a)].resolved_bases == ("NodeA.utils.Base",)
    assert found["NodeC.nodes", "CNode", str(a)].resolved_bases == ("utils.Base",)
    names = [c.module for c in listing.classes] + [
        b for c in listing.classes for b in c.resolved_bases
    ]
    assert not any(n.startswith("_pike_") for n in names + listing.module_names)
    # A bare base name matches however the base resolved.
    derived = static.list_classes([a, b], base="Base", isolate=True)
    assert sorted(c.name for c in derived.classes) == ["CNode", "Node", "Other"]
    # A second listing (from the discovery index) is the same.
    again = static.list_classes([a, b], isolate=True)
    assert list(again.classes) == list(listing.classes)


def test_static_listing_isolated_filters_by_the_dotted_base_it_resolves(
    make_tree: MakeTree,
) -> None:
    a, b = static_trees(make_tree)
    derived = static.list_classes([a, b], base="NodeA.utils.Base", isolate=True)
    assert sorted(c.name for c in derived.classes) == ["Node", "Other"]
    derived = static.list_classes([a, b], base="utils.Base", isolate=True)
    assert [c.name for c in derived.classes] == ["CNode"]
    derived = static.list_classes([a, b], base="NodeA.utils:Base", isolate=True)
    assert sorted(c.name for c in derived.classes) == ["Node", "Other"]


def test_static_listing_without_isolation_reports_the_second_as_a_collision(
    make_tree: MakeTree,
) -> None:
    a, b = static_trees(make_tree)
    listing = static.list_classes([a, b])
    [collision] = listing.collisions
    assert collision.module_name == "plug"
    assert collision.path == str(b / "plug.py")
    assert [(c.module, c.source) for c in listing.classes if c.name == "P"] == [("plug", str(a))]
    found = {(c.module, c.name): c for c in listing.classes}
    assert found["NodeA.nodes", "Node"].resolved_bases == ("utils.Base",)


# -- threads -----------------------------------------------------------------------------


def test_two_threads_load_two_isolated_managers_at_once(make_tree: MakeTree) -> None:
    roots = [
        make_tree(
            {
                "utils.py": f"WHO = {i}\n",
                "plug.py": "import utils\nclass Plug:\n    who = utils.WHO\n",
                "NodeA/__init__.py": "",
                "NodeA/utils.py": f"WHO = {i * 10}\n",
                "NodeA/nodes.py": "import utils\nclass Node:\n    who = utils.WHO\n",
            },
            name=f"thread{i}",
        )
        for i in range(2)
    ]
    barrier = threading.Barrier(2, timeout=30)
    results: dict[int, object] = {}

    def work(i: int) -> None:
        try:
            with PikeManager([roots[i]], isolate=True) as mgr:
                barrier.wait()  # both active before either loads
                classes = {c.__qualname__: c.who for c in mgr.get_classes()}  # type: ignore[attr-defined]
                barrier.wait()  # both loaded before either leaves
                results[i] = (classes, list(mgr.errors))
        except BaseException as exc:  # reported below
            results[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert results == {0: ({"Plug": 0, "Node": 0}, []), 1: ({"Plug": 1, "Node": 10}, [])}
    assert private_leftovers() == []
    assert not {"utils", "plug", "NodeA"} & set(sys.modules)
