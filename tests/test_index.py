"""The discovery index and the caches never answer wrong, never raise, never write into
the folders (docs/design.md, "Caches")."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from pike import _cache, _walk
from pike.discovery import static
from pike.discovery._index import Index
from tests.conftest import NOBODY, REPO, MakeTree, kept_listings, values_of

PLUGINS = {
    "alpha.py": "from bases import Base\n\nclass Alpha(Base):\n    pass\n",
    "beta.py": "class Beta:\n    pass\n",
    "pkg/__init__.py": "from .impl import Impl\n",
    "pkg/impl.py": "from bases import Base\n\nclass Impl(Base):\n    pass\n",
    "broken.py": "class (:\n",
}


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("PIKE_CACHE_DIR", str(folder))
    return folder


def listed(root: Path, base: str | None = None) -> tuple[object, ...]:
    listing = static.list_classes([root], base=base)
    return (
        sorted(listing.classes),
        listing.modules,
        [(e.module, e.lineno, e.message) for e in listing.errors],
        [str(s) for s in listing.skipped],
    )


def tree_state(root: Path) -> list[tuple[str, int]]:
    return sorted((str(p), p.stat().st_mtime_ns) for p in root.rglob("*"))


def stored_walk(root: Path) -> object:
    """The walk of ``root`` the index holds, if it would be used now."""
    from pike.discovery import _index

    return _index._walk_from(Index([str(root)])._document(str(root)).get("walk"), str(root))


def indexed(root: Path) -> set[str]:
    """The modules whose facts the index holds and would use now."""
    paths = [str(root)]
    entries = [e for e in _walk.walk(paths).modules if e.path.endswith(".py")]
    return set(Index(paths).known(entries))


def test_a_warm_listing_is_the_cold_one_and_nothing_lands_in_the_search_path(
    make_tree: MakeTree, cache: Path
) -> None:
    root = make_tree(PLUGINS)
    before = tree_state(root)
    cold = listed(root, base="Base")
    assert cache.is_dir() and oct(cache.stat().st_mode & 0o777) == "0o700"
    [index_file] = [p for p in cache.iterdir() if p.name.startswith("index-")]
    assert oct(index_file.stat().st_mode & 0o777) == "0o600"
    assert indexed(root) == {"alpha", "beta", "pkg", "pkg.impl", "broken"}
    assert listed(root, base="Base") == cold
    assert listed(root) == listed(root)
    assert tree_state(root) == before  # nothing written into the search path
    assert [c.name for c in static.list_classes([root], base="Base").classes] == [
        "Alpha",
        "Impl",
    ]


def test_an_edited_file_is_parsed_again(make_tree: MakeTree, cache: Path) -> None:
    root = make_tree(PLUGINS)
    listed(root)
    (root / "beta.py").write_text("class Beta:\n    pass\n\nclass Gamma(Beta):\n    pass\n")
    assert [c.name for c in static.list_classes([root]).classes if c.module == "beta"] == [
        "Beta",
        "Gamma",
    ]


def test_a_file_replaced_or_touched_back_is_parsed_again(make_tree: MakeTree, cache: Path) -> None:
    root = make_tree(PLUGINS)
    listed(root)
    beta = root / "beta.py"
    old = beta.stat()
    # The same size, the old modification time, another inode (an editor's save).
    replacement = root / "beta.tmp"
    replacement.write_text("class Btea:\n    pass\n")
    assert replacement.stat().st_size == old.st_size
    os.utime(replacement, ns=(old.st_atime_ns, old.st_mtime_ns))
    os.replace(replacement, beta)
    assert [c.name for c in static.list_classes([root]).classes if c.module == "beta"] == ["Btea"]
    # Written in place, touched back to an old time, with another size.
    beta.write_text("class Beta:\n    x = 1\n")
    os.utime(beta, ns=(old.st_atime_ns, old.st_mtime_ns - 10**12))
    listing = static.list_classes([root])
    assert [(c.name, c.lineno) for c in listing.classes if c.module == "beta"] == [("Beta", 1)]
    # The same size and time as indexed, in place: the change time tells.
    before = beta.stat()
    beta.write_text("class Bate:\n    x = 1\n")
    os.utime(beta, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert beta.stat().st_size == before.st_size
    assert [c.name for c in static.list_classes([root]).classes if c.module == "beta"] == ["Bate"]


def test_a_renamed_added_or_removed_file_is_seen(make_tree: MakeTree, cache: Path) -> None:
    root = make_tree(PLUGINS)
    listed(root)
    (root / "beta.py").rename(root / "renamed.py")
    (root / "alpha.py").unlink()
    (root / "pkg" / "extra.py").write_text("class Extra:\n    pass\n")
    listing = static.list_classes([root])
    assert {c.qualname for c in listing.classes} == {
        "renamed.Beta",
        "pkg.impl.Impl",
        "pkg.extra.Extra",
    }
    # A folder made a package: the modules under it appear, by their new names.
    (root / "plain").mkdir()
    (root / "plain" / "mod.py").write_text("class InPlain:\n    pass\n")
    assert "plain.mod.InPlain" not in {c.qualname for c in static.list_classes([root]).classes}
    (root / "plain" / "__init__.py").write_text("")
    assert "plain.mod.InPlain" in {c.qualname for c in static.list_classes([root]).classes}


@pytest.mark.parametrize(
    "damage",
    ["garbage", "truncated", "bad checksum", "other format", "a folder", "empty"],
)
def test_a_damaged_index_is_rebuilt_never_raised(
    make_tree: MakeTree, cache: Path, damage: str
) -> None:
    root = make_tree(PLUGINS)
    expected = listed(root)
    [index_file] = list(cache.glob("index-*"))
    data = index_file.read_bytes()
    index_file.unlink()
    if damage == "garbage":
        index_file.write_bytes(os.urandom(len(data)))
    elif damage == "truncated":
        index_file.write_bytes(data[: len(data) // 2])
    elif damage == "bad checksum":
        index_file.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    elif damage == "other format":
        # The header: the magic, then the format and the payload's CRC-32 (4 bytes each).
        at = len(_cache._MAGIC)
        forged = data[:at] + (_cache.FORMAT + 1).to_bytes(4, "little") + data[at + 4 :]
        index_file.write_bytes(forged)
    elif damage == "a folder":
        index_file.mkdir()
    else:
        index_file.write_bytes(b"")
    index_file.chmod(0o600) if index_file.is_file() else None
    assert listed(root) == expected
    if damage != "a folder":
        assert indexed(root) == {"alpha", "beta", "pkg", "pkg.impl", "broken"}  # rewritten


def test_an_unusable_cache_folder_is_skipped(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(PLUGINS)
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    monkeypatch.setenv("PIKE_CACHE_DIR", str(not_a_folder / "cache"))
    expected = listed(root)
    assert listed(root) == expected
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # others could plant an index: not read, not written
    monkeypatch.setenv("PIKE_CACHE_DIR", str(shared))
    assert listed(root) == expected
    assert list(shared.iterdir()) == []
    for off in ("", "off", "0"):
        monkeypatch.setenv("PIKE_CACHE_DIR", off)
        assert listed(root) == expected
    assert _cache.directory() is None


def test_a_planted_index_file_is_not_trusted(make_tree: MakeTree, cache: Path) -> None:
    root = make_tree(PLUGINS)
    expected = listed(root)
    [index_file] = list(cache.glob("index-*"))
    index_file.chmod(0o666)  # writable by others: someone may have changed it
    assert _cache.read(index_file.name) is None
    assert listed(root) == expected


def test_the_index_lives_in_the_xdg_cache_by_default(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PIKE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _cache.directory() == str(tmp_path / "xdg" / "pike")
    listed(make_tree(PLUGINS))
    assert list((tmp_path / "xdg" / "pike").glob("index-*"))
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert _cache.directory() == os.path.join(os.path.expanduser("~"), ".cache", "pike")


def test_two_processes_listing_at_once(make_tree: MakeTree, cache: Path) -> None:
    root = make_tree({f"mod{i:03d}.py": f"class C{i}:\n    pass\n" for i in range(300)})
    code = textwrap.dedent(
        f"""
        from pike.discovery import static
        listing = static.list_classes([{str(root)!r}])
        print(len(listing.classes), len(listing.errors))
        """
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    runs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(4)
    ]
    outputs = [run.communicate(timeout=120)[0].strip() for run in runs]
    assert outputs == ["300 0"] * 4
    assert all(run.returncode == 0 for run in runs)
    assert len(indexed(root)) == 300
    assert [p.name for p in cache.iterdir() if p.name.endswith(".tmp")] == []


def test_files_old_enough_are_vouched_for_by_their_state(
    make_tree: MakeTree, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from pike.discovery import _index

    root = make_tree(PLUGINS)
    listed(root)  # every file just written: kept with a digest of its content
    paths = [str(root)]
    entries = [e for e in _walk.walk(paths).modules if e.path.endswith(".py")]
    stored = Index(paths)._document(str(root))["files"]
    assert all(state[5] is not None for state, _facts in stored.values())
    # Ten seconds on, the files are old enough: their state alone will do.
    later = time.time_ns() + 10 * 10**9
    monkeypatch.setattr(_index.time, "time_ns", lambda: later)
    listed(root)
    stored = Index(paths)._document(str(root))["files"]
    assert all(state[5] is None for state, _facts in stored.values())
    assert set(Index(paths).known(entries)) == {"alpha", "beta", "pkg", "pkg.impl", "broken"}


def test_a_folder_listed_while_new_is_kept_without_its_digest_once_old_enough(
    make_tree: MakeTree, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A folder whose times were too recent to trust is kept with a digest of its names;
    # once it can be trusted, what is kept of it (its walk, the whole listing) no longer
    # has one: a digest would have every warm listing read the folder whole again.
    import time

    from pike.discovery import _index

    root = make_tree(PLUGINS)
    paths = [str(root)]
    expected = listed(root)  # everything just written
    [walked, *_] = Index(paths)._document(str(root))["walk"]
    assert walked[0][1][5] is not None  # the folder, with a digest

    def kept_folders() -> list[object]:
        listing = _cache.read(Index(paths)._listing_name())
        assert listing is not None
        return [state[5] for _path, state in listing["folders"]]

    later = time.time_ns() + 10 * 10**9
    monkeypatch.setattr(_index.time, "time_ns", lambda: later)
    assert listed(root) == expected  # the files old enough: the listing is kept whole
    [walked, *_] = Index(paths)._document(str(root))["walk"]
    assert [state[5] for _path, state in walked] == [None] * len(walked)
    assert kept_folders() == [None] * len(walked)
    assert listed(root) == expected  # from what is kept


INSTALLED_CODE = """
    import sys
    sys.path.insert(0, {site!r})
    from pike.named import ExtensionManager
    print(sorted((e.name, e.distribution) for e in ExtensionManager("acme.g")))
