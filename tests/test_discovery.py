"""What is a plugin module, what is skipped and why, and in what order
(docs/design.md, "Plugin modules")."""

from __future__ import annotations

import os
import py_compile
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

import pytest

from pike.discovery import filesystem
from pike.manager import PikeManager
from tests.conftest import NOBODY, MakeTree, run_python


def loaded_names(mgr: PikeManager) -> list[str]:
    return [m.__name__ for m in mgr.get_modules()]


def test_modules_and_packages_to_any_depth(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "top.py": "",
            "a/__init__.py": "",
            "a/b/__init__.py": "",
            "a/b/c/__init__.py": "",
            "a/b/c/d/__init__.py": "",
            "a/b/c/d/deep.py": "class Deep:\n    pass\n",
        }
    )
    with PikeManager([root]) as mgr:
        assert loaded_names(mgr) == ["a", "a.b", "a.b.c", "a.b.c.d", "a.b.c.d.deep", "top"]
        assert [c.__name__ for c in mgr.get_classes()] == ["Deep"]
        assert [e.name for e in mgr.modules] == loaded_names(mgr)
        assert mgr.modules[0].is_package and mgr.modules[0].path.endswith("__init__.py")


def test_order_is_search_path_then_name_then_definition(make_tree: MakeTree) -> None:
    second = make_tree({"alpha.py": "class Z2: pass\nclass A2: pass\n"}, name="second")
    first = make_tree(
        {
            "zed.py": "class Zed: pass\n",
            "mid/__init__.py": "class Mid: pass\n",
            "mid/sub.py": "class Sub: pass\n",
            "beta.py": "class Zb: pass\nclass Ab: pass\n",
        },
        name="first",
    )
    runs = []
    for _ in range(2):
        with PikeManager([first, second]) as mgr:
            runs.append([c.__qualname__ for c in mgr.get_classes()])
    assert runs[0] == ["Zb", "Ab", "Mid", "Sub", "Zed", "Z2", "A2"]
    assert runs[0] == runs[1]


def test_modules_and_packages_interleave_by_name(make_tree: MakeTree) -> None:
    root = make_tree({"b.py": "", "a/__init__.py": "", "c/__init__.py": "", "a_b.py": ""})
    with PikeManager([root]) as mgr:
        assert loaded_names(mgr) == ["a", "a_b", "b", "c"]
        assert list(mgr.get_module_names()) == ["a_b", "b"]
        assert list(mgr.get_package_names()) == ["a", "c"]


def test_skipped_entries_carry_reasons(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "good.py": "class Good: pass\n",
            "my-plugin.py": "",
            "1st.py": "",
            "class.py": "",
            ".hidden.py": "",
            ".git/config": "",
            "notes/readme.py": "",
            "README.md": "not a module",
            "pkg/__init__.py": "",
            "pkg/bad-name.py": "",
            "pkg/__main__.py": "raise SystemExit('must not run')",
        }
    )
    (root / "__pycache__").mkdir()
    os.symlink(root / "missing.py", root / "dangling.py")
    with PikeManager([root]) as mgr:
        assert loaded_names(mgr) == ["good", "pkg"]
        reasons = {os.path.relpath(s.path, root): s.reason for s in mgr.skipped}
    assert set(reasons) == {
        "my-plugin.py",
        "1st.py",
        "class.py",
        ".hidden.py",
        ".git",
        "notes",
        "dangling.py",
        "pkg/bad-name.py",
        "pkg/__main__.py",
    }
    assert "not a valid Python identifier" in reasons["my-plugin.py"]
    assert "keyword" in reasons["class.py"]
    assert "hidden" in reasons[".git"]
    assert "__init__" in reasons["notes"]
    assert "broken symbolic link" in reasons["dangling.py"]
    assert str(root) in str(mgr.skipped[0])


@pytest.mark.parametrize("odd", ["False", "class", "yield", "__main__", "1st", "ünï"])
def test_an_odd_name_among_many_is_still_skipped(make_tree: MakeTree, odd: str) -> None:
    # Big folders are checked in bulk; one odd name must still be found.
    files = {f"m{i:03d}.py": "" for i in range(300)}
    root = make_tree({**files, f"{odd}.py": "", "pkg/__init__.py": "", "pkg/z.py": ""})
    mgr = PikeManager([root])
    try:
        names = list(mgr.get_module_names())
        assert names == sorted(n[:-3] for n in files) + ["ünï"] * (odd == "ünï")
        skipped = [os.path.basename(s.path) for s in mgr.skipped]
        assert skipped == ([] if odd == "ünï" else [f"{odd}.py"])
    finally:
        mgr.cleanup()


