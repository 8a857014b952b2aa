"""Listing classes from source alone; no plugin code runs
(docs/design.md, "Static listing")."""

from __future__ import annotations

import os
import py_compile
import sys

import pytest

import pike.discovery
from pike.discovery import static
from pike.errors import PikeTypeError, SearchPathError
from tests.conftest import MakeTree

TREE = {
    "bases.py": "class Driver:\n    pass\n\n\nclass Extension:\n    pass\n",
    "drivers.py": """
        from bases import Driver as D
        import bases

        class Simple(D):
            pass

        class Other(bases.Driver):
            pass

        class Fancy(Simple):
            pass
    """,
    "exts/__init__.py": "from .impl import Ext\n",
    "exts/impl.py": """
        from ..bases import Extension
        class Ext(Extension):
            pass
    """,
    "more.py": """
        import exts
        class Further(exts.Ext):
            pass

        try:
            class InTry(object):
                pass
        except ImportError:
            pass

        def factory():
            class Hidden:
                pass
    """,
}


def names(listing: static.StaticListing) -> list[str]:
    return [c.qualname for c in listing.classes]


def test_lists_classes_with_module_file_line_and_bases(make_tree: MakeTree) -> None:
    root = make_tree(TREE)
    listing = static.list_classes([root])
    assert names(listing) == [
        "bases.Driver",
        "bases.Extension",
        "drivers.Simple",
        "drivers.Other",
        "drivers.Fancy",
        "exts.impl.Ext",
        "more.Further",
        "more.InTry",
    ]
    simple = listing.classes[2]
    assert (simple.module, simple.name, simple.lineno) == ("drivers", "Simple", 5)
    assert simple.path == str(root / "drivers.py")
    assert simple.bases == ("D",)
    assert simple.resolved_bases == ("bases.Driver",)
    assert listing.classes[3].bases == ("bases.Driver",)
    assert listing.errors == [] and listing.skipped == []


def test_base_filter_follows_inheritance_across_files(make_tree: MakeTree) -> None:
    root = make_tree(TREE)
    assert names(static.list_classes(root, base="Driver")) == [
        "drivers.Simple",
        "drivers.Other",
        "drivers.Fancy",
    ]
    # Through a relative import, a package re-export and an attribute access.
    assert names(static.list_classes(root, base="bases:Extension")) == [
        "exts.impl.Ext",
        "more.Further",
    ]
    assert names(static.list_classes(root, base="bases.Extension")) == [
        "exts.impl.Ext",
        "more.Further",
    ]
    assert names(static.list_classes(root, base="Simple")) == ["drivers.Fancy"]
    assert names(static.list_classes(root, base="Nothing")) == []


def test_external_bases_match_by_name(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "handlers.py": """
                from hostapp.interfaces import AbstractHandler
                import typing
                class Yaml(AbstractHandler): pass
                class Typed(typing.Generic[typing.T]): pass
            """
        }
    )
    assert names(static.list_classes(root, base="AbstractHandler")) == ["handlers.Yaml"]
    listing = static.list_classes(root, base="hostapp.interfaces.AbstractHandler")
    assert names(listing) == ["handlers.Yaml"]
    assert listing.classes[0].resolved_bases == ("hostapp.interfaces.AbstractHandler",)
    typed = static.list_classes(root).classes[1]
    assert typed.resolved_bases == ("typing.Generic",)


def test_nothing_runs_and_nothing_is_written(make_tree: MakeTree, tmp_path: object) -> None:
    marker = f"{tmp_path}/was_run"
    root = make_tree(
        {
            "writes.py": f"open({marker!r}, 'w').write('ran')\nclass Writes: pass\n",
            "raises.py": "raise SystemExit('never')\nclass Raises: pass\n",
        }
    )
    modules_before = set(sys.modules)
    listing = static.list_classes([root])
    assert names(listing) == ["raises.Raises", "writes.Writes"]
    assert not os.path.exists(marker)
    assert not (root / "__pycache__").exists()
    assert set(sys.modules) - modules_before <= {"ast"}


