"""Importing through the standard machinery, with the finder first
(docs/design.md, "Importing")."""

from __future__ import annotations

import importlib
import importlib.machinery
import inspect
import os
import pickle
import sys
import traceback

import pytest

from pike.manager import PikeManager
from tests.conftest import MakeTree, run_python

PLUGIN = """\
class Widget:
    def __init__(self, size=1):
        self.size = size

    def explode(self):
        raise ValueError("boom at widget")
"""


def test_finder_stands_first_while_active(make_tree: MakeTree) -> None:
    root = make_tree({"w.py": PLUGIN})
    with PikeManager([root]) as mgr:
        assert sys.meta_path[0] is mgr.module_finder
    assert mgr.module_finder not in sys.meta_path


def test_finder_serves_only_top_level_names_in_its_paths(make_tree: MakeTree) -> None:
    root = make_tree({"w.py": PLUGIN, "pkg/__init__.py": "", "pkg/sub.py": "", "nopkg/x.py": ""})
    with PikeManager([root]) as mgr:
        finder = mgr.module_finder
        assert finder.find_spec("w", None) is not None
        assert finder.find_spec("pkg", None) is not None
        assert finder.find_spec("pkg.sub", [str(root / "pkg")]) is None
        assert finder.find_spec("not_there", None) is None
        assert finder.find_spec("os", None) is None
        assert finder.find_spec("nopkg", None) is None  # no __init__: not a package
        assert finder.find_spec("my-plugin", None) is None


def test_standard_loaders_set_the_module_attributes(make_tree: MakeTree) -> None:
    root = make_tree({"w.py": PLUGIN, "pkg/__init__.py": "", "pkg/sub.py": "X = 1\n"})
    with PikeManager([root]) as mgr:
        mgr.get_classes()
        w = sys.modules["w"]
        assert w.__file__ == str(root / "w.py")
        assert isinstance(w.__spec__.loader, importlib.machinery.SourceFileLoader)
        assert w.__spec__.origin == str(root / "w.py")
        assert w.__cached__ == importlib.util.cache_from_source(str(root / "w.py"))
        # Written exactly when the interpreter writes bytecode (the subprocess
        # tests below pin both settings).
        assert os.path.exists(w.__cached__) is not sys.dont_write_bytecode
        sub = sys.modules["pkg.sub"]
        assert sub.__package__ == "pkg"
        assert sys.modules["pkg"].__path__ == [str(root / "pkg")]


def test_tracebacks_getsource_and_pickling_work(make_tree: MakeTree) -> None:
    root = make_tree({"w.py": PLUGIN})
    with PikeManager([root]) as mgr:
        [widget_cls] = mgr.get_classes()
        try:
            widget_cls().explode()
        except ValueError as exc:
            text = "".join(traceback.format_exception(exc))
        assert 'raise ValueError("boom at widget")' in text
        assert str(root / "w.py") in text
        assert inspect.getsource(widget_cls).startswith("class Widget:")
        copy = pickle.loads(pickle.dumps(widget_cls(size=7)))
        assert type(copy) is widget_cls
        assert copy.size == 7


def test_bytecode_cache_is_written_then_reused(make_tree: MakeTree) -> None:
    root = make_tree({"cached_mod.py": "class C: pass\n"})
    code = f"""
        from pike.manager import PikeManager
        with PikeManager([{str(root)!r}]) as mgr:
            print([c.__name__ for c in mgr.get_classes()])
    """
    first = run_python(code)
    assert first.returncode == 0, first.stderr
    pyc = importlib.util.cache_from_source(str(root / "cached_mod.py"))
    assert os.path.exists(pyc)
    second = run_python(code, "-v")
    assert second.returncode == 0, second.stderr
    assert f"code object from '{pyc}'" in second.stderr


def test_bytecode_is_not_written_when_disabled(make_tree: MakeTree) -> None:
    root = make_tree({"nocache_mod.py": "class C: pass\n"})
    code = f"""
        from pike.manager import PikeManager
        with PikeManager([{str(root)!r}]) as mgr:
            print([c.__name__ for c in mgr.get_classes()])
    """
    result = run_python(code, env_extra={"PYTHONDONTWRITEBYTECODE": "1"})
    assert result.returncode == 0, result.stderr
    assert "['C']" in result.stdout
    assert not (root / "__pycache__").exists()


def test_relative_and_sibling_imports(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "helper.py": "GREETING = 'hi'\n",
            "user.py": "import helper\nclass User:\n    greeting = helper.GREETING\n",
            "pkg/__init__.py": "from . import part\n",
            "pkg/part.py": "from .inner import deep\nclass Part:\n    value = deep.VALUE\n",
            "pkg/inner/__init__.py": "",
            "pkg/inner/deep.py": "VALUE = 3\n",
        }
    )
    with PikeManager([root]) as mgr:
        classes = {c.__name__: c for c in mgr.get_classes()}
        assert classes["User"].greeting == "hi"
        assert classes["Part"].value == 3


_STANDARD_LOADERS = (
    importlib.machinery.SourceFileLoader,
    importlib.machinery.SourcelessFileLoader,
    importlib.machinery.ExtensionFileLoader,
)


def _spec_fields(spec: importlib.machinery.ModuleSpec) -> tuple[object, ...]:
    loader = spec.loader
    return (
        spec.name,
        spec.origin,
        spec.cached,
        spec.submodule_search_locations,
        spec.parent,
        spec.has_location,
        next(kind for kind in _STANDARD_LOADERS if isinstance(loader, kind)),
        getattr(loader, "name", None),
        getattr(loader, "path", None),
    )


