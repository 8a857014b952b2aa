"""Cleanup under concurrency, and isolation between managers: real threads, each wait
with a timeout (docs/design.md, "Cleanup" and "Isolation")."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
import types
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from pike.errors import PluginCollisionError, PluginImportError
from pike.manager import PikeManager
from tests.conftest import MakeTree

WAIT = 30  # seconds: long enough never to be reached, short enough to fail a stuck test


class SyntheticFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves made-up modules named ``prefix...``, from the end of sys.meta_path."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.startswith(self.prefix):
            return importlib.machinery.ModuleSpec(fullname, self)
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        module.SERVED = True  # type: ignore[attr-defined]


class PausingFinder(importlib.abc.MetaPathFinder):
    """Stops a walk of sys.meta_path on ``name`` until released."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.entered = threading.Event()
        self.release = threading.Event()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: object = None
    ) -> None:
        if fullname == self.name:
            self.entered.set()
            assert self.release.wait(WAIT)


@pytest.fixture
def meta_path() -> Iterator[list[object]]:
    """sys.meta_path, put back as it was after the test."""
    before = list(sys.meta_path)
    yield sys.meta_path
    sys.meta_path[:] = before


def test_a_walk_of_sys_meta_path_in_progress_never_loses_a_finder(
    make_tree: MakeTree, meta_path: list[object]
) -> None:
    root = make_tree({"plain.py": ""})
    pausing = PausingFinder("synthetic_walked")
    # The finder that serves the module comes right after the pausing one.
    sys.meta_path = [pausing, SyntheticFinder("synthetic_"), *sys.meta_path]
    first, second = PikeManager([root]), PikeManager([root], on_error="collect")
    result: dict[str, object] = {}

    def importer() -> None:
        try:
            result["module"] = importlib.import_module("synthetic_walked")
        except BaseException as exc:  # reported below
            result["error"] = exc

    thread = threading.Thread(target=importer)
    thread.start()
    try:
        assert pausing.entered.wait(WAIT)
        # The walk stands at the pausing finder. Taking the two managers' finders
        # out of the list it walks would move the next finders under it: skipped.
        first.cleanup()
        second.cleanup()
        with PikeManager([root]):  # and one starting while it walks
            pausing.release.set()
            thread.join(WAIT)
    finally:
        pausing.release.set()
        thread.join(WAIT)
    assert not thread.is_alive()
    assert "error" not in result, result
    assert getattr(result["module"], "SERVED", False)
    del sys.modules["synthetic_walked"]


