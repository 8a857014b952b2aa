"""refresh() brings a living drop-in folder up to date (docs/design.md, "Refresh")."""

from __future__ import annotations

import os
import shutil
import sys
import time

import pytest

from pike.errors import InactiveManagerError, PluginImportError
from pike.manager import PikeManager
from tests.conftest import MakeTree, run_python


def names(mgr: PikeManager) -> list[str]:
    return [c.__qualname__ for c in mgr.get_classes()]


SECOND = 10**9
MS = 10**6


def stamp_in_this_second(path: os.PathLike[str]) -> None:
    """Stamp ``path`` as a filesystem that keeps whole seconds stamps a write now.

    A second write within this second then leaves the same stamp.
    """
    now = time.time_ns()
    os.utime(path, ns=(now, now - now % SECOND))


def test_nothing_changed(make_tree: MakeTree) -> None:
    root = make_tree(
        {"a.py": "class A: pass\n", "pkg/__init__.py": "", "pkg/b.py": "class B: pass\n"}
    )
    with PikeManager([root]) as mgr:
        assert names(mgr) == ["A", "B"]
        module = sys.modules["a"]
        report = mgr.refresh()
        assert not report
        assert str(report) == "no changes"
        assert report.added == report.changed == report.removed == []
        assert sys.modules["a"] is module  # not executed again


def test_new_file_is_imported(make_tree: MakeTree) -> None:
    root = make_tree({"a.py": "class A: pass\n"})
    with PikeManager([root]) as mgr:
        assert names(mgr) == ["A"]
        (root / "b.py").write_text("class B: pass\n")
        report = mgr.refresh()
        assert report.added == ["b"]
        assert str(report) == "added: b"
        assert names(mgr) == ["A", "B"]
    assert "b" not in sys.modules


def test_changed_file_runs_afresh_even_within_one_timestamp_tick(make_tree: MakeTree) -> None:
    root = make_tree({"value_mod.py": "VALUE = 1\nclass Old: pass\n"})
    path = root / "value_mod.py"
    stamp_in_this_second(path)
    with PikeManager([root]) as mgr:
        assert names(mgr) == ["Old"]
        stamp = os.stat(path)
        path.write_text("VALUE = 2\nclass New: pass\n")  # the same size
        os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # and the same mtime
        report = mgr.refresh()
        assert report.changed == ["value_mod"]
        assert names(mgr) == ["New"]
        assert sys.modules["value_mod"].VALUE == 2
        assert not hasattr(sys.modules["value_mod"], "Old")  # a new module object


def test_changed_by_size_and_mtime(make_tree: MakeTree) -> None:
    root = make_tree({"sized.py": "class S: pass\n"})
    path = root / "sized.py"
    os.utime(path, ns=(10**18, 10**18))  # an old, trusted stamp: no digest is kept
    with PikeManager([root]) as mgr:
        assert names(mgr) == ["S"]
        path.write_text("class Bigger: pass\n")
        assert mgr.refresh().changed == ["sized"]
        assert names(mgr) == ["Bigger"]


def test_file_edited_while_the_folder_was_loading(make_tree: MakeTree) -> None:
    # b imports after a (load order) and rewrites a's file: the module object holds
    # the old code, so the next refresh must run a afresh, whatever the timing.
    root = make_tree(
        {
            "a.py": "VALUE = 1\n",
            "b.py": (
                "import pathlib\n"
                "pathlib.Path(__file__).with_name('a.py').write_text('VALUE = 22\\n')\n"
            ),
        }
    )
    with PikeManager([root]) as mgr:
        assert [m.__name__ for m in mgr.get_modules()] == ["a", "b"]
        assert sys.modules["a"].VALUE == 1
        report = mgr.refresh()
        assert "a" in report.changed
        assert sys.modules["a"].VALUE == 22
        assert not mgr.refresh()
        # The same within a refresh that runs both afresh.
        (root / "a.py").write_text("VALUE = 3\n")
        (root / "b.py").write_text(
            "import pathlib\n"
            "pathlib.Path(__file__).with_name('a.py').write_text('VALUE = 4444\\n')\n"
        )
        assert mgr.refresh().changed == ["a", "b"]
        assert sys.modules["a"].VALUE == 3
        assert "a" in mgr.refresh().changed
        assert sys.modules["a"].VALUE == 4444