"""
# The same, writing no bytecode: a __pycache__ appearing in the site folder would change
# its state, and hide whether the change itself was seen.
QUIET_INSTALLED_CODE = INSTALLED_CODE.replace(
    "import sys\n", "import sys\n    sys.dont_write_bytecode = True\n", 1
)


def install(site: Path, name: str, points: str) -> Path:
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(points)
    return info


def test_installed_entry_points_are_cached_and_follow_changes(tmp_path: Path, cache: Path) -> None:
    from tests.conftest import run_python

    site = tmp_path / "site"
    (site / "acme_mod.py").parent.mkdir(parents=True)
    (site / "acme_mod.py").write_text("class One: pass\nclass Two: pass\nclass Three: pass\n")
    info = install(site, "acme-one", "[acme.g]\none = acme_mod:One\n")
    code = INSTALLED_CODE.format(site=str(site))

    def names() -> str:
        result = run_python(code)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert names() == "[('one', 'acme-one 1.0')]"
    assert list(cache.glob("entry-points-*"))
    assert names() == "[('one', 'acme-one 1.0')]"  # from the cache
    install(site, "acme-two", "[acme.g]\ntwo = acme_mod:Two\n")  # pip install
    assert names() == "[('one', 'acme-one 1.0'), ('two', 'acme-two 1.0')]"
    (info / "entry_points.txt").write_text("[acme.g]\none = acme_mod:One\nthree = acme_mod:Three\n")
    assert (
        names() == "[('one', 'acme-one 1.0'), ('three', 'acme-one 1.0'), ('two', 'acme-two 1.0')]"
    )
    for stale in cache.glob("entry-points-*"):
        stale.write_bytes(b"not a cache file")
    assert (
        names() == "[('one', 'acme-one 1.0'), ('three', 'acme-one 1.0'), ('two', 'acme-two 1.0')]"
    )


LAZY = {
    "hostlib_c16.py": "",  # stands for the host's framework (imported by the test)
    "direct.py": "from lazybase_c16 import Base\n\nclass Direct(Base):\n    pass\n",
    "aliased.py": "import lazybase_c16 as lb\nfrom lazybase_c16 import Base as B\n\n"
    "class ByAlias(B):\n    pass\n\nclass ByModule(lb.Base):\n    pass\n",
    "middle.py": "from direct import Direct\n\nclass Grandchild(Direct):\n    pass\n",
    "framework_user.py": "from lazyframe_c16 import Mid\n\nclass ViaHost(Mid):\n    pass\n",
    "pkg/__init__.py": "from pkg.impl import Impl\n",
    "pkg/impl.py": "from lazybase_c16 import Base\n\nclass Impl(Base):\n    pass\n",
    "pkg/other.py": "raise RuntimeError('never imported: declares no subclass')\n",
    "unrelated.py": "import sys\nsys.modules['lazybase_c16'].IMPORTED.append('unrelated')\n"
    "class Plain:\n    pass\n",
    "made.py": "from lazybase_c16 import Base\nMade = type('Made', (Base,), {})\n",
}


@pytest.fixture
def lazy_host(tmp_path: Path) -> object:
    """The host's own modules: the base class, and a framework class deriving from it."""
    host = tmp_path / "host"
    host.mkdir()
    (host / "lazybase_c16.py").write_text("IMPORTED = []\n\nclass Base:\n    pass\n")
    (host / "lazyframe_c16.py").write_text(
        "from lazybase_c16 import Base\n\nclass Mid(Base):\n    pass\n"
    )
    sys.path.insert(0, str(host))
    import lazybase_c16  # type: ignore[import-not-found]
    import lazyframe_c16  # type: ignore[import-not-found]  # noqa: F401

    yield lazybase_c16
    sys.path.remove(str(host))
    for name in ("lazybase_c16", "lazyframe_c16"):
        sys.modules.pop(name, None)
    sys.path_importer_cache.pop(str(host), None)


