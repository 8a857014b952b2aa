"""pike does not load code that other users can change (docs/design.md, "Trust")."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pike.cli import main
from pike.discovery import static
from pike.errors import (
    PikeTypeError,
    PikeValueError,
    PluginError,
    PluginImportError,
    SearchPathError,
    UntrustedPathError,
    UntrustedPluginError,
)
from pike.loader import PikeLoader
from pike.manager import PikeManager
from tests.conftest import IS_ROOT, NOBODY, MakeTree

PLUGINS = {"good.py": "class Good: pass\n", "other.py": "class Other: pass\n"}


def names(mgr: PikeManager) -> list[str]:
    return [cls.__name__ for cls in mgr.get_classes()]


def test_a_world_writable_search_path_is_refused(make_tree: MakeTree) -> None:
    root = make_tree(PLUGINS)
    root.chmod(0o777)
    with pytest.raises(UntrustedPathError) as info:
        PikeManager([root])
    error = info.value
    assert isinstance(error, SearchPathError)
    assert error.path == str(root)
    assert stat.S_IMODE(error.mode) == 0o777
    assert error.owner == os.geteuid()
    message = str(error)
    assert "writable by other users" in message
    assert "drwxrwxrwx" in message and "0777" in message
    assert f"chmod o-w {root}" in message and "trust='any'" in message
    assert sys.meta_path[0] is not None  # nothing was installed


def test_trust_any_loads_it_anyway(make_tree: MakeTree) -> None:
    root = make_tree(PLUGINS)
    root.chmod(0o777)
    (root / "good.py").chmod(0o666)
    with PikeManager([root], trust="any") as mgr:
        assert names(mgr) == ["Good", "Other"]


def test_group_writable_is_allowed(make_tree: MakeTree) -> None:
    root = make_tree({**PLUGINS, "pkg/__init__.py": "", "pkg/inner.py": "class Inner: pass\n"})
    for path in (root, root / "good.py", root / "pkg", root / "pkg" / "inner.py"):
        path.chmod(path.stat().st_mode | stat.S_IWGRP)
    with PikeManager([root]) as mgr:
        assert names(mgr) == ["Good", "Other", "Inner"]


def test_a_world_writable_plugin_file_is_a_plugin_error(make_tree: MakeTree) -> None:
    root = make_tree(PLUGINS)
    (root / "good.py").chmod(0o666)
    with PikeManager([root], on_error="collect") as mgr:
        assert names(mgr) == ["Other"]
        [error] = mgr.errors
        assert isinstance(error, UntrustedPluginError)
        assert isinstance(error, PluginError) and isinstance(error, ImportError)
        assert (error.module_name, error.path) == ("good", str(root / "good.py"))
        assert stat.S_IMODE(error.mode) == 0o666
        assert "-rw-rw-rw-" in str(error) and f"chmod o-w {root / 'good.py'}" in str(error)
    assert "good" not in sys.modules
    with pytest.raises(UntrustedPluginError), PikeManager([root]) as mgr:
        mgr.get_classes()


def test_import_inside_the_block_is_refused_too(make_tree: MakeTree) -> None:
    root = make_tree(PLUGINS)
    (root / "good.py").chmod(0o666)
    with PikeManager([root]), pytest.raises(UntrustedPluginError):
        import good  # type: ignore[import-not-found]  # noqa: F401
    assert "good" not in sys.modules


def test_a_world_writable_package_folder_is_refused(make_tree: MakeTree) -> None:
    root = make_tree({**PLUGINS, "pkg/__init__.py": "", "pkg/inner.py": "class Inner: pass\n"})
    (root / "pkg").chmod(0o777)
    with PikeManager([root], on_error="collect") as mgr:
        assert names(mgr) == ["Good", "Other"]
        [error] = mgr.errors
        assert isinstance(error, UntrustedPluginError)
        assert error.path == str(root / "pkg")
    assert not [n for n in sys.modules if n == "pkg" or n.startswith("pkg.")]


def test_a_world_writable_submodule_fails_its_package(make_tree: MakeTree) -> None:
    root = make_tree({"pkg/__init__.py": "from . import inner\n", "pkg/inner.py": ""})
    (root / "pkg" / "inner.py").chmod(0o646)
    with PikeManager([root], on_error="collect") as mgr:
        mgr.get_classes()
        [error] = mgr.errors
        assert isinstance(error, PluginImportError)
        assert error.module_name == "pkg"
        assert isinstance(error.__cause__, UntrustedPluginError)
        assert error.__cause__.module_name == "pkg.inner"


def test_a_world_writable_bytecode_cache_is_refused(make_tree: MakeTree) -> None:
    root = make_tree(PLUGINS)
    (root / "__pycache__").mkdir()
    (root / "__pycache__").chmod(0o777)
    with PikeManager([root], on_error="collect") as mgr:
        assert names(mgr) == []
        assert {e.path for e in mgr.errors} == {str(root / "__pycache__")}


def test_a_symbolic_link_is_judged_by_its_target(make_tree: MakeTree) -> None:
    elsewhere = make_tree({"target.py": "class Linked: pass\n"}, name="elsewhere")
    (elsewhere / "target.py").chmod(0o666)
    root = make_tree(PLUGINS)
    (root / "linked.py").symlink_to(elsewhere / "target.py")
    with PikeManager([root], on_error="collect") as mgr:
        assert names(mgr) == ["Good", "Other"]
        [error] = mgr.errors
        assert error.module_name == "linked"
        assert stat.S_IMODE(error.mode) == 0o666


def test_a_linked_search_path_is_judged_by_its_target(make_tree: MakeTree, tmp_path: Path) -> None:
    root = make_tree(PLUGINS)
    root.chmod(0o777)
    link = tmp_path / "link"
    link.symlink_to(root)
    with pytest.raises(UntrustedPathError):
        PikeManager([link])


def test_the_trust_argument_is_checked(make_tree: MakeTree) -> None:
    root = make_tree(PLUGINS)
    with pytest.raises(PikeValueError, match=r"'owner'.*'any'"):
        PikeManager([root], trust="nobody")  # type: ignore[arg-type]
    with pytest.raises(PikeTypeError, match="trust is an int"):
        PikeManager([root], trust=1)  # type: ignore[arg-type]


def test_pike_loader_checks_trust_as_the_manager_does(make_tree: MakeTree) -> None:
    root = make_tree({"loose.py": "VALUE = 1\n"})
    (root / "loose.py").chmod(0o666)
    with pytest.raises(UntrustedPluginError):
        PikeLoader("loose", str(root / "loose.py")).load_module("loose")
    assert "loose" not in sys.modules
    module = PikeLoader("loose", str(root / "loose.py"), trust="any").load_module("loose")
    try:
        assert module.VALUE == 1
    finally:
        del sys.modules["loose"]


def test_static_listing_runs_nothing_and_so_checks_nothing(make_tree: MakeTree) -> None:
    root = make_tree(PLUGINS)
    root.chmod(0o777)
    assert [c.name for c in static.list_classes([root])] == ["Good", "Other"]


def test_cli_refuses_and_trust_any_opts_out(make_tree: MakeTree) -> None:
    root = make_tree(PLUGINS)
    root.chmod(0o777)
    out, err = io.StringIO(), io.StringIO()
    assert main([str(root)], out=out, err=err) == 2
    assert "writable by other users" in err.getvalue()
    assert "or pass --trust-any to load it anyway" in err.getvalue()  # the command's words
    assert "trust='any'" not in err.getvalue()
    assert out.getvalue() == ""
    out = io.StringIO()
    assert main([str(root), "--trust-any", "--json"], out=out, err=err) == 0
    document = json.loads(out.getvalue())
    assert [c["class"] for c in document["classes"]] == ["Good", "Other"]


@pytest.mark.skipif(not IS_ROOT, reason="only root can give a folder to another user")
def test_root_refuses_a_folder_owned_by_another_user(
    world_tree: Callable[..., Path],
) -> None:
    root = world_tree(PLUGINS, owner=NOBODY)
    with pytest.raises(UntrustedPathError) as info:
        PikeManager([root])
    assert info.value.owner == NOBODY
    assert "is owned by nobody (uid 65534), not by you (root (uid 0)) or root" in str(info.value)
    assert f"chown root {root}" in str(info.value)


@pytest.mark.skipif(not IS_ROOT, reason="only root can give a file to another user")
def test_root_refuses_a_file_owned_by_another_user(world_tree: Callable[..., Path]) -> None:
    root = world_tree(PLUGINS)
    os.chown(root / "good.py", NOBODY, NOBODY)
    with PikeManager([root], on_error="collect") as mgr:
        assert names(mgr) == ["Other"]
        [error] = mgr.errors
        assert isinstance(error, UntrustedPluginError) and error.owner == NOBODY


def test_an_unprivileged_user_is_refused_what_others_can_change(
    as_nobody: Callable[..., object], world_tree: Callable[..., Path]
) -> None:
    mine = world_tree(PLUGINS, owner=NOBODY)  # nobody's own, as they should be
    open_to_all = world_tree(PLUGINS, owner=NOBODY)
    open_to_all.chmod(0o777)
    someone_elses = world_tree(PLUGINS, owner=4242)
    planted = world_tree(PLUGINS, owner=NOBODY)
    os.chown(planted / "good.py", 4242, 4242)
    rootish = world_tree(PLUGINS)  # root's, not writable by others: trusted
    code = f"""
        import json
        from pike.manager import PikeManager
        from pike.errors import PikeError
        result = {{}}
        for label, path in {
        json.dumps(
            {
                "mine": str(mine),
                "open": str(open_to_all),
                "someone": str(someone_elses),
                "planted": str(planted),
                "root": str(rootish),
            }
        )
    }.items():
            try:
                with PikeManager([path], on_error="collect") as mgr:
                    result[label] = [
                        [c.__name__ for c in mgr.get_classes()],
                        [type(e).__name__ for e in mgr.errors],
                    ]
            except PikeError as exc:
                result[label] = type(exc).__name__
        print(json.dumps(result))
    """
    ran = as_nobody(code)  # type: ignore[operator]
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    assert result == {
        "mine": [["Good", "Other"], []],
        "open": "UntrustedPathError",
        "someone": "UntrustedPathError",
        "planted": [["Other"], ["UntrustedPluginError"]],
        "root": [["Good", "Other"], []],
    }
