"""What pike does to the garbage collector for speed is undone exactly
(docs/design.md, "Speed").

(Speed itself is measured by benchmarks/run.py, never asserted here.)
"""

from __future__ import annotations

import gc
import sys
import threading

from pike.manager import PikeManager
from tests.conftest import MakeTree

RECORDER = (
    "import gc\n"
    "THRESHOLD_DURING_IMPORT = gc.get_threshold()\n"
    "ENABLED_DURING_IMPORT = gc.isenabled()\n"
)


def test_the_collector_is_stopped_while_a_few_modules_import_then_restored(
    make_tree: MakeTree,
) -> None:
    root = make_tree({"gc_probe.py": RECORDER})
    before = gc.get_threshold()
    assert gc.isenabled()
    with PikeManager([root]) as mgr:
        [module] = mgr.get_modules()
        assert not module.ENABLED_DURING_IMPORT  # what plugins make dies young
        assert before == module.THRESHOLD_DURING_IMPORT
        assert gc.get_threshold() == before
        assert gc.isenabled()


def test_many_modules_import_with_young_collections_and_no_full_one(
    make_tree: MakeTree,
) -> None:
    from pike._interpreter import MANY_MODULES

    layout = {f"m{i:04}.py": "" for i in range(MANY_MODULES)}
    root = make_tree({**layout, "zz_gc_probe.py": RECORDER})
    before = gc.get_threshold()
    with PikeManager([root]) as mgr:
        module = mgr.get_modules()[-1]
        assert module.__name__ == "zz_gc_probe"
        assert module.ENABLED_DURING_IMPORT
        young, middle, old = module.THRESHOLD_DURING_IMPORT
        assert (young, middle) == before[:2]  # the young generations as usual
        assert old > 10**6  # no full collection while plugins import
        assert gc.get_threshold() == before
        assert gc.isenabled()


def test_odd_thresholds_of_the_program_are_restored_exactly(make_tree: MakeTree) -> None:
    root = make_tree({"gc_probe.py": RECORDER})
    before = gc.get_threshold()
    gc.set_threshold(123, 4, 5)
    try:
        with PikeManager([root]) as mgr:
            [module] = mgr.get_modules()
            assert module.THRESHOLD_DURING_IMPORT == (123, 4, 5)
        assert gc.get_threshold() == (123, 4, 5)
    finally:
        gc.set_threshold(*before)


def test_a_disabled_collector_stays_disabled(make_tree: MakeTree) -> None:
    from pike._interpreter import MANY_MODULES

    root = make_tree({f"m{i:04}.py": "" for i in range(MANY_MODULES + 1)})
    before = gc.get_threshold()
    gc.disable()
    try:
        with PikeManager([root]) as mgr:
            mgr.get_modules()
            assert not gc.isenabled()
            assert gc.get_threshold() == before
    finally:
        gc.enable()


def test_collector_restored_after_an_error_and_when_nested(make_tree: MakeTree) -> None:
    inner = make_tree({"inner_mod.py": "class Inner: pass\n"})
    outer = make_tree(
        {
            "nests.py": (
                "from pike.manager import PikeManager\n"
                f"with PikeManager([{str(inner)!r}]) as m:\n"
                "    FOUND = [c.__name__ for c in m.get_classes()]\n"
            ),
            "z_fails.py": "raise ValueError('late failure')\n",
        }
    )
    with PikeManager([outer], on_error="collect") as mgr:
        [module] = mgr.get_modules()
        assert module.FOUND == ["Inner"]
        assert len(mgr.errors) == 1
    assert gc.isenabled()
    assert gc.get_threshold()[2] < 10**6


def test_collector_restored_when_managers_load_in_two_threads(make_tree: MakeTree) -> None:
    barrier = threading.Barrier(2)
    roots = [
        make_tree({f"t{i}_wait.py": "import threading_gate\nthreading_gate.wait()\n"})
        for i in range(2)
    ]
    gate = type(sys)("threading_gate")
    gate.wait = barrier.wait  # type: ignore[attr-defined]
    sys.modules["threading_gate"] = gate
    try:

        def work(i: int) -> None:
            with PikeManager([roots[i]]) as mgr:
                mgr.get_modules()  # both threads are inside a pause at the barrier

        threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        del sys.modules["threading_gate"]
    assert gc.isenabled()
    assert gc.get_threshold()[2] < 10**6


def test_a_collector_turned_on_meanwhile_by_the_host_is_left_on(make_tree: MakeTree) -> None:
    """The pause restores only what it changed: a collector the program had turned off
    and turned on again while plugins imported (here from inside the import, as another
    thread of the program could) stays on."""
    root = make_tree({"turns_on.py": "import gc\ngc.enable()\n"})
    gc.disable()
    try:
        with PikeManager([root]) as mgr:
            mgr.get_modules()
            assert gc.isenabled()
    finally:
        gc.enable()