def test_deleted_file_is_dropped(make_tree: MakeTree) -> None:
    root = make_tree({"a.py": "class A: pass\n", "gone.py": "class Gone: pass\n"})
    with PikeManager([root]) as mgr:
        assert names(mgr) == ["A", "Gone"]
        (root / "gone.py").unlink()
        report = mgr.refresh()
        assert report.removed == ["gone"]
        assert str(report) == "removed: gone"
        assert names(mgr) == ["A"]
        assert "gone" not in sys.modules


def test_submodule_of_a_package_edited(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "class A: pass\n",
            "pkg/b.py": "class B: pass\n",
        }
    )
    with PikeManager([root]) as mgr:
        assert names(mgr) == ["A", "B"]
        package = sys.modules["pkg"]
        (root / "pkg" / "b.py").write_text("class B2: pass\n")
        report = mgr.refresh()
        assert report.changed == ["pkg.b"]
        assert names(mgr) == ["A", "B2"]
        assert sys.modules["pkg"] is package
        assert package.b is sys.modules["pkg.b"]


def test_package_init_edited_runs_the_package_afresh(make_tree: MakeTree) -> None:
    root = make_tree({"pkg/__init__.py": "X = 1\n", "pkg/sub.py": "class Sub: pass\n"})
    with PikeManager([root]) as mgr:
        assert names(mgr) == ["Sub"]
        (root / "pkg" / "__init__.py").write_text("X = 22\n")
        report = mgr.refresh()
        assert report.changed == ["pkg", "pkg.sub"]
        assert sys.modules["pkg"].X == 22
        assert names(mgr) == ["Sub"]


def test_deleted_submodule_leaves_no_attribute_behind(make_tree: MakeTree) -> None:
    root = make_tree({"pkg/__init__.py": "", "pkg/old.py": "class Old: pass\n"})
    with PikeManager([root]) as mgr:
        mgr.get_classes()
        (root / "pkg" / "old.py").unlink()
        assert mgr.refresh().removed == ["pkg.old"]
        assert not hasattr(sys.modules["pkg"], "old")
        assert names(mgr) == []


def test_a_module_whose_new_version_fails_keeps_its_working_version(make_tree: MakeTree) -> None:
    root = make_tree({"fragile.py": "class Works: pass\n", "other.py": "class Other: pass\n"})
    with PikeManager([root], on_error="collect") as mgr:
        before = mgr.get_classes()
        module = sys.modules["fragile"]
        (root / "fragile.py").write_text("class Works: pass\nraise RuntimeError('broken now')\n")
        report = mgr.refresh()
        assert (report.changed, report.kept) == ([], ["fragile"])
        assert [e.module_name for e in report.errors] == ["fragile"]
        assert mgr.errors == report.errors
        assert sys.modules["fragile"] is module
        after = mgr.get_classes()
        assert len(after) == 2 and all(a is b for a, b in zip(after, before, strict=True))
        assert str(report) == "kept: fragile; 1 error"
        (root / "fragile.py").write_text("class Works: pass\nclass Mended: pass\n")
        report = mgr.refresh()  # the next good version replaces it
        assert (report.changed, report.kept, report.errors) == (["fragile"], [], [])
        assert names(mgr) == ["Works", "Mended", "Other"]


def test_raise_policy_raises_from_refresh_and_keeps_the_old_version(make_tree: MakeTree) -> None:
    root = make_tree({"fragile.py": "class Works: pass\n"})
    with PikeManager([root]) as mgr:
        [works] = mgr.get_classes()
        (root / "fragile.py").write_text("this is not python\n")
        with pytest.raises(PluginImportError):
            mgr.refresh()
        assert sys.modules["fragile"].Works is works
        assert mgr.get_classes() == [works]
    assert "fragile" not in sys.modules


def test_modules_using_a_changed_module_run_afresh(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "base_mod.py": "class Base: pass\n",
            "user_mod.py": "from base_mod import Base\nclass Impl(Base): pass\n",
            "alone.py": "class Alone: pass\n",
        }
    )
    with PikeManager([root]) as mgr:
        mgr.get_classes()
        (root / "base_mod.py").write_text("class Base:\n    version = 2\n")
        report = mgr.refresh()
        assert report.changed == ["base_mod", "user_mod"]
        new_base = sys.modules["base_mod"].Base
        assert [c.__name__ for c in mgr.get_all_inherited_classes(new_base)] == ["Impl"]