def test_skipped_is_readable_without_loading(make_tree: MakeTree) -> None:
    root = make_tree({"x-y.py": "raise RuntimeError('never run')", "ok.py": ""})
    with PikeManager([root]) as mgr:
        assert [s.path for s in mgr.skipped] == [str(root / "x-y.py")]
        assert "ok" not in sys.modules


def test_symlink_loop_ends(make_tree: MakeTree) -> None:
    root = make_tree({"pkg/__init__.py": "", "pkg/sub/__init__.py": "", "pkg/sub/m.py": ""})
    os.symlink(root / "pkg", root / "pkg" / "sub" / "again")
    with PikeManager([root]) as mgr:
        assert loaded_names(mgr) == ["pkg", "pkg.sub", "pkg.sub.m"]
        assert [os.path.relpath(s.path, root) for s in mgr.skipped] == ["pkg/sub/again"]
        assert "loop" in mgr.skipped[0].reason
    assert list(filesystem.recursive_find_packages(str(root))) == [
        str(root / "pkg"),
        str(root / "pkg" / "sub"),
    ]


def test_symlinked_package_that_is_not_a_loop_is_walked(make_tree: MakeTree) -> None:
    real = make_tree({"shared/__init__.py": "", "shared/s.py": "class S: pass\n"}, name="real")
    root = make_tree({"pkg/__init__.py": ""})
    os.symlink(real / "shared", root / "pkg" / "linked")
    with PikeManager([root]) as mgr:
        assert loaded_names(mgr) == ["pkg", "pkg.linked", "pkg.linked.s"]


def test_sourceless_module_is_a_plugin(make_tree: MakeTree) -> None:
    root = make_tree({"compiled_src.py": "class FromPyc:\n    pass\n"})
    py_compile.compile(str(root / "compiled_src.py"), cfile=str(root / "compiled.pyc"))
    (root / "compiled_src.py").unlink()
    with PikeManager([root]) as mgr:
        assert [c.__name__ for c in mgr.get_classes()] == ["FromPyc"]
        assert sys.modules["compiled"].__file__ == str(root / "compiled.pyc")
        assert list(mgr.get_module_names()) == ["compiled"]


def test_pyc_beside_its_source_is_one_module(make_tree: MakeTree) -> None:
    root = make_tree({"both.py": "class Both: pass\n"})
    py_compile.compile(str(root / "both.py"), cfile=str(root / "both.pyc"))
    with PikeManager([root]) as mgr:
        assert [c.__name__ for c in mgr.get_classes()] == ["Both"]
        assert mgr.skipped == []
        assert sys.modules["both"].__file__ == str(root / "both.py")


def test_package_hides_module_of_the_same_name(make_tree: MakeTree) -> None:
    root = make_tree({"dup/__init__.py": "class Pkg: pass\n", "dup.py": "class Mod: pass\n"})
    with PikeManager([root]) as mgr:
        assert [c.__name__ for c in mgr.get_classes()] == ["Pkg"]
        [skipped] = mgr.skipped
        assert skipped.path == str(root / "dup.py")
        assert "hidden by dup" in skipped.reason


def test_fifo_is_not_read(make_tree: MakeTree) -> None:
    root = make_tree({"ok.py": ""})
    os.mkfifo(root / "pipe.py")
    with PikeManager([root]) as mgr:
        assert loaded_names(mgr) == ["ok"]
        assert [s.reason for s in mgr.skipped] == ["not a regular file (a device, pipe or socket)"]