def test_specs_at_every_depth_are_the_standard_ones(make_tree: MakeTree) -> None:
    """The finder serves the walk's own entries without listing their folders: what it
    hands out is what the standard path finder finds for the same files."""
    import py_compile

    root = make_tree(
        {
            "top.py": "",
            "pkg/__init__.py": "",
            "pkg/mod.py": "",
            "pkg/sub/__init__.py": "",
            "pkg/sub/deep.py": "",
            "pkg/sub/inner/__init__.py": "",
            "pkg/sub/inner/leaf.py": "",
            "pkg/old.src": "OLD = 1\n",
        }
    )
    py_compile.compile(str(root / "pkg" / "old.src"), cfile=str(root / "pkg" / "old.pyc"))
    (root / "pkg" / "old.src").unlink()
    names = ["top", "pkg", "pkg.mod", "pkg.old", "pkg.sub", "pkg.sub.deep"]
    names += ["pkg.sub.inner", "pkg.sub.inner.leaf"]
    with PikeManager([root]) as mgr:
        mgr.get_classes()
        served = {name: sys.modules[name].__spec__ for name in names}
        assert sorted(e.name for e in mgr.entries) == sorted(names)
    for name, spec in served.items():
        parent, _, _ = name.rpartition(".")
        where = served[parent].submodule_search_locations if parent else [str(root)]
        [folder] = where
        # The standard finder of a folder (not PathFinder, whose cache would outlive
        # the test).
        details = [
            (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
            (importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES),
            (importlib.machinery.SourcelessFileLoader, importlib.machinery.BYTECODE_SUFFIXES),
        ]
        standard = importlib.machinery.FileFinder(folder, *details).find_spec(name)
        assert standard is not None
        assert _spec_fields(spec) == _spec_fields(standard), name


def test_a_package_that_moves_its_path_is_searched_where_it_says(make_tree: MakeTree) -> None:
    other = make_tree({"part.py": "WHERE = 'other'\n"})
    root = make_tree(
        {
            "pkg/__init__.py": f"__path__ = [{str(other)!r}]\n",
            "pkg/part.py": "WHERE = 'own'\n",
        }
    )
    with PikeManager([root]) as mgr:
        mgr.get_classes()
        assert sys.modules["pkg.part"].WHERE == "other"
        assert sys.modules["pkg.part"].__file__ == str(other / "part.py")


def test_a_submodule_whose_file_went_since_the_walk_is_still_pikes(make_tree: MakeTree) -> None:
    """The walk found ``pkg/sub.py``; by the time it imports, ``pkg`` replaced it with a
    package. What imports under the name is found afresh, and it is still pike's to
    check, record and take out."""
    root = make_tree(
        {
            "pkg/__init__.py": (
                "import os\n"
                "here = os.path.dirname(__file__)\n"
                "os.unlink(os.path.join(here, 'sub.py'))\n"
                "os.makedirs(os.path.join(here, 'sub'))\n"
                "with open(os.path.join(here, 'sub', '__init__.py'), 'w') as f:\n"
                "    f.write('class Moved:\\n    pass\\n')\n"
            ),
            "pkg/sub.py": "class Original:\n    pass\n",
        }
    )
    with PikeManager([root]) as mgr:
        mgr.get_classes()
        sub = sys.modules["pkg.sub"]
        assert sub.__file__ == str(root / "pkg" / "sub" / "__init__.py")
        assert type(sub.__loader__).__module__ == "pike._importing"  # pike's, recorded
        assert mgr.get_path("pkg.sub") == sub.__file__
    assert "pkg.sub" not in sys.modules


def test_import_statement_inside_the_block(make_tree: MakeTree) -> None:
    root = make_tree({"by_name.py": "VALUE = 'plugin'\n"})
    with PikeManager([root]):
        import by_name  # type: ignore[import-not-found]

        assert by_name.VALUE == "plugin"
    assert "by_name" not in sys.modules


def test_new_file_after_activation_is_importable(make_tree: MakeTree) -> None:
    root = make_tree({"first.py": ""})
    with PikeManager([root]) as mgr:
        __import__("first")
        (root / "later.py").write_text("VALUE = 2\n")
        importlib.invalidate_caches()
        assert __import__("later").VALUE == 2
        assert mgr.errors == []


def test_a_plugin_loaded_by_name_alone(make_tree: MakeTree) -> None:
    from pike.errors import PluginImportError

    root = make_tree(
        {
            "pkg/__init__.py": "",
            "pkg/wanted.py": "class Wanted: pass\n",
            "pkg/other.py": "raise RuntimeError('never imported')\n",
            "loose.py": "raise RuntimeError('never imported')\n",
        }
    )
    with PikeManager([root]) as mgr:
        module = mgr.load_plugin("pkg.wanted")
        assert module.Wanted.__module__ == "pkg.wanted"
        assert "pkg.other" not in sys.modules and "loose" not in sys.modules
        assert mgr.get_path("pkg.wanted") == str(root / "pkg" / "wanted.py")
        assert mgr.get_path("loose") is None  # not loaded
        with pytest.raises(PluginImportError, match="no plugin module 'absent'"):
            mgr.load_plugin("absent")
    assert "pkg.wanted" not in sys.modules


def test_a_manager_standing_aside_serves_nothing_in_its_thread(make_tree: MakeTree) -> None:
    root = make_tree({"aside_probe.py": "VALUE = 1\n"})
    with PikeManager([root]) as mgr:
        with mgr.standing_aside(), pytest.raises(ModuleNotFoundError):
            importlib.import_module("aside_probe")
        assert importlib.import_module("aside_probe").VALUE == 1