def test_file_replaced_by_a_package(make_tree: MakeTree) -> None:
    root = make_tree({"shape.py": "class AsModule: pass\n"})
    with PikeManager([root]) as mgr:
        assert names(mgr) == ["AsModule"]
        (root / "shape.py").unlink()
        (root / "shape").mkdir()
        (root / "shape" / "__init__.py").write_text("class AsPackage: pass\n")
        assert mgr.refresh().changed == ["shape"]
        assert names(mgr) == ["AsPackage"]


def test_new_package_and_removed_package(make_tree: MakeTree) -> None:
    root = make_tree({"old_pkg/__init__.py": "", "old_pkg/m.py": "class M: pass\n"})
    with PikeManager([root]) as mgr:
        mgr.get_classes()
        shutil.rmtree(root / "old_pkg")
        (root / "new_pkg").mkdir()
        (root / "new_pkg" / "__init__.py").write_text("class N: pass\n")
        report = mgr.refresh()
        assert report.added == ["new_pkg"]
        assert report.removed == ["old_pkg", "old_pkg.m"]
        assert str(report) == "added: new_pkg; removed: old_pkg, old_pkg.m"
        assert names(mgr) == ["N"]


def test_refresh_before_discovery_loads_everything(make_tree: MakeTree) -> None:
    root = make_tree({"a.py": "class A: pass\n", "b.py": "class B: pass\n"})
    with PikeManager([root]) as mgr:
        assert mgr.refresh().added == ["a", "b"]
        assert names(mgr) == ["A", "B"]


def test_refresh_needs_an_active_manager(make_tree: MakeTree) -> None:
    root = make_tree({"a.py": ""})
    with PikeManager([root]) as mgr:
        pass
    with pytest.raises(InactiveManagerError):
        mgr.refresh()


def test_stale_bytecode_is_never_used(make_tree: MakeTree) -> None:
    # Python trusts a .pyc whose source has the same size and mtime (in whole
    # seconds); refresh must not execute the old code from it.
    root = make_tree({"cached_value.py": "VALUE = 'one'\n"})
    code = f"""
        import os, sys, time
        from pathlib import Path
        from pike.manager import PikeManager
        path = Path({str(root / "cached_value.py")!r})
        now = time.time_ns()
        os.utime(path, ns=(now, now - now % 10**9))  # a stamp in whole seconds
        with PikeManager([str(path.parent)]) as mgr:
            mgr.get_modules()
            assert os.path.exists(sys.modules["cached_value"].__cached__)
            stamp = os.stat(path)
            path.write_text("VALUE = 'two'\\n")
            os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
            print(mgr.refresh(), sys.modules["cached_value"].VALUE)
    """
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "changed: cached_value two"


def test_bytecode_made_from_a_hash_is_never_used_stale(make_tree: MakeTree) -> None:
    # A cache made from a hash that Python is told not to check is taken whatever the
    # source holds now; refresh must run the new source all the same.
    root = make_tree({"hashed_value.py": "VALUE = 'one'\n"})
    code = f"""
        import py_compile, sys
        from pathlib import Path
        from pike.manager import PikeManager
        path = Path({str(root / "hashed_value.py")!r})
        unchecked = py_compile.PycInvalidationMode.UNCHECKED_HASH
        py_compile.compile(str(path), invalidation_mode=unchecked)
        with PikeManager([str(path.parent)]) as mgr:
            mgr.get_modules()
            path.write_text("VALUE = 'a longer two'\\n")
            print(mgr.refresh(), sys.modules["hashed_value"].VALUE)
    """
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "changed: hashed_value a longer two"