def test_find_inherited_classes_imports_only_the_candidates(
    make_tree: MakeTree, cache: Path, lazy_host: object
) -> None:
    from pike.manager import PikeManager

    base = lazy_host.Base  # type: ignore[attr-defined]
    root = make_tree(LAZY)
    with PikeManager([root]) as mgr:
        found = mgr.find_inherited_classes(base)
        names = [c.__qualname__ for c in found]
        assert names == ["ByAlias", "ByModule", "Direct", "ViaHost", "Grandchild", "Impl"]
        assert "unrelated" not in sys.modules and "pkg.other" not in sys.modules
        assert "made" not in sys.modules
        assert lazy_host.IMPORTED == []  # type: ignore[attr-defined]
        assert mgr.errors == []
        assert mgr.find_inherited_classes(base) == found  # again: the same classes
    with PikeManager([root], on_error="collect") as everything:
        every = [
            f"{c.__module__}.{c.__qualname__}" for c in everything.get_all_inherited_classes(base)
        ]
        # The same, but for the class made at run time, which no source declares.
        lazily = [f"{c.__module__}.{c.__qualname__}" for c in found]
        assert [name for name in every if name != "made.Made"] == lazily
        assert "made.Made" in every
    with pytest.raises(TypeError):
        PikeManager([root]).find_inherited_classes("Base")  # type: ignore[arg-type]


def test_the_walk_is_reused_while_no_folder_changed(make_tree: MakeTree, cache: Path) -> None:
    root = make_tree(PLUGINS)
    old = 1_600_000_000_000_000_000  # 2020: long enough ago to trust
    for folder in (root, root / "pkg"):
        os.utime(folder, ns=(old, old))
    expected = listed(root)
    assert stored_walk(root) is not None
    assert listed(root) == expected
    (root / "pkg" / "late.py").write_text("class Late:\n    pass\n")  # the folder's mtime moves
    assert stored_walk(root) is None
    assert "pkg.late.Late" in {c.qualname for c in static.list_classes([root]).classes}


def test_cache_files_read_defensively(tmp_path: Path, cache: Path) -> None:
    _cache.write("doc", {"a": [1, 2, (3, "x")]})
    assert _cache.read("doc") == {"a": [1, 2, (3, "x")]}
    (cache / "link").symlink_to(cache / "doc")
    assert _cache.read("link") is None  # a symbolic link is not followed
    assert _cache.read("absent") is None
    _cache.write("inside", {"x": 1}, avoid=(str(cache.parent),))  # inside a search path
    assert not (cache / "inside").exists()
    os.environ["PIKE_CACHE_DIR"] = "off"
    try:
        assert _cache.read("doc") is None
        _cache.write("doc2", {"x": 1})
    finally:
        os.environ["PIKE_CACHE_DIR"] = str(cache)
    assert not (cache / "doc2").exists()
    gone = tmp_path / "gone"
    os.environ["PIKE_CACHE_DIR"] = str(gone)
    try:
        assert _cache.read("doc") is None  # no folder
    finally:
        os.environ["PIKE_CACHE_DIR"] = str(cache)


def test_installed_cache_documents_that_do_not_fit_are_not_used(
    tmp_path: Path, cache: Path
) -> None:
    import time

    from pike.named import _installed

    paths = _installed._scan_paths(time.time_ns())
    assert _installed.still_valid(paths)
    assert not _installed.still_valid(paths[:-1])
    assert not _installed.still_valid([["elsewhere", None, []], *paths[1:]])
    assert not _installed.still_valid([[paths[0][0], paths[0][1], [["x"]]], *paths[1:]])
    assert not _installed.still_valid([[paths[0][0], (1, 2), []], *paths[1:]])
    assert not _installed.still_valid("not a list")
    where = [_installed._where(entry) for entry in sys.path]
    name = "entry-points-" + _cache.key_of(sys.executable, sys.prefix, sys.version, where)
    _cache.write(name, {"paths": paths, "groups": {"acme.odd": [[1]]}})
    assert _installed.read("acme.odd")[0] == []  # right format, wrong content: read afresh
    assert _cache.read(name)["groups"].get("acme.odd") is None  # and rewritten