def test_files_that_do_not_parse_are_reported(make_tree: MakeTree) -> None:
    root = make_tree({"broken.py": "class Ok: pass\ndef (:\n", "fine.py": "class Fine: pass\n"})
    (root / "nul.py").write_bytes(b"x = 1\x00\n")
    listing = static.list_classes([root])
    assert names(listing) == ["fine.Fine"]
    assert [(e.module, e.lineno) for e in listing.errors] == [("broken", 2), ("nul", None)]
    assert "SyntaxError" in str(listing.errors[0])
    assert str(root / "broken.py") in str(listing.errors[0])


def test_sourceless_modules_are_skipped_with_a_reason(make_tree: MakeTree) -> None:
    root = make_tree({"src.py": "class C: pass\n"})
    py_compile.compile(str(root / "src.py"), cfile=str(root / "binary.pyc"))
    listing = static.list_classes([root])
    assert names(listing) == ["src.C"]
    [skipped] = listing.skipped
    assert skipped.path == str(root / "binary.pyc")
    assert "no source" in skipped.reason


def test_same_rules_as_discovery(make_tree: MakeTree) -> None:
    first = make_tree({"twin.py": "class First: pass\n", "bad-name.py": "class X: pass\n"})
    second = make_tree({"twin.py": "class Second: pass\n"})
    listing = static.list_classes([first, second])
    assert names(listing) == ["twin.First"]
    assert [os.path.basename(s.path) for s in listing.skipped] == ["bad-name.py"]


def test_encoding_cookie_is_honoured(make_tree: MakeTree) -> None:
    root = make_tree({})
    (root / "latin.py").write_bytes(
        b"# -*- coding: latin-1 -*-\nNAME = '\xe9'\nclass Latin: pass\n"
    )
    assert names(static.list_classes(root)) == ["latin.Latin"]


def test_bad_arguments(tmp_path: object) -> None:
    with pytest.raises(SearchPathError):
        static.list_classes([f"{tmp_path}/missing"])
    with pytest.raises(PikeTypeError, match=r"^base is an int; pass a class name"):
        static.list_classes([str(tmp_path)], base=3)  # type: ignore[arg-type]


def test_reachable_as_an_attribute_of_pike_discovery() -> None:
    assert pike.discovery.static is static
    with pytest.raises(AttributeError):
        pike.discovery.nothing


def test_unusual_statements_and_expressions(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "pkg/__init__.py": "from . import *\n",
            "pkg/odd.py": """
                import contextlib
                import collections.abc as cabc
                from . import base_mod
                from .base_mod import *

                def make_base():
                    return object

                if True:
                    class InIf(make_base()):
                        pass
                else:
                    class InElse(cabc.Mapping):
                        pass

                try:
                    pass
                except ImportError:
                    class InHandler(base_mod.Root):
                        pass

                with contextlib.suppress(Exception):
                    class InWith(base_mod.Root):
                        pass
            """,
            "pkg/base_mod.py": "class Root: pass\nclass Root: pass\n",
        }
    )
    listing = static.list_classes([root])
    by_name = {c.name: c for c in listing.classes}
    assert list(by_name) == ["Root", "InIf", "InElse", "InHandler", "InWith"]
    assert by_name["InIf"].resolved_bases == ("make_base()",)
    assert by_name["InElse"].resolved_bases == ("collections.abc.Mapping",)
    assert by_name["InWith"].resolved_bases == ("pkg.base_mod.Root",)
    assert names(static.list_classes([root], base="pkg.base_mod.Root")) == [
        "pkg.odd.InHandler",
        "pkg.odd.InWith",
    ]


def test_a_package_with_the_same_name_in_a_later_path_is_ignored(
    make_tree: MakeTree,
) -> None:
    first = make_tree({"dup/__init__.py": "class One: pass\n"})
    second = make_tree({"dup/__init__.py": "class Two: pass\n", "dup/sub.py": "class S: pass\n"})
    assert names(static.list_classes([first, second])) == ["dup.One"]


def test_a_listing_is_a_sequence_of_classes_with_file_and_line_aliases(make_tree: MakeTree) -> None:
    root = make_tree(
        {"bases.py": "class Driver: pass\n", "d.py": "import bases\nclass D(bases.Driver): pass\n"}
    )
    listing = static.list_classes(root, base="Driver")
    assert len(listing) == 1
    [cls] = list(listing)
    assert (cls.module, cls.file, cls.line, cls.bases) == (
        "d",
        str(root / "d.py"),
        2,
        ("bases.Driver",),
    )