def test_only_a_bytecode_cache_python_would_trust_is_removed(make_tree: MakeTree) -> None:
    import importlib.util
    import py_compile

    from pike import _walk
    from pike._refresh import _drop_bytecode
    from pike._session import Record

    names = ["same", "grown", "hashed", "short", "foreign", "plain"]
    root = make_tree({f"{name}.py": "VALUE = 1\n" for name in names})
    caches = {}
    for name in names:
        source = str(root / f"{name}.py")
        hashed = py_compile.PycInvalidationMode.UNCHECKED_HASH
        mode = hashed if name == "hashed" else py_compile.PycInvalidationMode.TIMESTAMP
        caches[name] = py_compile.compile(source, invalidation_mode=mode)
    assert caches["same"] == importlib.util.cache_from_source(str(root / "same.py"))
    (root / "grown.py").write_text("VALUE = 'grown'\n")  # Python refuses its cache
    with open(root / "hashed.py", "a") as f:
        f.write("#\n")  # an unchecked hash cache is taken however the source changed
    with open(caches["short"], "r+b") as f:
        f.truncate(10)  # no whole header: refused
    with open(caches["foreign"], "r+b") as f:
        f.write(b"\0\0\0\0")  # another Python's magic number: refused
    records = {e.name: Record(e, object(), None, None) for e in _walk.walk([str(root)]).modules}
    _drop_bytecode({*names[:-1]}, records)
    left = {name for name, cache in caches.items() if os.path.exists(cache)}
    assert left == {"grown", "short", "foreign", "plain"}  # "same", "hashed": removed


def test_the_digest_of_a_vanished_file_matches_no_content(tmp_path: object) -> None:
    from pike._filestate import digest_of

    assert digest_of(f"{tmp_path}/missing.py") == -1


@pytest.mark.parametrize(
    ("stamp", "age", "racy"),
    [
        (SECOND * 1_700_000_000 + 123_456_789, 50 * MS, True),  # fine stamp, 50 ms old
        (SECOND * 1_700_000_000 + 123_456_789, 150 * MS, False),
        (SECOND * 1_700_000_000 + 123_456_789, -10 * SECOND, True),  # from the future
        (SECOND * 1_700_000_000, 2500 * MS, True),  # whole seconds (FAT keeps two)
        (SECOND * 1_700_000_000, 3500 * MS, False),
        (SECOND * 1_700_000_000, -SECOND, True),
    ],
)
def test_how_recent_a_stamp_is_checked_by_content(stamp: int, age: int, racy: bool) -> None:
    from pike._filestate import is_racy

    assert is_racy(stamp, stamp + age) is racy


def test_a_file_stamped_moments_ago_is_remembered_by_content(make_tree: MakeTree) -> None:
    from pike import _walk
    from pike._filestate import FileState, digest_of
    from pike._refresh import plan
    from pike._session import Record

    root = make_tree({"fresh.py": "VALUE = 1\n"})
    path = str(root / "fresh.py")
    soon = time.time_ns() + 10 * SECOND + 7  # a fraction of a second, in the future
    os.utime(path, ns=(soon, soon))
    state = FileState.of(os.stat(path), path, time.time_ns())
    assert state.key[:2] == (10, soon)
    assert state.digest is not None and state.digest == digest_of(path)
    walk = _walk.walk([str(root)])
    [entry] = walk.modules
    record = Record(entry, object(), None, state)
    for in_step in (False, True):
        assert plan({"fresh": record}, walk, in_step=in_step).changed == []
    with open(path, "w") as f:
        f.write("VALUE = 2\n")  # the same size
    os.utime(path, ns=(soon, soon))  # and the same modification time
    for in_step in (False, True):
        assert plan({"fresh": record}, walk, in_step=in_step).changed == [entry]


def test_every_comparison_of_states_reads_the_same_key(make_tree: MakeTree) -> None:
    """The bulk comparisons write the state's key out for speed: each must agree with
    `key_of`, and each must see any one of its parts change."""
    from pike._filestate import FileState, changed, changed_in, key_of

    root = make_tree({"a.py": "A = 1\n", "b.py": "B = 1\n"})
    paths = [str(root / "a.py"), str(root / "b.py")]
    old = time.time_ns() - 100 * SECOND
    for path in paths:
        os.utime(path, ns=(old, old))
    later = time.time_ns() + 100 * SECOND  # taken late enough that the times are trusted
    states = [FileState.of(os.stat(p), p, later) for p in paths]
    hashes = [hash(key_of(os.stat(p))) for p in paths]
    assert [s.digest for s in states] == [None, None]
    pairs = list(zip(paths, states, strict=True))
    folder, names = f"{root}{os.sep}", ["a.py", "b.py"]
    gone = f"{root}-gone{os.sep}"

    def in_folder() -> list[int]:
        return changed_in([folder, folder], names, hashes)

    assert changed(pairs) == [] and in_folder() == []
    os.utime(paths[1], ns=(old, old + 1))  # touched: its times
    assert changed(pairs) == [1] and in_folder() == [1]
    os.utime(paths[1], ns=(old, old))
    with open(paths[1], "a") as f:  # the size (and ctime)
        f.write("#")
    os.utime(paths[1], ns=(old, old))
    assert changed(pairs) == [1] and in_folder() == [1]
    os.replace(paths[1], paths[0])  # another file (inode) under a's name; b gone
    assert changed(pairs) == [0, 1] and in_folder() == [0, 1]
    assert changed_in([gone, folder], names, hashes) == [0, 1]  # a folder gone


