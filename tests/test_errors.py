"""Plugin errors, the on_error policy, and nothing left half-imported
(docs/design.md, "Errors")."""

from __future__ import annotations

import os
import pickle
import sys
import warnings

import pytest

from pike.errors import (
    PikeTypeError,
    PikeValueError,
    PikeWarning,
    PluginError,
    PluginImportError,
)
from pike.manager import PikeManager
from tests.conftest import MakeTree, run_python

BROKEN = {
    "a_good.py": "class Good: pass\n",
    "b_syntax.py": "x = 1\ndef broken(:\n",
    "c_runtime.py": "A = 1\nraise RuntimeError('plugin exploded')\n",
    "d_exit.py": "import sys\nsys.exit(3)\n",
    "e_good.py": "class AlsoGood: pass\n",
}


def test_errors_carry_module_path_line_and_cause(make_tree: MakeTree) -> None:
    root = make_tree(BROKEN)
    with PikeManager([root], on_error="collect") as mgr:
        assert [c.__name__ for c in mgr.get_classes()] == ["Good", "AlsoGood"]
        errors = mgr.errors
    assert [e.module_name for e in errors] == ["b_syntax", "c_runtime", "d_exit"]
    syntax, runtime, exit_ = errors
    assert all(isinstance(e, PluginImportError) for e in errors)
    assert all(isinstance(e, ImportError) for e in errors)
    assert syntax.path == str(root / "b_syntax.py")
    assert syntax.lineno == 2
    assert isinstance(syntax.__cause__, SyntaxError)
    assert runtime.lineno == 2
    assert isinstance(runtime.__cause__, RuntimeError)
    assert "plugin exploded" in str(runtime)
    assert f"{root / 'c_runtime.py'}, line 2" in str(runtime)
    assert isinstance(exit_.__cause__, SystemExit)
    assert exit_.lineno == 2
    for name in ("b_syntax", "c_runtime", "d_exit"):
        assert name not in sys.modules


def test_raise_is_the_default_and_raises_the_first_error(make_tree: MakeTree) -> None:
    root = make_tree(BROKEN)
    with PikeManager([root]) as mgr:
        with pytest.raises(PluginImportError) as info:
            mgr.get_classes()
        assert info.value.module_name == "b_syntax"
        assert [e.module_name for e in mgr.errors] == ["b_syntax"]
        assert "a_good" in sys.modules
        assert "e_good" not in sys.modules  # discovery stopped at the first error


def test_warn_issues_a_pike_warning_and_carries_on(make_tree: MakeTree) -> None:
    root = make_tree(BROKEN)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with PikeManager([root], on_error="warn") as mgr:
            assert [c.__name__ for c in mgr.get_classes()] == ["Good", "AlsoGood"]
    assert [w.category for w in caught] == [PikeWarning] * 3
    assert "b_syntax" in str(caught[0].message)


def test_callable_receives_each_error(make_tree: MakeTree) -> None:
    root = make_tree(BROKEN)
    seen: list[PluginError] = []
    with PikeManager([root], on_error=seen.append) as mgr:
        assert len(mgr.get_classes()) == 2
        assert seen == mgr.errors
    assert len(seen) == 3


def test_callable_may_raise_to_stop(make_tree: MakeTree) -> None:
    root = make_tree(BROKEN)

    class Stop(Exception):
        pass

    def stop(error: PluginError) -> None:
        raise Stop(error.module_name)

    with PikeManager([root], on_error=stop) as mgr:
        with pytest.raises(Stop, match="b_syntax"):
            mgr.get_classes()
        assert len(mgr.errors) == 1


@pytest.mark.parametrize("bad", ["ignore", "RAISE", ""])
def test_unknown_policy_is_a_value_error(make_tree: MakeTree, bad: str) -> None:
    with pytest.raises(ValueError, match="'raise', 'warn', 'collect'") as info:
        PikeManager([make_tree({})], on_error=bad)  # type: ignore[arg-type]
    assert isinstance(info.value, PikeValueError)


def test_non_callable_policy_is_a_type_error(make_tree: MakeTree) -> None:
    with pytest.raises(PikeTypeError, match=r"^on_error is an int; use 'raise'"):
        PikeManager([make_tree({})], on_error=3)  # type: ignore[arg-type]


