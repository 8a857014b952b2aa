"""The public API: one list of names, readable reprs, the version."""

from __future__ import annotations

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
    assert pike.__version__.count(".") == 2


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