def test_a_path_that_is_no_path_counts_as_changed_and_a_folder_as_itself() -> None:
    """A path with a NUL or a name no filesystem encodes cannot be looked at: it is
    changed, never an error; a folder given with its separator at the end ("/", as
    ``sys.path`` may hold it) is looked at whole."""
    from pike._filestate import FileState, changed, changed_in

    state = FileState.of(os.stat(os.sep), os.sep, time.time_ns() + 100 * SECOND)
    assert changed([(os.sep, state)]) == []
    for bad in (f"{os.sep}no\0where{os.sep}", f"{os.sep}no\udcffwhere{os.sep}"):
        assert changed_in([bad], ["x.py"], [state.mark]) == [0]
        assert changed([(bad + "x.py", state)]) == [0]


def test_files_compared_in_bulk_may_lie_in_many_folders(make_tree: MakeTree) -> None:
    """Each run of files in one folder is looked up in that folder; a folder one may
    search but not read, and a bare file name (the current folder), answer the same."""
    from pike._filestate import FileState, changed, changed_in

    root = make_tree({"a/x.py": "", "a/y.py": "", "b/x.py": "", "c/z.py": ""})
    files = [("a", "x.py"), ("b", "x.py"), ("a", "y.py"), ("c", "z.py")]
    paths = [str(root / folder / name) for folder, name in files]
    later = time.time_ns() + 100 * SECOND
    states = [FileState.of(os.stat(p), p, later) for p in paths]
    folders = [f"{root / folder}{os.sep}" for folder, _name in files]
    names = [name for _folder, name in files]
    marks = [state.mark for state in states]
    assert changed_in(folders, names, marks) == []
    (root / "b" / "x.py").write_text("# longer\n")
    assert changed_in(folders, names, marks) == [1]
    assert changed(zip(paths, states, strict=True)) == [1]
    os.chmod(root / "c", 0o311)  # searchable, not readable: as a walk of the path sees it
    try:
        assert changed_in(folders, names, marks) == [1]
    finally:
        os.chmod(root / "c", 0o755)
    here = os.getcwd()
    os.chdir(root / "a")
    try:
        assert changed_in(["", ""], ["x.py", "y.py"], marks[::2]) == []
        assert changed_in(["", ""], ["y.py", "x.py"], marks[::2]) == [0, 1]
    finally:
        os.chdir(here)


# -- the diff, without importing anything; work proportional to what changed ---------


def _records_for(walk: object) -> dict[str, object]:
    """Records as the loaders would write them, without importing anything."""
    from pike._filestate import FileState
    from pike._session import Record

    records: dict[str, object] = {}
    for entry in walk.modules:  # type: ignore[attr-defined]
        st = os.stat(entry.path)
        state = FileState.of(st, entry.path, st.st_ctime_ns + 10 * SECOND)  # old enough
        records[entry.name] = Record(entry, object(), None, state)
    return records


def test_the_plan_is_a_diff_of_records_and_a_walk_and_imports_nothing(
    make_tree: MakeTree,
) -> None:
    from pike import _walk
    from pike._refresh import plan

    root = make_tree(
        {
            "kept.py": "",
            "edited.py": "",
            "gone.py": "",
            "pkg/__init__.py": "",
            "pkg/sub.py": "",
        }
    )
    before = set(sys.modules)
    first = _walk.walk([str(root)])
    records = _records_for(first)
    (root / "edited.py").write_text("# now longer\n")
    (root / "gone.py").unlink()
    (root / "pkg" / "sub.py").unlink()
    (root / "added.py").write_text("")
    diff = plan(records, _walk.walk([str(root)], previous=first))  # type: ignore[arg-type]
    assert [e.name for e in diff.new] == ["added"]
    assert [e.name for e in diff.changed] == ["edited"]
    assert diff.removed == {"gone", "pkg.sub"}
    assert set(sys.modules) == before


