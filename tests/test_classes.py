"""Which classes are plugins, once each, in order (docs/design.md, "Classes")."""

from __future__ import annotations

import sys

import pytest

from pike.discovery import py
from pike.errors import PikeTypeError
from pike.manager import PikeManager
from tests.conftest import MakeTree

TREE = {
    "base_defs.py": "class Base: pass\nclass Other: pass\n",
    "drivers.py": """
        from base_defs import Base, Other
        class Zeta(Base): pass
        class Alpha(Base): pass
        Alias = Alpha
        class NotADriver: pass
    """,
    "pkg/__init__.py": "from pkg.impl import Impl\n",
    "pkg/impl.py": "from base_defs import Base\nclass Impl(Base): pass\n",
}


def names(classes: list[type]) -> list[str]:
    return [c.__qualname__ for c in classes]


def test_each_defined_class_once_in_order(make_tree: MakeTree) -> None:
    root = make_tree(TREE)
    with PikeManager([root]) as mgr:
        assert names(mgr.get_classes()) == [
            "Base",
            "Other",
            "Zeta",
            "Alpha",
            "NotADriver",
            "Impl",
        ]


def test_filter_func_is_any_predicate(make_tree: MakeTree) -> None:
    root = make_tree(TREE)
    with PikeManager([root]) as mgr:
        assert names(mgr.get_classes(lambda c: c.__name__.startswith("A"))) == ["Alpha"]
        assert names(mgr.get_classes(lambda c: 0)) == []
        with pytest.raises(PikeTypeError, match=r"^filter_func is a str; pass a callable"):
            mgr.get_classes("not callable")  # type: ignore[arg-type]


def test_inherited_classes_are_strict_subclasses(make_tree: MakeTree) -> None:
    root = make_tree(TREE)
    with PikeManager([root]) as mgr:
        import base_defs  # type: ignore[import-not-found]

        found = mgr.get_all_inherited_classes(base_defs.Base)
        assert names(found) == ["Zeta", "Alpha", "Impl"]
        assert all(issubclass(c, base_defs.Base) for c in found)
        assert mgr.get_all_inherited_classes(object)[0] is base_defs.Base
        with pytest.raises(PikeTypeError, match="not a class"):
            mgr.get_all_inherited_classes("Base")  # type: ignore[arg-type]


def test_discovery_py_keeps_namespace_meaning_without_duplicates(make_tree: MakeTree) -> None:
    root = make_tree(TREE)
    with PikeManager([root]):
        drivers = py.get_module_by_name("drivers")
        # Namespace meaning: imported classes are there, the alias is not repeated.
        assert names(list(py.classes_in_module(drivers))) == [
            "Base",
            "Other",
            "Zeta",
            "Alpha",
            "NotADriver",
        ]
        base = sys.modules["base_defs"].Base
        assert names(py.get_inherited_classes(drivers, base)) == ["Zeta", "Alpha"]
        pkg = py.get_module_by_name("pkg")
        assert names(py.get_all_classes(pkg)) == ["Impl", "Base"]
        assert names(py.get_all_inherited_classes(pkg, base)) == ["Impl"]
        assert [m.__name__ for m in py.get_child_modules(pkg)] == ["pkg.impl"]
        assert list(py.get_child_modules(drivers)) == []  # a plain module has no children


def test_get_child_modules_walks_any_depth(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "top/__init__.py": "",
            "top/a/__init__.py": "",
            "top/a/b/__init__.py": "",
            "top/a/b/c.py": "class C: pass\n",
            "top/z.py": "",
        }
    )
    with PikeManager([root]):
        top = py.get_module_by_name("top")
        assert [m.__name__ for m in py.get_child_modules(top)] == [
            "top.a",
            "top.a.b",
            "top.a.b.c",
            "top.z",
        ]
        assert [m.__name__ for m in py.get_child_modules(top, recursive=False)] == [
            "top.a",
            "top.z",
        ]
        assert names(py.get_all_classes(top)) == ["C"]


def test_get_child_modules_survives_a_symlink_loop(make_tree: MakeTree) -> None:
    root = make_tree({"loopy/__init__.py": "", "loopy/sub/__init__.py": ""})
    (root / "loopy" / "sub" / "back").symlink_to(root / "loopy")
    with PikeManager([root], on_error="collect"):
        loopy = py.get_module_by_name("loopy")
        found = [m.__name__ for m in py.get_child_modules(loopy)]
    assert found[:2] == ["loopy.sub", "loopy.sub.back"]
    assert len(found) < 10


def test_classes_with_a_foreign_module_name_are_not_plugins(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "factory_user.py": """
                import collections
                Point = collections.namedtuple("Point", "x y")
                Made = type("Made", (), {"__module__": "somewhere_else"})
            """
        }
    )
    with PikeManager([root]) as mgr:
        assert names(mgr.get_classes()) == ["Point"]


def test_child_modules_of_a_package_with_a_missing_folder() -> None:
    ghost = type(sys)("ghost_pkg")
    ghost.__path__ = ["/no/such/folder/anywhere"]  # type: ignore[attr-defined]
    assert list(py.get_child_modules(ghost)) == []


def test_inherited_classes_are_typed_by_their_base() -> None:
    import typing

    hints = typing.get_type_hints(PikeManager.get_all_inherited_classes)
    base = hints["base_class"]
    assert typing.get_origin(base) is type
    [var] = typing.get_args(base)
    assert isinstance(var, typing.TypeVar)
    assert hints["return"] == list[type[var]]  # type: ignore[valid-type]


def test_a_metaclass_whose_hash_raises(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "unhashable.py": """
                class Meta(type):
                    def __hash__(cls):
                        raise RuntimeError("no hashing me")

                class Odd(metaclass=Meta):
                    pass

                class Plain:
                    pass

                ODD = Odd()  # an instance: its class is hashed by a careless reader
            """
        }
    )
    with PikeManager([root]) as mgr:
        assert [c.__name__ for c in mgr.get_classes()] == ["Meta", "Odd", "Plain"]
        assert [c.__name__ for c in mgr.get_all_inherited_classes(object)] == [
            "Meta",
            "Odd",
            "Plain",
        ]
        assert mgr.errors == []
