"""Search paths: accepted types, resolution, and clear errors
(docs/design.md, "Search paths")."""

from __future__ import annotations

import errno
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from pike.errors import PikeError, PikeTypeError, SearchPathError
from pike.manager import PikeManager
from tests.conftest import NOBODY, MakeTree


def test_a_single_str_is_one_path(make_tree: MakeTree) -> None:
    root = make_tree({"a.py": "class A: pass\n"})
    with PikeManager(str(root)) as mgr:
        assert mgr.search_paths == [str(root)]
        assert [c.__name__ for c in mgr.get_classes()] == ["A"]


def test_a_single_pathlike_is_one_path(make_tree: MakeTree) -> None:
    root = make_tree({"a.py": "class A: pass\n"})
    with PikeManager(root) as mgr:
        assert mgr.search_paths == [str(root)]
    with PikeManager([root]) as mgr:
        assert mgr.search_paths == [str(root)]


def test_none_and_empty_mean_no_paths() -> None:
    for value in (None, [], ()):
        with PikeManager(value) as mgr:
            assert mgr.search_paths == []
            assert mgr.get_classes() == []


def test_relative_paths_resolve_when_the_manager_is_made(
    make_tree: MakeTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree({"rel_mod.py": "class R: pass\n"})
    monkeypatch.chdir(root.parent)
    mgr = PikeManager([root.name])
    try:
        monkeypatch.chdir("/")
        assert mgr.search_paths == [str(root)]
        assert [c.__name__ for c in mgr.get_classes()] == ["R"]
    finally:
        mgr.cleanup()


def test_missing_path_raises_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    meta_before = list(sys.meta_path)
    with pytest.raises(SearchPathError) as info:
        PikeManager([str(missing)])
    assert isinstance(info.value, PikeError)
    assert str(missing) in str(info.value)
    assert "does not exist" in str(info.value)
    assert info.value.path == str(missing)
    assert sys.meta_path == meta_before


def test_a_file_is_not_a_search_path(tmp_path: Path) -> None:
    file = tmp_path / "plugin.py"
    file.write_text("")
    with pytest.raises(SearchPathError, match="not a directory") as info:
        PikeManager([file])
    assert isinstance(info.value, NotADirectoryError)
    assert info.value.errno == errno.ENOTDIR


def test_a_missing_path_is_also_the_file_not_found_error_pike_020_raised(
    tmp_path: Path,
) -> None:
    """0.2.0 code that catches OSError around a missing folder keeps working."""
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError) as info:
        PikeManager([str(missing)])
    error = info.value
    assert isinstance(error, SearchPathError) and isinstance(error, OSError)
    assert error.errno == errno.ENOENT
    assert str(error) == f"search path {str(missing)!r} does not exist; create it or fix the path"
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and str(copy) == str(error) and copy.errno == errno.ENOENT


def test_a_search_path_gone_after_the_manager_was_made_is_file_not_found(
    make_tree: MakeTree,
) -> None:
    root = make_tree({"a.py": ""})
    mgr = PikeManager([root])
    try:
        shutil.rmtree(root)
        with pytest.raises(FileNotFoundError, match="no longer exists") as info:
            mgr.get_classes()
        assert isinstance(info.value, SearchPathError)
    finally:
        mgr.cleanup()


def test_empty_string_is_an_error() -> None:
    with pytest.raises(SearchPathError, match="empty"):
        PikeManager([""])


def test_nul_byte_is_an_error() -> None:
    with pytest.raises(SearchPathError, match="not a valid path"):
        PikeManager(["bad\0path"])


def test_unreadable_path_is_an_error(
    tmp_path: Path, as_nobody: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    # Root reads every folder: the check runs as an unprivileged user.
    locked = Path(tempfile.mkdtemp(prefix="pike-locked-"))
    try:
        os.chown(locked, NOBODY, NOBODY)
        locked.chmod(0)
        result = as_nobody(
            f"""
            from pike.errors import SearchPathError
            from pike.manager import PikeManager
            try:
                PikeManager([{str(locked)!r}])
            except SearchPathError as exc:
                print(exc, isinstance(exc, PermissionError))
            """
        )
        assert result.returncode == 0, result.stderr
        assert "cannot be read" in result.stdout and str(locked) in result.stdout
        assert result.stdout.split()[-1] == "True"  # also a PermissionError
    finally:
        shutil.rmtree(locked)


@pytest.mark.parametrize("value", [b"/tmp", [b"/tmp"], bytearray(b"/tmp")])
def test_bytes_paths_raise_type_error(value: object) -> None:
    with pytest.raises(TypeError, match="bytes") as info:
        PikeManager(value)
    assert isinstance(info.value, PikeTypeError)
    # It says what is accepted, and how to get there.
    assert "str or os.PathLike" in str(info.value) and "os.fsdecode" in str(info.value)


@pytest.mark.parametrize(
    ("value", "named"),
    [
        (42, "search_paths is an int;"),
        ([42], "search path 42 is an int;"),
        ([None], "search path None is None;"),
        (object(), "search_paths is an object;"),
        ([1.5], "search path 1.5 is a float;"),
    ],
)
def test_other_types_raise_type_error_saying_what_is_accepted(value: object, named: str) -> None:
    with pytest.raises(TypeError, match=r"str or os\.PathLike") as info:
        PikeManager(value)
    assert str(info.value).startswith(named)


def test_pathlike_returning_bytes_is_a_type_error() -> None:
    class BytesPath:
        def __fspath__(self) -> bytes:
            return b"/tmp"

    with pytest.raises(TypeError, match="bytes"):
        PikeManager([BytesPath()])


def test_duplicate_paths_count_once(make_tree: MakeTree) -> None:
    root = make_tree({"a.py": "class A: pass\n"})
    with PikeManager([root, str(root), root / "."]) as mgr:
        assert mgr.search_paths == [str(root)]
        assert [c.__name__ for c in mgr.get_classes()] == ["A"]
        assert mgr.errors == []


def test_generator_of_paths(make_tree: MakeTree) -> None:
    a = make_tree({"mod_a.py": "class A: pass\n"})
    b = make_tree({"mod_b.py": "class B: pass\n"})
    with PikeManager(p for p in (a, b)) as mgr:
        assert [c.__name__ for c in mgr.get_classes()] == ["A", "B"]


def test_search_path_removed_after_the_manager_was_made(make_tree: MakeTree) -> None:
    root = make_tree({"gone.py": ""})
    mgr = PikeManager([root])
    try:
        for child in root.iterdir():
            child.unlink()
        root.rmdir()
        with pytest.raises(SearchPathError, match="no longer exists"):
            mgr.get_classes()
        with pytest.raises(SearchPathError, match="no longer exists"):
            list(mgr.get_module_names())
    finally:
        mgr.cleanup()


def test_each_os_error_makes_its_own_search_path_error() -> None:
    from pike.errors import SearchPathPermissionError, search_path_error

    denied = search_path_error("/p", "cannot be read", PermissionError(errno.EPERM, "no"))
    assert isinstance(denied, SearchPathPermissionError) and isinstance(denied, PermissionError)
    assert denied.errno == errno.EPERM  # the cause's, where it differs from EACCES
    other = search_path_error("/p", "cannot be read", OSError(errno.EIO, "broken"))
    assert type(other) is SearchPathError and not isinstance(other, OSError)
    assert str(other) == "search path '/p' cannot be read"
