"""Hostile and odd plugins never break pike, and cleanup still completes
(docs/design.md, "Hostile plugins")."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import pytest

from pike.discovery import static
from pike.errors import PikeError, PluginImportError, PluginObjectError
from pike.manager import PikeManager
from tests.conftest import MakeTree

TRAP = """
class Trap:
    def __getattribute__(self, name):
        raise RuntimeError("no attribute " + name)
    def __getattr__(self, name):
        raise RuntimeError("no attribute " + name)
    def __eq__(self, other):
        raise RuntimeError("no comparing")
    def __hash__(self):
        raise RuntimeError("no hashing")
    def __bool__(self):
        raise RuntimeError("no truth")
"""


def names(classes: list[type]) -> list[str]:
    return [type.__dict__["__qualname__"].__get__(cls) for cls in classes]


def test_objects_that_raise_on_every_touch_are_passed_over(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "traps.py": TRAP
            + """
trap = Trap()
class Meta(type):
    def __getattribute__(cls, name):
        raise RuntimeError("meta " + name)
    def __eq__(cls, other):
        raise RuntimeError("meta eq")
    __hash__ = type.__hash__
class Sneaky(metaclass=Meta):
    pass
class Liar:
    __module__ = Trap()
class Numbered:
    __module__ = 42
class Fine:
    pass
""",
            "user.py": "from traps import Fine, trap\nclass UsesFine(Fine): pass\n",
            "whatever.py": "def __getattr__(name):\n    raise RuntimeError('module ' + name)\n",
        }
    )
    with PikeManager([root]) as mgr:
        assert names(mgr.get_classes()) == ["Trap", "Meta", "Sneaky", "Fine", "UsesFine"]
        assert names(mgr.get_all_inherited_classes(object)) == names(mgr.get_classes())
        (root / "traps.py").write_text((root / "traps.py").read_text() + "\n# edited\n")
        os.utime(root / "traps.py", ns=(1, 1))
        report = mgr.refresh()
        assert report.changed == ["traps", "user"]
        assert mgr.errors == []
    assert "traps" not in sys.modules


def test_an_exception_whose_str_raises(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "unprintable.py": """
                class Unprintable(Exception):
                    def __str__(self):
                        raise RuntimeError("no str")
                    def __repr__(self):
                        raise RuntimeError("no repr")
                raise Unprintable()
            """
        }
    )
    with PikeManager([root], on_error="collect") as mgr:
        assert mgr.get_classes() == []
        [error] = mgr.errors
    assert isinstance(error, PluginImportError)
    assert "Unprintable (its message cannot be shown: str() raised RuntimeError)" in str(error)
    assert type(error.__cause__).__name__ == "Unprintable"


@pytest.mark.parametrize(
    "raised",
    [
        "SyntaxError('made up')",
        "SyntaxError('made up', (None, 3, 1, 'x'))",
        "SyntaxError('made up', ([], 'three', None, None))",
        "SyntaxError('made up', ('<string>', 9, 1, 'x'))",
        "SyntaxError('made up', (__file__ + 'x', 9, 1, 'x'))",
    ],
)
def test_a_syntax_error_without_a_real_file(make_tree: MakeTree, raised: str) -> None:
    root = make_tree({"fake.py": f"x = 1\nraise {raised}\n"})
    with PikeManager([root], on_error="collect") as mgr:
        mgr.get_classes()
        [error] = mgr.errors
    assert isinstance(error, PluginImportError)
    assert error.lineno == 2  # from the traceback, not from the made-up location
    assert "SyntaxError: made up" in str(error)


@pytest.mark.parametrize(
    "raised", ["GeneratorExit", "SystemExit(3)", "Custom('mine')", "StopIteration", "MemoryError"]
)
def test_any_base_exception_but_keyboard_interrupt_is_a_plugin_error(
    make_tree: MakeTree, raised: str
) -> None:
    root = make_tree(
        {
            "aborts.py": f"class Custom(BaseException): pass\nraise {raised}\n",
            "fine.py": "class Fine: pass\n",
        }
    )
    with PikeManager([root], on_error="collect") as mgr:
        assert names(mgr.get_classes()) == ["Fine"]
        [error] = mgr.errors
    assert isinstance(error, PluginImportError) and error.module_name == "aborts"
    assert "aborts" not in sys.modules


def test_keyboard_interrupt_propagates_after_cleanup(make_tree: MakeTree) -> None:
    root = make_tree({"a_fine.py": "class A: pass\n", "b_stop.py": "raise KeyboardInterrupt\n"})
    mgr = PikeManager([root])
    with pytest.raises(KeyboardInterrupt):
        mgr.get_classes()
    assert not mgr.active
    assert mgr.module_finder not in sys.meta_path
    assert "a_fine" not in sys.modules


def test_a_garbage_sys_path_entry_does_not_stop_cleanup(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "garbage.py": """
                import os, sys
                sys.path.append([])
                sys.path.append(os.path.dirname(__file__))
                class Garbage: pass
            """
        }
    )
    before = list(sys.path)
    try:
        with PikeManager([root]) as mgr:
            mgr.get_classes()
        # Its own folder is taken out; the list, which points nowhere, is kept.
        assert sys.path == [*before, []]
        assert "garbage" not in sys.modules
        assert mgr.module_finder not in sys.meta_path
    finally:
        sys.path[:] = before


def test_a_planted_finder_whose_eq_raises(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "planter.py": TRAP.replace("class Trap:", "class Finder:")
            + """