def test_an_import_that_returns_another_managers_module(make_tree: MakeTree) -> None:
    a = make_tree({"shared.py": "WHO = 'a'\n"})
    b = make_tree({"shared.py": "WHO = 'b'\n"})
    mgr_a = PikeManager([a])
    [a_module] = mgr_a.get_modules()
    del sys.modules["shared"]  # A's, but out of sys.modules for the moment

    class PutsItBack(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        """Stands first; its import of 'shared' ends with A's module in sys.modules."""

        def find_spec(
            self, fullname: str, path: object = None, target: object = None
        ) -> importlib.machinery.ModuleSpec | None:
            return importlib.machinery.ModuleSpec(fullname, self) if fullname == "shared" else None

        def exec_module(self, module: types.ModuleType) -> None:
            sys.modules["shared"] = a_module

    mgr_b = PikeManager([b], on_error="collect")
    sneaky = PutsItBack()
    sys.meta_path.insert(0, sneaky)
    try:
        assert mgr_b.get_modules() == []  # never A's module
        [error] = mgr_b.errors
        assert isinstance(error, PluginCollisionError)
        assert "another active PikeManager" in str(error)
        assert error.other == str(a / "shared.py")
    finally:
        sys.meta_path.remove(sneaky)
    mgr_b.cleanup()
    assert sys.modules["shared"] is a_module  # B removed only its own
    mgr_a.cleanup()
    assert "shared" not in sys.modules


def test_the_finder_and_its_loaders_refuse_work_after_cleanup(make_tree: MakeTree) -> None:
    root = make_tree({"refused.py": "RAN = True\n"})
    mgr = PikeManager([root])
    finder = mgr.module_finder
    spec = finder.find_spec("refused")
    assert spec is not None and spec.loader is not None
    mgr.cleanup()
    assert finder.find_spec("refused") is None  # a stale walk of sys.meta_path
    module = importlib.util.module_from_spec(spec)
    with pytest.raises(PluginImportError, match="was not run"):
        spec.loader.exec_module(module)
    assert not hasattr(module, "RAN")


def test_a_plugin_still_importing_when_the_block_ends_leaves_nothing(
    make_tree: MakeTree,
) -> None:
    gate = types.ModuleType("_pike_test_gate")
    gate.entered = threading.Event()  # type: ignore[attr-defined]
    gate.release = threading.Event()  # type: ignore[attr-defined]
    sys.modules["_pike_test_gate"] = gate
    root = make_tree(
        {
            "slowpoke/__init__.py": """
                import os, sys
                import _pike_test_gate as gate
                from . import first
                gate.entered.set()
                assert gate.release.wait(30)
                from . import second  # after the manager ended
                sys.path.append(os.path.dirname(__file__))
            """,
            "slowpoke/first.py": "",
            "slowpoke/second.py": "",
        }
    )
    path_before = list(sys.path)
    mgr = PikeManager([root])
    result: dict[str, object] = {}

    def importer() -> None:
        try:
            importlib.import_module("slowpoke")
        except BaseException as exc:  # reported below
            result["error"] = exc

    thread = threading.Thread(target=importer)
    thread.start()
    try:
        assert gate.entered.wait(WAIT)  # type: ignore[attr-defined]
        mgr.cleanup()  # while slowpoke runs in the other thread
        assert mgr.module_finder not in sys.meta_path
    finally:
        gate.release.set()  # type: ignore[attr-defined]
        thread.join(WAIT)
        del sys.modules["_pike_test_gate"]
    assert not thread.is_alive()
    error = result["error"]
    assert isinstance(error, PluginImportError) and "after its PikeManager was cleaned up" in str(
        error
    )
    assert not [name for name in sys.modules if name.startswith("slowpoke")]
    assert sys.path == path_before
    assert not [k for k in sys.path_importer_cache if str(root) in str(k)]


def test_cleanup_finishes_while_other_threads_change_the_import_state(
    make_tree: MakeTree,
) -> None:
    root = make_tree({f"churn{i}.py": f"class C{i}: pass\n" for i in range(20)})
    stop = threading.Event()
    failures: list[BaseException] = []

    def churn(n: int) -> None:
        try:
            i = 0
            while not stop.is_set():
                name = f"_pike_churn_{n}_{i % 50}"
                sys.modules[name] = types.ModuleType(name)
                sys.path_importer_cache[f"/nonexistent/churn/{n}/{i % 50}"] = None
                sys.modules.pop(f"_pike_churn_{n}_{(i + 25) % 50}", None)
                sys.path_importer_cache.pop(f"/nonexistent/churn/{n}/{(i + 25) % 50}", None)
                i += 1
        except BaseException as exc:  # reported below
            failures.append(exc)

    # One churning thread: more only starve this one of the interpreter lock.
    threads = [threading.Thread(target=churn, args=(0,))]
    for thread in threads:
        thread.start()
    try:
        for _ in range(40):
            with PikeManager([root]) as mgr:
                assert len(mgr.get_classes()) == 20
    finally:
        stop.set()
        for thread in threads:
            thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    for key in [k for k in sys.modules if k.startswith("_pike_churn_")]:
        del sys.modules[key]
    for key in [k for k in sys.path_importer_cache if str(k).startswith("/nonexistent/churn/")]:
        del sys.path_importer_cache[key]
    assert not [n for n in sys.modules if n.startswith("churn")]


def test_cleanup_reads_a_snapshot_of_what_changes_under_it(make_tree: MakeTree) -> None:
    # Deterministic: an importer-cache key that, when cleanup looks at it, adds
    # entries to sys.path_importer_cache and sys.modules, as another thread may.
    root = make_tree({"snap.py": "class Snap: pass\n"})

    class Meddler:
        calls = 0

        def __fspath__(self) -> str:
            Meddler.calls += 1
            sys.path_importer_cache[f"/nonexistent/meddled/{Meddler.calls}"] = None
            sys.modules[f"_pike_meddled_{Meddler.calls}"] = types.ModuleType("meddled")
            return "/nonexistent/meddler"

    meddler = Meddler()
    try:
        with PikeManager([root]) as mgr:
            mgr.get_classes()
            sys.path_importer_cache[meddler] = None  # type: ignore[index]
        assert Meddler.calls >= 1
        assert mgr.module_finder not in sys.meta_path and "snap" not in sys.modules
    finally:
        sys.path_importer_cache.pop(meddler, None)  # type: ignore[call-overload]
        for key in [k for k in sys.path_importer_cache if str(k).startswith("/nonexistent/")]:
            del sys.path_importer_cache[key]
        for key in [k for k in sys.modules if k.startswith("_pike_meddled_")]:
            del sys.modules[key]


def test_managers_starting_and_ending_never_break_other_threads_imports(
    make_tree: MakeTree, meta_path: list[object]
) -> None:
    roots = [make_tree({f"own{i}.py": f"class Own{i}: pass\n"}) for i in range(4)]
    sys.meta_path.append(SyntheticFinder("synthetic_many_"))
    stop = threading.Event()
    failures: list[BaseException] = []
    counts = {"imports": 0, "cycles": 0}

    def importer(n: int) -> None:
        i = 0
        while not stop.is_set():
            name = f"synthetic_many_{n}_{i}"
            try:
                importlib.import_module(name)
            except BaseException as exc:  # reported below
                failures.append(exc)
                return
            del sys.modules[name]
            counts["imports"] += 1
            i += 1

    def cycler(n: int) -> None:
        try:
            for _ in range(100):
                with PikeManager([roots[n]]) as mgr:
                    assert [c.__name__ for c in mgr.get_classes()] == [f"Own{n}"]
                counts["cycles"] += 1
        except BaseException as exc:  # reported below
            failures.append(exc)

    importers = [threading.Thread(target=importer, args=(n,)) for n in range(4)]
    cyclers = [threading.Thread(target=cycler, args=(n,)) for n in range(4)]
    for thread in importers + cyclers:
        thread.start()
    for thread in cyclers:
        thread.join(WAIT * 4)
    stop.set()
    for thread in importers:
        thread.join(WAIT)
    assert not any(thread.is_alive() for thread in importers + cyclers)
    assert failures == []
    assert counts["cycles"] == 400 and counts["imports"] > 0
    assert not [n for n in sys.modules if n.startswith(("own", "synthetic_many_"))]
    assert not [f for f in sys.meta_path if type(f).__name__ == "PikeFinder"]


def test_two_threads_racing_for_one_name_never_share_a_module(make_tree: MakeTree) -> None:
    roots = [make_tree({"contested.py": f"WHO = {i}\n"}) for i in range(2)]
    barrier = threading.Barrier(2, timeout=WAIT)
    seen: dict[int, object] = {}

    def work(i: int) -> None:
        with PikeManager([roots[i]], on_error="collect") as mgr:
            barrier.wait()
            modules = mgr.get_modules()
            seen[i] = ([m.WHO for m in modules], [type(e).__name__ for e in mgr.errors])
            barrier.wait()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads)
    # Each got its own module or a collision, never the other's.
    for i in range(2):
        whos, errors = seen[i]  # type: ignore[misc]
        assert whos in ([i], [])
        assert errors == ([] if whos else ["PluginCollisionError"])
    assert "contested" not in sys.modules


