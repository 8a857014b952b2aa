"""A plugin never replaces someone else's module; managers share nothing
(docs/design.md, "Isolation")."""

from __future__ import annotations

import sys
import threading
import types
from pathlib import Path

import pytest

from pike.errors import PluginCollisionError
from pike.manager import PikeManager
from tests.conftest import MakeTree, run_python


def test_stdlib_name_is_a_collision_and_stdlib_stays(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "json.py").write_text("HIJACKED = True\nclass Fake: pass\n")
    (plugins / "ok.py").write_text("class Ok: pass\n")
    code = f"""
        import sys
        from pike.manager import PikeManager
        from pike.errors import PluginCollisionError
        assert "json" not in sys.modules
        with PikeManager([{str(plugins)!r}], on_error="collect") as mgr:
            names = [c.__name__ for c in mgr.get_classes()]
            import json
            inside = hasattr(json, "HIJACKED"), json.dumps([1])
            [error] = mgr.errors
        import json as after
        print(names, inside, hasattr(after, "HIJACKED"))
        print(type(error).__name__, error.module_name)
        print(error)
        try:
            with PikeManager([{str(plugins)!r}]) as mgr:
                mgr.get_classes()
        except PluginCollisionError as exc:
            print("raised", exc.other.endswith("json/__init__.py"))
    """
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "['Ok'] (False, '[1]') False"
    assert lines[1] == "PluginCollisionError json"
    assert str(plugins / "json.py") in lines[2]
    assert "would shadow the standard library module 'json'" in lines[2]
    assert "json/__init__.py" in lines[2]
    assert "rename the file" in lines[2]
    assert lines[3] == "raised True"


def test_builtin_name_is_a_collision(make_tree: MakeTree) -> None:
    root = make_tree({"sys.py": "", "marshal.py": ""})
    with PikeManager([root], on_error="collect") as mgr:
        assert mgr.get_modules() == []
        assert [e.module_name for e in mgr.errors] == ["marshal", "sys"]
        assert all(isinstance(e, PluginCollisionError) for e in mgr.errors)
        assert "built-in module 'marshal'" in str(mgr.errors[0])
    assert sys.modules["sys"] is sys


def test_name_already_imported_from_elsewhere(make_tree: MakeTree) -> None:
    root = make_tree({"hostmod.py": "PLUGIN = True\n"})
    host = types.ModuleType("hostmod")
    host.__file__ = "/somewhere/else/hostmod.py"
    sys.modules["hostmod"] = host
    try:
        with PikeManager([root], on_error="collect") as mgr:
            assert mgr.get_modules() == []
            [error] = mgr.errors
            assert error.other == "/somewhere/else/hostmod.py"
            assert str(root / "hostmod.py") in str(error)
            assert "already imported from /somewhere/else/hostmod.py" in str(error)
            import hostmod  # type: ignore[import-not-found]

            assert hostmod is host
        assert sys.modules["hostmod"] is host
    finally:
        del sys.modules["hostmod"]


def test_blocked_name_is_a_collision(make_tree: MakeTree) -> None:
    root = make_tree({"blocked_mod.py": ""})
    sys.modules["blocked_mod"] = None  # type: ignore[assignment]
    try:
        with PikeManager([root], on_error="collect") as mgr:
            assert mgr.get_modules() == []
            assert "blocked" in str(mgr.errors[0])
        assert sys.modules["blocked_mod"] is None
    finally:
        del sys.modules["blocked_mod"]


def test_same_file_imported_by_the_host_is_used_not_owned(make_tree: MakeTree) -> None:
    root = make_tree({"shared_mod.py": "class Shared: pass\n"})
    sys.path.insert(0, str(root))
    try:
        import shared_mod  # type: ignore[import-not-found]

        with PikeManager([root]) as mgr:
            assert mgr.get_classes() == [shared_mod.Shared]
        assert sys.modules["shared_mod"] is shared_mod  # not ours to remove
    finally:
        sys.path.remove(str(root))
        del sys.modules["shared_mod"]
        sys.path_importer_cache.pop(str(root), None)


def test_earlier_search_path_wins(make_tree: MakeTree) -> None:
    first = make_tree({"twin.py": "class First: pass\n"})
    second = make_tree({"twin.py": "class Second: pass\n", "other.py": "class Other: pass\n"})
    with PikeManager([first, second], on_error="collect") as mgr:
        assert [c.__name__ for c in mgr.get_classes()] == ["First", "Other"]
        [error] = mgr.errors
        assert error.path == str(second / "twin.py")
        assert error.other == str(first / "twin.py")
        assert "earlier search path" in str(error)
        import twin  # type: ignore[import-not-found]

        assert hasattr(twin, "First")
    with pytest.raises(PluginCollisionError), PikeManager([first, second]) as mgr:
        mgr.get_classes()


def test_nested_managers_see_their_own_plugins(make_tree: MakeTree) -> None:
    a = make_tree({"a_only.py": "class A: pass\n"})
    b = make_tree({"b_only.py": "class B: pass\n"})
    with PikeManager([a]) as outer:
        assert [c.__name__ for c in outer.get_classes()] == ["A"]
        with PikeManager([b]) as inner:
            assert [c.__name__ for c in inner.get_classes()] == ["B"]
            assert [c.__name__ for c in outer.get_classes()] == ["A"]
        assert "b_only" not in sys.modules
        assert "a_only" in sys.modules
        assert outer.module_finder in sys.meta_path
    assert "a_only" not in sys.modules