import sys
Finder.find_spec = lambda self, *args: None
sys.meta_path.insert(0, Finder())
class Planted: pass
""",
            "other.py": "class Other: pass\n",
        }
    )
    meta_before = list(sys.meta_path)
    try:
        with PikeManager([root]) as mgr:
            assert names(mgr.get_classes()) == ["Other", "Finder", "Planted"]
            with PikeManager([root], on_error="collect") as nested:  # others still work
                nested.get_classes()
        assert not any(type(f).__name__ == "Finder" for f in sys.meta_path)  # taken out
        assert all(f is not mgr.module_finder for f in sys.meta_path)
        assert "planter" not in sys.modules and "other" not in sys.modules
    finally:
        sys.meta_path[:] = meta_before


def test_a_subclass_check_that_raises(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "abcs.py": """
                import abc
                class Picky(abc.ABCMeta):
                    def __subclasscheck__(cls, other):
                        raise RuntimeError("no subclass checks")
                class Base(metaclass=Picky): pass
            """,
            "impl.py": "class Impl: pass\n",
        }
    )
    with PikeManager([root]) as mgr:
        import abcs  # type: ignore[import-not-found]

        with pytest.raises(PluginObjectError) as info:
            mgr.get_all_inherited_classes(abcs.Base)
        assert info.value.module_name == "abcs" and info.value.qualname == "Picky"
        assert str(root / "abcs.py") in str(info.value)
        assert isinstance(info.value.__cause__, RuntimeError)
    with PikeManager([root], on_error="collect") as mgr:
        import abcs

        assert mgr.get_all_inherited_classes(abcs.Base) == []
        # Every class but Base itself (never asked about) made the check raise.
        assert {e.qualname for e in mgr.errors if isinstance(e, PluginObjectError)} == {
            "Picky",
            "Impl",
        }


def test_a_filter_that_a_plugin_class_makes_raise(make_tree: MakeTree) -> None:
    root = make_tree(
        {"props.py": "class Odd:\n    pass\nclass Even:\n    pass\n"},
    )

    def picky(cls: type) -> bool:
        if cls.__name__ == "Odd":
            raise LookupError("odd one")
        return True

    with PikeManager([root], on_error="collect") as mgr:
        assert names(mgr.get_classes(picky)) == ["Even"]
        [error] = mgr.errors
        assert isinstance(error, PluginObjectError) and error.qualname == "Odd"
        assert "props.Odd" in str(error) and "LookupError: odd one" in str(error)


def test_symbolic_link_loops_between_files_are_skipped(make_tree: MakeTree) -> None:
    root = make_tree({"fine.py": "class Fine: pass\n"})
    (root / "ping.py").symlink_to(root / "pong.py")
    (root / "pong.py").symlink_to(root / "ping.py")
    (root / "self.py").symlink_to(root / "self.py")
    with PikeManager([root]) as mgr:
        assert names(mgr.get_classes()) == ["Fine"]
        reasons = {Path(s.path).name: s.reason for s in mgr.skipped}
    assert reasons.keys() == {"ping.py", "pong.py", "self.py"}
    assert all("symbolic link loop" in reason for reason in reasons.values())


def test_a_device_named_like_a_module_is_skipped(make_tree: MakeTree) -> None:
    root = make_tree({"fine.py": "class Fine: pass\n"})
    (root / "null.py").symlink_to("/dev/null")
    with PikeManager([root]) as mgr:
        assert names(mgr.get_classes()) == ["Fine"]
        [skipped] = mgr.skipped
    assert skipped.reason.startswith("not a regular file")


def test_a_plugin_that_ends_its_own_manager(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "a_first.py": "class First: pass\n",
            "b_killer.py": """
                import gc
                for obj in gc.get_objects():
                    if type(obj).__name__ == "PikeManager":
                        obj.cleanup()
            """,
            "c_after.py": "class After: pass\n",
        }
    )
    mgr = PikeManager([root], on_error="collect")
    with contextlib.suppress(PikeError):  # a pike error is allowed; anything else is not
        mgr.get_classes()
    assert mgr.module_finder not in sys.meta_path
    assert not [n for n in ("a_first", "b_killer", "c_after") if n in sys.modules]
    mgr.cleanup()


def test_a_plugin_that_removes_itself_from_sys_modules(make_tree: MakeTree) -> None:
    root = make_tree({"vanisher.py": "import sys\ndel sys.modules[__name__]\n", "ok.py": ""})
    with PikeManager([root], on_error="collect") as mgr:
        assert [m.__name__ for m in mgr.get_modules()] == ["ok"]
        [error] = mgr.errors
        assert error.module_name == "vanisher"


def test_an_expression_too_deep_to_walk_is_reported_per_file(make_tree: MakeTree) -> None:
    deep = "+".join(["1"] * 900)
    root = make_tree({"deep.py": f"class A({deep}):\n    pass\n", "fine.py": "class Fine: pass\n"})
    listing = static.list_classes([root])
    assert [c.name for c in listing.classes] == ["Fine"]
    [error] = listing.errors
    assert error.module == "deep"
    assert "too" in error.message  # too deep / too complex, in the file's own report


@pytest.mark.skipif(sys.version_info < (3, 11), reason="try/except* is Python 3.11+")
def test_classes_in_try_except_star_are_listed(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "starry.py": """
                try:
                    class InTry: pass
                except* ValueError:
                    class InHandler: pass
                else:
                    class InElse: pass
                finally:
                    class InFinally: pass
            """
        }
    )
    assert [c.name for c in static.list_classes([root])] == [
        "InTry",
        "InHandler",
        "InElse",
        "InFinally",
    ]
