"""C1: pike 0.2.0's public names, signatures and documented usage keep working."""

from __future__ import annotations

import collections.abc
import gc
import importlib.abc
import inspect
import sys
import types

import pytest

from pike.discovery import filesystem, py
from pike.finder import PikeFinder
from pike.manager import PikeManager
from tests.conftest import MakeTree, run_python


def params(func: object) -> list[str]:
    return list(inspect.signature(func).parameters)  # type: ignore[arg-type]


def test_c1_manager_signature_and_attributes(make_tree: MakeTree) -> None:
    assert params(PikeManager)[0] == "search_paths"
    assert inspect.signature(PikeManager).parameters["search_paths"].default is None
    root = make_tree({"a.py": "class A: pass\n"})
    mgr = PikeManager([str(root)])
    try:
        assert mgr.search_paths == [str(root)]
        assert isinstance(mgr.module_finder, PikeFinder)
        for method in (
            "cleanup",
            "add_to_meta_path",
            "get_classes",
            "get_all_inherited_classes",
            "get_module_names",
            "get_package_names",
        ):
            assert callable(getattr(mgr, method))
        assert params(mgr.get_classes) == ["filter_func"]
        assert params(mgr.get_all_inherited_classes) == ["base_class"]
    finally:
        mgr.cleanup()


def test_c1_finder_is_a_meta_path_finder(tmp_path: object) -> None:
    finder = PikeFinder([str(tmp_path)])
    assert isinstance(finder, importlib.abc.MetaPathFinder)
    assert finder.find_spec("nothing_here_at_all", None) is None
    assert PikeFinder().paths == []


def test_c1_discovery_functions_keep_their_signatures() -> None:
    assert params(py.get_module_by_name) == ["full_module_name"]
    assert params(py.is_child_of_module) == ["obj", "parent"]
    assert params(py.classes_in_module) == ["module", "filter_func"]
    assert params(py.get_inherited_classes) == ["module", "base_class"]
    assert params(py.get_child_modules) == ["module", "recursive"]
    assert params(py.get_all_classes) == ["module", "filter_func"]
    assert params(py.get_all_inherited_classes) == ["module", "base_class"]
    for name in (
        "is_package",
        "is_module",
        "get_name",
        "find_modules",
        "find_packages",
        "recursive_find_packages",
        "recursive_find_modules",
    ):
        assert params(getattr(filesystem, name)) == ["path"]


def test_c1_context_manager_usage_from_the_0_2_0_docs(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "some_module/__init__.py": "",
            "some_module/within_package.py": "class Thing:\n    pass\n",
        }
    )
    with PikeManager([str(root)]):
        module = py.get_module_by_name("some_module.within_package")
        classes = list(py.classes_in_module(module))
    assert [c.__name__ for c in classes] == ["Thing"]


def test_c1_plain_object_usage_with_cleanup_by_hand(make_tree: MakeTree) -> None:
    root = make_tree({"module_in_the_package.py": "VALUE = 42\n"})
    mgr = PikeManager([str(root)])
    assert mgr.module_finder in sys.meta_path
    import module_in_the_package  # type: ignore[import-not-found]

    assert module_in_the_package.VALUE == 42
    classes = mgr.get_classes()
    mgr.cleanup()
    assert classes == []
    assert mgr.module_finder not in sys.meta_path
    assert "module_in_the_package" not in sys.modules
    mgr.cleanup()  # any number of times
    mgr.cleanup()


def test_c1_get_names_are_iterators_as_0_2_0_generators_were(make_tree: MakeTree) -> None:
    root = make_tree({"b.py": "", "a.py": "", "pkg/__init__.py": ""})
    with PikeManager([str(root)]) as mgr:
        names = mgr.get_module_names()
        assert isinstance(names, collections.abc.Iterator)
        assert next(names) == "a"
        assert list(mgr.get_module_names()) == ["a", "b"]
        assert list(mgr.get_package_names()) == ["pkg"]


def test_c1_article_example(make_tree: MakeTree) -> None:
    drivers = make_tree(
        {
            "__init__.py": "",
            "my_driver.py": """
                class SimpleDriver(object):
                    def get_name(self):
                        return "This is SimpleDriver"
            """,
            "my_other_driver.py": """
                class MyOtherDriver(object):
                    def get_name(self):
                        return "This is MyOtherDriver"
            """,
        },
        name="drivers",
    )
    with PikeManager([str(drivers)]) as mgr:
        classes = mgr.get_classes()
        names = [item().get_name() for item in classes]
    assert [c.__qualname__ for c in classes] == ["SimpleDriver", "MyOtherDriver"]
    assert names == ["This is SimpleDriver", "This is MyOtherDriver"]


def test_c1_garbage_collection_never_raises() -> None:
    code = """
        import gc, sys
        from pike.manager import PikeManager
        from pike.errors import SearchPathError
        seen = []
        sys.unraisablehook = lambda u: seen.append(u)
        try:
            PikeManager(["/definitely/not/here"])
        except SearchPathError:
            pass
        mgr = PikeManager(["."])
        mgr.cleanup()
        del mgr
        mgr = PikeManager(["."])
        del mgr
        gc.collect()
        print("unraisable:", len(seen))
    """
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert "unraisable: 0" in result.stdout


def test_c1_module_search_path_from_an_installed_package(make_tree: MakeTree) -> None:
    # aumbry's idiom: PikeManager(some_package.__path__), a path inside a package.
    site = make_tree(
        {
            "hostlib/__init__.py": "",
            "hostlib/contract.py": "class AbstractHandler:\n    extras_name = None\n",
            "hostlib/formats/__init__.py": "",
            "hostlib/formats/yml.py": """
                from hostlib.contract import AbstractHandler
                class YamlHandler(AbstractHandler):
                    extras_name = "yaml"
            """,
            "hostlib/formats/js.py": """
                from hostlib.contract import AbstractHandler
                class JsonHandler(AbstractHandler):
                    extras_name = "json"
            """,
        }
    )
    sys.path.insert(0, str(site))
    try:
        from hostlib.contract import AbstractHandler  # type: ignore[import-not-found]

        search_paths = py.get_module_by_name("hostlib.formats").__path__
        with PikeManager(search_paths) as mgr:
            handlers = mgr.get_all_inherited_classes(AbstractHandler)
        assert [h.extras_name for h in handlers] == ["json", "yaml"]
    finally:
        sys.path.remove(str(site))
        for name in [n for n in sys.modules if n.partition(".")[0] == "hostlib"]:
            del sys.modules[name]
        sys.path_importer_cache.pop(str(site), None)
        for key in [k for k in sys.path_importer_cache if str(site) in str(k)]:
            del sys.path_importer_cache[key]
        gc.collect()


def test_c1_is_child_of_module_is_exact() -> None:
    parent = types.ModuleType("foo")
    assert py.is_child_of_module(types.ModuleType("foo.bar"), parent)
    assert py.is_child_of_module(types.ModuleType("foo.bar.baz"), parent)
    assert not py.is_child_of_module(types.ModuleType("foobar.baz"), parent)
    assert not py.is_child_of_module(types.ModuleType("foo"), parent)


@pytest.mark.parametrize("name", ["a.py", "pkg", "mod.pyc"])
def test_c1_filesystem_get_name(name: str) -> None:
    assert filesystem.get_name(f"/x/{name}") == name.split(".", maxsplit=1)[0]