def test_a_file_remembered_by_content_is_remembered_by_stamp_once_it_is_old(
    make_tree: MakeTree,
) -> None:
    from pike import _walk
    from pike._filestate import FileState
    from pike._refresh import plan
    from pike._session import Record

    root = make_tree({"young.py": "X = 1\n"})
    walk = _walk.walk([str(root)])
    [entry] = walk.modules
    st = os.stat(entry.path)
    os.utime(entry.path, ns=(st.st_mtime_ns - 10 * SECOND, st.st_mtime_ns - 10 * SECOND))
    state = FileState.of(os.stat(entry.path), entry.path, time.time_ns())
    record = Record(entry, object(), None, state)
    assert plan({"young": record}, walk).changed == []
    assert record.state is not None and record.state.digest is not None  # ctime: not yet
    diff = plan({"young": record}, walk, now_ns=time.time_ns() + 10 * SECOND)
    assert diff.changed == []
    assert record.state.digest is None  # its times are trusted from now on
    assert record.state.key == state.key


def test_a_walk_is_reused_only_while_no_folder_can_have_changed(make_tree: MakeTree) -> None:
    from pike import _walk

    root = make_tree({"a.py": "", "pkg/__init__.py": ""})
    old = time.time_ns() - 10 * SECOND
    for folder in (root, root / "pkg"):
        os.utime(folder, ns=(old, old))
    first = _walk.walk([str(root)])
    assert _walk.walk([str(root)], previous=first) is first
    (root / "pkg" / "b.py").write_text("")  # a package folder changed
    second = _walk.walk([str(root)], previous=first)
    assert second is not first
    assert [e.name for e in second.modules] == ["a", "pkg", "pkg.b"]
    # Its folder was just written: its state holds a digest of its names, checked too.
    assert _walk.walk([str(root)], previous=second) is second
    (root / "pkg" / "c.py").write_text("")  # within the same tick, maybe: the names tell
    third = _walk.walk([str(root)], previous=second)
    assert [e.name for e in third.modules] == ["a", "pkg", "pkg.b", "pkg.c"]
    shutil.rmtree(root / "pkg")
    assert not first.is_current()


def test_refresh_runs_only_what_changed(make_tree: MakeTree) -> None:
    root = make_tree({f"m{i:02}.py": f"class M{i}: pass\n" for i in range(30)})
    with PikeManager([root]) as mgr:
        mgr.get_classes()
        modules = {name: sys.modules[name] for name in (f"m{i:02}" for i in range(30))}
        (root / "m07.py").write_text("class M7:\n    version = 2\n")
        assert mgr.refresh().changed == ["m07"]
        fresh = [name for name, module in modules.items() if sys.modules[name] is not module]
        assert fresh == ["m07"]
        assert sys.modules["m07"].M7.version == 2


def test_a_name_hidden_by_an_earlier_search_path_is_never_taken_for_a_change(
    make_tree: MakeTree,
) -> None:
    first = make_tree({"twin.py": "class First: pass\n"})
    second = make_tree({"twin.py": "class Second: pass\n"})
    with PikeManager([first, second], on_error="collect") as mgr:
        assert names(mgr) == ["First"]
        for _ in range(2):
            report = mgr.refresh()
            assert report.changed == [] and report.added == []
            [error] = report.errors  # reported again, as at every discovery
            assert error.path == str(second / "twin.py")
        assert names(mgr) == ["First"]


def test_a_module_that_moves_to_another_search_path(make_tree: MakeTree) -> None:
    first = make_tree({}, name="first")
    second = make_tree({"mover.py": "WHERE = 'second'\n"}, name="second")
    with PikeManager([first, second]) as mgr:
        assert [m.WHERE for m in mgr.get_modules()] == ["second"]
        shutil.move(second / "mover.py", first / "mover.py")
        (first / "mover.py").write_text("WHERE = 'first'\n")
        assert mgr.refresh().changed == ["mover"]
        assert [m.WHERE for m in mgr.get_modules()] == ["first"]


def test_a_file_that_vanishes_after_the_walk_counts_as_changed(make_tree: MakeTree) -> None:
    from pike import _walk
    from pike._refresh import plan

    root = make_tree({"brief.py": ""})
    walk = _walk.walk([str(root)])
    records = _records_for(walk)
    (root / "brief.py").unlink()
    assert [e.name for e in plan(records, walk).changed] == ["brief"]  # type: ignore[arg-type]


