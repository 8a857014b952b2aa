"""The interpreter is left as it was found (docs/design.md, "Cleanup")."""

from __future__ import annotations

import gc
import importlib.machinery
import sys
import textwrap
import weakref

import pytest

from pike.errors import InactiveManagerError
from pike.manager import PikeManager
from tests.conftest import MakeTree, run_python

PLUGINS = {
    "plug_a.py": "class A:\n    def hello(self):\n        return 'a says hi'\n",
    "plug_pkg/__init__.py": "from . import inner\n",
    "plug_pkg/inner.py": "class Inner: pass\n",
}


def test_leaving_the_block_removes_finder_and_modules(make_tree: MakeTree) -> None:
    root = make_tree(PLUGINS)
    modules_before = set(sys.modules)
    with PikeManager([root]) as mgr:
        mgr.get_classes()
        import colorsys  # a host module first imported inside the block stays

        assert {"plug_a", "plug_pkg", "plug_pkg.inner"} <= set(sys.modules)
    assert mgr.module_finder not in sys.meta_path
    assert set(sys.modules) - modules_before <= {"colorsys"}
    assert sys.modules.get("colorsys") is colorsys


def test_an_exception_in_the_block_still_cleans_up(make_tree: MakeTree) -> None:
    root = make_tree(PLUGINS)
    with pytest.raises(LookupError), PikeManager([root]) as mgr:
        mgr.get_classes()
        raise LookupError
    assert mgr.module_finder not in sys.meta_path
    assert "plug_a" not in sys.modules


def test_unload_false_keeps_modules(make_tree: MakeTree) -> None:
    root = make_tree(PLUGINS)
    with PikeManager([root], unload=False) as mgr:
        mgr.get_classes()
    try:
        assert mgr.module_finder not in sys.meta_path
        import plug_pkg.inner  # type: ignore[import-not-found]

        assert plug_pkg.inner.Inner.__name__ == "Inner"
        # A new manager over the same folder reuses them instead of colliding.
        with PikeManager([root]) as again:
            assert [c.__name__ for c in again.get_classes()] == ["A", "Inner"]
            assert again.errors == []
        assert "plug_a" in sys.modules
    finally:
        for name in ("plug_a", "plug_pkg", "plug_pkg.inner"):
            sys.modules.pop(name, None)
        for key in [k for k in sys.path_importer_cache if str(root) in str(k)]:
            del sys.path_importer_cache[key]


def test_sys_path_entries_added_inside_search_paths_are_removed(
    make_tree: MakeTree, tmp_path: object
) -> None:
    outside = make_tree({}, name="outside")
    root = make_tree(
        {
            "appender.py": "import os, sys\nsys.path.append(os.path.dirname(__file__))\n",
            "deep/__init__.py": "import os, sys\nsys.path.insert(0, os.path.dirname(__file__))\n",
        }
    )
    path_before = list(sys.path)
    try:
        with PikeManager([root]) as mgr:
            mgr.get_classes()
            sys.path.append(str(outside))
            assert str(root) in sys.path
            assert str(root / "deep") in sys.path
        assert sys.path == [*path_before, str(outside)]
    finally:
        sys.path[:] = path_before
    assert not [k for k in sys.path_importer_cache if str(root) in str(k)]


def test_sys_path_entry_present_before_is_kept(make_tree: MakeTree) -> None:
    root = make_tree({"keeper.py": "import sys, os\nsys.path.append(os.path.dirname(__file__))\n"})
    sys.path.append(str(root))
    try:
        with PikeManager([root]) as mgr:
            mgr.get_classes()
            assert sys.path.count(str(root)) == 2
        assert sys.path.count(str(root)) == 1
    finally:
        sys.path.remove(str(root))
        sys.path_importer_cache.pop(str(root), None)
        sys.modules.pop("keeper", None)


def test_importer_cache_has_no_entry_under_search_paths(make_tree: MakeTree) -> None:
    root = make_tree(PLUGINS)
    with PikeManager([root]) as mgr:
        mgr.get_classes()
        # The standard path finder caches a finder per folder it is asked about.
        importlib.machinery.PathFinder.find_spec("plug_pkg.inner", [str(root / "plug_pkg")])
        assert str(root / "plug_pkg") in sys.path_importer_cache
    assert not [k for k in sys.path_importer_cache if str(root) in str(k)]


def test_classes_and_objects_keep_working_after_the_block(make_tree: MakeTree) -> None:
    root = make_tree(PLUGINS)
    with PikeManager([root]) as mgr:
        classes = mgr.get_classes()
        obj = classes[0]()
    assert obj.hello() == "a says hi"
    assert classes[0]().hello() == "a says hi"


