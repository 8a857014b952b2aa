"""pike.named is stevedore's API, over installed distributions and drop-in folders
(docs/design.md, "Named plugins").

Each behaviour of stevedore 5.x is checked with real distributions (a
``*.dist-info`` on a temporary ``sys.path`` entry, what pip leaves) and, where
it applies, again with a drop-in folder as the source (``source`` fixture).
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import sys
import textwrap
import warnings
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from pike.errors import (
    EntryPointError,
    MultipleMatches,
    NoMatches,
    NoUniqueMatch,
    PikeError,
)
from pike.named import (
    DispatchExtensionManager,
    DriverManager,
    EnabledExtensionManager,
    Extension,
    ExtensionManager,
    HookManager,
    NamedExtensionManager,
    NameDispatchExtensionManager,
    dispatch,
    driver,
    enabled,
    exception,
    extension,
    hook,
    named,
)
from tests.conftest import MakeTree, write_tree

Install = Callable[..., Path]


@pytest.fixture(autouse=True)
def entry_point_cache() -> Iterator[None]:
    """The managers' entry-point memo is left as the test found it."""
    cache = dict(ExtensionManager.ENTRY_POINT_CACHE)
    filled = dict(ExtensionManager._filled)
    yield
    ExtensionManager.ENTRY_POINT_CACHE.clear()
    ExtensionManager.ENTRY_POINT_CACHE.update(cache)
    ExtensionManager._filled.clear()
    ExtensionManager._filled.update(filled)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Install]:
    """Install distributions the way pip leaves them: packages plus a *.dist-info."""
    root = tmp_path / "site-packages"
    root.mkdir()
    sys.path.insert(0, str(root))

    def install(name: str, entry_points: str, files: dict[str, str] | None = None) -> Path:
        write_tree(root, files or {})
        info = root / f"{name}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
        importlib.invalidate_caches()
        return root

    yield install
    sys.path.remove(str(root))
    for name in [n for n, m in sys.modules.items() if str(root) in str(getattr(m, "__file__", ""))]:
        del sys.modules[name]
    for key in [k for k in sys.path_importer_cache if str(root) in str(k)]:
        del sys.path_importer_cache[key]
    importlib.invalidate_caches()


class Source:
    """Plugins offered by installed distributions or by drop-in folders, the same calls."""

    def __init__(self, kind: str, site: Install, make_tree: MakeTree) -> None:
        self.kind = kind
        self._site = site
        self._make_tree = make_tree
        self.folders: list[Path] = []

    def add(self, name: str, entry_points: str, files: dict[str, str] | None = None) -> None:
        if self.kind == "installed":
            self._site(name, entry_points, files)
        else:
            points = {"entry_points.txt": textwrap.dedent(entry_points)}
            self.folders.append(self._make_tree({**(files or {}), **points}))

    @property
    def kw(self) -> dict[str, Any]:
        """The keywords that point a manager at the source."""
        return {"search_paths": self.folders} if self.folders else {}

    def label(self, name: str) -> str | None:
        return f"{name} 1.0" if self.kind == "installed" else None


@pytest.fixture(params=["installed", "drop-in"])
def source(request: pytest.FixtureRequest, site: Install, make_tree: MakeTree) -> Source:
    return Source(request.param, site, make_tree)


FAUX = {
    "faux_plugins/__init__.py": "",
    "faux_plugins/things.py": """
        class FauxExtension:
            def __init__(self, *args, **kwds):
                self.args = args
                self.kwds = kwds

            def get_args_and_data(self, data):
                return self.args, self.kwds, data

        class BrokenExtension:
            def __init__(self, *args, **kwds):
                raise OSError("Did not create")
    """,
}
FAUX_POINTS = """
    [faux.group]
    t2 = faux_plugins.things:FauxExtension
    e1 = faux_plugins.things:BrokenExtension
    t1 = faux_plugins.things:FauxExtension
    e2 = faux_plugins.notfound:UnimportableExtension
"""
ALL_NAMES = [
    "t2",
    "e1",
    "t1",
]  # in the file's order; e2's module does not exist, e1 fails when invoked
WORKING_NAMES = ["t2", "t1"]


@pytest.fixture
def faux(source: Source) -> dict[str, Any]:
    source.add("faux-dist", FAUX_POINTS, FAUX)
    return source.kw


def close(manager: ExtensionManager[Any]) -> None:
    manager.close()


# -- the layout: stevedore's modules and names --------------------------------------------


def test_stevedore_module_layout() -> None:
    assert extension.ExtensionManager is ExtensionManager
    assert extension.Extension is Extension
    assert named.NamedExtensionManager is NamedExtensionManager
    assert enabled.EnabledExtensionManager is EnabledExtensionManager
    assert driver.DriverManager is DriverManager
    assert hook.HookManager is HookManager
    assert dispatch.DispatchExtensionManager is DispatchExtensionManager
    assert dispatch.NameDispatchExtensionManager is NameDispatchExtensionManager
    assert (exception.NoMatches, exception.MultipleMatches) == (NoMatches, MultipleMatches)
    assert issubclass(NoMatches, exception.NoUniqueMatch)
    assert issubclass(MultipleMatches, NoUniqueMatch)
    assert issubclass(NoUniqueMatch, RuntimeError) and issubclass(NoUniqueMatch, PikeError)
    assert callable(extension.ignore_conflicts) and callable(extension.error_on_conflict)
    assert callable(named.warning_on_missing_entrypoint)
    assert issubclass(DispatchExtensionManager, EnabledExtensionManager)
    assert issubclass(DriverManager, NamedExtensionManager)
    assert issubclass(HookManager, NamedExtensionManager)


PIKE_KEYWORDS = [
    ("search_paths", None),
    ("on_error", None),
    ("trust", "owner"),
    ("isolate", False),
]
SIGNATURES: dict[type, list[tuple[str, object]]] = {
    ExtensionManager: [
        ("namespace", inspect.Parameter.empty),
        ("invoke_on_load", False),
        ("invoke_args", None),
        ("invoke_kwds", None),
        ("propagate_map_exceptions", False),
        ("on_load_failure_callback", None),
        ("verify_requirements", None),
    ],
    NamedExtensionManager: [
        ("namespace", inspect.Parameter.empty),
        ("names", inspect.Parameter.empty),
        ("invoke_on_load", False),
        ("invoke_args", None),
        ("invoke_kwds", None),
        ("name_order", False),
        ("propagate_map_exceptions", False),
        ("on_load_failure_callback", None),
        ("on_missing_entrypoints_callback", named.warning_on_missing_entrypoint),
        ("verify_requirements", None),
        ("warn_on_missing_entrypoint", None),
    ],
    EnabledExtensionManager: [
        ("namespace", inspect.Parameter.empty),
        ("check_func", inspect.Parameter.empty),
        ("invoke_on_load", False),
        ("invoke_args", None),
        ("invoke_kwds", None),
        ("propagate_map_exceptions", False),
        ("on_load_failure_callback", None),
        ("verify_requirements", None),
    ],
    DriverManager: [
        ("namespace", inspect.Parameter.empty),
        ("name", inspect.Parameter.empty),
        ("invoke_on_load", False),
        ("invoke_args", None),
        ("invoke_kwds", None),
        ("on_load_failure_callback", None),
        ("on_missing_entrypoints_callback", named.warning_on_missing_entrypoint),
        ("verify_requirements", None),
        ("warn_on_missing_entrypoint", None),
    ],
    HookManager: [
        ("namespace", inspect.Parameter.empty),
        ("name", inspect.Parameter.empty),
        ("invoke_on_load", False),
        ("invoke_args", None),
        ("invoke_kwds", None),
        ("on_load_failure_callback", None),
        ("on_missing_entrypoints_callback", None),
        ("verify_requirements", None),
        ("warn_on_missing_entrypoint", None),
    ],
}
SIGNATURES[DispatchExtensionManager] = SIGNATURES[EnabledExtensionManager]
SIGNATURES[NameDispatchExtensionManager] = SIGNATURES[EnabledExtensionManager]