def test_keyboard_interrupt_propagates_after_cleanup(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "a_ok.py": "",
            "b_interrupt/__init__.py": "from . import part\nraise KeyboardInterrupt\n",
            "b_interrupt/part.py": "",
        }
    )
    mgr = PikeManager([root])
    with pytest.raises(KeyboardInterrupt):
        mgr.get_classes()
    assert mgr.module_finder not in sys.meta_path
    assert not any(n.startswith(("a_ok", "b_interrupt")) for n in sys.modules)


def test_failed_package_leaves_no_submodule_behind(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "half/__init__.py": (
                "from . import first\nfrom .deeper import inner\nraise ImportError('no')\n"
            ),
            "half/first.py": "class First: pass\n",
            "half/deeper/__init__.py": "",
            "half/deeper/inner.py": "",
            "later.py": "class Later: pass\n",
        }
    )
    with PikeManager([root], on_error="collect") as mgr:
        assert [c.__name__ for c in mgr.get_classes()] == ["Later"]
        assert not any(n == "half" or n.startswith("half.") for n in sys.modules)
        [error] = mgr.errors
        assert error.module_name == "half"
        assert error.lineno == 3


def test_failed_submodule_is_reported_and_siblings_load(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "class A: pass\n",
            "pkg/b/__init__.py": "from . import c\nraise ValueError('b fails')\n",
            "pkg/b/c.py": "",
            "pkg/d.py": "class D: pass\n",
        }
    )
    with PikeManager([root], on_error="collect") as mgr:
        assert [c.__name__ for c in mgr.get_classes()] == ["A", "D"]
        assert [e.module_name for e in mgr.errors] == ["pkg.b"]
        assert "pkg.b.c" not in sys.modules


def test_import_error_inside_a_plugin(make_tree: MakeTree) -> None:
    root = make_tree({"needs.py": "import not_installed_anywhere_xyz\n"})
    with PikeManager([root], on_error="collect") as mgr:
        mgr.get_classes()
        [error] = mgr.errors
    assert isinstance(error.__cause__, ModuleNotFoundError)
    assert "not_installed_anywhere_xyz" in str(error)
    assert error.lineno == 1


def test_errors_pickle(make_tree: MakeTree) -> None:
    root = make_tree({"bad.py": "1/0\n"})
    with PikeManager([root], on_error="collect") as mgr:
        mgr.get_classes()
        [error] = mgr.errors
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.module_name, copy.path, copy.lineno, str(copy)) == (
        error.module_name,
        error.path,
        error.lineno,
        str(error),
    )


def test_errors_reset_on_each_activation(make_tree: MakeTree) -> None:
    root = make_tree({"bad_again.py": "1/0\n"})
    mgr = PikeManager([root], on_error="collect")
    mgr.get_classes()
    assert len(mgr.errors) == 1
    mgr.cleanup()
    assert len(mgr.errors) == 1  # still readable after the block
    with mgr:
        mgr.get_classes()
        assert len(mgr.errors) == 1


def test_collision_and_search_path_errors_pickle(make_tree: MakeTree) -> None:
    from pike.errors import PluginCollisionError, SearchPathError

    root = make_tree({"json.py": ""})
    with PikeManager([root], on_error="collect") as mgr:
        mgr.get_classes()
        [error] = mgr.errors
    assert isinstance(error, PluginCollisionError)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.other, str(copy)) == (error.other, str(error))
    path_error = pickle.loads(pickle.dumps(SearchPathError("/x", "does not exist")))
    assert (path_error.path, str(path_error)) == ("/x", "search path '/x' does not exist")


