"""Reloading never loses a working plugin, plugins' own hooks, and refreshing some paths
only (docs/refresh.md: "Atomic reload", "Load and unload hooks", "Refreshing some paths").

* A module whose new version fails to import keeps its old module objects, in
  ``sys.modules``, in its package and in ``get_classes()`` (the very same classes):
  ``report.kept`` names it, its error is in ``report.errors``, it is not ``changed``.
* A module and the modules that run again with it (those using it, a package's
  submodules) are swapped all or nothing; independent modules each on their own.
* ``__pike_load__`` runs after every successful load, once the module and those
  that run with it are in place; the old version's ``__pike_unload__`` runs after the
  new one imported and before it replaces the old, for a module removed, and at
  cleanup (not under ``unload=False``, never for a module that did not finish
  importing). A hook that raises or takes over a second is a ``PluginHookError``.
* ``refresh(paths)`` looks only at the files and folders given.

Hooks write what they see to a log file in ``tmp_path`` (no state shared with the
test process but the file).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest

from pike.errors import PikeTypeError, PluginHookError, PluginImportError
from pike.manager import PikeManager
from tests.conftest import MakeTree


def names(mgr: PikeManager) -> list[str]:
    return [c.__qualname__ for c in mgr.get_classes()]


def hooked(log: Path, label: str, *, body: str = "") -> str:
    """A plugin module whose hooks append ``load <label>`` / ``unload <label>`` to ``log``,
    and whose import appends ``import <label>``."""
    return f"""\
def _note(what):
    with open({str(log)!r}, "a") as f:
        f.write(what + "\\n")


_note("import {label}")


def __pike_load__():
    _note("load {label}")


def __pike_unload__():
    _note("unload {label}")