def test_a_whole_listing_is_kept_and_dropped_when_anything_changes(
    make_tree: MakeTree, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from pike.discovery import _index

    root = make_tree(PLUGINS)
    old = 1_600_000_000_000_000_000
    for folder in (root, root / "pkg"):
        os.utime(folder, ns=(old, old))
    later = time.time_ns() + 10 * 10**9  # files old enough to vouch for by their state
    monkeypatch.setattr(_index.time, "time_ns", lambda: later)
    expected = listed(root)
    assert list(cache.glob("listing-*"))
    assert Index([str(root)]).kept_listing() is not None
    assert listed(root) == expected  # from the kept listing
    with_base = listed(root, base="Base")
    assert [c[1] for c in with_base[0]] == ["Alpha", "Impl"]  # type: ignore[index]
    # An edit: the kept listing no longer holds, the file is parsed again.
    (root / "beta.py").write_text("class Beta:\n    pass\n\nclass Delta:\n    pass\n")
    assert Index([str(root)]).kept_listing() is None
    assert {c.name for c in static.list_classes([root]).classes} >= {"Beta", "Delta"}
    # Two search paths: a listing of the two, kept apart from either one's.
    other = make_tree({"solo.py": "class Solo:\n    pass\n"})
    os.utime(other, ns=(old, old))
    both = static.list_classes([root, other])
    assert "Solo" in {c.name for c in both.classes}
    assert Index([str(root), str(other)]).kept_listing() is not None
    assert static.list_classes([root, other]) == both


def test_a_kept_listing_names_each_file_within_its_folder_or_is_not_believed(
    make_tree: MakeTree, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kept listing stores each folder once and its files' names; a name that leaves
    its folder, a folder that is no folder path, or counts that do not add up, and the
    listing is made afresh."""
    import struct
    import time

    from pike.discovery import _index

    root = make_tree(PLUGINS)
    outside = make_tree({}, name="outside")
    # The same file, linked from outside: only the name's check can tell it from its own.
    os.link(root / "alpha.py", outside / "alpha.py")
    old = 1_600_000_000_000_000_000
    for folder in (root, root / "pkg", outside):
        os.utime(folder, ns=(old, old))
    later = time.time_ns() + 10 * 10**9  # files old enough to vouch for by their state
    monkeypatch.setattr(_index.time, "time_ns", lambda: later)
    expected = listed(root)
    [path] = kept_listings(cache)
    good = _cache.read(path.name)
    assert good is not None
    prefixes, runs, names, hashes = good["files"]
    assert sorted(prefixes) == [f"{root}{os.sep}", f"{root / 'pkg'}{os.sep}"]
    assert "alpha.py" in names.split("\0") and os.sep not in names
    count = len(names.split("\0"))
    escaped = names.replace("alpha.py", f"..{os.sep}outside{os.sep}alpha.py")
    forged = [
        (prefixes, runs, escaped, hashes),  # a name that reaches out of its folder
        ((f"{root}", *prefixes[1:]), runs, names, hashes),  # a folder with no separator
        (prefixes, runs + struct.pack("2I", len(prefixes), 1), names, hashes),  # past the end
        (prefixes, runs, names + "\0extra.py", hashes),  # more names than hashes
        (prefixes, runs[:-4], names, hashes),  # half a run
        (prefixes, runs[:-8], names, hashes),  # counts that do not add up
        (prefixes, runs + struct.pack("2I", 0, 0), names, hashes),  # an empty run
        (prefixes, runs, names.encode(), hashes),  # names that are no text
        ((5, *prefixes[1:]), runs, names, hashes),  # a folder that is no text
        (prefixes, runs, names),  # a part missing
        "files",
        (prefixes, runs, names.replace("alpha.py", ""), hashes),  # an empty name
        (prefixes, runs, names.replace("alpha.py", ".."), hashes),  # the folder above
        (prefixes, runs, names, hashes[:-8] + struct.pack("q", 7)),  # a state that differs
    ]
    for files in forged:
        _cache.write(path.name, {**good, "files": files})
        assert Index([str(root)]).kept_listing() is None, files
        assert listed(root) == expected
    _cache.write(path.name, good)
    kept = Index([str(root)]).kept_listing()
    assert kept is not None and len(kept.paths) == len(kept.modules) <= count
    assert all(p.startswith(f"{root}{os.sep}") and os.path.isfile(p) for p in kept.paths)


def test_no_home_means_no_cache_never_the_current_folder(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PIKE_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(HOME="relative/home", PYTHONPATH=str(REPO))
    code = "from pike import _cache; print(_cache.directory())"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip() == "None", result.stderr


def test_another_formats_files_are_never_read(
    make_tree: MakeTree, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(PLUGINS)
    monkeypatch.setattr(_cache, "FORMAT", _cache.FORMAT - 1)
    listed(root)  # as a pike of another format would write it
    theirs = set(cache.iterdir())
    monkeypatch.undo()
    os.environ["PIKE_CACHE_DIR"] = str(cache)
    (root / "beta.py").write_text("class Other:\n    pass\n")
    assert [c.name for c in static.list_classes([root]).classes if c.module == "beta"] == ["Other"]
    assert set(cache.iterdir()) > theirs  # this pike's own files, beside theirs


def test_a_cache_folder_that_cannot_be_written(
    make_tree: MakeTree, world_tree: Callable[..., Path], request: pytest.FixtureRequest
) -> None:
    from tests.conftest import IS_ROOT, NOBODY

    if not IS_ROOT:
        root = make_tree(PLUGINS)
        locked = root.parent / "locked-cache"
        locked.mkdir(mode=0o500)
        os.environ["PIKE_CACHE_DIR"] = str(locked)
        try:
            assert len(static.list_classes([root]).classes) == 3
        finally:
            os.environ.pop("PIKE_CACHE_DIR")
        assert list(locked.iterdir()) == []
        return
    as_nobody = request.getfixturevalue("as_nobody")
    tree = world_tree(PLUGINS, owner=NOBODY)
    cache = world_tree({}, owner=NOBODY) / "cache"
    cache.mkdir(mode=0o500)  # the user's own cache folder, read-only
    os.chown(cache, NOBODY, NOBODY)
    ran = as_nobody(
        f"""
        import os
        os.environ["PIKE_CACHE_DIR"] = {str(cache)!r}
        from pike.discovery import static
        listing = static.list_classes([{str(tree)!r}])
        print(sorted(c.name for c in listing.classes), len(listing.errors))
        print(os.listdir({str(cache)!r}))
        """
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split("\n")[:2] == ["['Alpha', 'Beta', 'Impl'] 1", "[]"]


# -- the index against what the folders hold: every fact it keeps is vouched for -----------

OLD = 1_600_000_000_000_000_000  # 2020: long enough ago for any state to be trusted


def age(root: Path) -> None:
    """Set every folder and file under ``root`` to an old time, as a release's are."""
    for path in [root, *root.rglob("*")]:
        os.utime(path, ns=(OLD, OLD), follow_symlinks=False)


def truth(paths: list[Path], base: str | None = None) -> tuple[object, ...]:
    """What a listing with no cache at all says."""
    before = os.environ["PIKE_CACHE_DIR"]
    os.environ["PIKE_CACHE_DIR"] = "off"
    try:
        listing = static.list_classes(paths, base=base)
    finally:
        os.environ["PIKE_CACHE_DIR"] = before
    return (
        list(listing.classes),
        listing.modules,
        [(e.module, e.lineno, e.message) for e in listing.errors],
        [str(s) for s in listing.skipped],
    )


def warm(paths: list[Path], base: str | None = None) -> tuple[object, ...]:
    listing = static.list_classes(paths, base=base)
    return (
        list(listing.classes),
        listing.modules,
        [(e.module, e.lineno, e.message) for e in listing.errors],
        [str(s) for s in listing.skipped],
    )


def test_a_folder_that_becomes_a_package_is_listed(make_tree: MakeTree, cache: Path) -> None:
    root = make_tree({"top.py": "", "plain/mod.py": "class InPlain:\n    pass\n"})
    age(root)
    assert warm([root]) == truth([root])
    assert warm([root]) == truth([root])  # the walk and the listing, kept
    (root / "plain" / "__init__.py").write_text("")
    listing = warm([root])
    assert listing == truth([root])
    assert "plain.mod" in listing[1]  # type: ignore[operator]


def test_a_folder_changed_with_its_times_set_back_is_listed_anew(
    make_tree: MakeTree, cache: Path
) -> None:
    root = make_tree(PLUGINS)
    age(root)
    warm([root])
    (root / "pkg" / "late.py").write_text("class Late:\n    pass\n")
    (root / "gamma.py").write_text("class Gamma:\n    pass\n")
    age(root)  # a reproducible tarball unpacked over it
    assert warm([root]) == truth([root])
    assert {"pkg.late", "gamma"} <= set(warm([root])[1])  # type: ignore[arg-type]


def test_a_search_path_link_switched_to_a_copy_is_listed_anew(tmp_path: Path, cache: Path) -> None:
    from tests.conftest import write_tree

    v1 = write_tree(tmp_path / "v1", {"plugin.py": "class One:\n    pass\n"})
    age(v1)
    current = tmp_path / "current"
    current.symlink_to(v1)
    warm([current])
    v2 = tmp_path / "v2"
    shutil.copytree(v1, v2, copy_function=shutil.copy2)
    (v2 / "plugin.py").write_text("class Two:\n    pass\n")  # the same size
    (v2 / "extra.py").write_text("class Extra:\n    pass\n")
    age(v2)  # cp -a: the same times
    (tmp_path / "next").symlink_to(v2)
    os.replace(tmp_path / "next", current)
    assert [c.name for c in static.list_classes([current]).classes] == ["Extra", "Two"]


def test_a_linked_module_whose_target_goes_and_comes_back(
    make_tree: MakeTree, tmp_path: Path, cache: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = elsewhere / "linked.py"
    target.write_text("class Linked:\n    pass\n")
    root = make_tree({"plain.py": "class Plain:\n    pass\n"})
    (root / "linked.py").symlink_to(target)
    age(root)
    age(elsewhere)
    assert warm([root]) == truth([root])
    target.rename(elsewhere / "away.py")
    assert warm([root]) == truth([root])
    assert "linked" not in warm([root])[1]  # type: ignore[operator]
    (elsewhere / "away.py").rename(target)
    assert warm([root]) == truth([root])
    assert "linked" in warm([root])[1]  # type: ignore[operator]
    target.write_text("class Relinked:\n    pass\n")
    os.utime(target, ns=(OLD, OLD))
    assert "Relinked" in {c.name for c in static.list_classes([root]).classes}


def test_an_unreadable_file_made_readable_is_parsed(
    world_tree: Callable[..., Path], as_nobody: Callable[..., object]
) -> None:
    from tests.conftest import NOBODY

    tree = world_tree({"shy.py": "class Shy:\n    pass\n", "open.py": ""}, owner=NOBODY)
    (tree / "shy.py").chmod(0o000)
    age(tree)
    cache = world_tree({}, owner=NOBODY) / "cache"
    code = f"""
        import os, time
        os.environ["PIKE_CACHE_DIR"] = {str(cache)!r}
        from pike.discovery import _index, static

        class Later:  # ten seconds on: every file old enough to be vouched for by its state
            now = time.time_ns() + 10 * 10**9

            @classmethod
            def time_ns(cls):
                return cls.now

        _index.time = Later
        first = static.list_classes([{str(tree)!r}])
        second = static.list_classes([{str(tree)!r}])
        print([e.module for e in first.errors], [e.module for e in second.errors])
        os.chmod({str(tree / "shy.py")!r}, 0o644)
        print([c.name for c in static.list_classes([{str(tree)!r}]).classes])
    """
    ran = as_nobody(code)
    assert ran.returncode == 0, ran.stderr  # type: ignore[attr-defined]
    assert ran.stdout.split("\n")[:2] == ["['shy'] ['shy']", "['Shy']"]  # type: ignore[attr-defined]


def test_a_package_one_may_enter_but_not_read_keeps_its_listing(
    world_tree: Callable[..., Path], as_nobody: Callable[..., object]
) -> None:
    """A package folder of mode 0311 (searched, not read): its ``__init__`` is listed,
    and a warm listing is the kept one, as its whole path would allow."""
    from tests.conftest import NOBODY

    tree = world_tree(
        {"top.py": "class Top:\n    pass\n", "pkg/__init__.py": "class InPkg:\n    pass\n"}
    )
    age(tree)
    (tree / "pkg").chmod(0o311)
    cache = world_tree({}, owner=NOBODY) / "cache"
    code = f"""
        import os, time
        os.environ["PIKE_CACHE_DIR"] = {str(cache)!r}
        from pike.discovery import _index, static

        class Later:  # ten seconds on: every file old enough to be vouched for by its state
            now = time.time_ns() + 10 * 10**9

            @classmethod
            def time_ns(cls):
                return cls.now

        _index.time = Later
        first = static.list_classes([{str(tree)!r}])
        print(sorted(c.name for c in first.classes))
        print(_index.Index([{str(tree)!r}]).kept_listing() is not None)
        print(static.list_classes([{str(tree)!r}]) == first)
    """
    ran = as_nobody(code)
    assert ran.returncode == 0, ran.stderr  # type: ignore[attr-defined]
    assert ran.stdout.split("\n")[:3] == ["['InPkg', 'Top']", "True", "True"]  # type: ignore[attr-defined]


def _leaves(value: object, at: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """The paths (keys and positions) to every str, int and tuple inside ``value``."""
    found: list[tuple[object, ...]] = []
    if type(value) is dict:
        for key, item in value.items():
            found += _leaves(item, (*at, key))
    elif type(value) in (list, tuple):
        if type(value) is tuple:
            found.append(at)
        for i, item in enumerate(value):  # type: ignore[arg-type]
            found += _leaves(item, (*at, i))
    elif type(value) in (str, int):
        found.append(at)
    return found


def _poisoned(value: object, at: tuple[object, ...], poison: object) -> object:
    if not at:
        return poison
    head, rest = at[0], at[1:]
    if type(value) is dict:
        return {k: (_poisoned(v, rest, poison) if k == head else v) for k, v in value.items()}
    items = [_poisoned(v, rest, poison) if i == head else v for i, v in enumerate(value)]  # type: ignore[arg-type]
    return tuple(items) if type(value) is tuple else items


def _poison_for(value: object) -> object:
    if type(value) is str:
        return 5
    if type(value) is int:
        return 2**100
    return "not a tuple"


def settled_listing(
    make_tree: MakeTree, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, tuple[object, object]]:
    """A plugins folder old enough to be vouched for (the index's clock ten seconds on),
    its listing kept, and what a listing with no cache says (all, and ``base="Base"``)."""
    import time

    from pike.discovery import _index

    root = make_tree({**PLUGINS, "bases.py": "class Base:\n    pass\n"})
    age(root)
    later = time.time_ns() + 10 * 10**9
    monkeypatch.setattr(_index.time, "time_ns", lambda: later)
    expected = truth([root]), truth([root], base="Base")
    assert (warm([root]), warm([root], base="Base")) == expected
    return root, expected


def test_a_cache_of_the_right_format_but_wrong_values_is_never_believed(
    make_tree: MakeTree, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import random

    from pike.manager import PikeManager

    root, expected = settled_listing(make_tree, monkeypatch)
    good = {p.name: _cache.read(p.name) for p in cache.iterdir()}
    assert len(good) >= 2  # the search path's index and its kept listing
    trials = [(name, at) for name, document in sorted(good.items()) for at in _leaves(document)]
    random.Random(17).shuffle(trials)
    for name, at in trials[:80]:
        for other, document in good.items():
            _cache.write(other, document)  # type: ignore[arg-type]
        leaf: object = good[name]
        for step in at:
            leaf = leaf[step]  # type: ignore[index]
        _cache.write(name, _poisoned(good[name], at, _poison_for(leaf)))  # type: ignore[arg-type]
        assert warm([root]) == expected[0], (name, at)
        assert warm([root], base="Base") == expected[1], (name, at)
    for other, document in good.items():
        _cache.write(other, document)  # type: ignore[arg-type]
    (name, at) = next((n, a) for n, a in trials if n.startswith("listing") and len(a) == 2)
    _cache.write(name, _poisoned(good[name], at, 2**100))  # type: ignore[arg-type]
    sys.path.insert(0, str(root))
    try:
        import bases  # type: ignore[import-not-found]

        with PikeManager([root], on_error="collect") as mgr:
            found = sorted(c.__name__ for c in mgr.find_inherited_classes(bases.Base))
        assert found == ["Alpha", "Impl"]
    finally:
        sys.path.remove(str(root))
        sys.modules.pop("bases", None)
        sys.path_importer_cache.pop(str(root), None)


BAD_FACTS = [
    "facts",
    ((), ()),  # a part missing
    ([], (), None),  # classes not a tuple
    (("Alpha",), (), None),  # a class not a tuple
    ((("Alpha", 1, ()),), (), None),  # a class with a part missing
    ((("Alpha", 0, (), ()),), (), None),  # a line out of range
    ((("Alpha", 2**40, (), ()),), (), None),
    ((("Alpha", 1, (5,), ()),), (), None),  # a base that is no name
    ((("Alpha", 1, (), ("bases.Base", None)),), (), None),
    ((), (("Base",),), None),  # a binding not a pair
    ((), (), "syntax error"),  # an error not a pair
    ((("Alpha", 1, (), ()),), (), (1, "both classes and an error")),
    ((), (), (0, "line out of range")),
    ((), (), (1, 5)),  # a message that is no text
]


@pytest.mark.parametrize("facts", BAD_FACTS, ids=range(len(BAD_FACTS)))
def test_a_files_facts_of_the_wrong_shape_are_drawn_afresh(
    make_tree: MakeTree, cache: Path, monkeypatch: pytest.MonkeyPatch, facts: object
) -> None:
    import time

    from pike.discovery import _index

    root = make_tree({**PLUGINS, "bases.py": "class Base:\n    pass\n"})
    age(root)
    later = time.time_ns() + 10 * 10**9
    monkeypatch.setattr(_index.time, "time_ns", lambda: later)
    expected = truth([root], base="Base")
    assert warm([root], base="Base") == expected
    [index] = cache.glob("index-*")
    document = _cache.read(index.name)
    assert document is not None
    state, _facts = document["files"]["alpha.py"]
    poisoned = {**document, "files": {**document["files"], "alpha.py": (state, facts)}}
    _cache.write(index.name, poisoned)
    for kept in cache.glob("listing-*"):
        kept.unlink()  # so that each file's facts are what a listing reads
    assert "alpha" not in indexed(root)
    assert warm([root], base="Base") == expected


def test_pike_static_never_trips_on_a_poisoned_cache(make_tree: MakeTree, cache: Path) -> None:
    from pike import cli

    root = make_tree(PLUGINS)
    age(root)
    listed(root)
    for path in [p for p in cache.iterdir() if p.suffix != ".json"]:  # not the manifest
        document = _cache.read(path.name)
        assert document is not None
        for at in _leaves(document)[:40]:
            _cache.write(path.name, _poisoned(document, at, 2**100))  # type: ignore[arg-type]
            out, err = io.StringIO(), io.StringIO()
            assert cli.main([str(root), "--static", "--json"], out=out, err=err) == 1  # broken.py
            assert '"Impl"' in out.getvalue(), (path.name, at, err.getvalue())
        _cache.write(path.name, document)


def test_nothing_is_written_inside_a_search_path_whatever_leads_to_the_cache(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(PLUGINS)
    age(root)
    (root / "cache").mkdir(mode=0o700)
    link = tmp_path / "link-to-cache"
    link.symlink_to(root / "cache")
    monkeypatch.setenv("PIKE_CACHE_DIR", str(link))
    before = tree_state(root)
    static.list_classes([root])
    static.list_classes([root])
    assert list((root / "cache").iterdir()) == []
    assert tree_state(root) == before


def test_the_installed_cache_is_never_written_inside_a_drop_in_folder(
    make_tree: MakeTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pike.named import ExtensionManager

    folder = make_tree(
        {"entry_points.txt": "[acme.g]\nthing = thing:Thing\n", "thing.py": "class Thing: pass\n"}
    )
    age(folder)
    (folder / "cache").mkdir(mode=0o700)
    monkeypatch.setenv("PIKE_CACHE_DIR", str(folder / "cache"))
    ExtensionManager.ENTRY_POINT_CACHE.pop("acme.g", None)
    with ExtensionManager("acme.g", search_paths=[folder]) as em:
        assert em.names() == ["thing"]
    ExtensionManager.ENTRY_POINT_CACHE.pop("acme.g", None)
    assert list((folder / "cache").iterdir()) == []


# -- the installed distributions' entry points -------------------------------------------------


def _names_in(code: str, cwd: Path | None = None) -> str:
    from tests.conftest import run_python

    result = run_python(code, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_an_installed_file_rewritten_at_once_with_the_same_size_is_read_again(
    tmp_path: Path, cache: Path
) -> None:
    site = tmp_path / "site"
    (site / "acme_mod.py").parent.mkdir(parents=True)
    (site / "acme_mod.py").write_text("class One: pass\nclass Two: pass\n")
    info = install(site, "acme-one", "[acme.g]\none = acme_mod:One\n")
    code = f"""
        import os, sys
        sys.dont_write_bytecode = True  # no __pycache__ appears to give the change away
        sys.path.insert(0, {str(site)!r})
        from pike.named import ExtensionManager
        points = os.path.join({str(info)!r}, "entry_points.txt")
        print(ExtensionManager("acme.g").names())
        st = os.stat(points)
        with open(points, "w") as f:
            f.write("[acme.g]\\ntwo = acme_mod:Two\\n")  # the same size
        os.utime(points, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the same time
        print(ExtensionManager("acme.g").names())
    """
    assert _names_in(code) == "['one']\n['two']"
    assert _names_in(INSTALLED_CODE.format(site=str(site))) == "[('two', 'acme-one 1.0')]"


def test_the_current_folder_on_sys_path_is_the_folder_of_now(tmp_path: Path, cache: Path) -> None:
    for name in ("a", "b"):
        site = tmp_path / name
        site.mkdir()
        (site / f"mod_{name}.py").write_text("class P: pass\n")
        install(site, f"acme-{name}", f"[acme.g]\nfrom_{name} = mod_{name}:P\n")
    code = f"""
        import os, sys
        sys.path.insert(0, "")
        from pike.named import ExtensionManager
        for name in ("a", "b", "a"):
            os.chdir(os.path.join({str(tmp_path)!r}, name))
            print(ExtensionManager("acme.g").names())
    """
    assert _names_in(code) == "['from_a']\n['from_b']\n['from_a']"
    code_b = """
        import sys
        sys.path.insert(0, "")
        from pike.named import ExtensionManager
        print(ExtensionManager("acme.g").names())
    """
    assert _names_in(code_b, cwd=tmp_path / "b") == "['from_b']"  # a new process, the cache warm


def test_an_entry_points_file_added_to_an_installed_distribution_is_seen(
    tmp_path: Path, cache: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "acme_mod.py").write_text("class One: pass\n")
    info = install(site, "acme-one", "")
    (info / "entry_points.txt").unlink()
    age(site)
    code = INSTALLED_CODE.format(site=str(site))
    assert _names_in(code) == "[]"
    assert _names_in(code) == "[]"  # from the cache
    (info / "entry_points.txt").write_text("[acme.g]\none = acme_mod:One\n")
    assert _names_in(code) == "[('one', 'acme-one 1.0')]"


@pytest.mark.parametrize("layout", ["ACME_ONE-1.0.DIST-INFO", "acme_one.egg/EGG-INFO"])
def test_every_layout_importlib_reads_is_watched(tmp_path: Path, cache: Path, layout: str) -> None:
    site = tmp_path / "site"
    if layout.endswith("EGG-INFO"):
        site = site / "acme_one.egg"  # an egg is a sys.path entry of its own
    info = site / layout.rpartition("/")[2]
    info.mkdir(parents=True)
    (info / "PKG-INFO" if layout.endswith("EGG-INFO") else info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: acme-one\nVersion: 1.0\n"
    )
    (site / "acme_mod.py").write_text("class One: pass\nclass Two: pass\n")
    (info / "entry_points.txt").write_text("[acme.g]\none = acme_mod:One\n")
    age(site)
    code = QUIET_INSTALLED_CODE.format(site=str(site))
    assert _names_in(code) == "[('one', 'acme-one 1.0')]"
    (info / "entry_points.txt").write_text("[acme.g]\none = acme_mod:One\ntwo = acme_mod:Two\n")
    os.utime(info / "entry_points.txt", ns=(OLD, OLD))
    os.utime(info, ns=(OLD, OLD))
    assert _names_in(code) == "[('one', 'acme-one 1.0'), ('two', 'acme-one 1.0')]"


def test_an_installed_cache_with_wrong_values_is_never_believed(
    tmp_path: Path, cache: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "acme_mod.py").write_text("class One: pass\n")
    install(site, "acme-one", "[acme.g]\none = acme_mod:One\n")
    age(site)
    code = INSTALLED_CODE.format(site=str(site))
    expected = _names_in(code)
    [path] = list(cache.glob("entry-points-*"))
    good = _cache.read(path.name)
    leaves = [at for at in _leaves(good) if at and at[0] == "paths"][-12:]
    leaves += [at for at in _leaves(good) if at and at[0] == "groups"][:6]
    for at in leaves:
        leaf: object = good
        for step in at:
            leaf = leaf[step]  # type: ignore[index]
        _cache.write(path.name, _poisoned(good, at, _poison_for(leaf)))  # type: ignore[arg-type]
        assert _names_in(code) == expected, at


def test_the_cache_folder_is_the_platforms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Named as platformdirs names a program's cache folder, on each platform."""
    monkeypatch.delenv("PIKE_CACHE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(sys, "platform", "darwin")
    assert _cache.directory() == str(tmp_path / "home" / "Library" / "Caches" / "pike")
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert _cache.directory() == os.path.join(str(tmp_path / "local"), "pike", "Cache")
    monkeypatch.setenv("LOCALAPPDATA", "")
    assert _cache.directory() is None  # never the current folder


def test_the_cache_drops_what_it_kept_of_folders_that_are_gone(
    make_tree: MakeTree, cache: Path
) -> None:
    gone = [make_tree(PLUGINS, name=f"gone{i}") for i in range(5)]
    for root in gone:
        age(root)
        listed(root)
    assert len([p for p in cache.iterdir() if p.name.startswith("index-")]) == 5
    for root in gone:
        shutil.rmtree(root)
    kept = make_tree(PLUGINS, name="kept")
    age(kept)
    listed(kept)  # the next call that writes the cache
    left = sorted(p.name for p in cache.iterdir())
    assert [n for n in left if n.startswith("index-")] == [_index_name(kept)]
    assert "pike-manifest.json" in left


def _index_name(root: Path) -> str:
    return "index-" + _cache.key_of("static", str(root))  # as the index names its files


def test_the_cache_keeps_at_most_so_many_files_the_oldest_going_first(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_cache, "MAX_FILES", 3)
    for i in range(6):
        _cache.write(f"doc{i}", {"i": i})
    assert sorted(p.name for p in cache.iterdir()) == [
        "doc3",
        "doc4",
        "doc5",
        "pike-manifest.json",
    ]
    assert _cache.read("doc5") == {"i": 5}
    (cache / "pike-manifest.json").write_text("not json")  # a damaged manifest: noted afresh
    _cache.write("doc6", {"i": 6})
    assert sorted(p.name for p in cache.iterdir() if p.name.startswith("doc")) == [
        "doc4",
        "doc5",
        "doc6",
    ]


def test_clearing_the_cache_removes_what_pike_wrote_and_nothing_else(
    make_tree: MakeTree, cache: Path
) -> None:
    from pike import cli

    root = make_tree(PLUGINS)
    age(root)
    listed(root)
    (cache / "notes.txt").write_text("mine, not pike's\n")
    written = len([p for p in cache.iterdir() if p.name != "notes.txt"])
    assert written >= 2  # the index, the manifest
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["--clear-cache"], out=out, err=err) == 0
    assert out.getvalue() == f"removed {written} files from {cache}\n"
    assert [p.name for p in cache.iterdir()] == ["notes.txt"]
    assert listed(root) == listed(root)  # and the cache fills again


def test_the_cache_removes_only_files_pike_wrote(cache: Path) -> None:
    """A manifest that names someone else's file (a shared PIKE_CACHE_DIR, a forged
    manifest) never makes pike remove it; nor does clearing remove their hidden files."""
    import json

    _cache.write("doc", {"a": 1})
    (cache / "notes.txt").write_text("mine\n")
    (cache / ".draft.tmp").write_text("mine too\n")
    gone = str(cache.parent / "gone-folder")
    forged = {"format": 1, "files": {"notes.txt": [0, 5, [gone]]}, "others": []}
    (cache / "pike-manifest.json").write_text(json.dumps(forged))
    _cache.write("doc2", {"b": 2}, folders=(gone,))
    assert (cache / "notes.txt").read_text() == "mine\n"
    assert _cache.clear() == (str(cache), 3)  # doc, doc2, the manifest
    assert sorted(p.name for p in cache.iterdir()) == [".draft.tmp", "notes.txt"]


def test_a_manifest_that_is_no_file_never_stops_a_write(cache: Path) -> None:
    """A FIFO, or a link to a device, where the manifest goes: the write goes on."""
    script = f"""
import os, sys
sys.path.insert(0, {str(REPO)!r})
os.environ["PIKE_CACHE_DIR"] = {str(cache)!r}
from pike import _cache
_cache.write("first", {{"a": 1}})
os.remove(os.path.join({str(cache)!r}, "pike-manifest.json"))
os.mkfifo(os.path.join({str(cache)!r}, "pike-manifest.json"))
_cache.write("second", {{"b": 2}})
print(_cache.read("second"))
os.remove(os.path.join({str(cache)!r}, "pike-manifest.json"))
os.symlink("/dev/zero", os.path.join({str(cache)!r}, "pike-manifest.json"))
_cache.write("third", {{"c": 3}})
print(_cache.read("third"))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["{'b': 2}", "{'c': 3}"]


def test_files_dated_in_the_future_still_leave_room_for_the_newest(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clock set back, or files copied from another machine: the oldest by date go,
    never the file just written, and the folder keeps to its cap."""
    future = 4_000_000_000 * 10**9
    for i in range(5):
        _cache.write(f"old{i}", {"i": i})
    (cache / "pike-manifest.json").unlink()  # noted afresh, by the files' own dates
    monkeypatch.setattr(_cache, "MAX_FILES", 3)
    for i in range(5):
        os.utime(cache / f"old{i}", ns=(future + i, future + i))
    _cache.write("new", {"n": 1})
    left = sorted(p.name for p in cache.iterdir() if p.name != "pike-manifest.json")
    assert left == ["new", "old3", "old4"]


def test_a_cache_folder_that_cannot_be_looked_through_is_said_so(
    tmp_path: Path, as_nobody: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    locked = Path(tempfile.mkdtemp(prefix="pike-cache-"))
    try:
        os.chown(locked, NOBODY, NOBODY)
        locked.chmod(0o300)  # write and enter, not list
        result = as_nobody(
            f"""
            import io, os
            os.environ["PIKE_CACHE_DIR"] = {str(locked)!r}
            from pike import cli
            out, err = io.StringIO(), io.StringIO()
            print(cli.main(["--clear-cache"], out=out, err=err))
            print(err.getvalue().strip())
            """
        )
        assert result.returncode == 0, result.stderr
        status, message = result.stdout.splitlines()
        assert status == "1"
        assert message.startswith("pike: error: cannot clear the cache folder:")
    finally:
        shutil.rmtree(locked)


def test_clearing_a_cache_that_is_off_or_not_made_yet_clears_nothing(
    make_tree: MakeTree, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pike import cli

    assert _cache.clear() == (str(cache), 0)  # not made yet
    root = make_tree(PLUGINS)
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["--clear-cache", str(root), "--static"], out=out, err=err) == 1
    assert err.getvalue().startswith("removed 0 files from")  # then the listing, as asked
    assert '"Impl"' not in out.getvalue() and "Impl" in out.getvalue()
    monkeypatch.setenv("PIKE_CACHE_DIR", "off")
    assert _cache.clear() == (None, 0)
    out = io.StringIO()
    assert cli.main(["--clear-cache"], out=out, err=err) == 0
    assert "caching is off" in out.getvalue()
    bad = cache.parent / "not-a-folder"
    bad.write_text("")
    monkeypatch.setenv("PIKE_CACHE_DIR", str(bad))
    with pytest.raises(PermissionError, match="not a folder of yours"):
        _cache.clear()


def test_every_value_of_a_kept_listing_swapped_for_another_type_is_never_believed(
    make_tree: MakeTree, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, expected = settled_listing(make_tree, monkeypatch)
    [listing] = kept_listings(cache)
    kept = {path.name: _cache.read(path.name) for path in (listing, values_of(listing))}
    swaps: list[object] = [[1], [1, 2], ["a", "b"], "x", "", 5, -1, 2**70, None, (1,), {}, b"x"]
    # The listing, and what its classes declare: each value swapped in a pair that else
    # belongs together (a listing that was not believed is written anew).
    for name, document in kept.items():
        assert document is not None
        for key in sorted(document):
            for value in swaps:
                for each, whole in kept.items():
                    _cache.write(each, whole)  # type: ignore[arg-type]
                _cache.write(name, {**document, key: value})
                assert warm([root]) == expected[0], (name, key, value)
                assert warm([root], base="Base") == expected[1], (name, key, value)
