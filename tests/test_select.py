"""Picking plugin classes by what their source declares: ``select`` and ``lazy_classes``
import only the modules of the classes picked (docs/picking.md, "Picking without
importing"). Checked against ``sys.modules``, with real folders and the real import
system."""

from __future__ import annotations

import gc
import sys
import zipfile
from collections import UserDict, UserList
from pathlib import Path

import pytest

from pike import LazyClass
from pike.errors import (
    InactiveManagerError,
    PikeTypeError,
    PikeValueError,
    PluginImportError,
    PluginObjectError,
)
from pike.manager import PikeManager
from tests.conftest import MakeTree

HEAD = "from collections import UserDict, UserList\n"

READERS = {
    "csv_sel.py": HEAD
    + "__plugin__ = {'name': 'CSV', 'tags': ['tabular']}\n"
    + "class CsvReader(UserDict):\n    extensions = ('.csv', '.tsv')\n",
    "json_sel.py": HEAD
    + "__plugin__ = {'name': 'JSON'}\n"
    + "class JsonReader(UserDict):\n    extensions = ('.json',)\n"
    + "class JsonHelper:\n    pass\n",
    "xml_sel.py": HEAD + "class XmlReader(UserDict):\n    extensions = ('.xml',)\n",
    "list_sel.py": HEAD + "class Listing(UserList):\n    extensions = ('.lst',)\n",
}


def loaded(*names: str) -> list[str]:
    """Which of ``names`` are in ``sys.modules`` now."""
    return [name for name in names if name in sys.modules]


ALL = tuple(name[:-3] for name in READERS)


def handles(extension: str):  # type: ignore[no-untyped-def]
    return lambda cls: extension in cls.attrs.get("extensions", ())


def test_select_imports_only_the_modules_where_picks(make_tree: MakeTree) -> None:
    root = make_tree(READERS)
    with PikeManager([root]) as mgr:
        [found] = mgr.select(UserDict, where=handles(".json"))
        assert found.__qualname__ == "JsonReader" and found.__module__ == "json_sel"
        assert issubclass(found, UserDict)
        assert loaded(*ALL) == ["json_sel"]
        assert mgr.errors == []
        # The module's __plugin__ is there to pick by as well.
        [named] = mgr.select(UserDict, where=lambda cls: cls.plugin.get("name") == "CSV")
        assert named.__qualname__ == "CsvReader"
        assert loaded(*ALL) == ["csv_sel", "json_sel"]
    assert loaded(*ALL) == []


def test_select_without_base_or_where_takes_every_declared_class(make_tree: MakeTree) -> None:
    root = make_tree(READERS)
    with PikeManager([root]) as mgr:
        names = [cls.__qualname__ for cls in mgr.select()]
        assert names == ["CsvReader", "JsonReader", "JsonHelper", "Listing", "XmlReader"]
        every = mgr.select(UserDict)
        assert every == mgr.find_inherited_classes(UserDict)
        assert [cls.__qualname__ for cls in every] == ["CsvReader", "JsonReader", "XmlReader"]
        assert mgr.select(UserDict, where=handles(".nothing")) == []


def test_limit_stops_importing_once_enough_classes_are_kept(make_tree: MakeTree) -> None:
    root = make_tree(READERS)
    with PikeManager([root]) as mgr:
        [first] = mgr.select(UserDict, limit=1)
        assert first.__qualname__ == "CsvReader"
        assert loaded(*ALL) == ["csv_sel"]
        two = mgr.select(UserDict, limit=2)
        assert [cls.__qualname__ for cls in two] == ["CsvReader", "JsonReader"]
        assert loaded(*ALL) == ["csv_sel", "json_sel"]
        # A module's classes count one by one: two in one module, a limit of one.
        [helper] = mgr.select(where=lambda cls: cls.module == "json_sel", limit=1)
        assert helper.__qualname__ == "JsonReader"
        assert len(mgr.select(UserDict, limit=10)) == 3


@pytest.mark.parametrize("limit", [0, -1, True, False, 1.0, "1", [1]])
def test_limit_must_be_a_positive_int(make_tree: MakeTree, limit: object) -> None:
    root = make_tree(READERS)
    with PikeManager([root]) as mgr:
        with pytest.raises(PikeValueError, match=r"limit is .*positive int"):
            mgr.select(UserDict, limit=limit)  # type: ignore[arg-type]
        assert loaded(*ALL) == []