def test_a_manager_can_be_entered_again(make_tree: MakeTree) -> None:
    root = make_tree(PLUGINS)
    mgr = PikeManager([root])
    with mgr:
        first = [c.__qualname__ for c in mgr.get_classes()]
    assert not mgr.active
    with mgr:
        assert mgr.active
        again = [c.__qualname__ for c in mgr.get_classes()]
    assert first == again == ["A", "Inner"]
    mgr.add_to_meta_path()
    assert [c.__qualname__ for c in mgr.get_classes()] == first
    mgr.cleanup()


def test_an_inactive_manager_says_how_to_reactivate(make_tree: MakeTree) -> None:
    root = make_tree(PLUGINS)
    with PikeManager([root]) as mgr:
        pass
    with pytest.raises(InactiveManagerError, match="add_to_meta_path"):
        mgr.get_classes()
    assert list(mgr.get_module_names()) == ["plug_a"]  # listing needs no activation


def test_dropping_the_last_reference_cleans_up(make_tree: MakeTree) -> None:
    root = make_tree(PLUGINS)
    mgr = PikeManager([root])
    finder = mgr.module_finder
    mgr.get_classes()
    ref = weakref.ref(mgr)
    gc.disable()
    try:
        del mgr  # reference counting alone: nothing pike installed holds the manager
        assert ref() is None
    finally:
        gc.enable()
    assert finder not in sys.meta_path
    assert "plug_a" not in sys.modules


_CYCLES = """
    import gc, importlib, sys, tracemalloc, weakref
    from pike.manager import PikeManager
    ROOT = {root!r}
    NAMES = ("plug_a", "plug_pkg", "plug_pkg.inner")
    refs = []

    def pike(keep):
        with PikeManager([ROOT]) as mgr:
            mgr.get_classes()
            if keep:
                refs.extend(weakref.ref(sys.modules[n]) for n in NAMES)

    def by_hand(keep):
        # The standard library doing the same: import, keep the classes, take it all out.
        sys.path.insert(0, ROOT)
        modules = [importlib.import_module(n) for n in NAMES]
        [c for m in modules for c in vars(m).values() if isinstance(c, type)]
        if keep:
            refs.extend(weakref.ref(m) for m in modules)
        del modules
        sys.path.remove(ROOT)
        for n in reversed(NAMES):
            del sys.modules[n]
        for key in [k for k in sys.path_importer_cache if str(k).startswith(ROOT)]:
            del sys.path_importer_cache[key]

    def growth(cycle, n):
        gc.collect()
        start = tracemalloc.take_snapshot()
        for _ in range(n):
            cycle(False)
        gc.collect()
        return sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(start, "filename"))

    cycle = {side}
    for _ in range(100):
        cycle(True)
    tracemalloc.start()
    first = growth(cycle, 450)
    # A leak grows the heap in every window; the interpreter's own tables (the
    # capacity of a dict it keeps, on some versions) move it up or down by tens of
    # kilobytes in one: the least of three windows is the steady growth.
    second = min(growth(cycle, 450) for _ in range(3))
    alive = sum(r() is not None for r in refs)
    print(alive, len(refs), first, second)
"""


def test_thousand_cycles_leave_no_module_alive_and_memory_flat(make_tree: MakeTree) -> None:
    # Memory is judged against the standard library doing the same cycles by
    # hand in the same run: the first window holds the interpreter's own
    # caches warming up, the second shows a leak, if any, as steady growth.
    root = make_tree(PLUGINS)
    measured = {}
    for side in ("pike", "by_hand"):
        result = run_python(textwrap.dedent(_CYCLES).format(root=str(root), side=side))
        assert result.returncode == 0, result.stderr
        alive, total, first, second = map(int, result.stdout.split())
        assert (alive, total) == (0, 300), side
        measured[side] = (first, second)
    (pike_first, pike_second), (hand_first, hand_second) = measured["pike"], measured["by_hand"]
    assert pike_first <= 2 * max(hand_first, 0) + 4096, measured
    # A leak of even 30 bytes a cycle would show here.
    assert pike_second <= max(hand_second, 0) + max(hand_first, 4096) // 4, measured