class Plugin:
    label = {label!r}
{body}"""


def lines(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


# -- atomic reload ---------------------------------------------------------------------


def test_a_syntax_error_keeps_the_very_same_classes(make_tree: MakeTree) -> None:
    root = make_tree({"a.py": "class A: pass\n", "b.py": "class B: pass\n"})
    with PikeManager([root], on_error="collect") as mgr:
        before = mgr.get_classes()
        module = sys.modules["a"]
        (root / "a.py").write_text("class A(:\n")
        report = mgr.refresh()
        assert (report.changed, report.kept, report.added, report.removed) == ([], ["a"], [], [])
        [error] = report.errors
        assert isinstance(error, PluginImportError) and error.module_name == "a"
        assert sys.modules["a"] is module
        after = mgr.get_classes()
        assert len(after) == 2 and all(x is y for x, y in zip(after, before, strict=True))


def test_a_dependent_that_fails_against_the_new_version_swaps_neither(
    make_tree: MakeTree,
) -> None:
    root = make_tree({"base.py": "class Base: pass\n", "impl.py": IMPL})
    with PikeManager([root], on_error="collect") as mgr:
        before = {c.__qualname__: c for c in mgr.get_classes()}
        (root / "base.py").write_text("class Renamed: pass\n")  # impl's import now fails
        report = mgr.refresh()
        assert report.changed == [] and sorted(report.kept) == ["base", "impl"]
        assert [e.module_name for e in report.errors] == ["impl"]
        assert sys.modules["base"].Base is before["Base"]
        assert not hasattr(sys.modules["base"], "Renamed")
        assert {c.__qualname__: c for c in mgr.get_classes()} == before


IMPL = "from base import Base\n\n\nclass Impl(Base):\n    pass\n"


def test_independent_modules_of_one_refresh_are_applied_each_on_its_own(
    make_tree: MakeTree,
) -> None:
    root = make_tree({"good.py": "class Good: pass\n", "bad.py": "class Bad: pass\n"})
    with PikeManager([root], on_error="collect") as mgr:
        [bad, _good] = sorted(mgr.get_classes(), key=lambda c: c.__qualname__)
        (root / "good.py").write_text("class Good: pass\nclass Better: pass\n")
        (root / "bad.py").write_text("raise RuntimeError('broken')\n")
        report = mgr.refresh()
        assert (report.changed, report.kept) == (["good"], ["bad"])
        assert sys.modules["bad"].Bad is bad
        assert sorted(names(mgr)) == ["Bad", "Better", "Good"]


def test_a_package_keeps_its_old_submodule_when_the_new_one_fails(make_tree: MakeTree) -> None:
    root = make_tree({"pkg/__init__.py": "from .impl import Impl\n", "pkg/impl.py": IMPL_PKG})
    with PikeManager([root], on_error="collect") as mgr:
        [impl] = mgr.get_classes()
        package, submodule = sys.modules["pkg"], sys.modules["pkg.impl"]
        (root / "pkg" / "impl.py").write_text("class Impl(:\n")
        report = mgr.refresh()
        assert report.changed == [] and sorted(report.kept) == ["pkg", "pkg.impl"]
        assert sys.modules["pkg"] is package and sys.modules["pkg.impl"] is submodule
        assert package.impl is submodule and package.Impl is impl
        assert mgr.get_classes() == [impl]
    assert "pkg" not in sys.modules and "pkg.impl" not in sys.modules


IMPL_PKG = "class Impl:\n    pass\n"


def test_a_kept_module_is_loaded_again_once_mended(make_tree: MakeTree) -> None:
    root = make_tree({"a.py": "class A: pass\n"})
    with PikeManager([root], on_error="collect") as mgr:
        mgr.get_classes()
        (root / "a.py").write_text("class A(:\n")
        assert mgr.refresh().kept == ["a"]
        assert not mgr.refresh()  # what failed is not tried again until it changes
        (root / "a.py").write_text("class A: pass\nclass Mended: pass\n")
        report = mgr.refresh()
        assert (report.changed, report.kept, report.errors) == (["a"], [], [])
        assert names(mgr) == ["A", "Mended"]


# -- hooks -------------------------------------------------------------------------------


def test_load_hooks_run_once_everything_is_in_place(make_tree: MakeTree, tmp_path: Path) -> None:
    log = tmp_path / "log"
    root = make_tree({"a.py": hooked(log, "a"), "b.py": hooked(log, "b")})
    with PikeManager([root]) as mgr:
        mgr.get_classes()
        assert lines(log) == ["import a", "import b", "load a", "load b"]
        mgr.get_classes()
        assert lines(log) == ["import a", "import b", "load a", "load b"]  # once per load
    assert lines(log)[4:] == ["unload b", "unload a"]  # at cleanup, the last loaded first


def test_a_swap_unloads_the_old_version_after_the_new_imported(
    make_tree: MakeTree, tmp_path: Path
) -> None:
    log = tmp_path / "log"
    root = make_tree({"a.py": hooked(log, "a1")})
    with PikeManager([root]) as mgr:
        mgr.get_classes()
        (root / "a.py").write_text(hooked(log, "a2"))
        assert mgr.refresh().changed == ["a"]
        assert lines(log) == ["import a1", "load a1", "import a2", "unload a1", "load a2"]


def test_a_rolled_back_version_runs_no_hook(make_tree: MakeTree, tmp_path: Path) -> None:
    log = tmp_path / "log"
    root = make_tree({"a.py": hooked(log, "a1")})
    with PikeManager([root], on_error="collect") as mgr:
        mgr.get_classes()
        (root / "a.py").write_text(hooked(log, "a2", body="\nraise RuntimeError('late')\n"))
        assert mgr.refresh().kept == ["a"]
        assert lines(log) == ["import a1", "load a1", "import a2"]
    assert lines(log)[-1] == "unload a1"  # the version kept is the one taken out


def test_a_removed_module_is_unloaded_and_unload_false_keeps_its_modules_quiet(
    make_tree: MakeTree, tmp_path: Path
) -> None:
    log = tmp_path / "log"
    root = make_tree({"a.py": hooked(log, "a"), "b.py": hooked(log, "b")})
    with PikeManager([root]) as mgr:
        mgr.get_classes()
        (root / "a.py").unlink()
        assert mgr.refresh().removed == ["a"]
        assert lines(log)[-1] == "unload a"
    assert lines(log)[-1] == "unload b"
    log.unlink()
    mgr = PikeManager([root], unload=False)
    try:
        with mgr:
            mgr.get_classes()
        assert lines(log) == ["import b", "load b"]
    finally:
        sys.modules.pop("b", None)


def test_a_module_that_did_not_finish_importing_runs_no_hook(
    make_tree: MakeTree, tmp_path: Path
) -> None:
    log = tmp_path / "log"
    root = make_tree({"a.py": hooked(log, "a", body="\nraise RuntimeError('no')\n")})
    with PikeManager([root], on_error="collect") as mgr:
        assert mgr.get_classes() == []
    assert lines(log) == ["import a"]


BAD_HOOKS = {
    "raises": "def __pike_load__():\n    raise ValueError('hook failed')\n",
    "exits": "def __pike_load__():\n    raise SystemExit(3)\n",
    "slow": "import time\n\n\ndef __pike_load__():\n    time.sleep(1.05)\n",
}


@pytest.mark.parametrize("kind", sorted(BAD_HOOKS))
@pytest.mark.parametrize("on_error", ["raise", "collect"])
def test_a_failing_load_hook_is_an_error_never_raised(
    make_tree: MakeTree, kind: str, on_error: str
) -> None:
    root = make_tree({"a.py": BAD_HOOKS[kind] + "\n\nclass A:\n    pass\n"})
    with PikeManager([root], on_error=on_error) as mgr:  # type: ignore[arg-type]
        assert names(mgr) == ["A"]
        [error] = mgr.errors
        assert isinstance(error, PluginHookError)
        assert (error.module_name, error.hook, error.path) == (
            "a",
            "__pike_load__",
            str(root / "a.py"),
        )
        if kind == "slow":
            assert "more than the 1 s" in str(error) and error.__cause__ is None
        else:
            assert error.lineno == 2 and error.__cause__ is not None


def test_a_failing_unload_hook_is_reported_by_refresh_and_by_cleanup(
    make_tree: MakeTree, caplog: pytest.LogCaptureFixture
) -> None:
    hook = "def __pike_unload__():\n    raise ValueError('unload failed')\n"
    root = make_tree({"a.py": hook, "b.py": hook})
    mgr = PikeManager([root], on_error="collect")
    with mgr:
        mgr.get_classes()
        (root / "a.py").write_text("x = 1\n")
        report = mgr.refresh()
        assert report.changed == ["a"]
        assert [(e.module_name, e.hook) for e in report.errors] == [("a", "__pike_unload__")]
        caplog.set_level(logging.WARNING, logger="pike._session")
    assert [(e.module_name, e.hook) for e in mgr.errors][-1] == ("b", "__pike_unload__")
    assert "unload failed" in caplog.text
    assert "a" not in sys.modules and "b" not in sys.modules


# -- refreshing some paths ----------------------------------------------------------------


def test_refresh_of_some_paths_looks_at_those_only(
    make_tree: MakeTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(
        {
            "a.py": "class A: pass\n",
            "b.py": "class B: pass\n",
            "base.py": "class Base: pass\n",
            "impl.py": IMPL,
            "pkg/__init__.py": "",
            "pkg/sub.py": "class Sub: pass\n",
        }
    )
    with PikeManager([root]) as mgr:
        mgr.get_classes()
        for name in ("a.py", "b.py", "base.py", "pkg/sub.py"):
            path = root / name
            path.write_text(path.read_text() + "x = 1\n")
        assert mgr.refresh(paths=root / "a.py").changed == ["a"]
        assert mgr.refresh(paths=[str(root / "base.py")]).changed == ["base", "impl"]
        assert mgr.refresh(paths=["/nowhere", root.parent]).changed == ["b", "pkg.sub"]
        (root / "c.py").write_text("class C: pass\n")
        (root / "a.py").unlink()
        monkeypatch.chdir(root)
        report = mgr.refresh(paths=("c.py",))  # relative to the current folder
        assert (report.added, report.removed) == (["c"], [])
        assert mgr.refresh(paths=iter([root / "a.py"])).removed == ["a"]
        assert not mgr.refresh()


@pytest.mark.parametrize("paths", [5, [5], b"/x", [b"/x"], ["a\0b"]], ids=range(5))
def test_refresh_paths_of_the_wrong_type_are_refused(make_tree: MakeTree, paths: object) -> None:
    root = make_tree({"a.py": "class A: pass\n"})
    with PikeManager([root]) as mgr, pytest.raises(PikeTypeError, match="paths"):
        mgr.refresh(paths=paths)  # type: ignore[arg-type]


def test_hooks_and_kept_modules_leave_nothing_behind(make_tree: MakeTree, tmp_path: Path) -> None:
    log = tmp_path / "log"
    root = make_tree({"a.py": hooked(log, "a")})
    with PikeManager([root], on_error="collect") as mgr:
        mgr.get_classes()
        (root / "a.py").write_text("class A(:\n")
        mgr.refresh()
    assert "a" not in sys.modules
    assert not [
        n
        for n in sys.modules
        if os.path.dirname(getattr(sys.modules[n], "__file__", "") or "") == str(root)
    ]


def test_a_module_the_host_imports_runs_its_load_hook_at_the_managers_next_call(
    make_tree: MakeTree, tmp_path: Path
) -> None:
    log = tmp_path / "log"
    root = make_tree(
        {"a.py": hooked(log, "a"), "pkg/__init__.py": "", "pkg/sub.py": hooked(log, "sub")}
    )
    with PikeManager([root]) as mgr:
        import a  # type: ignore[import-not-found]  # noqa: F401 - served by the manager

        assert lines(log) == ["import a"]
        mgr.get_classes()
        assert lines(log) == ["import a", "import sub", "load a", "load sub"]
    assert lines(log)[-2:] == ["unload sub", "unload a"]


def test_a_hook_error_pickles_with_its_hook() -> None:
    import pickle

    error = PluginHookError("its hook raised", "a", "/p/a.py", 3, hook="__pike_load__")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.hook, copy.module_name, copy.path, copy.lineno) == (
        "__pike_load__",
        "a",
        "/p/a.py",
        3,
    )
    assert str(copy) == "its hook raised"


# -- what a review found ------------------------------------------------------------------


def test_a_group_kept_for_a_dependents_failure_is_not_tried_again_until_it_changes(
    make_tree: MakeTree,
) -> None:
    root = make_tree({"base.py": "class Base: pass\n", "impl.py": IMPL})
    with PikeManager([root], on_error="collect") as mgr:
        mgr.get_classes()
        (root / "base.py").write_text("class Renamed: pass\n")  # good itself; impl fails
        assert sorted(mgr.refresh().kept) == ["base", "impl"]
        assert not mgr.refresh() and not mgr.refresh(paths=root)


def test_a_module_kept_for_a_missing_import_loads_once_the_module_is_added(
    make_tree: MakeTree,
) -> None:
    root = make_tree({"a.py": "class A:\n    V = 1\n"})
    with PikeManager([root], on_error="collect") as mgr:
        mgr.get_classes()
        (root / "a.py").write_text("from helper import H\n\n\nclass A:\n    V = 2\n")
        assert mgr.refresh().kept == ["a"]
        (root / "helper.py").write_text("class H: pass\n")
        report = mgr.refresh()
        assert (report.added, report.changed, report.kept) == (["helper"], ["a"], [])
        assert sys.modules["a"].A.V == 2


def test_a_dependent_kept_while_its_base_was_gone_follows_the_base_back(
    make_tree: MakeTree,
) -> None:
    root = make_tree({"base.py": "class Base: pass\n", "impl.py": IMPL})
    with PikeManager([root], on_error="collect") as mgr:
        mgr.get_classes()
        (root / "base.py").rename(root / "base.bak")
        report = mgr.refresh()
        assert (report.removed, report.kept) == (["base"], ["impl"])
        (root / "base.bak").rename(root / "base.py")
        report = mgr.refresh()
        assert (report.added, report.changed) == (["base"], ["impl"])
        base = sys.modules["base"].Base
        assert [c.__name__ for c in mgr.get_all_inherited_classes(base)] == ["Impl"]


def test_a_module_added_beside_a_version_not_swapped_holds_the_version_that_stays(
    make_tree: MakeTree,
) -> None:
    root = make_tree({"base.py": "class Base: pass\n", "impl.py": IMPL})
    with PikeManager([root], on_error="collect") as mgr:
        mgr.get_classes()
        (root / "base.py").write_text("class Base: pass\nclass Extra: pass\n")
        (root / "impl.py").write_text("from base import Base\nraise RuntimeError('no')\n")
        (root / "newer.py").write_text("from base import Base\n\n\nclass Newer(Base):\n    pass\n")
        report = mgr.refresh()
        assert report.added == ["newer"] and sorted(report.kept) == ["base", "impl"]
        base = sys.modules["base"].Base
        assert sorted(c.__name__ for c in mgr.get_all_inherited_classes(base)) == ["Impl", "Newer"]


def test_hooks_that_clean_up_or_interrupt_leave_a_whole_state(
    make_tree: MakeTree, tmp_path: Path
) -> None:
    log = tmp_path / "log"
    cleanup = "def __pike_unload__():\n    MGR.cleanup()\n"
    root = make_tree({"a.py": cleanup, "b.py": hooked(log, "b")})
    mgr = PikeManager([root])
    with mgr:
        mgr.get_classes()
        sys.modules["a"].MGR = mgr  # the plugin's unload hook cleans its manager up
    assert lines(log).count("unload b") == 1 and not mgr.active
    assert "a" not in sys.modules and "b" not in sys.modules
    interrupt = "def __pike_unload__():\n    raise KeyboardInterrupt\n"
    root = make_tree({"a.py": interrupt, "b.py": hooked(log, "b")})
    mgr = PikeManager([root])
    with pytest.raises(KeyboardInterrupt), mgr:
        mgr.get_classes()
    assert not mgr.active and "a" not in sys.modules and "b" not in sys.modules
    assert lines(log).count("unload b") == 2
    mgr.cleanup()
    assert lines(log).count("unload b") == 2  # not again


def test_a_load_hook_that_cleans_up_stops_the_hooks_after_it(
    make_tree: MakeTree, tmp_path: Path
) -> None:
    log = tmp_path / "log"
    first = "import builtins\n\n\ndef __pike_load__():\n    builtins.PIKE_TEST_MGR.cleanup()\n"
    root = make_tree({"a.py": first, "b.py": hooked(log, "b")})
    import builtins

    mgr = PikeManager([root])
    builtins.PIKE_TEST_MGR = mgr  # type: ignore[attr-defined]
    try:
        with mgr:
            mgr.get_classes()
    finally:
        del builtins.PIKE_TEST_MGR  # type: ignore[attr-defined]
    assert lines(log) == ["import b", "unload b"]  # taken out, never started after


def test_refresh_paths_are_matched_however_they_are_spelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tmp_path / "release"
    (real / "pkg").mkdir(parents=True)
    (real / "a.py").write_text("V = 1\n")
    (real / "pkg" / "__init__.py").write_text("")
    link = tmp_path / "current"
    link.symlink_to(real)
    with PikeManager([link]) as mgr:
        mgr.get_classes()
        (real / "a.py").write_text("V = 2\n")
        assert mgr.refresh(paths=real / "a.py").changed == ["a"]  # the real path
        (real / "a.py").write_text("V = 3\n")
        monkeypatch.chdir(link)  # the current folder is the real one
        assert mgr.refresh(paths="a.py").changed == ["a"]
        (real / "a.py").write_text("V = 4\n")
        assert mgr.refresh(paths=link).changed == ["a"]
        assert sys.modules["a"].V == 4