def test_managers_exited_out_of_order(make_tree: MakeTree) -> None:
    a = make_tree({"ooo_a.py": "class A: pass\n"})
    b = make_tree({"ooo_b.py": "class B: pass\n"})
    first = PikeManager([a])
    second = PikeManager([b])
    assert [c.__name__ for c in first.get_classes()] == ["A"]
    assert [c.__name__ for c in second.get_classes()] == ["B"]
    first.cleanup()
    assert "ooo_a" not in sys.modules
    assert "ooo_b" in sys.modules
    assert sys.meta_path[0] is second.module_finder
    second.cleanup()
    assert "ooo_b" not in sys.modules


def test_second_manager_never_receives_the_others_module(make_tree: MakeTree) -> None:
    a = make_tree({"same_name.py": "WHO = 'a'\nclass FromA: pass\n"})
    b = make_tree({"same_name.py": "WHO = 'b'\nclass FromB: pass\n"})
    with PikeManager([a]) as mgr_a:
        assert [c.__name__ for c in mgr_a.get_classes()] == ["FromA"]
        with PikeManager([b], on_error="collect") as mgr_b:
            assert mgr_b.get_classes() == []
            [error] = mgr_b.errors
            assert "another active PikeManager" in str(error)
            assert error.other == str(a / "same_name.py")
        assert sys.modules["same_name"].WHO == "a"
    assert "same_name" not in sys.modules


def test_each_manager_loads_its_own_file_whatever_the_meta_path_order(
    make_tree: MakeTree,
) -> None:
    a = make_tree({"either.py": "WHO = 'a'\n"})
    b = make_tree({"either.py": "WHO = 'b'\n"})
    mgr_a = PikeManager([a])
    mgr_b = PikeManager([b], on_error="collect")  # now first in sys.meta_path
    try:
        assert [m.WHO for m in mgr_a.get_modules()] == ["a"]
        assert mgr_b.get_modules() == []
        assert len(mgr_b.errors) == 1
    finally:
        mgr_b.cleanup()
        assert sys.modules["either"].WHO == "a"
        mgr_a.cleanup()


def test_managers_in_two_threads(make_tree: MakeTree) -> None:
    roots = [
        make_tree({f"thread_mod{i}.py": f"class T{i}: pass\n", "common.py": f"WHO = {i}\n"})
        for i in range(2)
    ]
    barrier = threading.Barrier(2)
    results: dict[int, object] = {}

    def work(i: int) -> None:
        try:
            with PikeManager([roots[i]], on_error="collect") as mgr:
                barrier.wait()  # both managers active at once
                classes = [c.__name__ for c in mgr.get_classes()]
                errors = [e.module_name for e in mgr.errors]
                barrier.wait()  # both discovered before either leaves
                results[i] = (classes, errors)
        except Exception as exc:  # pragma: no cover - reported below
            results[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results[0] != results[1]
    for i in range(2):
        classes, errors = results[i]  # type: ignore[misc]
        assert classes == [f"T{i}"]
        # "common" belongs to whichever manager met it first; the other reports it.
        assert errors in ([], ["common"])
    assert sorted(len(results[i][1]) for i in range(2)) == [0, 1]  # type: ignore[index]
    assert not any(name.startswith(("thread_mod", "common")) for name in sys.modules)


def test_stdlib_name_not_yet_imported_is_located_without_importing(
    make_tree: MakeTree,
) -> None:
    assert "tabnanny" not in sys.modules
    root = make_tree({"tabnanny.py": ""})
    with PikeManager([root], on_error="collect") as mgr:
        mgr.get_classes()
        [error] = mgr.errors
    assert error.other.endswith("tabnanny.py") and error.other != str(root / "tabnanny.py")
    assert "tabnanny" not in sys.modules


def test_module_without_a_file_under_the_name(make_tree: MakeTree) -> None:
    root = make_tree({"memory_mod.py": ""})
    sys.modules["memory_mod"] = types.ModuleType("memory_mod")
    try:
        with PikeManager([root], on_error="collect") as mgr:
            mgr.get_classes()
            assert mgr.errors[0].other == "a module with no file"
    finally:
        del sys.modules["memory_mod"]


def test_file_replaced_during_discovery_is_not_taken_as_a_plugin(
    make_tree: MakeTree,
) -> None:
    # An earlier plugin moves "vanish" out of the search path onto sys.path:
    # the import that follows finds the host's copy, which is not a plugin.
    elsewhere = make_tree({}, name="elsewhere")
    root = make_tree(
        {
            "a_mover.py": f"""
                import os, sys
                here = os.path.dirname(__file__)
                os.replace(os.path.join(here, "vanish.py"), {str(elsewhere / "vanish.py")!r})
                sys.path.insert(0, {str(elsewhere)!r})
            """,
            "vanish.py": "WHERE = 'moved'\n",
        }
    )
    path_before = list(sys.path)
    try:
        with PikeManager([root], on_error="collect") as mgr:
            assert [m.__name__ for m in mgr.get_modules()] == ["a_mover"]
            [error] = mgr.errors
            assert error.module_name == "vanish"
            assert error.other == str(elsewhere / "vanish.py")
    finally:
        sys.path[:] = path_before
        sys.modules.pop("vanish", None)
        sys.path_importer_cache.pop(str(elsewhere), None)