def test_where_and_base_are_checked(make_tree: MakeTree) -> None:
    root = make_tree(READERS)
    with PikeManager([root]) as mgr:
        for call in (mgr.select, mgr.lazy_classes):
            with pytest.raises(PikeTypeError, match="where is a str; pass a callable"):
                call(UserDict, where="extensions")  # type: ignore[operator]
            with pytest.raises(PikeTypeError, match="base_class is 'Reader', not a class"):
                call("Reader")  # type: ignore[operator]
        assert loaded(*ALL) == []


def test_a_where_that_raises_is_a_plugin_object_error(make_tree: MakeTree) -> None:
    root = make_tree(READERS)

    def where(cls: object) -> bool:
        if getattr(cls, "name", "") == "JsonReader":
            raise KeyError("no such key")
        return True

    with PikeManager([root], on_error="collect") as mgr:
        names = [cls.__qualname__ for cls in mgr.select(UserDict, where=where)]
        assert names == ["CsvReader", "XmlReader"]
        assert loaded(*ALL) == ["csv_sel", "xml_sel"]
        [error] = mgr.errors
        assert isinstance(error, PluginObjectError)
        assert (error.module_name, error.qualname, error.lineno) == ("json_sel", "JsonReader", 3)
        assert error.path == str(root / "json_sel.py")
        assert "made where raise KeyError" in str(error) and "left out" in str(error)
        assert isinstance(error.__cause__, KeyError)
    with PikeManager([root]) as strict:
        with pytest.raises(PluginObjectError, match=r"json_sel\.JsonReader"):
            strict.select(UserDict, where=where)
        assert loaded(*ALL) == []  # the error came before anything was imported


def test_a_picked_module_that_fails_is_an_error_under_on_error(make_tree: MakeTree) -> None:
    files = dict(READERS)
    files["bad_sel.py"] = HEAD + "class Bad(UserDict):\n    pass\nraise RuntimeError('boom')\n"
    root = make_tree(files)
    with PikeManager([root], on_error="collect") as mgr:
        names = [cls.__qualname__ for cls in mgr.select(UserDict)]
        assert names == ["Bad", "CsvReader", "JsonReader", "XmlReader"][1:]
        [error] = mgr.errors
        assert isinstance(error, PluginImportError) and error.module_name == "bad_sel"
        # With a limit, a failed module keeps nothing: importing goes on to the next.
        [first] = mgr.select(UserDict, limit=1)
        assert first.__qualname__ == "CsvReader"


def test_a_class_that_only_looks_like_a_subclass_is_dropped_silently(
    make_tree: MakeTree,
) -> None:
    root = make_tree(
        {
            "looks_sel.py": HEAD
            + "def plain(cls):\n    return type(cls.__name__, (), {})\n"
            + "@plain\nclass Looks(UserDict):\n    kind = 'fake'\n"
            + "class Real(UserDict):\n    kind = 'real'\n"
            + "Made = type('Made', (UserDict,), {'__module__': __name__})\n"
        }
    )
    with PikeManager([root]) as mgr:
        assert [cls.__qualname__ for cls in mgr.select(UserDict)] == ["Real"]
        # Made is a subclass but no class statement declares it: not a candidate.
        assert [cls.__qualname__ for cls in mgr.get_all_inherited_classes(UserDict)] == [
            "Real",
            "Made",
        ]
        assert mgr.errors == []
        [looks, real] = mgr.lazy_classes(UserDict)
        assert real.load().__qualname__ == "Real"
        with pytest.raises(PluginObjectError, match="defines no class Looks deriving from"):
            looks.load()


def test_a_class_renamed_at_run_time_is_found_by_the_name_it_is_bound_to(
    make_tree: MakeTree,
) -> None:
    root = make_tree(
        {"renamed_sel.py": HEAD + "class Reader(UserDict):\n    pass\nReader.__name__ = 'Other'\n"}
    )
    with PikeManager([root]) as mgr:
        [found] = mgr.select(UserDict)
        assert found.__name__ == "Other"


