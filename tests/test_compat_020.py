"""pike 0.2.0's public names, signatures and documented usage keep working
(docs/design.md, "Compatibility with pike 0.2.0")."""

from __future__ import annotations

import collections.abc
import gc
import importlib.abc
import importlib.machinery
import importlib.util
import inspect
import os
import sys
import types

import pytest

from pike.discovery import filesystem, py
from pike.errors import PikeError, PluginImportError, UntrustedPluginError
from pike.finder import PikeFinder
from pike.loader import PikeLoader
from pike.manager import PikeManager
from tests.conftest import MakeTree, run_python


def params(func: object) -> list[str]:
    return list(inspect.signature(func).parameters)  # type: ignore[arg-type]


def positional(func: object) -> list[str]:
    parameters = inspect.signature(func).parameters.values()  # type: ignore[arg-type]
    return [p.name for p in parameters if p.kind is not p.KEYWORD_ONLY]


def test_manager_signature_and_attributes(make_tree: MakeTree) -> None:
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
        # 0.2.0's parameters, in 0.2.0's places; what pike adds is keyword-only.
        assert positional(mgr.get_classes) == ["filter_func"]
        assert positional(mgr.get_all_inherited_classes) == ["base_class"]
    finally:
        mgr.cleanup()


def test_finder_is_a_meta_path_finder(tmp_path: object) -> None:
    finder = PikeFinder([str(tmp_path)])
    assert isinstance(finder, importlib.abc.MetaPathFinder)
    assert finder.find_spec("nothing_here_at_all", None) is None
    assert PikeFinder().paths == []


def test_discovery_functions_keep_their_signatures() -> None:
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


def test_context_manager_usage_from_the_0_2_0_docs(make_tree: MakeTree) -> None:
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


def test_plain_object_usage_with_cleanup_by_hand(make_tree: MakeTree) -> None:
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


def test_get_names_are_iterators_as_0_2_0_generators_were(make_tree: MakeTree) -> None:
    root = make_tree({"b.py": "", "a.py": "", "pkg/__init__.py": ""})
    with PikeManager([str(root)]) as mgr:
        names = mgr.get_module_names()
        assert isinstance(names, collections.abc.Iterator)
        assert next(names) == "a"
        assert list(mgr.get_module_names()) == ["a", "b"]
        assert list(mgr.get_package_names()) == ["pkg"]


def test_article_example(make_tree: MakeTree) -> None:
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


def test_garbage_collection_never_raises() -> None:
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


def test_module_search_path_from_an_installed_package(make_tree: MakeTree) -> None:
    # aumbry's idiom: PikeManager(some_package.__path__), a path inside a package.
    site = make_tree(
        {
            "hostlib/__init__.py": "",
            "hostlib/interfaces.py": "class AbstractHandler:\n    extras_name = None\n",
            "hostlib/formats/__init__.py": "",
            "hostlib/formats/yml.py": """
                from hostlib.interfaces import AbstractHandler
                class YamlHandler(AbstractHandler):
                    extras_name = "yaml"
            """,
            "hostlib/formats/js.py": """
                from hostlib.interfaces import AbstractHandler
                class JsonHandler(AbstractHandler):
                    extras_name = "json"
            """,
        }
    )
    sys.path.insert(0, str(site))
    try:
        from hostlib.interfaces import AbstractHandler  # type: ignore[import-not-found]

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


def test_is_child_of_module_is_exact() -> None:
    parent = types.ModuleType("foo")
    assert py.is_child_of_module(types.ModuleType("foo.bar"), parent)
    assert py.is_child_of_module(types.ModuleType("foo.bar.baz"), parent)
    assert not py.is_child_of_module(types.ModuleType("foobar.baz"), parent)
    assert not py.is_child_of_module(types.ModuleType("foo"), parent)


@pytest.mark.parametrize("name", ["a.py", "pkg", "mod.pyc"])
def test_filesystem_get_name(name: str) -> None:
    assert filesystem.get_name(f"/x/{name}") == name.split(".", maxsplit=1)[0]


# -- pike.loader.PikeLoader and PikeFinder's 0.2.0 helpers ---------------------


def _forget(*names: str) -> None:
    for name in names:
        sys.modules.pop(name, None)


def test_pike_loader_loads_by_path_through_the_standard_source_loader(
    make_tree: MakeTree,
) -> None:
    root = make_tree({"legacy_pkg/__init__.py": "", "legacy_pkg/app.py": "class Tracer: pass\n"})
    app = str(root / "legacy_pkg" / "app.py")
    loader = PikeLoader("legacy_pkg.app", app)
    try:
        module = loader.load_module("legacy_pkg.app")
        assert sys.modules["legacy_pkg.app"] is module
        assert module.Tracer.__module__ == "legacy_pkg.app"
        assert type(module.__loader__).__name__ == "SourceFileLoader"
        assert isinstance(module.__loader__, importlib.machinery.SourceFileLoader)
        assert module.__spec__.origin == app
        assert module.__package__ == "legacy_pkg"
        # The module already in sys.modules is returned as is.
        assert loader.load_module("legacy_pkg.app") is module
    finally:
        _forget("legacy_pkg.app")


def test_pike_loader_writes_and_reuses_bytecode(make_tree: MakeTree) -> None:
    root = make_tree({"cached_one.py": "VALUE = 1\n"})
    path = str(root / "cached_one.py")
    code = f"""
        import sys
        from pike.loader import PikeLoader
        module = PikeLoader("cached_one", {path!r}).load_module("cached_one")
        print(module.VALUE, module.__cached__)
    """
    first = run_python(code)
    assert first.returncode == 0, first.stderr
    value, cached = first.stdout.split()
    assert value == "1"
    assert os.path.exists(cached)
    stamp = os.stat(cached).st_mtime_ns
    second = run_python(code)
    assert second.stdout == first.stdout
    assert os.stat(cached).st_mtime_ns == stamp  # read, not written again


