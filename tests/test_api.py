"""The public API: one list of names, readable reprs, the version."""

from __future__ import annotations

import re

import pytest

import pike
from pike.manager import PikeManager
from tests.conftest import MakeTree


def test_public_names_are_exported() -> None:
    for name in pike.__all__:
        assert hasattr(pike, name)
    assert pike.PikeManager is PikeManager
    assert issubclass(pike.PluginImportError, pike.PluginError)
    assert issubclass(pike.PluginCollisionError, pike.PikeError)
    assert issubclass(pike.PikeWarning, UserWarning)
    # A release (2.0.0), or between releases a development version of the next one
    # (2.0.0.dev5+gabc1234, counted from pyproject.toml's fallback_version in a clone
    # without the tags; exactly that in a bare export), or 0+unknown for a source tree
    # never built nor installed.
    version = r"(\d+(\.\d+)+(\.dev\d+)?(\+[0-9a-z.]+)?|0\+unknown)"
    assert re.fullmatch(version, pike.__version__), pike.__version__


def test_reprs_say_what_and_where(make_tree: MakeTree) -> None:
    root = make_tree({})
    mgr = PikeManager([root])
    assert repr(mgr) == f"<PikeManager active search_paths=[{str(root)!r}]>"
    assert repr(mgr.module_finder) == f"PikeFinder([{str(root)!r}])"
    mgr.cleanup()
    assert repr(mgr).startswith("<PikeManager inactive")


def test_named_plugins_are_exported_lazily() -> None:
    import pike.named

    assert pike.ExtensionManager is pike.named.ExtensionManager
    assert pike.DriverManager is pike.named.DriverManager
    try:
        pike.not_a_name
    except AttributeError as exc:
        assert "not_a_name" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_records_behave_as_the_frozen_dataclasses_they_were() -> None:
    import pickle

    from pike import ModuleEntry, RefreshReport, SkippedEntry

    entry = ModuleEntry("a", "/p/a.py", "/p")
    assert entry == ModuleEntry("a", "/p/a.py", "/p", False) and hash(entry) == hash(
        ModuleEntry("a", "/p/a.py", "/p")
    )
    assert entry != ModuleEntry("a", "/p/a.py", "/p", True) and entry != ("a",)
    assert repr(entry) == (
        "ModuleEntry(name='a', path='/p/a.py', search_path='/p', is_package=False, source='/p')"
    )
    assert pickle.loads(pickle.dumps(entry)) == entry
    skipped = SkippedEntry("/p/.x.py", "hidden")
    assert str(skipped) == "/p/.x.py: hidden" and pickle.loads(pickle.dumps(skipped)) == skipped
    assert repr(skipped) == "SkippedEntry(path='/p/.x.py', reason='hidden')"
    assert skipped != SkippedEntry("/p/.x.py", "other") and hash(skipped)
    report = RefreshReport(added=["a"])
    assert report == RefreshReport(["a"], [], [], []) and report != RefreshReport()
    assert repr(report) == (
        "RefreshReport(added=['a'], changed=[], removed=[], errors=[], kept=[])"
    )
    assert pickle.loads(pickle.dumps(report)) == report
    match entry:
        case ModuleEntry(name, path, _, is_package):
            assert (name, path, is_package) == ("a", "/p/a.py", False)
    for record, field in ((entry, "name"), (skipped, "path"), (report, "added")):
        with pytest.raises(AttributeError):
            setattr(record, field, "x")
    for record, field in ((entry, "name"), (skipped, "path")):
        with pytest.raises(AttributeError):
            delattr(record, field)
    with pytest.raises(TypeError):
        hash(report)


def test_a_record_needs_two_fields() -> None:
    from pike._value import Frozen

    with pytest.raises(TypeError, match="two fields or more"):

        class One(Frozen):
            __slots__ = ("only",)
            __match_args__ = ("only",)


def test_static_records_compare_and_show_by_their_fields() -> None:
    import pickle

    from pike.discovery.static import StaticError, StaticListing

    error = StaticError("m", "/p/m.py", 3, "invalid syntax")
    assert (
        error
        == StaticError("m", "/p/m.py", 3, "invalid syntax")
        != StaticError("m", "/p/m.py", None, "x")
    )
    assert hash(error) == hash(StaticError("m", "/p/m.py", 3, "invalid syntax"))
    assert (
        repr(error) == "StaticError(module='m', path='/p/m.py', lineno=3, message='invalid syntax')"
    )
    assert pickle.loads(pickle.dumps(error)) == error
    with pytest.raises(AttributeError, match="a StaticError is immutable"):
        error.message = "x"  # type: ignore[misc]
    listing = StaticListing(errors=[error])
    assert listing == StaticListing([], [], [error], [], []) and listing != StaticListing()
    assert listing != error and repr(StaticListing()) == (
        "StaticListing(classes=[], module_names=[], errors=[], skipped=[], collisions=[], "
        "contract_errors=[])"
    )
    listing.module_names.append("m")  # a listing may be changed, so it is not hashable
    with pytest.raises(TypeError):
        hash(listing)


def test_a_refresh_report_cannot_be_changed() -> None:
    from pike import RefreshReport

    report = RefreshReport(added=["a"])
    for change in (
        lambda: setattr(report, "added", []),
        lambda: delattr(report, "added"),
        lambda: delattr(report, "errors"),
    ):
        with pytest.raises(AttributeError):
            change()
    assert report.added == ["a"]


def test_each_public_module_exports_only_its_public_names() -> None:
    import pike.finder
    import pike.loader
    import pike.manager

    assert pike.finder.__all__ == ["PikeFinder"]
    assert pike.manager.__all__ == [
        "LazyClass",
        "OnError",
        "PikeManager",
        "Requires",
        "SearchPaths",
        "Trust",
    ]
    # The argument types a reader can look up, and a program can annotate with.
    for name in ("OnError", "SearchPaths", "Trust"):
        assert getattr(pike.manager, name) is not None
    assert pike.loader.__all__ == ["PikeLoader"]
