"""C13: named plugins (drivers, extensions, hooks) from installed distributions and folders."""

from __future__ import annotations

import importlib
import pickle
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pike.errors import PluginCollisionError, PluginImportError
from pike.named import (
    AmbiguousPluginError,
    DriverManager,
    EntryPointError,
    Extension,
    ExtensionManager,
    HookManager,
    PluginNotFoundError,
)
from tests.conftest import MakeTree, write_tree

Install = Callable[..., Path]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Install]:
    """Install distributions the way pip leaves them: packages plus a *.dist-info."""
    root = tmp_path / "site-packages"
    root.mkdir()
    sys.path.insert(0, str(root))

    def install(name: str, entry_points: str, files: dict[str, str] | None = None) -> Path:
        write_tree(root, files or {})
        info = root / f"{name}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
        importlib.invalidate_caches()
        return root

    yield install
    sys.path.remove(str(root))
    for name in [n for n, m in sys.modules.items() if str(root) in str(getattr(m, "__file__", ""))]:
        del sys.modules[name]
    for key in [k for k in sys.path_importer_cache if str(root) in str(k)]:
        del sys.path_importer_cache[key]
    importlib.invalidate_caches()


DRIVERS = {
    "acme_drivers/__init__.py": "",
    "acme_drivers/my_driver.py": """
        class SimpleDriver1:
            def __init__(self, greeting="This is"):
                self.greeting = greeting
            def get_name(self):
                return f"{self.greeting} SimpleDriver1"

        class SimpleDriver2:
            def get_name(self):
                return "This is SimpleDriver2"
    """,
}
DRIVER_POINTS = """
    [acme.drivers]
    simple_driver2 = acme_drivers.my_driver:SimpleDriver2
    simple_driver1 = acme_drivers.my_driver:SimpleDriver1
"""


def test_c13_driver_by_name(site: Install) -> None:
    site("acme-drivers", DRIVER_POINTS, DRIVERS)
    manager = DriverManager(namespace="acme.drivers", name="simple_driver1")
    assert manager.driver.__name__ == "SimpleDriver1"
    assert manager.driver().get_name() == "This is SimpleDriver1"
    [ext] = manager.extensions
    assert (ext.name, ext.group, ext.distribution) == (
        "simple_driver1",
        "acme.drivers",
        "acme-drivers 1.0",
    )
    assert ext.entry_point.value == "acme_drivers.my_driver:SimpleDriver1"
    invoked = DriverManager(
        "acme.drivers", "simple_driver1", invoke_on_load=True, invoke_kwds={"greeting": "Hi"}
    )
    assert invoked.driver.get_name() == "Hi SimpleDriver1"


def test_c13_extensions_in_order_with_arguments_and_map(site: Install) -> None:
    site("acme-drivers", DRIVER_POINTS, DRIVERS)
    extensions = ExtensionManager("acme.drivers", invoke_on_load=True)
    assert extensions.names() == ["simple_driver1", "simple_driver2"]
    assert [type(e) for e in extensions] == [Extension, Extension]
    assert len(extensions) == 2 and "simple_driver2" in extensions
    assert extensions["simple_driver2"].obj.get_name() == "This is SimpleDriver2"
    assert extensions.map_method("get_name") == [
        "This is SimpleDriver1",
        "This is SimpleDriver2",
    ]
    assert extensions.map(lambda ext, suffix: ext.name + suffix, "!") == [
        "simple_driver1!",
        "simple_driver2!",
    ]
    with pytest.raises(KeyError):
        extensions["nope"]
    args = ExtensionManager(
        "acme.drivers", invoke_on_load=True, invoke_args=("Hello",), on_error="collect"
    )
    assert args.names() == ["simple_driver1"]  # SimpleDriver2() takes no argument
    assert [type(e) for e in args.errors] == [EntryPointError]


def test_c13_hooks_and_two_distributions_with_the_same_name(site: Install) -> None:
    site(
        "alpha-hooks",
        "[acme.hooks]\non_start = alpha_hooks:start\n",
        {"alpha_hooks.py": "def start(): return 'alpha'\n"},
    )
    site(
        "beta-hooks",
        "[acme.hooks]\non_start = beta_hooks:start\non_stop = beta_hooks:stop\n",
        {"beta_hooks.py": "def start(): return 'beta'\ndef stop(): return 'stopped'\n"},
    )
    hooks = HookManager("acme.hooks", "on_start")
    assert [ext.plugin() for ext in hooks] == ["alpha", "beta"]
    assert [ext.distribution for ext in hooks] == ["alpha-hooks 1.0", "beta-hooks 1.0"]
    assert hooks.map(lambda ext: ext.plugin()) == ["alpha", "beta"]
    assert HookManager("acme.hooks", "nothing").extensions == []
    with pytest.raises(AmbiguousPluginError) as info:
        DriverManager("acme.hooks", "on_start")
    assert "alpha_hooks:start (alpha-hooks 1.0)" in str(info.value)
    assert "beta_hooks:start (beta-hooks 1.0)" in str(info.value)
    assert isinstance(info.value, LookupError)
    assert isinstance(info.value, RuntimeError)  # stevedore's MultipleMatches is one