def test_a_manager_kept_by_another_thread_is_ended_by_its_owner_only(
    tmp_path: Path, make_tree: MakeTree
) -> None:
    root = make_tree({"kept.py": "class Kept: pass\n"})
    ready = threading.Event()
    done = threading.Event()
    holder: dict[str, PikeManager] = {}

    def owner() -> None:
        holder["mgr"] = mgr = PikeManager([root])
        mgr.get_classes()
        ready.set()
        assert done.wait(WAIT)
        mgr.cleanup()

    thread = threading.Thread(target=owner)
    thread.start()
    assert ready.wait(WAIT)
    assert "kept" in sys.modules  # the interpreter is shared
    with PikeManager([root], on_error="collect") as other:
        assert other.get_classes() == []
        assert "another active PikeManager" in str(other.errors[0])
    assert "kept" in sys.modules  # the other manager took out nothing of the first's
    done.set()
    thread.join(WAIT)
    assert not thread.is_alive()
    assert "kept" not in sys.modules


def test_with_unload_false_a_late_import_may_finish_and_stay(make_tree: MakeTree) -> None:
    root = make_tree({"kept_late.py": "VALUE = 1\n"})
    mgr = PikeManager([root], unload=False)
    spec = mgr.module_finder.find_spec("kept_late")
    assert spec is not None and spec.loader is not None
    mgr.cleanup()  # the import was under way: its spec was handed out before
    module = importlib.util.module_from_spec(spec)
    sys.modules["kept_late"] = module
    try:
        spec.loader.exec_module(module)  # finishes, as unload=False keeps modules
        assert module.VALUE == 1
    finally:
        del sys.modules["kept_late"]