def test_warning_points_at_the_callers_line(make_tree: MakeTree) -> None:
    root = make_tree({"warns.py": "1/0\n"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with PikeManager([root], on_error="warn") as mgr:
            mgr.get_all_inherited_classes(object)
    [warning] = caught
    assert warning.filename == __file__


def test_cause_traceback_starts_in_the_import_system(make_tree: MakeTree) -> None:
    root = make_tree({"tb_mod.py": "def f():\n    raise KeyError('k')\nf()\n"})
    with PikeManager([root], on_error="collect") as mgr:
        mgr.get_classes()
        cause = mgr.errors[0].__cause__
    assert cause is not None
    frames = []
    tb = cause.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    assert "pike" not in os.path.dirname(frames[0]).split(os.sep)[-1:]
    assert frames[-1] == str(root / "tb_mod.py")


def test_line_is_also_readable_as_line(make_tree: MakeTree) -> None:
    root = make_tree({"lined.py": "x = 1\n1/0\n"})
    with PikeManager([root], on_error="collect") as mgr:
        mgr.get_classes()
        [error] = mgr.errors
    assert error.line == error.lineno == 2


def test_the_new_errors_pickle_with_their_fields() -> None:
    from pike.errors import PluginObjectError, UntrustedPathError, UntrustedPluginError

    untrusted = UntrustedPluginError("m", "mod", "/p/mod.py", 3, owner=7, mode=0o100666)
    copy = pickle.loads(pickle.dumps(untrusted))
    assert (copy.module_name, copy.path, copy.lineno, copy.owner, copy.mode) == (
        "mod",
        "/p/mod.py",
        3,
        7,
        0o100666,
    )
    assert isinstance(copy, ImportError) and copy.name == "mod"
    folder = pickle.loads(pickle.dumps(UntrustedPathError("/p", "is open", owner=7, mode=0o40777)))
    assert (folder.path, folder.owner, folder.mode, str(folder)) == (
        "/p",
        7,
        0o40777,
        "search path '/p' is open",
    )
    odd = pickle.loads(pickle.dumps(PluginObjectError("m", "mod", "/p", qualname="mod.Odd")))
    assert odd.qualname == "mod.Odd"


def test_errors_and_skips_are_logged_on_module_loggers(
    make_tree: MakeTree, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from pike.named import ExtensionManager

    root = make_tree(
        {
            "broken.py": "1/0\n",
            "bad-name.py": "",
            "entry_points.txt": "[g]\nbroken = broken:X\n",
        }
    )
    with (
        caplog.at_level(logging.DEBUG, logger="pike"),
        caplog.at_level(logging.DEBUG, logger="stevedore"),
    ):
        with PikeManager([root], on_error="collect") as mgr:
            mgr.get_classes()
        with ExtensionManager("g", search_paths=[root]):  # logs and skips
            pass
    by_logger = {(r.name, r.levelname) for r in caplog.records}
    assert ("pike._policy", "INFO") in by_logger  # each plugin error
    assert ("pike._walk", "DEBUG") in by_logger  # each skipped entry
    # A named plugin that did not load: where stevedore logs it, for stevedore programs.
    assert ("stevedore.extension", "ERROR") in by_logger
    assert any("ZeroDivisionError" in r.getMessage() for r in caplog.records)
    # A library adds no handlers of its own: the program decides where logs go.
    for name in ("pike", "pike._policy", "pike._walk", "pike.named", "pike._session"):
        assert logging.getLogger(name).handlers == []


def test_pikes_loggers_import_logging_only_for_a_record_that_could_be_seen() -> None:
    # DEBUG and INFO records with logging never imported reach nobody (no level
    # or handler lets them through): pike drops them without importing logging.
    # WARNING and above always go out (Python's last-resort handler shows them).
    code = """
        import sys
        from pike import _log
        log = _log.get("pike.example")
        log.debug("dropped %s", 1)
        log.info("dropped too")
        print("logging" in sys.modules, log.isEnabledFor(10), log.isEnabledFor(30))
        log.warning("shown %s", "here")
        print("logging" in sys.modules)
    """
    result = run_python(code, "-S")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "True", "True"]
    assert result.stderr.strip() == "shown here"
    configured = """
        import logging
        shown = "%(name)s %(levelname)s %(funcName)s %(message)s"
        logging.basicConfig(level=logging.DEBUG, format=shown)
        from pike import _log
        def caller():
            _log.get("pike.example").debug("seen %s", 2)
            _log.get("pike.example").exception("failed")
        caller()
    """
    result = run_python(configured)
    lines = result.stderr.splitlines()
    assert lines[0] == "pike.example DEBUG caller seen 2"  # the caller, not pike._log
    assert lines[1] == "pike.example ERROR caller failed"