def test_the_plan_through_the_records_alone_agrees_with_the_full_one(
    make_tree: MakeTree,
) -> None:
    from pike import _walk
    from pike._refresh import plan

    first = make_tree({"b.py": "", "a.py": "", "pkg/__init__.py": "", "pkg/z.py": ""})
    second = make_tree({"c.py": ""})
    walk = _walk.walk([str(first), str(second)])
    records = _records_for(walk)
    for name in ("pkg/z.py", "b.py", "a.py"):
        (first / name).write_text("# longer now\n")
    (second / "c.py").write_text("# longer now\n")
    full = plan(records, walk)  # type: ignore[arg-type]
    alone = plan(records, walk, in_step=True)  # type: ignore[arg-type]
    assert [e.name for e in alone.changed] == [e.name for e in full.changed]
    assert [e.name for e in full.changed] == ["a", "b", "pkg.z", "c"]  # load order
    assert alone.new == full.new == [] and alone.removed == full.removed == set()


def test_a_manager_knows_when_its_records_match_the_walk(make_tree: MakeTree) -> None:
    root = make_tree(
        {"solo.py": "class Solo: pass\n", "pair.py": "import solo\nclass Pair: pass\n"}
    )
    with PikeManager([root]) as mgr:
        mgr.get_classes()
        # pair imported solo itself, before the loop reached it: still one to one.
        assert mgr._in_step == mgr._session.version
        (root / "solo.py").write_text("class Solo:\n    v = 2\n")
        assert mgr.refresh().changed == ["pair", "solo"]
        assert names(mgr) == ["Pair", "Solo"]


OLD = 1_600_000_000_000_000_000  # 2020: long enough ago for any state to be trusted


def age(root: object) -> None:
    """Set every folder under ``root`` (and the files) to an old time, as a release's are."""
    from pathlib import Path

    for path in [Path(str(root)), *Path(str(root)).rglob("*")]:
        os.utime(path, ns=(OLD, OLD), follow_symlinks=False)


def test_a_package_re_exporting_from_a_changed_submodule_runs_again(
    make_tree: MakeTree,
) -> None:
    root = make_tree(
        {
            "pk/__init__.py": "from .impl import Impl\n",
            "pk/impl.py": "class Impl:\n    version = 1\n",
            "user.py": "from pk import Impl\n\nclass Sub(Impl):\n    pass\n",
        }
    )
    age(root)
    with PikeManager([root]) as mgr:
        mgr.get_classes()
        (root / "pk" / "impl.py").write_text("class Impl:\n    version = 2\n")
        report = mgr.refresh()
        assert set(report.changed) == {"pk", "pk.impl", "user"}
        assert sys.modules["pk"].Impl.version == 2
        assert sys.modules["pk"].Impl is sys.modules["pk.impl"].Impl
        assert sys.modules["user"].Sub.__mro__[1] is sys.modules["pk"].Impl


@pytest.mark.parametrize("how", ["import inside the block", "find_inherited_classes"])
def test_the_first_refresh_sees_modules_loaded_any_way(make_tree: MakeTree, how: str) -> None:
    root = make_tree(
        {
            "basis.py": "class Basis:\n    pass\n",
            "a.py": "from basis import Basis\n\nclass A(Basis):\n    version = 1\n",
        }
    )
    age(root)
    with PikeManager([root]) as mgr:
        if how == "import inside the block":
            import a  # type: ignore[import-not-found]

            assert a.A.version == 1
        else:
            import basis  # type: ignore[import-not-found]

            [found] = mgr.find_inherited_classes(basis.Basis)
            assert found.version == 1
        (root / "a.py").write_text("from basis import Basis\n\nclass A(Basis):\n    version = 22\n")
        report = mgr.refresh()
        assert "a" in report.changed
        assert sys.modules["a"].A.version == 22


def test_a_folder_that_becomes_a_package_is_seen(make_tree: MakeTree) -> None:
    root = make_tree({"top.py": "", "plain/mod.py": "class InPlain:\n    pass\n"})
    age(root)
    with PikeManager([root]) as mgr:
        assert [c.__name__ for c in mgr.get_classes()] == []
        (root / "plain" / "__init__.py").write_text("")
        assert mgr.refresh().added == ["plain", "plain.mod"]
        assert [c.__name__ for c in mgr.get_classes()] == ["InPlain"]