@pytest.mark.parametrize("cls", list(SIGNATURES), ids=lambda c: c.__name__)
def test_constructor_signatures_are_stevedores_plus_pikes_keywords(cls: type) -> None:
    parameters = list(inspect.signature(cls).parameters.values())
    positional = [p for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert [(p.name, p.default) for p in positional] == SIGNATURES[cls]
    keyword = {p.name: p.default for p in parameters if p.kind is p.KEYWORD_ONLY}
    resolver = extension.error_on_conflict if cls is DriverManager else extension.ignore_conflicts
    assert keyword == {"conflict_resolver": resolver, **dict(PIKE_KEYWORDS)}


def test_extension_takes_stevedores_arguments_in_order() -> None:
    ep = metadata.EntryPoint("name", "module.name:attribute.name [extra]", "group_name")
    ext = Extension("name", ep, dict, None)
    assert (ext.name, ext.entry_point, ext.plugin, ext.obj) == ("name", ep, dict, None)
    assert ext.module_name == "module.name"
    assert ext.attr == "attribute.name"
    assert ext.entry_point_target == "module.name:attribute.name [extra]"
    assert ext.path is None and ext.distribution is None
    plain = Extension("n", metadata.EntryPoint("n", "module:attribute", "g"), dict, {"x": 1})
    assert (plain.module_name, plain.attr, plain.obj) == ("module", "attribute", {"x": 1})
    assert Extension("bare", None, None, None).distribution is None  # type: ignore[arg-type]
    # What it names, and no address: a program printing its extensions prints the same.
    assert repr(ext) == "<Extension 'name' = 'module.name:attribute.name [extra]'>"
    assert repr([plain]) == "[<Extension 'n' = 'module:attribute'>]"
    assert repr(Extension("bare", None, None, None)) == "<Extension 'bare'>"  # type: ignore[arg-type]


# -- ExtensionManager ---------------------------------------------------------------------


def test_detects_plugins_and_skips_the_broken(faux: dict[str, Any]) -> None:
    with ExtensionManager("faux.group", **faux) as em:
        assert em.names() == ALL_NAMES  # in the file's order, as stevedore has them
        assert [e.name for e in em] == ALL_NAMES
        assert em["t1"].name == "t1"
        assert "t1" in em and "e2" not in em and "t3" not in em
        with pytest.raises(KeyError):
            em["t3"]
        [error] = em.errors
        assert isinstance(error, EntryPointError) and error.entry_point.startswith("e2 = ")


def test_a_failed_plugin_is_logged_and_skipped(
    faux: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="stevedore.extension"):
        em = ExtensionManager("faux.group", invoke_on_load=True, **faux)
    with em:
        assert em.names() == WORKING_NAMES
        messages = [r.getMessage() for r in caplog.records if r.name == "stevedore.extension"]
        assert len(messages) == 2
        # stevedore's words: the plugin's own exception, not pike's error.
        assert messages[0] == "Could not load 'e1': Did not create"
        assert messages[1].startswith("Could not load 'e2': ")
        assert all(r.levelno == logging.ERROR for r in caplog.records)


def test_list_entry_points_loads_nothing(faux: dict[str, Any]) -> None:
    with ExtensionManager("faux.group", **faux) as em:
        points = em.list_entry_points()
        assert sorted(ep.name for ep in points) == ["e1", "e2", "t1", "t2"]
        assert all(isinstance(ep, metadata.EntryPoint) for ep in points)
        assert sorted(em.entry_points_names()) == ["e1", "e2", "t1", "t2"]


def test_invoke_on_load_passes_the_arguments(faux: dict[str, Any]) -> None:
    with ExtensionManager(
        "faux.group", invoke_on_load=True, invoke_args=("a",), invoke_kwds={"b": "B"}, **faux
    ) as em:
        assert len(em.extensions) == 2
        for ext in em.extensions:
            assert (ext.obj.args, ext.obj.kwds) == (("a",), {"b": "B"})


def test_map_collects_results_and_passes_arguments(faux: dict[str, Any]) -> None:
    seen = []

    def mapped(ext: Extension[Any], /, *args: Any, **kwds: Any) -> str:
        seen.append((ext.name, args, kwds))
        return ext.name

    with ExtensionManager("faux.group", invoke_on_load=True, **faux) as em:
        assert em.map(mapped, 1, 2, a="A", b="B") == WORKING_NAMES
        assert seen == [(n, (1, 2), {"a": "A", "b": "B"}) for n in WORKING_NAMES]
        assert {r[2] for r in em.map_method("get_args_and_data", 42)} == {42}


def test_map_logs_errors_and_goes_on_unless_told_to_propagate(
    faux: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    calls = []

    def mapped(ext: Extension[Any], /, *args: Any, **kwds: Any) -> None:
        calls.append(ext.name)
        raise RuntimeError("hard coded error")

    with ExtensionManager("faux.group", invoke_on_load=True, **faux) as em:
        caplog.clear()  # the load failures'
        with caplog.at_level(logging.ERROR, logger="stevedore.extension"):
            assert em.map(mapped, 1, 2, a="A", b="B") == []
        assert calls == WORKING_NAMES  # both ran
        # stevedore's two records for each: the message, then the exception's traceback.
        assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
            ("stevedore.extension", logging.ERROR, message)
            for name in WORKING_NAMES
            for message in (f"error calling {name!r}: hard coded error", "hard coded error")
        ]
        assert [r.exc_info is not None for r in caplog.records] == [False, True] * 2
    calls.clear()
    with ExtensionManager(
        "faux.group", invoke_on_load=True, propagate_map_exceptions=True, **faux
    ) as em:
        with pytest.raises(RuntimeError, match="hard coded error"):
            em.map(mapped)
        assert calls == WORKING_NAMES[:1]  # stopped at the first


def test_map_over_no_extensions_raises_no_matches(source: Source) -> None:
    source.add("empty-dist", "[other.group]\nx = nowhere:X\n")
    with ExtensionManager("faux.group.none", invoke_on_load=True, **source.kw) as em:
        assert em.extensions == []
        with pytest.raises(NoMatches) as info:
            em.map(lambda ext: None)
        assert str(info.value) == "No faux.group.none extensions found"
        with pytest.raises(NoMatches):
            em.map_method("anything")


def test_items_give_one_extension_per_name(faux: dict[str, Any]) -> None:
    with ExtensionManager("faux.group", **faux) as em:
        assert set(em.items()) == {(name, em[name]) for name in ALL_NAMES}


def test_on_load_failure_callback_gets_manager_entry_point_and_error(
    faux: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    errors: list[tuple[Any, Any, BaseException]] = []
    with caplog.at_level(logging.ERROR, logger="stevedore"):
        em = ExtensionManager(
            "faux.group",
            invoke_on_load=True,
            on_load_failure_callback=lambda *args: errors.append(args),
            **faux,
        )
    with em:
        assert em.names() == WORKING_NAMES
        assert len(errors) == 2
        for manager, entry_point, error in errors:
            assert manager is em
            assert isinstance(entry_point, metadata.EntryPoint)
            assert isinstance(error, (OSError, ImportError))
        assert caplog.records == []  # the callback replaces the log


@pytest.mark.parametrize("policy", ["collect", "warn", "raise"])
def test_on_error_replaces_log_and_skip(
    faux: dict[str, Any], policy: str, caplog: pytest.LogCaptureFixture
) -> None:
    from pike.errors import PikeWarning

    with caplog.at_level(logging.ERROR, logger="stevedore"):
        if policy == "raise":
            with pytest.raises(EntryPointError) as info:
                ExtensionManager("faux.group", invoke_on_load=True, on_error=policy, **faux)
            assert "Did not create" in str(info.value)
            assert isinstance(info.value.__cause__, OSError)
            return
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            em = ExtensionManager("faux.group", invoke_on_load=True, on_error=policy, **faux)
    with em:
        assert em.names() == WORKING_NAMES
        assert [e.entry_point.split(" ")[0] for e in em.errors] == ["e1", "e2"]  # type: ignore[attr-defined]
        assert len([w for w in caught if w.category is PikeWarning]) == (policy == "warn") * 2
        assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_the_same_entry_point_and_plugin_objects_across_managers(site: Install) -> None:
    site("faux-dist", FAUX_POINTS, FAUX)
    em1, em2 = ExtensionManager("faux.group"), ExtensionManager("faux.group")
    assert em1.extensions[0].entry_point is em2.extensions[0].entry_point  # kept per namespace
    assert [e.plugin for e in em1] == [e.plugin for e in em2]  # the import system's cache


def test_managers_over_one_folder_share_its_plugins(make_tree: MakeTree) -> None:
    folder = make_tree({**FAUX, "entry_points.txt": textwrap.dedent(FAUX_POINTS)})
    with ExtensionManager("faux.group", search_paths=[folder]) as first:
        # A driver, hooks, extensions over one folder, as a program makes them: they
        # get the same plugin objects, as from an installed distribution.
        with DriverManager("faux.group", "t1", search_paths=[str(folder)]) as second:
            assert second.driver is first["t1"].plugin
            assert second.errors == []
        assert "faux_plugins.things" in sys.modules  # the first still uses them
        assert first["t2"].plugin.__module__ == "faux_plugins.things"
    assert "faux_plugins.things" not in sys.modules  # the last one out cleaned up
    with ExtensionManager("faux.group", search_paths=[folder]) as again:
        assert again.names() == ALL_NAMES


def test_managers_never_closed_clean_up_when_collected(make_tree: MakeTree) -> None:
    import gc

    folder = make_tree({**FAUX, "entry_points.txt": textwrap.dedent(FAUX_POINTS)})
    managers = [ExtensionManager("faux.group", search_paths=[folder]) for _ in range(2)]
    assert "faux_plugins.things" in sys.modules
    del managers
    gc.collect()
    assert "faux_plugins.things" not in sys.modules
    assert not any(type(f).__name__ == "PikeFinder" for f in sys.meta_path)


def test_other_managers_of_the_folder_meet_collisions(make_tree: MakeTree) -> None:
    from pike.manager import PikeManager

    folder = make_tree({**FAUX, "entry_points.txt": textwrap.dedent(FAUX_POINTS)})
    other = make_tree({"other.py": ""})
    with ExtensionManager("faux.group", search_paths=[folder]) as first:
        assert first.names() == ALL_NAMES
        # Another set of folders is another manager: the names are the first one's.
        with ExtensionManager("faux.group", search_paths=[folder, other]) as second:
            assert second.names() == []
            assert all("faux_plugins" in str(e) for e in second.errors)
        with PikeManager([folder], on_error="collect") as mgr:
            mgr.get_classes()
            assert any("faux_plugins" in str(e) for e in mgr.errors)


def test_entry_point_cache_is_used_and_refreshed_when_sys_path_changes(
    site: Install, tmp_path: Path
) -> None:
    ExtensionManager.ENTRY_POINT_CACHE["faux.placed"] = []  # placed by the program: used as is
    site("placed-dist", "[faux.placed]\np = placed_mod:P\n", {"placed_mod.py": "class P: pass\n"})
    assert ExtensionManager("faux.placed").names() == []
    site("first-dist", "[faux.later]\none = first_mod:One\n", {"first_mod.py": "class One: pass\n"})
    assert ExtensionManager("faux.later").names() == ["one"]
    other = write_tree(tmp_path / "more-site", {"second_mod.py": "class Two: pass\n"})
    info = other / "second_dist-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: second-dist\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[faux.later]\ntwo = second_mod:Two\n")
    sys.path.append(str(other))
    try:
        assert ExtensionManager("faux.later").names() == ["one", "two"]  # sys.path changed
    finally:
        sys.path.remove(str(other))
        sys.modules.pop("second_mod", None)
        sys.path_importer_cache.pop(str(other), None)


def test_a_distribution_installed_later_is_seen(site: Install) -> None:
    site("first-dist", "[faux.later]\none = first_mod:One\n", {"first_mod.py": "class One: pass\n"})
    assert ExtensionManager("faux.later").names() == ["one"]
    # pip adds a *.dist-info folder to the same site-packages: its mtime changes.
    site("second-dist", "[faux.later]\ntwo = second_mod:Two\n", {"second_mod.py": "X = 1\n"})
    names = ExtensionManager("faux.later").entry_points_names()
    assert sorted(names) == ["one", "two"]
    assert names == [ep.name for ep in metadata.entry_points(group="faux.later")]


def importlib_order(group: str, name: str | None = None) -> list[str]:
    """The targets of ``group``'s entry points (of ``name``), in the order
    ``importlib.metadata.entry_points()``, and so stevedore, gives them."""
    return [ep.value for ep in metadata.entry_points(group=group) if name in (None, ep.name)]


def test_installed_plugins_come_in_importlib_metadatas_order(site: Install) -> None:
    site("zeta-dist", "[ord.g]\nsame = zeta_mod:f\nalpha = zeta_mod:f\n", {"zeta_mod.py": "f = 1"})
    site("beta-dist", "[ord.g]\nsame = beta_mod:f\n", {"beta_mod.py": "f = 2\n"})
    em = ExtensionManager("ord.g")
    assert [e.entry_point_target for e in em] == importlib_order("ord.g")
    zeta = [(e.name, e.distribution) for e in em if e.distribution == "zeta-dist 1.0"]
    assert zeta == [("same", "zeta-dist 1.0"), ("alpha", "zeta-dist 1.0")]  # the file's order


def dist_info(folder: Path, name: str, points: str, files: dict[str, str]) -> Path:
    """What pip leaves for distribution ``name`` in ``folder``."""
    write_tree(folder, files)
    info = folder / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(points)
    return folder


@pytest.fixture
def two_paths(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """Two folders on sys.path, the first (as on PYTHONPATH) before the second."""
    early, late = tmp_path / "early", tmp_path / "late"
    early.mkdir()
    late.mkdir()
    sys.path[:0] = [str(early), str(late)]
    importlib.invalidate_caches()
    yield early, late
    sys.path.remove(str(early))
    sys.path.remove(str(late))
    for name in [
        n for n, m in sys.modules.items() if str(tmp_path) in str(getattr(m, "__file__", ""))
    ]:
        del sys.modules[name]
    for key in [k for k in sys.path_importer_cache if str(tmp_path) in str(k)]:
        del sys.path_importer_cache[key]
    importlib.invalidate_caches()


@pytest.mark.parametrize("cache", ["on", "off"])
def test_a_distribution_earlier_on_sys_path_is_seen_first(
    two_paths: tuple[Path, Path], cache: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if cache == "off":
        monkeypatch.setenv("PIKE_CACHE_DIR", "off")
    early, late = two_paths
    # By name, "aaa-late" would come first; sys.path puts "zzz-early" first.
    dist_info(late, "aaa-late", "[two.g]\nsame = late_mod:f\n", {"late_mod.py": "f = 'late'"})
    dist_info(early, "zzz-early", "[two.g]\nsame = early_mod:f\n", {"early_mod.py": "f = 'early'"})
    expected = ["early_mod:f", "late_mod:f"]
    assert importlib_order("two.g") == expected  # as importlib.metadata and stevedore see it
    hooks = HookManager("two.g", "same")
    assert [e.entry_point_target for e in hooks] == expected
    assert [e.distribution for e in hooks] == ["zzz-early 1.0", "aaa-late 1.0"]
    assert [e.entry_point_target for e in ExtensionManager("two.g")] == expected
    assert NamedExtensionManager("two.g", ["same"]).list_entry_points()[0].value == "early_mod:f"
    with pytest.raises(MultipleMatches):
        DriverManager("two.g", "same")
    last = DriverManager("two.g", "same", conflict_resolver=extension.ignore_conflicts)
    assert last.driver == "late"  # stevedore's resolver takes the last found


def test_a_distribution_shadowed_further_down_sys_path_is_not_seen(
    two_paths: tuple[Path, Path],
) -> None:
    early, late = two_paths
    # One distribution twice (a newer copy on PYTHONPATH): only the first counts.
    dist_info(late, "acme", "[shadow.g]\nold = acme_old:f\n", {"acme_old.py": "f = 1"})
    dist_info(early, "acme", "[shadow.g]\nnew = acme_new:f\n", {"acme_new.py": "f = 2"})
    assert importlib_order("shadow.g") == ["acme_new:f"]
    assert ExtensionManager("shadow.g").names() == ["new"]


@pytest.mark.parametrize("cache", ["on", "off"])
def test_one_declaration_in_two_distributions_is_one_plugin(
    two_paths: tuple[Path, Path], cache: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if cache == "off":
        monkeypatch.setenv("PIKE_CACHE_DIR", "off")
    early, late = two_paths
    # A source tree on sys.path beside its installed copy, under another name.
    dist_info(early, "acme-dev", "[twice.g]\nsame = acme_mod:f\n", {"acme_mod.py": "f = 1"})
    dist_info(late, "acme", "[twice.g]\nsame = acme_mod:f\nmore = acme_mod:f\n", {})
    em = ExtensionManager("twice.g")
    assert [(e.name, e.distribution) for e in em] == [
        ("same", "acme-dev 1.0"),
        ("more", "acme 1.0"),
    ]


def test_a_later_run_of_a_name_replaces_an_earlier_one_as_in_stevedore() -> None:
    # stevedore groups a name's extensions that are next to each other: only those
    # go to the conflict resolver; a later one of the name replaces the earlier.
    first, second = conflicting()
    other = Extension("other", metadata.EntryPoint("other", "module3:X", "g.x"), Bar, None)
    em = ExtensionManager.make_test_instance(
        [first, other, second], conflict_resolver=extension.error_on_conflict
    )
    assert em["conflict"] is second and dict(em.items()) == {"conflict": second, "other": other}
    with pytest.raises(MultipleMatches):
        ExtensionManager.make_test_instance(
            [first, second], conflict_resolver=extension.error_on_conflict
        )["conflict"]


# -- conflicts ----------------------------------------------------------------------------


class Foo:
    pass


class Bar:
    pass


def conflicting() -> list[Extension[Any]]:
    return [
        Extension("conflict", metadata.EntryPoint("conflict", "module1:Foo", "g.x"), Foo, None),
        Extension("conflict", metadata.EntryPoint("conflict", "module2:Bar", "g.x"), Bar, None),
    ]


def test_ignore_conflicts_warns_and_takes_the_last(caplog: pytest.LogCaptureFixture) -> None:
    extensions = conflicting()
    with caplog.at_level(logging.WARNING, logger="stevedore.extension"):
        assert extension.ignore_conflicts("g.x", "conflict", extensions) is extensions[-1]
    [record] = caplog.records
    assert (record.name, record.levelno) == ("stevedore.extension", logging.WARNING)
    assert record.getMessage() == (  # stevedore's words, the plugins by __qualname__
        "multiple implementations found for the 'conflict' extension in g.x namespace: Foo, Bar"
    )
    # A plugin with no __qualname__ (a module, an instance) is named by its target.
    odd = Extension("conflict", metadata.EntryPoint("conflict", "module3", "g.x"), None, None)  # type: ignore[arg-type]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="stevedore.extension"):
        extension.ignore_conflicts("g.x", "conflict", [*extensions, odd])
    assert caplog.records[0].getMessage().endswith(": Foo, Bar, module3")


def test_error_on_conflict_raises_multiple_matches() -> None:
    with pytest.raises(MultipleMatches) as info:
        extension.error_on_conflict("g.x", "conflict", conflicting())
    message = str(info.value)
    assert "multiple implementations found" in message
    assert "'conflict' command" in message and "g.x namespace" in message


def test_a_custom_conflict_resolver_picks_by_name(caplog: pytest.LogCaptureFixture) -> None:
    ext1, ext2 = conflicting()
    em = ExtensionManager.make_test_instance(
        [ext1, ext2], conflict_resolver=lambda namespace, name, exts: exts[0]
    )
    assert em["conflict"] is ext1
    assert ExtensionManager.make_test_instance([ext1, ext2])["conflict"] is ext2  # the default


# -- logging, as stevedore logs -------------------------------------------------------------


def test_each_record_is_stevedores_name_level_and_words(
    site: Install, caplog: pytest.LogCaptureFixture
) -> None:
    site("faux-dist", FAUX_POINTS, FAUX)
    caplog.set_level(logging.DEBUG, logger="stevedore")

    def seen() -> list[tuple[str, int, str]]:
        found = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
        caplog.clear()
        return found

    em = ExtensionManager("faux.group", invoke_on_load=True)
    found = seen()
    debug = [m for n, level, m in found if (n, level) == ("stevedore.extension", logging.DEBUG)]
    assert [m.split("(", 1)[0] for m in debug] == ["found extension EntryPoint"] * 4
    assert [r for r in found if r[1] > logging.DEBUG] == [
        ("stevedore.extension", logging.ERROR, "Could not load 'e1': Did not create"),
        (
            "stevedore.extension",
            logging.ERROR,
            "Could not load 'e2': No module named 'faux_plugins.notfound'",
        ),
    ]
    # At DEBUG, stevedore adds the traceback.
    assert all(r.exc_info for r in caplog.records if r.levelno == logging.ERROR)

    NamedExtensionManager("faux.group", names=["t1", "zz"])
    assert [r for r in seen() if r[1] > logging.DEBUG] == [
        ("stevedore.named", logging.WARNING, "Could not load zz")
    ]
    EnabledExtensionManager("faux.group", lambda ext: ext.name != "t1")
    assert ("stevedore.enabled", logging.DEBUG, "ignoring extension 't1'") in seen()
    by_name = NameDispatchExtensionManager("faux.group", lambda ext: True)
    seen()
    by_name.map(["zz"], lambda ext: None)
    assert seen() == [("stevedore.dispatch", logging.DEBUG, "Missing extension 'zz' being ignored")]
    em.map(lambda ext: 1 / 0)
    assert seen() == [
        ("stevedore.extension", logging.ERROR, f"error calling {name!r}: division by zero")
        if first
        else ("stevedore.extension", logging.ERROR, "division by zero")
        for name in WORKING_NAMES
        for first in (True, False)
    ]
    ExtensionManager.make_test_instance(conflicting()).items()
    assert seen() == [
        (
            "stevedore.extension",
            logging.WARNING,
            "multiple implementations found for the 'conflict' extension in TESTING namespace: "
            "Foo, Bar",
        )
    ]


def test_an_exception_whose_text_cannot_be_shown_is_still_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    def fail(ext: Extension[Any]) -> None:
        raise Unprintable

    ep = metadata.EntryPoint("odd", "odd_mod:X", "g.odd")
    em = ExtensionManager.make_test_instance([Extension("odd", ep, Foo, None)])
    with caplog.at_level(logging.ERROR, logger="stevedore"):
        assert em.map(fail) == []
    [first, second] = [r.getMessage() for r in caplog.records]
    assert first.startswith("error calling 'odd': ") and "cannot be shown" in first
    assert "cannot be shown" in second


def test_stevedores_package_logger_gets_a_null_handler_once() -> None:
    package = logging.getLogger("stevedore")
    extension.quiet_until_configured()
    extension.quiet_until_configured()
    assert [type(h) for h in package.handlers].count(logging.NullHandler) == 1
    assert package.propagate and package.level == logging.NOTSET  # the program's to set


# -- deprecated arguments -------------------------------------------------------------------


def test_verify_requirements_is_accepted_and_deprecated(faux: dict[str, Any]) -> None:
    with pytest.warns(DeprecationWarning, match="verify_requirements argument is now a no-op"):
        ExtensionManager.make_test_instance([], verify_requirements=True)
    with pytest.warns(DeprecationWarning, match="verify_requirements"):
        ExtensionManager("faux.group", verify_requirements=False, **faux).close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ExtensionManager.make_test_instance([])


def test_warn_on_missing_entrypoint_false_silences_the_warning(
    faux: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING), pytest.warns(DeprecationWarning):
        NamedExtensionManager(
            "faux.group", ["no"], warn_on_missing_entrypoint=False, **faux
        ).close()
    assert caplog.records == []


# -- NamedExtensionManager ------------------------------------------------------------------


def test_named_loads_only_the_names_listed(source: Source) -> None:
    files = {
        **FAUX,
        "faux_plugins/loud.py": "import sys\nsys.modules['__main__'].LOUD = 1\nclass L: pass\n",
    }
    source.add("faux-dist", FAUX_POINTS + "loud = faux_plugins.loud:L\n", files)
    with NamedExtensionManager(
        "faux.group", names=["t1"], invoke_on_load=True, invoke_args=("a",), **source.kw
    ) as em:
        assert em.names() == ["t1"]
        assert "faux_plugins.loud" not in sys.modules  # never imported
        assert not hasattr(sys.modules["__main__"], "LOUD")


def test_named_decides_before_invoking(faux: dict[str, Any]) -> None:
    with NamedExtensionManager(
        "faux.group", names=["no-such-extension"], invoke_on_load=True, **faux
    ) as em:
        assert em.names() == []
        assert em.errors == []  # e1 (which raises when invoked) was not touched


def test_named_in_name_order(faux: dict[str, Any]) -> None:
    for names in (["t1", "t2"], ["t2", "t1"]):
        with NamedExtensionManager("faux.group", names=names, name_order=True, **faux) as em:
            assert em.names() == names
    with NamedExtensionManager(
        "faux.group", names=["e1", "t2", "e2", "t1"], name_order=True, invoke_on_load=True, **faux
    ) as em:
        assert em.names() == ["t2", "t1"]  # the failed ones are left out
    with NamedExtensionManager("faux.group", names=["e1", "t1"], invoke_on_load=True, **faux) as em:
        assert em.names() == ["t1"]


def test_missing_names_go_to_the_callback(
    faux: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    missing: set[str] = set()
    with NamedExtensionManager(
        "faux.group",
        names=["t1", "bar", "e2"],
        on_missing_entrypoints_callback=missing.update,
        **faux,
    ):
        assert missing == {"bar", "e2"}  # absent, and present but failed to load
    with caplog.at_level(logging.WARNING, logger="stevedore.named"):
        NamedExtensionManager("faux.group", names=["t1", "zz", "bar"], **faux).close()
    assert [r.getMessage() for r in caplog.records if r.name == "stevedore.named"] == [
        "Could not load bar, zz"
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="stevedore.named"):
        NamedExtensionManager(
            "faux.group", ["zz"], on_missing_entrypoints_callback=None, **faux
        ).close()
    assert [r for r in caplog.records if r.name == "stevedore.named"] == []


# -- EnabledExtensionManager ----------------------------------------------------------------


def test_enabled_keeps_what_the_check_accepts(faux: dict[str, Any]) -> None:
    checked = []

    def check(ext: Extension[Any]) -> bool:
        checked.append(ext.name)
        return bool(ext.obj) and ext.name == "t2"

    with EnabledExtensionManager("faux.group", check, invoke_on_load=True, **faux) as em:
        assert em.names() == ["t2"]
        assert checked == WORKING_NAMES  # after loading: the check sees obj


# -- DriverManager --------------------------------------------------------------------------


def test_driver_by_name(faux: dict[str, Any]) -> None:
    with DriverManager("faux.group", "t1", **faux) as em:
        assert em.names() == ["t1"]
        assert em.driver.__name__ == "FauxExtension"
        assert em(lambda ext, *a, **k: (ext.name, a, k), "a", b="C") == ("t1", ("a",), {"b": "C"})
    with DriverManager("faux.group", "t1", invoke_on_load=True, invoke_args=("x",), **faux) as em:
        assert type(em.driver).__name__ == "FauxExtension" and em.driver.args == ("x",)


def test_no_driver_of_the_name(faux: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(NoMatches) as info:
        DriverManager("faux.group.none", "t1", **faux)
    assert "No 'faux.group.none' driver found, looking for 't1'" in str(info.value)
    with caplog.at_level(logging.WARNING), pytest.raises(NoMatches) as info:
        DriverManager("faux.group", "t3", **faux)
    assert "available: e1, e2, t1, t2" in str(info.value)
    assert any("Could not load t3" in r.getMessage() for r in caplog.records)
    assert not any(type(f).__name__ == "PikeFinder" for f in sys.meta_path)


def test_a_driver_that_fails_raises_its_error(faux: dict[str, Any]) -> None:
    with pytest.raises(ImportError):
        DriverManager("faux.group", "e2", **faux)
    with pytest.raises(OSError, match="Did not create"):
        DriverManager("faux.group", "e1", invoke_on_load=True, **faux)
    assert "faux_plugins" not in sys.modules or not faux  # a folder's modules are cleaned up


def test_a_driver_under_a_policy_raises_no_matches_with_the_cause(
    make_tree: MakeTree,
) -> None:
    folder = make_tree(
        {
            "entry_points.txt": "[g]\nbad = bad_driver:Driver\n",
            "bad_driver.py": "raise RuntimeError('no hardware')\n",
        }
    )
    with pytest.raises(NoMatches, match="failed to load") as info:
        DriverManager("g", "bad", search_paths=[folder], on_error="collect")
    assert "no hardware" in str(info.value)
    assert isinstance(info.value.__cause__, EntryPointError)
    # The manager is still referenced by the traceback, yet its folder is cleaned up.
    assert info.value.__traceback__ is not None
    assert not any(type(f).__name__ == "PikeFinder" for f in sys.meta_path)
    assert "bad_driver" not in sys.modules


ALPHA_HOOKS = (
    "[acme.hooks]\non_start = alpha_hooks:start\n",
    {"alpha_hooks.py": "def start(): return 'alpha'\n"},
)
BETA_HOOKS = (
    "[acme.hooks]\non_start = beta_hooks:start\non_stop = beta_hooks:stop\n",
    {"beta_hooks.py": "def start(): return 'beta'\ndef stop(): return 'stopped'\n"},
)


def test_two_drivers_of_one_name(site: Install) -> None:
    site("alpha-hooks", *ALPHA_HOOKS)
    site("beta-hooks", *BETA_HOOKS)
    with pytest.raises(MultipleMatches) as info:
        DriverManager("acme.hooks", "on_start")
    assert "alpha_hooks:start (alpha-hooks 1.0)" in str(info.value)
    assert "beta_hooks:start (beta-hooks 1.0)" in str(info.value)
    found = [value.split("_")[0] for value in importlib_order("acme.hooks", "on_start")]
    picked = DriverManager("acme.hooks", "on_start", conflict_resolver=extension.ignore_conflicts)
    assert picked.driver() == found[-1]  # the last found, as stevedore finds them
    first = DriverManager("acme.hooks", "on_start", conflict_resolver=lambda ns, n, e: e[0])
    assert first.driver() == found[0]


def test_driver_test_instance_and_its_conflicts() -> None:
    a_driver = Extension("test_driver", None, "plugin", "obj")  # type: ignore[arg-type]
    dm = DriverManager.make_test_instance(a_driver)
    assert dm.extensions == [a_driver] and dm.names() == ["test_driver"]
    assert dm.namespace == "TESTING" and dm.driver == "obj"
    called = dm(lambda ext, *a, **k: (ext.name, a, k), "a", b="C")
    assert called == ("test_driver", ("a",), {"b": "C"})
    assert DriverManager.make_test_instance(a_driver, namespace="x.y").namespace == "x.y"
    extensions = conflicting()
    with pytest.raises(MultipleMatches, match="multiple implementations"):
        DriverManager.make_test_instance(extensions[0])._init_plugins(extensions)
    dm = DriverManager.make_test_instance(
        extensions[0], conflict_resolver=extension.ignore_conflicts
    )
    dm._init_plugins(conflicting())
    assert len(dm.extensions) == 1 and dm.driver is Bar


# -- HookManager ----------------------------------------------------------------------------


def test_hooks_are_every_plugin_of_the_name(source: Source) -> None:
    source.add("alpha-hooks", *ALPHA_HOOKS)
    source.add("beta-hooks", *BETA_HOOKS)
    with HookManager("acme.hooks", "on_start", **source.kw) as hooks:
        # Drop-in folders in the order given; distributions as importlib.metadata has them.
        found = ["alpha", "beta"]
        if source.kind == "installed":
            found = [value.split("_")[0] for value in importlib_order("acme.hooks", "on_start")]
        assert [ext.plugin() for ext in hooks] == found
        assert [ext.distribution for ext in hooks] == [source.label(f"{f}-hooks") for f in found]
        assert hooks["on_start"] == hooks.extensions and len(hooks["on_start"]) == 2
        with pytest.raises(KeyError):
            hooks["on_stop"]
        assert hooks.map(lambda ext: ext.plugin()) == found
    with HookManager("acme.hooks", "nothing", **source.kw) as none:
        assert none.extensions == []


def test_hook_test_instance() -> None:
    hook1 = Extension("captain", None, None, None)  # type: ignore[arg-type]
    hook2 = Extension("captain", None, None, None)  # type: ignore[arg-type]
    em = HookManager.make_test_instance([hook1, hook2])
    assert em["captain"] == [hook1, hook2] and em.namespace == "TESTING"


# -- dispatch -------------------------------------------------------------------------------


def test_dispatch_filters_per_call(faux: dict[str, Any]) -> None:
    def invoke(ext: Extension[Any], /, *args: Any, **kwds: Any) -> Any:
        return (ext.name, args, kwds)

    def only_t2(ext: Extension[Any], /, *args: Any, **kwds: Any) -> bool:
        return ext.name == "t2"

    with DispatchExtensionManager(
        "faux.group", lambda ext: True, invoke_on_load=True, invoke_args=("a",), **faux
    ) as em:
        assert em.names() == WORKING_NAMES
        assert em.map(only_t2, invoke, "first", named="v") == [("t2", ("first",), {"named": "v"})]
        assert em.map_method(only_t2, "get_args_and_data", "first") == [(("a",), {}, "first")]
    with DispatchExtensionManager.make_test_instance([]) as empty, pytest.raises(NoMatches):
        empty.map(only_t2, invoke)


def test_name_dispatch_picks_by_name(faux: dict[str, Any]) -> None:
    def invoke(ext: Extension[Any], /, *args: Any, **kwds: Any) -> Any:
        return (ext.name, args, kwds)

    with NameDispatchExtensionManager(
        "faux.group", lambda ext: True, invoke_on_load=True, invoke_kwds={"b": "B"}, **faux
    ) as em:
        assert set(em.by_name) == {"t1", "t2"}
        assert em.map(["t3", "t1"], invoke, "first") == [("t1", ("first",), {})]
        assert em.map_method(["t2"], "get_args_and_data", 7) == [((), {"b": "B"}, 7)]
    with NameDispatchExtensionManager.make_test_instance([]) as empty:
        assert empty.map(["t1"], invoke) == []  # no NoMatches here, as in stevedore


# -- test instances -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls",
    [
        ExtensionManager,
        NamedExtensionManager,
        HookManager,
        EnabledExtensionManager,
        DispatchExtensionManager,
        NameDispatchExtensionManager,
    ],
    ids=lambda c: c.__name__,
)
def test_make_test_instance(cls: type[ExtensionManager[Any]]) -> None:
    first = Extension("test_extension", None, None, None)  # type: ignore[arg-type]
    second = Extension("another_one", None, None, None)  # type: ignore[arg-type]
    extensions = [first, second]
    em = cls.make_test_instance(extensions)
    assert em.extensions == extensions and em.namespace == "TESTING"
    assert cls.make_test_instance([first], namespace="t.1.2").namespace == "t.1.2"
    assert em.names() == ["test_extension", "another_one"]
    if cls is not HookManager:
        assert next(iter(em)) is first and em["another_one"] is second
    if cls in (ExtensionManager, NamedExtensionManager, HookManager, EnabledExtensionManager):
        calls: list[Any] = []
        em.map(calls.append)
        assert calls == extensions
        failing = cls.make_test_instance([first], propagate_map_exceptions=True)
        with pytest.raises(ZeroDivisionError):
            failing.map(lambda ext: 1 / 0)
        assert cls.make_test_instance([first]).map(lambda ext: 1 / 0) == []


# -- pike's additions: drop-in folders through pike's loader ----------------------------------


def test_drop_ins_come_first_and_are_cleaned_up(make_tree: MakeTree, site: Install) -> None:
    site(
        "acme-drivers",
        "[acme.drivers]\ninstalled_one = acme_drivers.my_driver:SimpleDriver2\n",
        {"acme_drivers/__init__.py": "", "acme_drivers/my_driver.py": "class SimpleDriver2: ...\n"},
    )
    folder = make_tree(
        {
            "entry_points.txt": "[acme.drivers]\nlocal_one = local_drivers.fast:FastDriver\n",
            "local_drivers/__init__.py": "",
            "local_drivers/fast.py": "class FastDriver:\n    def get_name(self): return 'fast'\n",
        }
    )
    with DriverManager("acme.drivers", "local_one", search_paths=[folder]) as manager:
        assert manager.driver().get_name() == "fast"
        [ext] = manager.extensions
        assert ext.distribution is None
        assert ext.path == str(folder / "local_drivers" / "fast.py")
        assert "local_drivers.fast" in sys.modules
    assert "local_drivers.fast" not in sys.modules  # cleaned up by the folder's manager
    with ExtensionManager("acme.drivers", search_paths=folder) as both:
        assert both.names() == ["local_one", "installed_one"]  # folders first
        assert [ep.name for ep in both.list_entry_points()] == ["local_one", "installed_one"]
        assert both["installed_one"].distribution == "acme-drivers 1.0"


def test_drop_in_error_names_the_folder(make_tree: MakeTree) -> None:
    folder = make_tree({"entry_points.txt": "[g]\nbad = missing_here:X\n"})
    with pytest.raises(EntryPointError) as info:
        ExtensionManager("g", search_paths=[folder], on_error="raise")
    assert f"the drop-in folder {folder}" in str(info.value)
    assert info.value.distribution == ""


def test_broken_entry_point_names_it_and_its_distribution(site: Install) -> None:
    site("broken-dist", "[acme.drivers]\nbroken = not_installed_module:Thing\n")
    with pytest.raises(EntryPointError) as info:
        ExtensionManager("acme.drivers", on_error="raise")
    error = info.value
    assert error.entry_point == "broken = not_installed_module:Thing"
    assert error.distribution == "broken-dist 1.0"
    assert "broken-dist 1.0" in str(error) and "acme.drivers" in str(error)
    assert isinstance(error.__cause__, ModuleNotFoundError)
    import pickle

    copy = pickle.loads(pickle.dumps(error))
    assert (copy.entry_point, copy.distribution) == (error.entry_point, error.distribution)


def test_folder_without_declarations_has_no_named_plugins(make_tree: MakeTree) -> None:
    folder = make_tree({"plain.py": "class Plain: pass\n"})
    with ExtensionManager("anything", search_paths=[folder]) as manager:
        assert manager.extensions == []


def test_the_same_declaration_in_a_folder_and_installed_is_one_plugin(
    make_tree: MakeTree, site: Install
) -> None:
    points = "[acme.drivers]\nsame = same_pkg.mod:Same\n"
    folder = make_tree(
        {
            "entry_points.txt": points,
            "same_pkg/__init__.py": "",
            "same_pkg/mod.py": "class Same: ...",
        }
    )
    site("same-dist", points)
    with DriverManager("acme.drivers", "same", search_paths=[folder]) as manager:
        [ext] = manager.extensions
        assert ext.distribution is None  # the folder's, which comes first
    site("other-dist", "[acme.drivers]\nsame = elsewhere:Other\n", {"elsewhere.py": "Other = 1\n"})
    with pytest.raises(MultipleMatches):  # the same name, another target
        DriverManager("acme.drivers", "same", search_paths=[folder])


DRIVERS = {
    "acme_drivers/__init__.py": "",
    "acme_drivers/my_driver.py": "class SimpleDriver1:\n    pass\n",
}


def test_a_drop_in_module_named_like_a_host_module_is_a_collision(
    make_tree: MakeTree, site: Install
) -> None:
    # The host already imported its own 'acme_drivers': the folder's entry point
    # must not silently return the host's class, it is a collision.
    site("acme-drivers", "[acme.drivers]\nsimple = acme_drivers.my_driver:SimpleDriver1\n", DRIVERS)
    import acme_drivers.my_driver  # type: ignore[import-not-found]

    folder = make_tree(
        {
            "entry_points.txt": "[local.drivers]\nmine = acme_drivers.my_driver:SimpleDriver1\n",
            "acme_drivers/__init__.py": "",
            "acme_drivers/my_driver.py": "class SimpleDriver1:\n    FROM_FOLDER = True\n",
        }
    )
    with ExtensionManager("local.drivers", search_paths=[folder], on_error="collect") as mgr:
        assert mgr.extensions == []
        [error] = mgr.errors
        assert isinstance(error, EntryPointError)
        assert "would shadow module 'acme_drivers'" in str(error)
    assert not hasattr(acme_drivers.my_driver.SimpleDriver1, "FROM_FOLDER")


def test_named_managers_take_the_trust_keyword(make_tree: MakeTree) -> None:
    folder = make_tree(
        {"entry_points.txt": "[g]\nloose = loose_mod:Thing\n", "loose_mod.py": "class Thing: ..."}
    )
    (folder / "loose_mod.py").chmod(0o666)
    with ExtensionManager("g", search_paths=[folder], on_error="collect") as refused:
        assert refused.extensions == []
        assert "writable by other users" in str(refused.errors[0])
    with ExtensionManager("g", search_paths=[folder], trust="any") as trusted:
        assert trusted.names() == ["loose"]


SHARED = {
    "acme_shared/__init__.py": "",
    "acme_shared/impl.py": "WHERE = 'installed'\nclass Impl: pass\n",
}


def test_an_installed_entry_point_never_runs_a_drop_in_module(
    make_tree: MakeTree, site: Install
) -> None:
    site("acme-shared", "[acme.g]\ninstalled = acme_shared.impl:Impl\n", SHARED)
    folder = make_tree(
        {
            "entry_points.txt": "[other.g]\nmine = mine_mod:Mine\n",
            "mine_mod.py": "class Mine: pass\n",
            "acme_shared/__init__.py": "",
            "acme_shared/impl.py": "WHERE = 'folder'\nclass Impl: pass\n",
        }
    )
    # The folder has a package of the same name, but declares no plugin in it: the
    # installed entry point loads the installed code, though the folder's finder is on.
    with ExtensionManager("acme.g", search_paths=[folder]) as manager:
        [ext] = manager.extensions
        assert sys.modules[ext.plugin.__module__].WHERE == "installed"
        assert ext.distribution == "acme-shared 1.0"


def test_an_installed_entry_point_after_a_drop_in_of_its_name_is_a_collision(
    make_tree: MakeTree, site: Install
) -> None:
    site("acme-shared", "[acme.g]\ninstalled = acme_shared.impl:Impl\n", SHARED)
    folder = make_tree(
        {
            "entry_points.txt": "[acme.g]\nfolder = acme_shared.impl:Impl\n",
            "acme_shared/__init__.py": "",
            "acme_shared/impl.py": "WHERE = 'folder'\nclass Impl: pass\n",
        }
    )
    with ExtensionManager("acme.g", search_paths=[folder], on_error="collect") as manager:
        assert manager.names() == ["folder"]  # the folder's, first
        [error] = manager.errors
        assert "is the drop-in folder's" in str(error)
    assert "acme_shared" not in sys.modules


# -- declarations that are wrong, odd or hostile ------------------------------


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("[g]\njust words\n", "line 2 ('just words') is wrong: an entry is name = module:attr"),
        ("[g\nx = m:X\n", "line 1 ('[g') is wrong: a section header is [group]"),
        ("x = m:X\n", "line 1 ('x = m:X') is wrong: entries go under a [group] header"),
        ("[g]\nx =\n", "line 2 ('x =') is wrong"),
        ("[other]\n= m:X\n", "line 2 ('= m:X') is wrong"),
    ],
)
def test_a_malformed_declaration_names_the_line(make_tree: MakeTree, text: str, why: str) -> None:
    from pike.errors import SearchPathError

    folder = make_tree({"entry_points.txt": text, "m.py": "class X: pass\n"})
    with pytest.raises(SearchPathError) as info:
        ExtensionManager("g", search_paths=[folder])
    assert str(folder) in str(info.value) and why in str(info.value)
    assert not any(type(f).__name__ == "PikeFinder" for f in sys.meta_path)


def test_comments_blank_lines_and_a_bom_are_fine(make_tree: MakeTree) -> None:
    text = "\ufeff# made by hand\n\n; another comment\n[g]\n  x = m:X  \n[h]\ny = m:Y\n"
    folder = make_tree({"entry_points.txt": text, "m.py": "class X: pass\nclass Y: pass\n"})
    with ExtensionManager("g", search_paths=[folder]) as em:
        assert [(e.name, e.entry_point_target, e.plugin.__name__) for e in em] == [
            ("x", "m:X", "X")
        ]


def test_odd_declaration_files_raise_clearly(make_tree: MakeTree) -> None:
    import os

    from pike.errors import SearchPathError

    binary = make_tree({"m.py": ""})
    (binary / "entry_points.txt").write_bytes(b"[g]\nx = m:\xff\n")
    with pytest.raises(SearchPathError, match="not UTF-8 text"):
        ExtensionManager("g", search_paths=[binary])
    folder_named = make_tree({"entry_points.txt/inside.txt": ""})
    with pytest.raises(SearchPathError, match=r"cannot read|not a regular file"):
        ExtensionManager("g", search_paths=[folder_named])
    fifo = make_tree({})
    os.mkfifo(fifo / "entry_points.txt")  # opened without blocking: no hang
    with pytest.raises(SearchPathError, match="not a regular file"):
        ExtensionManager("g", search_paths=[fifo])


def test_entry_points_that_name_nothing_loadable_are_skipped_with_reasons(
    source: Source, caplog: pytest.LogCaptureFixture
) -> None:
    points = """
        [g]
        bad_value = this is not a target!
        no_attr = odd_mod:Missing
        raises = odd_mod:boom
        exits = odd_mod:leave
        fine = odd_mod:Fine
    """
    odd = "class Fine: ...\ndef boom(): raise ValueError('boom')\ndef leave(): raise SystemExit(3)"
    source.add("odd-dist", points, {"odd_mod.py": odd})
    with caplog.at_level(logging.ERROR, logger="stevedore"):
        em = ExtensionManager("g", invoke_on_load=True, **source.kw)
    with em:
        assert em.names() == ["fine"]
        failed = {e.entry_point.split(" ")[0]: e for e in em.errors}  # type: ignore[attr-defined]
        assert set(failed) == {"bad_value", "no_attr", "raises", "exits"}
        assert "boom" in str(failed["raises"]) and "SystemExit" in str(failed["exits"])
        assert "Missing" in str(failed["no_attr"])
        assert "which is not module:attr" in str(failed["bad_value"])
        assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 4


def test_a_declaration_file_others_can_write_is_refused(make_tree: MakeTree) -> None:
    from pike.errors import UntrustedPathError

    folder = make_tree({"entry_points.txt": "[g]\nx = m:X\n", "m.py": "class X: pass\n"})
    (folder / "entry_points.txt").chmod(0o666)
    with pytest.raises(UntrustedPathError) as info:
        ExtensionManager("g", search_paths=[folder])
    assert "writable by other users" in str(info.value)
    assert "chmod o-w" in str(info.value) and "trust='any'" in str(info.value)
    with ExtensionManager("g", search_paths=[folder], trust="any") as em:
        assert em.names() == ["x"]


def test_an_unreadable_declaration_file(
    make_tree: MakeTree, world_tree: Callable[..., Path], request: pytest.FixtureRequest
) -> None:
    from tests.conftest import IS_ROOT, NOBODY

    files = {"entry_points.txt": "[g]\nx = m:X\n", "m.py": "class X: pass\n"}
    if not IS_ROOT:
        folder = make_tree(files)
        (folder / "entry_points.txt").chmod(0)
        from pike.errors import SearchPathError

        with pytest.raises(SearchPathError, match="cannot read: Permission denied"):
            ExtensionManager("g", search_paths=[folder])
        return
    as_nobody = request.getfixturevalue("as_nobody")
    folder = world_tree(files, owner=NOBODY)
    (folder / "entry_points.txt").chmod(0)
    ran = as_nobody(
        f"""
        from pike.errors import SearchPathError
        from pike.named import ExtensionManager
        try:
            ExtensionManager("g", search_paths=[{str(folder)!r}])
        except SearchPathError as error:
            print(error)
        """
    )
    assert ran.returncode == 0, ran.stderr
    assert "entry_points.txt pike cannot read: Permission denied" in ran.stdout


def test_pike_1_0_names_keep_working(faux: dict[str, Any]) -> None:
    import pike
    from pike.errors import AmbiguousPluginError, PluginNotFoundError

    assert PluginNotFoundError is NoMatches and AmbiguousPluginError is MultipleMatches
    assert pike.PluginNotFoundError is NoMatches and pike.DriverManager is DriverManager
    with pytest.raises(PluginNotFoundError):
        DriverManager("faux.group", "absent", on_missing_entrypoints_callback=None, **faux)
    with ExtensionManager("faux.group", **faux) as em:
        assert len(em) == 3 and em["t1"].group == "faux.group"


def test_the_last_living_user_of_a_folder_cleans_up_when_it_closes(
    make_tree: MakeTree,
) -> None:
    import gc

    folder = make_tree({**FAUX, "entry_points.txt": textwrap.dedent(FAUX_POINTS)})
    forgotten = ExtensionManager("faux.group", search_paths=[folder])
    kept = ExtensionManager("faux.group", search_paths=[folder])
    del forgotten  # never closed
    gc.collect()
    assert "faux_plugins.things" in sys.modules  # kept still uses them
    kept.close()
    kept.close()  # twice is harmless
    assert "faux_plugins.things" not in sys.modules


def test_named_managers_over_one_folder_in_many_threads(make_tree: MakeTree) -> None:
    import threading

    folder = make_tree({**FAUX, "entry_points.txt": textwrap.dedent(FAUX_POINTS)})
    failures: list[BaseException] = []
    seen: list[object] = []

    def work() -> None:
        try:
            for _ in range(20):
                with DriverManager("faux.group", "t1", search_paths=[folder]) as mgr:
                    seen.append(mgr.driver)
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    assert len(seen) == 120 and all(d.__name__ == "FauxExtension" for d in seen)  # type: ignore[attr-defined]
    assert "faux_plugins.things" not in sys.modules
    assert not any(type(f).__name__ == "PikeFinder" for f in sys.meta_path)


def test_a_named_manager_picks_its_names_lines(make_tree: MakeTree) -> None:
    from pike.errors import SearchPathError

    text = (
        "[other]\n"
        "wanted = m:Wrong\n"
        "[g]\n"
        "a_wanted = m:Other [extra]\n"
        "# wanted = m:Commented\n"
        "  wanted   =   m:Right  \n"
        "wanted_too = m:Other\n"
        "[h]\n"
        "x = m:Other [more]\n"
    )
    folder = make_tree(
        {"entry_points.txt": text, "m.py": "class Right: ...\nclass Wrong: ...\nclass Other: ..."}
    )
    with DriverManager("g", "wanted", search_paths=[folder]) as dm:
        assert dm.driver.__name__ == "Right"
        assert dm.extensions[0].entry_point_target == "m:Right"
    with HookManager("h", "x", search_paths=[folder]) as hm:
        assert [e.plugin.__name__ for e in hm] == ["Other"]
    malformed = make_tree({"entry_points.txt": text + "just words\n", "m.py": ""})
    for make in (
        lambda: ExtensionManager("g", search_paths=[malformed]),
        lambda: DriverManager("g", "wanted", search_paths=[malformed]),  # the same rule
    ):
        with pytest.raises(SearchPathError, match="line 10"):
            make()
    bad = make_tree({"entry_points.txt": "[g]\nwanted =\n", "m.py": ""})
    with pytest.raises(SearchPathError, match=r"line 2 \('wanted ='\)"):
        DriverManager("g", "wanted", search_paths=[bad])
    orphan = make_tree({"entry_points.txt": "wanted = m:X\n[g]\n", "m.py": ""})
    with pytest.raises(SearchPathError, match="under a"):  # outside any section
        DriverManager("g", "wanted", search_paths=[orphan])


def test_installed_entry_points_without_the_cache(
    site: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIKE_CACHE_DIR", "off")
    site("alpha-hooks", *ALPHA_HOOKS)
    site("beta-hooks", *BETA_HOOKS)
    hooks = HookManager("acme.hooks", "on_start")
    found = [value.split("_")[0] for value in importlib_order("acme.hooks", "on_start")]
    assert [e.distribution for e in hooks] == [f"{f}-hooks 1.0" for f in found]
    with pytest.raises(MultipleMatches, match=r"alpha_hooks:start \(alpha-hooks 1.0\)"):
        DriverManager("acme.hooks", "on_start")


def test_bad_arguments_get_pikes_type_errors(faux: dict[str, Any]) -> None:
    from pike.errors import PikeTypeError

    bad_calls: list[Callable[[], object]] = [
        lambda: ExtensionManager(42, **faux),  # type: ignore[arg-type]
        lambda: ExtensionManager("faux.group", invoke_args=5, **faux),  # type: ignore[arg-type]
        lambda: ExtensionManager("faux.group", invoke_args="ab", **faux),
        lambda: ExtensionManager("faux.group", invoke_kwds=[1], **faux),  # type: ignore[arg-type]
        lambda: ExtensionManager("faux.group", invoke_kwds={1: 2}, **faux),  # type: ignore[dict-item]
        lambda: ExtensionManager("faux.group", on_load_failure_callback=3, **faux),  # type: ignore[arg-type]
        lambda: ExtensionManager("faux.group", conflict_resolver="x", **faux),  # type: ignore[arg-type]
        lambda: NamedExtensionManager("faux.group", names=None, **faux),  # type: ignore[arg-type]
        lambda: NamedExtensionManager("faux.group", names=[1], **faux),  # type: ignore[list-item]
    ]
    for call in bad_calls:
        with pytest.raises(PikeTypeError):
            call()
    assert not any(type(f).__name__ == "PikeFinder" for f in sys.meta_path)
    with NamedExtensionManager("faux.group", names="t1", **faux) as one:  # one name
        assert one.names() == ["t1"]
    with NamedExtensionManager("faux.group", names=(n for n in ["t2", "t1"]), **faux) as gen:
        assert gen.names() == ["t2", "t1"]


def test_a_plugin_raising_any_base_exception_is_skipped(source: Source) -> None:
    odd = (
        "class Exits:\n    def __init__(self):\n        raise GeneratorExit\n"
        "class Fine:\n    pass\n"
    )
    source.add("odd-dist", "[g]\nexits = odd2:Exits\nfine = odd2:Fine\n", {"odd2.py": odd})
    with ExtensionManager("g", invoke_on_load=True, on_error="collect", **source.kw) as em:
        assert em.names() == ["fine"]
        assert "GeneratorExit" in str(em.errors[0])


def test_managers_over_one_folder_get_the_same_entry_points(make_tree: MakeTree) -> None:
    folder = make_tree({**FAUX, "entry_points.txt": textwrap.dedent(FAUX_POINTS)})
    with ExtensionManager("faux.group", search_paths=[folder]) as em1:
        em2 = ExtensionManager("faux.group", search_paths=[folder])
        assert em1.extensions[0].entry_point is em2.extensions[0].entry_point
        assert [e.plugin for e in em1] == [e.plugin for e in em2]
        em2.close()
    (folder / "entry_points.txt").write_text("[faux.group]\nt1 = faux_plugins.things:Faux\n")
    with ExtensionManager("faux.group", search_paths=[folder], on_error="collect") as em3:
        assert em3.entry_points_names() == ["t1"]  # changed content: read afresh


def test_the_in_process_memo_follows_an_edited_entry_points_file(site: Install) -> None:
    files = {"edit_mod.py": "class One: ...\nclass Two: ..."}
    root = site("edit-dist", "[edit.g]\none = edit_mod:One\n", files)
    assert ExtensionManager("edit.g").names() == ["one"]
    points = root / "edit-dist-1.0.dist-info" / "entry_points.txt"
    before = points.stat().st_mtime_ns
    points.write_text("[edit.g]\none = edit_mod:One\ntwo = edit_mod:Two\n")
    os.utime(points, ns=(before + 10**9, before + 10**9))  # an edit, a second later
    assert ExtensionManager("edit.g").names() == ["one", "two"]


def test_a_header_with_more_on_its_line_is_an_error_for_every_manager(
    make_tree: MakeTree,
) -> None:
    from pike.errors import SearchPathError

    folder = make_tree(
        {"entry_points.txt": "[g] # the drivers\nfast = m:Fast\n", "m.py": "class Fast: ...\n"}
    )
    for make in (
        lambda: ExtensionManager("g", search_paths=[folder]),
        lambda: DriverManager("g", "fast", search_paths=[folder]),
        lambda: NamedExtensionManager("g", ["fast"], search_paths=[folder]),
    ):
        with pytest.raises(SearchPathError, match=r"line 1 .*\[group\], alone on its line"):
            make()


@pytest.mark.parametrize("nothing", [[], (), set(), iter([]), (p for p in ()), {}])
def test_no_folders_however_given_install_nothing(nothing: object, site: Install) -> None:
    site("faux-dist", FAUX_POINTS, FAUX)
    before = list(sys.meta_path)
    with ExtensionManager(
        "faux.group",
        invoke_on_load=True,
        search_paths=nothing,  # type: ignore[arg-type]
    ) as em:
        assert sys.meta_path == before  # no drop-in folders: no finder
        assert em.names() == WORKING_NAMES