def test_c13_missing_name_lists_what_is_available(site: Install) -> None:
    site("acme-drivers", DRIVER_POINTS, DRIVERS)
    with pytest.raises(PluginNotFoundError) as info:
        DriverManager("acme.drivers", "simple_driver3")
    assert "available: simple_driver1, simple_driver2" in str(info.value)
    with pytest.raises(PluginNotFoundError, match="available: none"):
        DriverManager("no.such.group", "x")


def test_c13_broken_entry_point_names_it_and_its_distribution(site: Install) -> None:
    site("acme-drivers", DRIVER_POINTS, DRIVERS)
    site("broken-dist", "[acme.drivers]\nbroken = not_installed_module:Thing\n")
    with pytest.raises(EntryPointError) as info:
        ExtensionManager("acme.drivers")
    error = info.value
    assert isinstance(error, PluginImportError)
    assert error.entry_point == "broken = not_installed_module:Thing"
    assert error.distribution == "broken-dist 1.0"
    assert "broken-dist 1.0" in str(error) and "acme.drivers" in str(error)
    assert isinstance(error.__cause__, ModuleNotFoundError)
    collected = ExtensionManager("acme.drivers", on_error="collect")
    assert collected.names() == ["simple_driver1", "simple_driver2"]
    assert [e.entry_point for e in collected.errors] == ["broken = not_installed_module:Thing"]  # type: ignore[attr-defined]
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.entry_point, copy.distribution) == (error.entry_point, error.distribution)


def test_c13_drop_in_folder_with_the_same_calls(make_tree: MakeTree, site: Install) -> None:
    site(
        "acme-drivers",
        "[acme.drivers]\ninstalled_one = acme_drivers.my_driver:SimpleDriver2\n",
        DRIVERS,
    )
    folder = make_tree(
        {
            "entry_points.txt": "[acme.drivers]\nlocal_one = local_drivers.fast:FastDriver\n",
            "local_drivers/__init__.py": "",
            "local_drivers/fast.py": """
                class FastDriver:
                    def get_name(self):
                        return 'fast'
            """,
        }
    )
    with DriverManager("acme.drivers", "local_one", search_paths=[folder]) as manager:
        assert manager.driver().get_name() == "fast"
        [ext] = manager.extensions
        assert ext.distribution is None
        assert ext.path == str(folder / "local_drivers" / "fast.py")
        assert "local_drivers.fast" in sys.modules
    assert "local_drivers.fast" not in sys.modules  # cleaned up by the folder's manager
    with ExtensionManager("acme.drivers", search_paths=folder) as both:
        assert both.names() == ["local_one", "installed_one"]  # folders first


def test_c13_drop_in_error_names_the_folder(make_tree: MakeTree) -> None:
    folder = make_tree({"entry_points.txt": "[g]\nbad = missing_here:X\n"})
    with pytest.raises(EntryPointError) as info:
        ExtensionManager("g", search_paths=[folder])
    assert f"the drop-in folder {folder}" in str(info.value)
    assert info.value.distribution == ""


def test_c13_driver_that_failed_to_load_leaves_nothing_behind(make_tree: MakeTree) -> None:
    folder = make_tree(
        {
            "entry_points.txt": "[g]\nbad = bad_driver:Driver\n",
            "bad_driver.py": "raise RuntimeError('no hardware')\n",
        }
    )
    with pytest.raises(PluginNotFoundError, match="did not load") as info:
        DriverManager("g", "bad", search_paths=[folder], on_error="collect")
    assert "no hardware" in str(info.value)
    assert isinstance(info.value.__cause__, EntryPointError)
    # The manager is still referenced by the traceback, yet its folder is cleaned up.
    assert info.value.__traceback__ is not None
    assert not any(type(f).__name__ == "PikeFinder" for f in sys.meta_path)
    assert "bad_driver" not in sys.modules


def test_c13_folder_without_declarations_has_no_named_plugins(make_tree: MakeTree) -> None:
    folder = make_tree({"plain.py": "class Plain: pass\n"})
    with ExtensionManager("anything", search_paths=[folder]) as manager:
        assert manager.extensions == []