def test_a_block_adds_nothing_to_sys_modules(make_tree: MakeTree) -> None:
    # Not even a standard-library module pike would import lazily: a program
    # that compares sys.modules around the block sees it as it was (-S: no
    # site, so nothing else has imported them beforehand).
    root = make_tree(
        {
            "a.py": "class A: pass\n",
            "broken.py": "raise ValueError('broken')\n",
            "json.py": "class J: pass\n",
            "pkg/__init__.py": "",
            "pkg/b.py": "class B: pass\n",
        }
    )
    code = f"""
        import sys
        from pike.manager import PikeManager
        before = set(sys.modules)
        with PikeManager([{str(root)!r}], on_error="collect") as mgr:
            names = [c.__name__ for c in mgr.get_classes()]
            mgr.refresh()
        print(names, len(mgr.errors), sorted(set(sys.modules) ^ before))
    """
    result = run_python(code, "-S")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['A', 'B'] 2 []"


def test_pathlike_sys_path_entries_are_removed_too(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "path_appender.py": (
                "import sys, pathlib\nsys.path.append(pathlib.Path(__file__).parent)\n"
            )
        }
    )
    path_before = list(sys.path)
    try:
        with PikeManager([root]) as mgr:
            mgr.get_classes()
            assert len(sys.path) == len(path_before) + 1
        assert sys.path == path_before
    finally:
        sys.path[:] = path_before


def test_dropping_a_manager_with_collected_errors_cleans_up_at_collection(
    make_tree: MakeTree,
) -> None:
    # A stored error's traceback refers back to the frames that loaded it, one
    # of which is the manager's: the cycle collector ends that manager.
    root = make_tree({"fine.py": "class F: pass\n", "raises.py": "1/0\n"})
    mgr = PikeManager([root], on_error="collect")
    finder = mgr.module_finder
    mgr.get_classes()
    assert len(mgr.errors) == 1
    del mgr
    gc.collect()
    assert finder not in sys.meta_path
    assert "fine" not in sys.modules


def test_a_plugin_that_replaces_itself_in_sys_modules_is_unloaded(
    make_tree: MakeTree,
) -> None:
    root = make_tree(
        {
            "selfswap.py": """
                import sys
                class Api:
                    class Client: pass
                    __name__ = "selfswap"
                sys.modules[__name__] = Api()
            """
        }
    )
    with PikeManager([root]) as mgr:
        assert mgr.get_modules()[0] is sys.modules["selfswap"]
        assert mgr.errors == []
    assert "selfswap" not in sys.modules


def test_a_served_name_leaves_whatever_object_holds_it_now(make_tree: MakeTree) -> None:
    # A plugin put a bare module in place of another plugin's: the name was the
    # manager's, so it goes, as every name the manager served does.
    root = make_tree(
        {
            "a_replacer.py": "import sys, types\nimport b_victim\n"
            "sys.modules['b_victim'] = types.ModuleType('b_victim')\n",
            "b_victim.py": "class Victim: pass\n",
        }
    )
    with PikeManager([root], on_error="collect") as mgr:
        mgr.get_classes()
        assert sys.modules["b_victim"].__dict__.get("Victim") is None
        assert [e.module_name for e in mgr.errors] == ["b_victim"]  # no longer the file's
    assert "b_victim" not in sys.modules and "a_replacer" not in sys.modules


def test_an_inner_managers_plugin_replacing_an_outer_ones_module(make_tree: MakeTree) -> None:
    outer_root = make_tree({"shared_name.py": "WHO = 'outer'\n"})
    inner_root = make_tree(
        {"intruder.py": "import sys, types\nsys.modules['shared_name'] = types.ModuleType('x')\n"}
    )
    with PikeManager([outer_root]) as outer:
        outer.get_modules()
        with PikeManager([inner_root]) as inner:
            inner.get_modules()
        assert sys.modules["shared_name"].__dict__.get("WHO") is None
    assert "shared_name" not in sys.modules


def test_a_name_another_active_manager_loaded_since_is_kept(make_tree: MakeTree) -> None:
    first_root = make_tree({"handed_on.py": "WHO = 'first'\n"})
    second_root = make_tree({"handed_on.py": "WHO = 'second'\n"})
    first = PikeManager([first_root], unload=False)
    first.get_modules()
    first.cleanup()  # kept (unload=False), the host's from now on
    del sys.modules["handed_on"]
    with PikeManager([second_root]) as second:
        [module] = second.get_modules()
        assert module.WHO == "second"
        first.add_to_meta_path()
        first.cleanup()  # handed_on is now the second manager's: not the first's to take out
        assert sys.modules["handed_on"] is module
    assert "handed_on" not in sys.modules


def test_a_hostile_replacement_object_is_unloaded_too(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "hostile.py": """
                import sys
                class Hostile:
                    def __getattr__(self, name):
                        raise RuntimeError(name)
                sys.modules[__name__] = Hostile()
            """
        }
    )
    with PikeManager([root]) as mgr:
        assert mgr.get_classes() == []
        assert mgr.errors == []
    assert "hostile" not in sys.modules