def test_a_folder_changed_with_its_time_set_back_is_seen(make_tree: MakeTree) -> None:
    # A reproducible tarball unpacked over the folder restores its times.
    root = make_tree({"first.py": ""})
    age(root)
    with PikeManager([root]) as mgr:
        assert [module.__name__ for module in mgr.get_modules()] == ["first"]
        (root / "second.py").write_text("class Second:\n    pass\n")
        age(root)
        assert mgr.refresh().added == ["second"]


def test_a_release_link_switched_to_a_copy_is_seen(tmp_path: object) -> None:
    from pathlib import Path

    base = Path(str(tmp_path))
    (base / "v1").mkdir()
    (base / "v1" / "plugin.py").write_text("VERSION = 1\n")
    shutil.copytree(base / "v1", base / "v2", copy_function=shutil.copy2)
    (base / "v2" / "extra.py").write_text("")
    age(base)
    current = base / "current"
    current.symlink_to(base / "v1")
    with PikeManager([current]) as mgr:
        assert [m.VERSION for m in mgr.get_modules()] == [1]
        shutil.copystat(base / "v1", base / "v2")  # cp -a: the same times
        (base / "next").symlink_to(base / "v2")
        os.replace(base / "next", current)
        report = mgr.refresh()
        assert report.added == ["extra"]


def test_the_files_refresh_looks_at_follow_the_records_name_by_name(
    make_tree: MakeTree,
) -> None:
    """The columns of files a session keeps for refresh are brought up to date as
    records come, go and come back, and packed once most of them went."""
    from pike import _walk
    from pike._filestate import FileState
    from pike._session import Record, RecordFiles

    layout = {f"m{i:03}.py": f"V = {i}\n" for i in range(150)}
    root = make_tree({**layout, "sub/__init__.py": "", "sub/deep.py": ""})
    walk = _walk.walk([str(root)])
    records: dict[str, Record] = _records_for(walk)  # type: ignore[assignment]
    files = RecordFiles.of(records)
    assert files.stale(time.time_ns()) == []
    (root / "m007.py").write_text("V = 'seven'\n")
    (root / "sub" / "deep.py").write_text("# longer\n")
    assert [r.entry.name for r in files.stale(time.time_ns())] == ["m007", "sub.deep"]
    # m007 loaded again: its one position now holds the new record.
    entry = records["m007"].entry
    st = os.stat(entry.path)
    records["m007"] = Record(entry, object(), None, FileState.of(st, entry.path, st.st_ctime_ns))
    files.update(records, ["m007"])
    assert [r.entry.name for r in files.stale(time.time_ns())] == ["sub.deep"]
    # Most records taken out: the columns are packed, and still answer alike.
    gone = [f"m{i:03}" for i in range(10, 150)]
    for name in gone:
        del records[name]
    files.update(records, gone)
    assert len(files.records) == len(records) == 12
    assert [r.entry.name for r in files.stale(time.time_ns())] == ["sub.deep"]
    (root / "m003.py").write_text("V = 'three'\n")
    assert [r.entry.name for r in files.stale(time.time_ns())] == ["m003", "sub.deep"]
    # A record the manager did not run (borrowed from the host) has no file to watch.
    borrowed = Record(records["m001"].entry, object(), None, None, borrowed=True)
    records["m001"] = borrowed
    files.update(records, ["m001"])
    assert "m001" not in {r.entry.name for r in files.stale(time.time_ns())}
    assert borrowed not in files.records


def test_refresh_sees_each_edit_after_most_modules_went_away(make_tree: MakeTree) -> None:
    root = make_tree({f"p{i:03}.py": f"class P{i:03}:\n    pass\n" for i in range(120)})
    age(root)
    with PikeManager([root]) as mgr:
        assert len(mgr.get_classes()) == 120
        for i in range(100):
            (root / f"p{i:03}.py").unlink()
        assert len(mgr.refresh().removed) == 100
        (root / "p110.py").write_text("class P110:\n    v = 2\n")
        assert mgr.refresh().changed == ["p110"]
        (root / "p005.py").write_text("class P005:\n    pass\n")
        assert mgr.refresh().added == ["p005"]
        (root / "p005.py").write_text("class P005:\n    v = 2\n")
        assert mgr.refresh().changed == ["p005"]
        assert not mgr.refresh()