def test_pike_loader_refuses_another_name_and_loads_only_source(make_tree: MakeTree) -> None:
    root = make_tree({"only.py": ""})
    loader = PikeLoader("only", str(root / "only.py"))
    with pytest.raises(ImportError, match="'bam'") as info:
        loader.load_module("bam")
    assert isinstance(info.value, PikeError)
    assert loader.load_module_by_path("name", "something.bam") is None
    assert "name" not in sys.modules
    assert PikeLoader("only", str(root / "only.txt")).load_module_by_path("x", "y.txt") is None
    with pytest.raises(ImportError, match=r"not a \.py file"):
        PikeLoader("only", str(root / "only.txt")).load_module("only")


def test_pike_loader_package_and_module_protocol(make_tree: MakeTree) -> None:
    root = make_tree({"lpkg/__init__.py": "WHO = 'pkg'\n", "lpkg/leaf.py": ""})
    init = str(root / "lpkg" / "__init__.py")
    package = PikeLoader("lpkg", init)
    leaf = PikeLoader("lpkg.leaf", str(root / "lpkg" / "leaf.py"))
    assert package.is_package() and package.is_package("ignored")
    assert not leaf.is_package()
    spec = importlib.util.spec_from_file_location("lpkg", init)
    assert spec is not None
    assert package.create_module(spec) is None
    module = types.ModuleType("lpkg")
    assert package.augment_module("lpkg", module) is module
    assert module.__path__ == [str(root / "lpkg")]
    assert module.__package__ == "lpkg"
    package.exec_module(module)
    assert module.WHO == "pkg"
    other = leaf.augment_module("lpkg.leaf", types.ModuleType("lpkg.leaf"))
    assert other.__package__ == "lpkg"
    try:
        loaded = package.load_module("lpkg")
        assert loaded.__path__ == [str(root / "lpkg")]
        assert leaf.load_module("lpkg.leaf").__name__ == "lpkg.leaf"
    finally:
        _forget("lpkg.leaf", "lpkg")


def test_pike_loader_failure_is_a_plugin_import_error(make_tree: MakeTree) -> None:
    root = make_tree({"sinks.py": "x = 1\nraise RuntimeError('down')\n"})
    path = str(root / "sinks.py")
    with pytest.raises(PluginImportError) as info:
        PikeLoader("sinks", path).load_module("sinks")
    assert (info.value.module_name, info.value.path, info.value.lineno) == ("sinks", path, 2)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert "sinks" not in sys.modules


def test_finder_helpers_of_0_2_0(make_tree: MakeTree) -> None:
    root = make_tree({"tool.py": "", "kit/__init__.py": "", "kit/part.py": "", "json.py": ""})
    given = str(root) + os.sep  # kept as given, as 0.2.0 kept it
    finder = PikeFinder([given])
    assert finder.paths == [given]
    assert finder.module_name_to_filename("pike.finder") == os.path.join("pike", "finder")
    assert finder.get_import_filename("tool") == os.path.join(given, "tool") + ".py"
    assert finder.get_import_filename("kit") == os.path.join(given, "kit", "__init__.py")
    assert finder.get_import_filename(os.path.join("kit", "part")) == os.path.join(
        given, "kit", "part.py"
    )
    assert finder.get_import_filename("nothing") is None
    loader = finder.find_module("kit")
    assert isinstance(loader, PikeLoader) and loader.is_package()
    part = finder.find_module("kit.part")
    assert isinstance(part, PikeLoader) and not part.is_package()
    assert part.fullname == "kit.part"
    assert finder.find_module("nothing") is None
    assert finder.find_module("json") is None  # never the standard library's names


def test_del_by_hand_cleans_up_like_cleanup(make_tree: MakeTree) -> None:
    root = make_tree({"deleted.py": "class D: pass\n"})
    mgr = PikeManager([root])
    mgr.get_classes()
    mgr.__del__()
    assert mgr.module_finder not in sys.meta_path
    assert "deleted" not in sys.modules
    mgr.__del__()  # again, and again at collection
    with mgr:
        assert [c.__name__ for c in mgr.get_classes()] == ["D"]


def test_del_of_a_manager_that_was_never_made_never_raises() -> None:
    PikeManager.__new__(PikeManager).__del__()


def test_private_helpers_of_0_2_0(make_tree: MakeTree) -> None:
    root = make_tree({"oldpkg/__init__.py": "", "oldpkg/app.py": "", "oldpkg/sub/__init__.py": ""})
    with PikeManager([root]):
        parent = py.get_module_by_name("oldpkg")
        assert py._import_from_path(str(root / "oldpkg" / "app.py"), "oldpkg").__name__ == (
            "oldpkg.app"
        )
        assert [m.__name__ for m in py._child_modules(parent)] == ["oldpkg.app", "oldpkg.sub"]


def test_a_finders_loader_keeps_its_trust(make_tree: MakeTree) -> None:
    root = make_tree({"shared.py": "VALUE = 'loaded'\n"})
    (root / "shared.py").chmod(0o666)  # others could change it
    loader = PikeFinder([str(root)], trust="any").find_module("shared")
    assert loader is not None
    try:
        assert loader.load_module("shared").VALUE == "loaded"
    finally:
        sys.modules.pop("shared", None)
    strict = PikeFinder([str(root)]).find_module("shared")
    assert strict is not None
    with pytest.raises(UntrustedPluginError):
        strict.load_module("shared")