def test_lazy_classes_import_nothing_until_one_is_loaded(make_tree: MakeTree) -> None:
    root = make_tree(READERS)
    with PikeManager([root]) as mgr:
        lazy = mgr.lazy_classes(UserDict)
        assert loaded(*ALL) == []
        assert [item.name for item in lazy] == ["CsvReader", "JsonReader", "XmlReader"]
        csv = lazy[0]
        assert isinstance(csv, LazyClass)
        assert (csv.qualname, csv.module, csv.line, csv.lineno) == (
            "csv_sel.CsvReader",
            "csv_sel",
            3,
            3,
        )
        assert csv.path == str(root / "csv_sel.py") and csv.source == str(root)
        assert csv.attrs == {"extensions": (".csv", ".tsv")}
        assert csv.plugin == {"name": "CSV", "tags": ["tabular"]}
        assert csv.static.name == "CsvReader"
        assert repr(csv) == f"<LazyClass csv_sel.CsvReader ({csv.path}, line 3)>"
        [json] = mgr.lazy_classes(UserDict, where=handles(".json"))
        assert json.name == "JsonReader" and loaded(*ALL) == []
        real = json.load()
        assert real.__qualname__ == "JsonReader" and loaded(*ALL) == ["json_sel"]
        module = sys.modules["json_sel"]
        assert json.load() is real and sys.modules["json_sel"] is module  # imported once
        assert mgr.select(UserDict, where=handles(".json")) == [real]


def test_loading_a_lazy_class_raises_its_error_whatever_on_error_says(
    make_tree: MakeTree,
) -> None:
    root = make_tree({"bad_sel.py": HEAD + "class Bad(UserDict):\n    pass\n1 / 0\n"})
    with PikeManager([root], on_error="collect") as mgr:
        [bad] = mgr.lazy_classes(UserDict)
        with pytest.raises(PluginImportError) as raised:
            bad.load()
        assert raised.value.module_name == "bad_sel"
        assert isinstance(raised.value.__cause__, ZeroDivisionError)
        assert loaded("bad_sel") == []


def test_a_lazy_class_whose_file_went_away(make_tree: MakeTree) -> None:
    root = make_tree(READERS)
    with PikeManager([root]) as mgr:
        [csv, *_] = mgr.lazy_classes(UserDict)
        (root / "csv_sel.py").unlink()
        with pytest.raises(PluginImportError, match=r"'csv_sel' .* is gone"):
            csv.load()


def test_a_lazy_class_after_its_manager_is_cleaned_up_or_gone(make_tree: MakeTree) -> None:
    root = make_tree(READERS)
    with PikeManager([root]) as mgr:
        [csv, *_] = mgr.lazy_classes(UserDict)
    with pytest.raises(InactiveManagerError, match="cleaned up"):
        csv.load()
    assert loaded(*ALL) == []
    orphan = PikeManager([root]).lazy_classes(UserDict)[0]  # its manager is garbage
    gc.collect()
    with pytest.raises(InactiveManagerError, match="is gone"):
        orphan.load()
    assert loaded(*ALL) == []


def test_select_under_isolation_takes_each_class_from_its_own_source(
    make_tree: MakeTree, tmp_path: Path
) -> None:
    first = make_tree({"same_sel.py": HEAD + "class First(UserDict):\n    where = 1\n"})
    second = make_tree({"same_sel.py": HEAD + "class Second(UserDict):\n    where = 2\n"})
    archive = tmp_path / "zipped"
    archive.mkdir()
    with zipfile.ZipFile(archive / "node.zip", "w") as zipped:
        zipped.writestr("zip_sel.py", HEAD + "class Zipped(UserDict):\n    where = 3\n")
    with PikeManager([first, second, archive], isolate=True) as mgr:
        [picked] = mgr.select(UserDict, where=lambda cls: cls.attrs["where"] == 2)
        assert picked.__qualname__ == "Second"
        [lazy] = mgr.lazy_classes(UserDict, where=lambda cls: cls.attrs["where"] == 3)
        assert lazy.source == str(archive / "node.zip")
        assert lazy.load().__qualname__ == "Zipped"
        names = sorted(cls.__qualname__ for cls in mgr.select(UserList))
        assert names == []
        assert [cls.__qualname__ for cls in mgr.select(UserDict, limit=1)] == ["First"]
        assert mgr.errors == []


def test_a_lazy_class_whose_archive_went_away(tmp_path: Path) -> None:
    folder = tmp_path / "zipped"
    folder.mkdir()
    with zipfile.ZipFile(folder / "node.zip", "w") as zipped:
        zipped.writestr("gone_sel.py", HEAD + "class Gone(UserDict):\n    pass\n")
    with PikeManager([folder], isolate=True) as mgr:
        [lazy] = mgr.lazy_classes(UserDict)
        (folder / "node.zip").unlink()
        with pytest.raises(PluginImportError, match=r"plugin archive .*node\.zip"):
            lazy.load()