def test_unreadable_package_is_skipped(
    world_tree: Callable[..., Path], as_nobody: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    # Root reads every folder: the walk runs as an unprivileged user.
    root = world_tree(
        {"ok.py": "class Ok: pass\n", "pkg/__init__.py": "", "pkg/inner/__init__.py": ""},
        owner=NOBODY,
    )
    (root / "pkg" / "inner").chmod(0o100)  # enter, but not list
    result = as_nobody(
        f"""
        from pike.manager import PikeManager
        with PikeManager([{str(root)!r}]) as mgr:
            print([c.__name__ for c in mgr.get_classes()])
            print([(s.path, s.reason) for s in mgr.skipped])
        """
    )
    assert result.returncode == 0, result.stderr
    classes, skipped = result.stdout.splitlines()
    assert classes == "['Ok']"
    assert str(root / "pkg" / "inner") in skipped and "cannot be read" in skipped


def test_a_folder_that_may_not_be_searched_is_not_called_a_non_package(
    world_tree: Callable[..., Path], as_nobody: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    """A folder pike may not enter cannot be told a package or not: it is skipped as
    unreadable, not as a "directory without __init__.py"."""
    root = world_tree({"ok.py": "", "locked/__init__.py": "", "locked/mod.py": ""}, owner=NOBODY)
    (root / "locked").chmod(0o600)  # read, but not enter
    result = as_nobody(
        f"""
        from pike.manager import PikeManager
        with PikeManager([{str(root)!r}]) as mgr:
            mgr.get_classes()
            print([s.reason for s in mgr.skipped])
        """
    )
    assert result.returncode == 0, result.stderr
    assert "cannot be read: Permission denied" in result.stdout
    assert "without __init__" not in result.stdout


def _build_extension(directory: Path, name: str) -> Path | None:
    compiler = shutil.which("cc") or shutil.which("gcc")
    include = sysconfig.get_paths()["include"]
    if compiler is None or not (Path(include) / "Python.h").exists():
        return None
    source = directory / f"{name}.c"
    source.write_text(
        "#include <Python.h>\n"
        f'static struct PyModuleDef def = {{PyModuleDef_HEAD_INIT, "{name}", NULL, -1, NULL}};\n'
        f"PyMODINIT_FUNC PyInit_{name}(void) {{\n"
        "  PyObject *m = PyModule_Create(&def);\n"
        '  if (m) PyModule_AddIntConstant(m, "ANSWER", 42);\n'
        "  return m;\n}\n"
    )
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    target = directory / f"{name}{suffix}"
    subprocess.run(
        [compiler, "-shared", "-fPIC", f"-I{include}", str(source), "-o", str(target)],
        check=True,
        capture_output=True,
    )
    source.unlink()
    return target


def test_extension_module_is_a_plugin(make_tree: MakeTree) -> None:
    root = make_tree({})
    target = _build_extension(root, "pike_native_ext")
    if target is None:  # pragma: no cover - every supported machine has a compiler
        pytest.skip("no C compiler or Python headers")
    with PikeManager([root]) as mgr:
        [module] = mgr.get_modules()
        assert module.__name__ == "pike_native_ext"
        assert module.ANSWER == 42
        assert module.__file__ == str(target)
    # An extension module cannot be unloaded from the process, but pike forgets it.
    assert "pike_native_ext" not in sys.modules


def test_filesystem_functions_follow_the_same_rules(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "b.py": "",
            "a.py": "",
            "__init__.py": "",
            "bad-name.py": "",
            "p/__init__.py": "",
            "p/q/__init__.py": "",
            "p/q/deep.py": "",
            "n/x.py": "",
        }
    )
    r = str(root)
    assert list(filesystem.find_modules(r)) == [f"{r}/a.py", f"{r}/b.py"]
    assert list(filesystem.find_packages(r)) == [f"{r}/p"]
    assert list(filesystem.recursive_find_packages(r)) == [f"{r}/p", f"{r}/p/q"]
    assert list(filesystem.recursive_find_modules(r)) == [
        f"{r}/a.py",
        f"{r}/b.py",
        f"{r}/p/q/deep.py",
    ]
    assert filesystem.is_package(f"{r}/p") and not filesystem.is_package(f"{r}/n")
    assert filesystem.is_module("x.py") and filesystem.is_module("x.pyc")
    assert not filesystem.is_module("x.txt")


def test_one_module_per_name_whatever_the_listing_order(make_tree: MakeTree) -> None:
    root = make_tree({"multi/__init__.py": "class P: pass\n", "multi.py": "", "zz.py": ""})
    py_compile.compile(str(root / "zz.py"), cfile=str(root / "multi.pyc"))
    with PikeManager([root]) as mgr:
        assert loaded_names(mgr) == ["multi", "zz"]
        # multi.pyc lies beside multi.py: a byte-compiled copy, passed silently.
        assert [os.path.basename(s.path) for s in mgr.skipped] == ["multi.py"]


def test_sourceless_package(make_tree: MakeTree) -> None:
    root = make_tree({"binpkg/init_src.py": "class InPyc: pass\n"})
    py_compile.compile(
        str(root / "binpkg" / "init_src.py"), cfile=str(root / "binpkg" / "__init__.pyc")
    )
    (root / "binpkg" / "init_src.py").unlink()
    with PikeManager([root]) as mgr:
        assert [c.__name__ for c in mgr.get_classes()] == ["InPyc"]
        assert filesystem.is_package(str(root / "binpkg"))


def test_special_files_without_module_suffix_pass_silently(make_tree: MakeTree) -> None:
    root = make_tree({"ok.py": ""})
    os.mkfifo(root / "pipe")
    with PikeManager([root]) as mgr:
        assert loaded_names(mgr) == ["ok"]
        assert mgr.skipped == []


def test_module_names_once_across_search_paths(make_tree: MakeTree) -> None:
    a = make_tree({"same.py": "", "only_a.py": ""})
    b = make_tree({"same.py": "", "only_b.py": ""})
    with PikeManager([a, b], on_error="collect") as mgr:
        assert list(mgr.get_module_names()) == ["only_a", "same", "only_b"]


def test_a_module_found_by_name_is_the_entry_a_walk_gives(make_tree: MakeTree) -> None:
    from pike import _walk

    first = make_tree(
        {
            "plain.py": "",
            "both.py": "",
            "both/__init__.py": "",  # the package wins the name
            "pkg/__init__.py": "",
            "pkg/sub.py": "",
            "pkg/deeper/__init__.py": "",
            "pkg/deeper/leaf.py": "",
            "notpkg/leaf.py": "",  # no __init__: not a package
            "pkg/bad-name.py": "",
        }
    )
    second = make_tree({"plain.py": "", "only_second.py": ""})
    paths = [str(first), str(second)]
    walked = _walk.walk(paths).modules
    seen: set[str] = set()
    for entry in walked:
        top = entry.name.partition(".")[0]
        if entry.search_path != paths[0] and top in seen:
            continue  # a later path's copy of a name: a collision, never served
        seen.add(top)
        found = _walk.find_entries(paths, entry.name)
        assert found[-1] == entry
        assert [e.name for e in found] == [
            entry.name.rsplit(".", d)[0] for d in range(entry.name.count("."), -1, -1)
        ]
    for missing in ("nope", "pkg.nope", "plain.sub", "notpkg.leaf", "pkg.bad-name", "1x", ""):
        assert _walk.find_entries(paths, missing) == []


def test_a_package_is_imported_from_the_init_file_filefinder_picks(make_tree: MakeTree) -> None:
    # Beside __init__.py, an extension __init__ wins, as it does for the import system.
    from importlib import machinery

    root = make_tree({"pkg/__init__.py": "", "pkg/sub.py": ""})
    extension_init = root / "pkg" / ("__init__" + machinery.EXTENSION_SUFFIXES[0])
    extension_init.write_bytes(b"not really an extension module")
    details = [
        (machinery.ExtensionFileLoader, machinery.EXTENSION_SUFFIXES),
        (machinery.SourceFileLoader, machinery.SOURCE_SUFFIXES),
    ]
    spec = machinery.FileFinder(str(root), *details).find_spec("pkg")
    assert spec is not None and spec.origin == str(extension_init)
    with PikeManager([root], on_error="collect") as mgr:
        [package] = [e for e in mgr.modules if e.name == "pkg"]
        assert package.path == str(extension_init)
        mgr.get_modules()
        [error] = mgr.errors  # the import system's own choice failed to load
        assert error.path == str(extension_init)
    assert filesystem.is_package(str(root / "pkg"))


def test_each_discovery_helper_is_imported_on_first_use() -> None:
    """A static listing loads neither of the other helpers, nor isolation's namespaces
    or ``struct`` (docs/design.md, "Speed tricks"); each helper is there when asked for,
    to ``dir()`` and to attribute access."""
    result = run_python(
        """
        import sys
        import pike.discovery
        from pike.discovery import static
        unwanted = ["pike.discovery.filesystem", "pike.discovery.py", "pike._namespace", "struct"]
        print([name for name in unwanted if name in sys.modules])
        print([name in dir(pike.discovery) for name in ("filesystem", "py", "static")])
        print(pike.discovery.filesystem.is_package.__module__, pike.discovery.py.__name__)
        """,
        "-S",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == [
        "[]",
        "[True, True, True]",
        "pike.discovery.filesystem pike.discovery.py",
    ]