def test_c13_the_same_declaration_in_a_folder_and_installed_is_one_plugin(
    make_tree: MakeTree, site: Install
) -> None:
    # A folder that is also installed (pip install ., or an .egg-info beside it).
    points = "[acme.drivers]\nsame = same_pkg.mod:Same\n"
    folder = make_tree(
        {
            "entry_points.txt": points,
            "same_pkg/__init__.py": "",
            "same_pkg/mod.py": "class Same: pass\n",
        }
    )
    site("same-dist", points)
    with DriverManager("acme.drivers", "same", search_paths=[folder]) as manager:
        [ext] = manager.extensions
        assert ext.distribution is None  # the folder's, which comes first
    site("other-dist", "[acme.drivers]\nsame = elsewhere:Other\n")
    with pytest.raises(AmbiguousPluginError):  # the same name, another target
        DriverManager("acme.drivers", "same", search_paths=[folder])


def test_c5_a_drop_in_module_named_like_a_host_module_is_a_collision(
    make_tree: MakeTree, site: Install
) -> None:
    # The host already imported its own 'acme_drivers': the folder's entry point
    # must not silently return the host's class (C5), it is a collision.
    site("acme-drivers", DRIVER_POINTS, DRIVERS)
    import acme_drivers.my_driver  # type: ignore[import-not-found]

    folder = make_tree(
        {
            "entry_points.txt": "[local.drivers]\nmine = acme_drivers.my_driver:SimpleDriver1\n",
            "acme_drivers/__init__.py": "",
            "acme_drivers/my_driver.py": "class SimpleDriver1:\n    FROM_FOLDER = True\n",
        }
    )
    with ExtensionManager("local.drivers", search_paths=[folder], on_error="collect") as mgr:
        assert mgr.extensions == []
        [error] = mgr.errors
        assert isinstance(error, EntryPointError)
        assert "would shadow module 'acme_drivers'" in str(error)
    assert not hasattr(acme_drivers.my_driver.SimpleDriver1, "FROM_FOLDER")


def test_c15_named_managers_take_the_trust_keyword(make_tree: MakeTree) -> None:
    folder = make_tree(
        {
            "entry_points.txt": "[g]\nloose = loose_mod:Thing\n",
            "loose_mod.py": "class Thing: pass\n",
        }
    )
    (folder / "loose_mod.py").chmod(0o666)
    with ExtensionManager("g", search_paths=[folder], on_error="collect") as refused:
        assert refused.extensions == []
        assert "writable by other users" in str(refused.errors[0])
    with ExtensionManager("g", search_paths=[folder], trust="any") as trusted:
        assert trusted.names() == ["loose"]


SHARED = {
    "acme_shared/__init__.py": "",
    "acme_shared/impl.py": "WHERE = 'installed'\nclass Impl: pass\n",
}


def test_c5_an_installed_entry_point_never_runs_a_drop_in_module(
    make_tree: MakeTree, site: Install
) -> None:
    site("acme-shared", "[acme.g]\ninstalled = acme_shared.impl:Impl\n", SHARED)
    folder = make_tree(
        {
            "entry_points.txt": "[other.g]\nmine = mine_mod:Mine\n",
            "mine_mod.py": "class Mine: pass\n",
            "acme_shared/__init__.py": "",
            "acme_shared/impl.py": "WHERE = 'folder'\nclass Impl: pass\n",
        }
    )
    # The folder has a package of the same name, but declares no plugin in it: the
    # installed entry point loads the installed code, though the folder's finder is on.
    with ExtensionManager("acme.g", search_paths=[folder]) as manager:
        [ext] = manager.extensions
        assert sys.modules[ext.plugin.__module__].WHERE == "installed"
        assert ext.distribution == "acme-shared 1.0"


def test_c5_an_installed_entry_point_after_a_drop_in_of_its_name_is_a_collision(
    make_tree: MakeTree, site: Install
) -> None:
    site("acme-shared", "[acme.g]\ninstalled = acme_shared.impl:Impl\n", SHARED)
    folder = make_tree(
        {
            "entry_points.txt": "[acme.g]\nfolder = acme_shared.impl:Impl\n",
            "acme_shared/__init__.py": "",
            "acme_shared/impl.py": "WHERE = 'folder'\nclass Impl: pass\n",
        }
    )
    with ExtensionManager("acme.g", search_paths=[folder], on_error="collect") as manager:
        assert manager.names() == ["folder"]  # the folder's, first
        [error] = manager.errors
        assert "is the drop-in folder's" in str(error)
        assert isinstance(error.__cause__, PluginCollisionError)
    assert "acme_shared" not in sys.modules
