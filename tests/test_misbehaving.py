"""When a plugin misbehaves (docs/misbehaving.md): plugins turned off (``disabled=``,
``only=``, ``safe_mode=`` and ``PIKE_DISABLE``, ``PIKE_ONLY``, ``PIKE_SAFE_MODE``), the
quarantine of a plugin module that a process died while importing (``quarantine=True``),
requirements read from a plugin's source before it runs (``__requires__``, ``host=``,
``requires=``), the host's block list (``blocked=``), and the command line's flags for
each (docs/cli.md).

Crashes (``os._exit``, a segfault, SIGKILL) happen in a host run in a subprocess with a
cache folder of the test's own; what a later start does is looked at in this process,
with ``PIKE_CACHE_DIR`` pointed at that folder. A crashing plugin crashes only when
``PIKE_TEST_CRASH`` is set, which it never is in this process.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import select
import signal
import subprocess
import sys
import textwrap
import types
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pike.discovery import static
from pike.errors import (
    PikeError,
    PikeTypeError,
    PikeValueError,
    PikeWarning,
    PluginBlockedError,
    PluginDisabledError,
    PluginImportError,
    PluginIncompatibleError,
    PluginQuarantinedError,
)
from pike.manager import PikeManager
from tests.conftest import IS_ROOT, NOBODY, REPO, MakeTree, run_python
from tests.test_cli import run_cli, run_streams

CRASH = "PIKE_TEST_CRASH"


def class_names(classes: Iterable[type]) -> list[str]:
    return sorted(cls.__name__ for cls in classes)


def module_names(mgr: PikeManager) -> list[str]:
    return sorted(module.__name__ for module in mgr.get_modules())


def sentinel(ran: Path, body: str = "") -> str:
    """A plugin's source that leaves the file ``ran`` behind when it runs."""
    return f"open({str(ran)!r}, 'w').close()\n{body}"


def host_env(cache: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a host in a subprocess: this checkout's pike, ``cache`` as
    pike's cache folder."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["PIKE_CACHE_DIR"] = str(cache)
    env.pop(CRASH, None)
    env.update(extra or {})
    return env


def run_host(
    code: str, *args: str, cache: Path, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=host_env(cache, extra),
        cwd=cache.parent,
        check=False,
    )


# A host that loads the plugins of its arguments with quarantine=True and says what it
# found as JSON (if it lives to say it).
HOST = """
    import json, sys
    from pike.manager import PikeManager
    with PikeManager(sys.argv[1:], quarantine=True, on_error="collect") as mgr:
        loaded = sorted(m.__name__ for m in mgr.get_modules())
        print(json.dumps({
            "loaded": loaded,
            "errors": [[type(e).__name__, e.module_name] for e in mgr.errors],
            "quarantined": mgr.quarantined,
        }), flush=True)
"""


def reported(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])  # type: ignore[no-any-return]


# How a plugin takes its process down, and the exit status the host then has.
CRASHES = {
    "os._exit": ("os._exit(1)", 1),
    "segfault": (  # and no core file left behind
        "import ctypes, resource; resource.setrlimit(resource.RLIMIT_CORE, (0, 0)); "
        "ctypes.string_at(0)",
        -signal.SIGSEGV,
    ),
    "SIGKILL": ("os.kill(os.getpid(), signal.SIGKILL)", -signal.SIGKILL),
}


@contextlib.contextmanager
def locked_by_another_process(path: Path) -> Iterator[None]:
    """``path`` locked as pike locks a note or the list (a POSIX lock, ``os.lockf``) by
    another process, which lives until the block ends."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, sys; fd = os.open(sys.argv[1], os.O_RDWR); os.lockf(fd, os.F_LOCK, 0); "
            "print('locked', flush=True); sys.stdin.read()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline() == "locked\n"
        yield
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
        holder.stdout.close()


def crasher(how: str = "os._exit", cls: str = "Crasher") -> str:
    """A plugin that says its pid and takes its process down while it is imported (only
    where PIKE_TEST_CRASH is set)."""
    return (
        "import os, signal, sys\n"
        f"if os.environ.get({CRASH!r}):\n"
        "    print('crashing', os.getpid(), flush=True)\n"
        f"    {CRASHES[how][0]}\n"
        f"class {cls}: pass\n"
    )


def died_at(result: subprocess.CompletedProcess[str]) -> int:
    """The pid a crashing plugin said before it took its host down."""
    line = [line for line in result.stdout.splitlines() if line.startswith("crashing ")][-1]
    return int(line.split()[1])


# -- turning plugins off -------------------------------------------------------------------


def test_a_disabled_plugin_is_never_imported(make_tree: MakeTree, tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    root = make_tree(
        {"good.py": "class Good: pass\n", "legacy_bad.py": sentinel(ran, "class Bad: pass\n")}
    )
    with PikeManager([root], disabled="legacy_*") as mgr:  # on_error="raise"
        assert class_names(mgr.get_classes()) == ["Good"]
        assert mgr.errors == []
        [skipped] = mgr.skipped
        assert skipped.path == str(root / "legacy_bad.py")
        assert "'legacy_*'" in skipped.reason and "disabled=" in skipped.reason
        assert list(mgr.get_module_names()) == ["good"]
        assert "legacy_bad" not in sys.modules
    assert not ran.exists()
    with PikeManager([root]) as mgr:  # the control: without the switch it runs
        assert class_names(mgr.get_classes()) == ["Bad", "Good"]
    assert ran.exists()


def test_importing_a_turned_off_module_is_a_plugin_disabled_error(
    make_tree: MakeTree, tmp_path: Path
) -> None:
    ran = tmp_path / "ran"
    root = make_tree(
        {
            "legacy.py": sentinel(ran, "class Legacy: pass\n"),
            "user.py": (
                "try:\n"
                "    import legacy\n"
                "except ImportError as exc:\n"
                "    CAUGHT = exc\n"
                "class User: pass\n"
            ),
        }
    )
    with PikeManager([root], on_error="collect", disabled="legacy") as mgr:
        assert class_names(mgr.get_classes()) == ["User"]
        assert mgr.errors == []
        caught = mgr.load_plugin("user").CAUGHT
        assert isinstance(caught, PluginDisabledError) and isinstance(caught, ImportError)
        assert caught.module_name == "legacy"
        assert caught.path == str(root / "legacy.py")
        assert "'legacy'" in caught.switch and "disabled=" in caught.switch
        with pytest.raises(PluginDisabledError, match="is turned off"):
            mgr.load_plugin("legacy")
        with pytest.raises(PluginDisabledError):
            importlib.import_module("legacy")  # the host's own import statement
        assert "legacy" not in sys.modules
    assert not ran.exists()


PATTERN_TREE = {
    "alpha.py": "",
    "alpine.py": "",
    "beta.py": "",
    "Gamma.py": "",
    "pkg/__init__.py": "",
    "pkg/one.py": "",
    "pkg/two.py": "",
    "pkg/inner/__init__.py": "",
    "pkg/inner/deep.py": "",
}
EVERY_MODULE = sorted(
    p.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for p in PATTERN_TREE
)


def all_but(*kept: str) -> list[str]:
    """Every module of PATTERN_TREE but ``kept``: what is turned off."""
    return [m for m in EVERY_MODULE if m not in kept]


@pytest.mark.parametrize(
    ("switches", "off"),
    [
        ({"disabled": "al*"}, ["alpha", "alpine"]),
        ({"disabled": "al?ha"}, ["alpha"]),
        ({"disabled": "[ab]*"}, ["alpha", "alpine", "beta"]),
        ({"disabled": "gamma"}, []),  # case-sensitive
        ({"disabled": "Gamma"}, ["Gamma"]),
        ({"disabled": "GAMMA*"}, []),
        ({"disabled": "pkg"}, ["pkg", "pkg.inner", "pkg.inner.deep", "pkg.one", "pkg.two"]),
        ({"disabled": "pkg.inner"}, ["pkg.inner", "pkg.inner.deep"]),
        ({"disabled": "*.deep"}, ["pkg.inner.deep"]),
        ({"disabled": ["beta", "pkg.one"]}, ["beta", "pkg.one"]),
        ({"disabled": ("beta",)}, ["beta"]),
        ({"disabled": lambda: iter(["beta"])}, ["beta"]),  # any iterable, made afresh
        ({"disabled": "one"}, []),  # the full dotted name: 'one' is not 'pkg.one'
        ({"disabled": []}, []),
        ({"only": "pkg.one"}, all_but("pkg", "pkg.one")),
        ({"only": "pkg"}, ["Gamma", "alpha", "alpine", "beta"]),
        ({"only": "pkg.*.deep"}, all_but("pkg", "pkg.inner", "pkg.inner.deep")),
        ({"only": "*.*.deep"}, all_but("pkg", "pkg.inner", "pkg.inner.deep")),
        ({"only": ["al*", "beta"], "disabled": "alpine"}, all_but("alpha", "beta")),
        ({"only": "pkg", "disabled": "pkg.inner"}, all_but("pkg", "pkg.one", "pkg.two")),
        ({"only": "nothing"}, EVERY_MODULE),
        ({"safe_mode": True}, EVERY_MODULE),
        ({"safe_mode": False}, []),
    ],
)  # fmt: skip
def test_which_modules_the_patterns_turn_off(
    make_tree: MakeTree, switches: dict[str, Any], off: list[str]
) -> None:
    root = make_tree(PATTERN_TREE)

    def given() -> dict[str, Any]:
        return {k: v() if callable(v) else v for k, v in switches.items()}

    with PikeManager([root], **given()) as mgr:
        assert module_names(mgr) == [m for m in EVERY_MODULE if m not in off]
        assert mgr.errors == []
        assert all(entry.reason.startswith("turned off: ") for entry in mgr.skipped)
    listing = static.list_classes([root], **given())  # the static listing agrees
    assert listing.errors == []
    assert [s.path for s in listing.skipped] == [s.path for s in mgr.skipped]


@pytest.mark.parametrize(
    ("pattern", "module"),
    [("*one", "pkg.one"), ("pkg?one", "pkg.one"), ("p*e", "pkg.one"), ("*.deep", "pkg.inner.deep")],
)
def test_only_keeps_a_submodule_that_a_wildcard_matches_across_the_dot(
    make_tree: MakeTree, pattern: str, module: str
) -> None:
    from fnmatch import fnmatchcase

    root = make_tree(PATTERN_TREE)
    assert fnmatchcase(module, pattern)
    with PikeManager([root], disabled=pattern) as mgr:  # disabled= takes it out
        assert module not in module_names(mgr)
    with PikeManager([root], only=pattern) as mgr:  # so only= should keep it
        assert module in module_names(mgr)


def test_a_package_turned_off_is_skipped_once_with_its_reason(make_tree: MakeTree) -> None:
    root = make_tree(PATTERN_TREE)
    with PikeManager([root], disabled="pkg") as mgr:
        assert [(s.path, s.reason) for s in mgr.skipped] == [
            (str(root / "pkg"), "turned off: matches 'pkg' (disabled=)")
        ]
    with PikeManager([root], only=["alpha"]) as mgr:
        reasons = {Path(s.path).name: s.reason for s in mgr.skipped}
        assert set(reasons) == {"alpine.py", "beta.py", "Gamma.py", "pkg"}
        assert reasons["beta.py"] == "turned off: matches none of ['alpha'] (only=)"
    with PikeManager([root], safe_mode=True) as mgr:
        assert {s.reason for s in mgr.skipped} == {"turned off: safe mode (safe_mode=True)"}


def test_the_environment_adds_to_the_arguments(
    make_tree: MakeTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(PATTERN_TREE)
    monkeypatch.setenv("PIKE_DISABLE", " beta , ,pkg.inner")
    with PikeManager([root], disabled="alpine") as mgr:
        assert module_names(mgr) == ["Gamma", "alpha", "pkg", "pkg.one", "pkg.two"]
        reasons = {Path(s.path).name: s.reason for s in mgr.skipped}
        assert reasons == {
            "alpine.py": "turned off: matches 'alpine' (disabled=)",
            "beta.py": "turned off: matches 'beta' (PIKE_DISABLE)",
            "inner": "turned off: matches 'pkg.inner' (PIKE_DISABLE)",
        }
    monkeypatch.delenv("PIKE_DISABLE")
    monkeypatch.setenv("PIKE_ONLY", "alpha,pkg*")
    with PikeManager([root], only=["alpha", "beta", "pkg.one"]) as mgr:  # both must match
        assert module_names(mgr) == ["alpha", "pkg", "pkg.one"]
        reasons = {Path(s.path).name: s.reason for s in mgr.skipped}
        assert "(PIKE_ONLY)" in reasons["beta.py"] and "(only=)" in reasons["Gamma.py"]
    with PikeManager([root]) as mgr:
        assert module_names(mgr) == ["alpha", *[m for m in EVERY_MODULE if m.startswith("pkg")]]
    assert [c.name for c in static.list_classes([root]).classes] == []
    assert len(static.list_classes([root]).skipped) == 3  # the static listing reads it too


def test_environ_says_where_the_variables_are_read(
    make_tree: MakeTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(PATTERN_TREE)
    monkeypatch.setenv("PIKE_SAFE_MODE", "1")
    monkeypatch.setenv("PIKE_DISABLE", "beta")
    with PikeManager([root], environ={}) as mgr:  # ignores the process's environment
        assert module_names(mgr) == EVERY_MODULE
        assert mgr.skipped == []
    assert static.list_classes([root], environ={}).skipped == []
    mine = {"PIKE_DISABLE": "alpha,pkg", "PIKE_ONLY": "al*,pkg*"}
    with PikeManager([root], environ=mine) as mgr:
        assert module_names(mgr) == ["alpine"]
        reasons = {Path(s.path).name: s.reason for s in mgr.skipped}
        assert reasons["pkg"] == "turned off: matches 'pkg' (PIKE_DISABLE)"
        assert "(PIKE_ONLY)" in reasons["beta.py"]
    assert len(static.list_classes([root], environ=mine).skipped) == 4
    with pytest.raises(PikeTypeError, match=r"^environ is an int"):
        PikeManager([root], environ=3)  # type: ignore[arg-type]
    with pytest.raises(PikeTypeError, match=r"^environ is a list"):
        static.list_classes([root], environ=["PIKE_DISABLE=a"])  # type: ignore[arg-type]


def test_a_turned_off_module_is_in_no_listing_of_the_manager(make_tree: MakeTree) -> None:
    root = make_tree({**PATTERN_TREE, "other/__init__.py": ""})
    with PikeManager([root], disabled=["beta", "other", "pkg.inner"]) as mgr:
        assert list(mgr.get_module_names()) == ["Gamma", "alpha", "alpine"]
        assert list(mgr.get_package_names()) == ["pkg"]
        assert "beta" not in [entry.name for entry in mgr.entries]
        assert "pkg.inner.deep" not in [entry.name for entry in mgr.entries]


@pytest.mark.parametrize(("when_made", "later"), [("b_plugin", None), (None, "b_plugin")])
def test_find_inherited_classes_reads_the_environment_when_the_manager_is_made(
    make_tree: MakeTree, monkeypatch: pytest.MonkeyPatch, when_made: str | None, later: str | None
) -> None:
    root = make_tree(
        {
            "bases.py": "class Base: pass\n",
            "a_plugin.py": "from bases import Base\nclass A(Base): pass\n",
            "b_plugin.py": "from bases import Base\nclass B(Base): pass\n",
        }
    )

    def disable(value: str | None) -> None:
        if value is None:
            monkeypatch.delenv("PIKE_DISABLE", raising=False)
        else:
            monkeypatch.setenv("PIKE_DISABLE", value)

    disable(when_made)
    with PikeManager([root], on_error="collect") as mgr:
        base = mgr.load_plugin("bases").Base
        disable(later)
        found = class_names(mgr.find_inherited_classes(base))
        errors = mgr.errors
        every = class_names(mgr.get_all_inherited_classes(base))
    assert errors == []
    assert found == every == (["A"] if when_made else ["A", "B"])


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", " Yes "])
def test_pike_safe_mode_turns_every_plugin_off(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    ran = tmp_path / "ran"
    root = make_tree({"a.py": sentinel(ran, "class A: pass\n"), "pkg/__init__.py": sentinel(ran)})
    monkeypatch.setenv("PIKE_SAFE_MODE", value)
    with PikeManager([root], on_error="raise") as mgr:
        assert mgr.get_classes() == []
        assert mgr.errors == []
        assert sorted(Path(s.path).name for s in mgr.skipped) == ["a.py", "pkg"]
        assert all(f"PIKE_SAFE_MODE={value.strip()}" in s.reason for s in mgr.skipped)
    listing = static.list_classes([root])
    assert listing.classes == [] and len(listing.skipped) == 2
    assert not ran.exists()


@pytest.mark.parametrize("value", ["0", "false", "no", "", "safe"])
def test_other_values_of_pike_safe_mode_leave_plugins_on(
    make_tree: MakeTree, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    root = make_tree({"a.py": "class A: pass\n"})
    monkeypatch.setenv("PIKE_SAFE_MODE", value)
    with PikeManager([root]) as mgr:
        assert class_names(mgr.get_classes()) == ["A"]
        assert mgr.skipped == []


def test_a_module_added_later_that_is_turned_off_is_skipped_by_refresh(
    make_tree: MakeTree, tmp_path: Path
) -> None:
    ran = tmp_path / "ran"
    root = make_tree({"a.py": "class A: pass\n"})
    with PikeManager([root], disabled="new_*") as mgr:
        assert class_names(mgr.get_classes()) == ["A"]
        (root / "new_one.py").write_text(sentinel(ran, "class New: pass\n"))
        (root / "other.py").write_text("class Other: pass\n")
        mgr.refresh()
        assert class_names(mgr.get_classes()) == ["A", "Other"]
        assert [Path(s.path).name for s in mgr.skipped] == ["new_one.py"]
    assert not ran.exists()


def test_a_turned_off_file_that_cannot_be_read_is_no_error(
    request: pytest.FixtureRequest, make_tree: MakeTree
) -> None:
    # Root reads any file: as root the check runs as user nobody, on a tree of theirs.
    files = {
        "good.py": "class Good: pass\n",
        "secret.py": "class Secret: pass\n",
        "pkg/__init__.py": "",
        "pkg/hidden.py": "class Hidden: pass\n",
    }
    run: Callable[..., subprocess.CompletedProcess[str]]
    if IS_ROOT:
        run = request.getfixturevalue("as_nobody")
        root = request.getfixturevalue("world_tree")(files, owner=NOBODY)
    else:
        run, root = run_python, make_tree(files)
    for locked in ("secret.py", "pkg/hidden.py"):
        (root / locked).chmod(0)
    code = f"""
        import json, os
        os.environ["PIKE_CACHE_DIR"] = "off"
        from pike.manager import PikeManager
        from pike.discovery import static
        root = {str(root)!r}
        found = {{}}
        for label, switches in [
            ("disabled", {{"disabled": ["secret", "pkg.hidden"]}}),
            ("only", {{"only": ["good", "pkg"], "disabled": "pkg.hidden"}}),
            ("safe", {{"safe_mode": True}}),
            ("on", {{}}),
        ]:
            with PikeManager([root], on_error="collect", **switches) as mgr:
                classes = sorted(c.__name__ for c in mgr.get_classes())
                errors = sorted(e.module_name for e in mgr.errors)
                skipped = len(mgr.skipped)
            listing = static.list_classes([root], **switches)
            found[label] = [classes, errors, skipped, [c.name for c in listing.classes],
                            len(listing.errors)]
        print(json.dumps(found))
    """
    ran = run(code)
    (root / "secret.py").chmod(0o644)
    (root / "pkg/hidden.py").chmod(0o644)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == {
        "disabled": [["Good"], [], 2, ["Good"], 0],
        "only": [["Good"], [], 2, ["Good"], 0],
        "safe": [[], [], 3, [], 0],
        # the control: unreadable files that are on are errors
        "on": [["Good"], ["pkg.hidden", "secret"], 0, ["Good"], 2],
    }


# -- the arguments ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"disabled": 3}, PikeTypeError, r"^disabled is an int"),
        ({"disabled": b"legacy"}, PikeTypeError, r"^disabled is a bytes"),
        ({"disabled": {"a": 1}}, PikeTypeError, r"^disabled is a dict"),
        ({"disabled": ["a", 3]}, PikeTypeError, r"^disabled holds an int"),
        ({"only": [None]}, PikeTypeError, r"^only holds None"),
        ({"disabled": ""}, PikeValueError, r"^disabled holds ''"),
        ({"only": "  "}, PikeValueError, r"^only holds '  '"),
        ({"disabled": "a,b"}, PikeValueError, r"without commas"),
        ({"disabled": "a\0b"}, PikeValueError, r"without commas or NUL"),
        ({"safe_mode": 1}, PikeTypeError, r"^safe_mode is an int; pass True or False"),
        ({"safe_mode": "yes"}, PikeTypeError, r"^safe_mode is a str"),
        ({"quarantine": 1}, PikeTypeError, r"^quarantine is an int; pass True or False"),
        ({"quarantine": None}, PikeTypeError, r"^quarantine is None"),
        ({"requires": None}, PikeTypeError, r"^requires is None"),
        ({"requires": "strict"}, PikeValueError, r"'enforce'.*'warn'.*'ignore'"),
        ({"requires": "ENFORCE"}, PikeValueError, r"not a mode"),
        ({"host": "myapp"}, PikeTypeError, r"^host is a str; pass \(name, version\)"),
        ({"host": ["myapp", "2.3.1"]}, PikeTypeError, r"^host is a list"),
        ({"host": ("myapp",)}, PikeTypeError, r"^host is a tuple"),
        ({"host": ("myapp", 2)}, PikeTypeError, r"^host holds a str and an int"),
        ({"host": ("", "2.3.1")}, PikeValueError, r"empty name"),
        ({"host": ("myapp", "banana")}, PikeValueError, r"'banana' is not a PEP 440 version"),
        ({"blocked": [("a", "1.0")]}, PikeTypeError, r"^blocked is a list"),
        ({"blocked": {"a": "1.0"}}, PikeTypeError, r"^blocked\['a'\] is '1.0'"),
        ({"blocked": {"a": ("1.0",)}}, PikeTypeError, r"^blocked\['a'\]"),
        ({"blocked": {"a": ("1.0", 3)}}, PikeTypeError, r"^blocked\['a'\]"),
        ({"blocked": {3: ("1.0", "r")}}, PikeTypeError, r"^blocked holds the key 3"),
        ({"blocked": {"a": ("banana", "r")}}, PikeValueError, r"'banana'.*not a PEP 440"),
    ],
)
def test_arguments_are_checked_when_the_manager_is_made(
    make_tree: MakeTree, arguments: dict[str, Any], error: type[Exception], message: str
) -> None:
    root = make_tree({"a.py": "class A: pass\n"})
    with pytest.raises(error, match=message) as info:
        PikeManager([root], **arguments)
    assert isinstance(info.value, TypeError if error is PikeTypeError else ValueError)


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"disabled": 3}, PikeTypeError),
        ({"only": "a,b"}, PikeValueError),
        ({"safe_mode": "1"}, PikeTypeError),
    ],
)
def test_the_static_listing_checks_its_switches(
    make_tree: MakeTree, arguments: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        static.list_classes([make_tree({"a.py": ""})], **arguments)


def test_blocked_takes_any_mapping(make_tree: MakeTree, tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    root = make_tree({"old.py": sentinel(ran, "__version__ = '1.0'\n")})
    blocked = types.MappingProxyType({"old": ("1.1.7", "CVE-0000-0001")})
    with PikeManager([root], on_error="collect", blocked=blocked) as mgr:
        mgr.get_modules()
        assert [type(e) for e in mgr.errors] == [PluginBlockedError]
    assert not ran.exists()


def test_an_empty_name_on_the_block_list_is_a_value_error(make_tree: MakeTree) -> None:
    with pytest.raises(PikeValueError):
        PikeManager([make_tree({})], blocked={"": ("1.0", "reason")})


def test_release_checks_its_argument(make_tree: MakeTree) -> None:
    root = make_tree({"a.py": ""})
    with PikeManager([root]) as mgr:
        with pytest.raises(PikeTypeError, match=r"^name is an int"):
            mgr.release(3)  # type: ignore[arg-type]
        with pytest.raises(PikeValueError, match="without quarantine=True"):
            mgr.release("a")
        assert mgr.quarantined == []


# -- quarantine --------------------------------------------------------------------------------


@pytest.mark.parametrize("how", sorted(CRASHES))
def test_one_plugin_in_a_hundred_that_kills_its_process_is_quarantined(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    files = {f"plugin_{i:03}.py": f"class P{i:03}: pass\n" for i in range(100)}
    files["plugin_042.py"] = crasher(how, cls="P042")
    root = make_tree(files)
    cache = tmp_path / "cache"
    died = run_host(HOST, str(root), cache=cache, extra={CRASH: "1"})
    assert died.returncode == CRASHES[how][1], died.stderr
    pid = died_at(died)

    monkeypatch.setenv("PIKE_CACHE_DIR", str(cache))
    with PikeManager([root], quarantine=True, on_error="collect") as mgr:
        assert mgr.quarantined == ["plugin_042"]
        classes = class_names(mgr.get_classes())
        assert classes == [f"P{i:03}" for i in range(100) if i != 42]
        [error] = mgr.errors
        assert isinstance(error, PluginQuarantinedError) and isinstance(error, ImportError)
        assert error.module_name == "plugin_042"
        assert error.path == str(root / "plugin_042.py")
        assert error.pid == pid
        assert error.since > 0
        assert "mgr.release('plugin_042')" in str(error)
        assert "plugin_042" not in sys.modules
    with PikeManager([root], quarantine=True, on_error="collect") as mgr:  # and it stays
        assert len(mgr.get_classes()) == 99
        assert [e.module_name for e in mgr.errors] == ["plugin_042"]


def test_a_quarantined_module_is_an_error_under_raise(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree({"a.py": "class A: pass\n", "crash.py": crasher()})
    cache = tmp_path / "cache"
    assert run_host(HOST, str(root), cache=cache, extra={CRASH: "1"}).returncode == 1
    monkeypatch.setenv("PIKE_CACHE_DIR", str(cache))
    with (
        PikeManager([root], quarantine=True) as mgr,
        pytest.raises(PluginQuarantinedError, match=r"'crash'.*is quarantined"),
    ):
        mgr.get_classes()
    with PikeManager([root], on_error="collect") as mgr:  # without quarantine=True, loads
        assert class_names(mgr.get_classes()) == ["A", "Crasher"]
        assert mgr.quarantined == []
    with PikeManager([root], quarantine=True, on_error="collect") as mgr:  # still held
        assert mgr.quarantined == ["crash"]


def test_an_edited_file_is_tried_again(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree({"a.py": "class A: pass\n", "crash.py": crasher()})
    cache = tmp_path / "cache"
    first = run_host(HOST, str(root), cache=cache, extra={CRASH: "1"})
    assert first.returncode == 1
    monkeypatch.setenv("PIKE_CACHE_DIR", str(cache))
    with PikeManager([root], quarantine=True, on_error="collect") as mgr:
        assert mgr.quarantined == ["crash"]

    # Edited, and still crashing: tried again (it crashes again), held again.
    (root / "crash.py").write_text("# version 2\n" + crasher())
    again = run_host(HOST, str(root), cache=cache, extra={CRASH: "1"})
    assert again.returncode == 1
    assert died_at(again) != died_at(first)
    with PikeManager([root], quarantine=True, on_error="collect") as mgr:
        assert mgr.quarantined == ["crash"]
        mgr.get_modules()
        assert [(type(e), e.module_name) for e in mgr.errors] == [(PluginQuarantinedError, "crash")]

    # Fixed: it loads, and nothing is held any more.
    (root / "crash.py").write_text("class Fixed: pass\n")
    with PikeManager([root], quarantine=True, on_error="collect") as mgr:
        assert class_names(mgr.get_classes()) == ["A", "Fixed"]
        assert mgr.errors == []
        assert mgr.quarantined == []
    assert reported(run_host(HOST, str(root), cache=cache))["quarantined"] == []


def test_release_lifts_the_quarantine(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree({"a.py": "class A: pass\n", "crash.py": crasher()})
    cache = tmp_path / "cache"
    assert run_host(HOST, str(root), cache=cache, extra={CRASH: "1"}).returncode == 1
    monkeypatch.setenv("PIKE_CACHE_DIR", str(cache))
    with PikeManager([root], quarantine=True, on_error="collect") as mgr:
        assert class_names(mgr.get_classes()) == ["A"]
        with pytest.raises(PikeValueError, match=r"'a' is not in quarantine.*\['crash'\]"):
            mgr.release("a")
        assert mgr.release("crash") == [str(root / "crash.py")]
        assert mgr.quarantined == []
        mgr.refresh()  # the next load tries it
        assert class_names(mgr.get_classes()) == ["A", "Crasher"]
        assert mgr.errors == []
        with pytest.raises(PikeValueError, match="none is held here"):
            mgr.release("crash")
    with PikeManager([root], quarantine=True, on_error="collect") as mgr:
        assert mgr.quarantined == []
        assert class_names(mgr.get_classes()) == ["A", "Crasher"]


def test_the_innermost_import_is_blamed(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(
        {
            "a_outer.py": "import z_inner\nclass Outer: pass\n",
            "m_other.py": "class Other: pass\n",
            "z_inner.py": crasher(),
        }
    )
    cache = tmp_path / "cache"
    assert run_host(HOST, str(root), cache=cache, extra={CRASH: "1"}).returncode == 1
    monkeypatch.setenv("PIKE_CACHE_DIR", str(cache))
    with PikeManager([root], quarantine=True, on_error="collect") as mgr:
        assert mgr.quarantined == ["z_inner"]
        assert class_names(mgr.get_classes()) == ["Other"]
        outer, inner = mgr.errors
        assert (outer.module_name, inner.module_name) == ("a_outer", "z_inner")
        assert isinstance(inner, PluginQuarantinedError)
        assert isinstance(outer.__cause__, PluginQuarantinedError)  # its import statement's


@pytest.mark.parametrize("who", ["the host", "a plugin's function"])
def test_a_host_that_dies_after_its_plugins_loaded_blames_none(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, who: str
) -> None:
    root = make_tree(
        {
            "a.py": "class A: pass\n",
            "late.py": "import os\ndef die():\n    os._exit(3)\nclass Late: pass\n",
        }
    )
    cache = tmp_path / "cache"
    dies = "os._exit(3)" if who == "the host" else "mgr.load_plugin('late').die()"
    code = f"""
        import os, sys
        from pike.manager import PikeManager
        with PikeManager(sys.argv[1:], quarantine=True) as mgr:
            print(sorted(c.__name__ for c in mgr.get_classes()), flush=True)
            {dies}
    """
    died = run_host(code, str(root), cache=cache)
    assert died.returncode == 3, died.stderr
    assert died.stdout.strip() == "['A', 'Late']"
    assert os.listdir(cache / "quarantine")  # it left its note behind
    monkeypatch.setenv("PIKE_CACHE_DIR", str(cache))
    with PikeManager([root], quarantine=True, on_error="collect") as mgr:
        assert mgr.quarantined == []
        assert class_names(mgr.get_classes()) == ["A", "Late"]
        assert mgr.errors == []


def test_quarantined_does_not_list_an_edited_module(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree({"a.py": "class A: pass\n", "crash.py": crasher()})
    cache = tmp_path / "cache"
    assert run_host(HOST, str(root), cache=cache, extra={CRASH: "1"}).returncode == 1
    (root / "crash.py").write_text("class Fixed: pass\n")
    monkeypatch.setenv("PIKE_CACHE_DIR", str(cache))
    with PikeManager([root], quarantine=True, on_error="collect") as mgr:
        before = mgr.quarantined
        assert class_names(mgr.get_classes()) == ["A", "Fixed"]  # it is not held
        assert mgr.quarantined == []
        assert before == []


def test_a_plugin_interrupted_with_ctrl_c_is_not_blamed(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(
        {
            "a.py": "class A: pass\n",
            "interrupted.py": (
                "import os, signal\n"
                f"if os.environ.get({CRASH!r}):\n"
                "    os.kill(os.getpid(), signal.SIGINT)\n"
                "class Interrupted: pass\n"
            ),
        }
    )
    cache = tmp_path / "cache"
    stopped = run_host(HOST, str(root), cache=cache, extra={CRASH: "1"})
    assert stopped.returncode != 0
    assert "KeyboardInterrupt" in stopped.stderr
    monkeypatch.setenv("PIKE_CACHE_DIR", str(cache))
    with PikeManager([root], quarantine=True, on_error="collect") as mgr:
        assert mgr.quarantined == []
        assert class_names(mgr.get_classes()) == ["A", "Interrupted"]


def test_two_processes_at_once_never_quarantine_each_others_plugins(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A imports "slow", which waits (on A's stdin) until B has finished; meanwhile C dies
    # importing "crash" and then B starts. Only "crash" is ever held.
    root = make_tree(
        {
            "crash.py": crasher(),
            "other.py": "class Other: pass\n",
            "slow.py": textwrap.dedent(
                """
                import os, select, sys
                if os.environ.get("PIKE_TEST_ROLE") == "slow":
                    print("inside slow", flush=True)
                    ready, _, _ = select.select([sys.stdin], [], [], 60)
                    assert ready, "the test never said go"
                    sys.stdin.readline()
                class Slow: pass
                """
            ),
        }
    )
    cache = tmp_path / "cache"
    a = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOST), str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=host_env(cache, {"PIKE_TEST_ROLE": "slow"}),
        cwd=tmp_path,
    )
    assert a.stdin is not None and a.stdout is not None
    try:
        ready, _, _ = select.select([a.stdout], [], [], 60)
        assert ready, "A never reached slow"
        assert a.stdout.readline() == "inside slow\n"

        c = run_host(HOST, str(root), cache=cache, extra={CRASH: "1"})
        assert c.returncode == 1, c.stderr
        b = reported(run_host(HOST, str(root), cache=cache))  # while A is inside slow
        assert b == {
            "loaded": ["other", "slow"],
            "errors": [["PluginQuarantinedError", "crash"]],
            "quarantined": ["crash"],
        }

        a.stdin.write("go\n")
        a.stdin.flush()
        out, err = a.communicate(timeout=60)
    finally:
        if a.poll() is None:
            a.kill()
            a.communicate(timeout=60)
    assert a.returncode == 0, err
    assert json.loads(out.splitlines()[-1]) == {
        "loaded": ["crash", "other", "slow"],  # made before C died; crash is harmless here
        "errors": [],
        "quarantined": [],
    }
    monkeypatch.setenv("PIKE_CACHE_DIR", str(cache))
    with PikeManager([root], quarantine=True, on_error="collect") as mgr:
        assert mgr.quarantined == ["crash"]
        assert class_names(mgr.get_classes()) == ["Other", "Slow"]


def test_processes_loading_together_leave_nothing_held(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree({f"p{i}.py": f"class P{i}: pass\n" for i in range(20)})
    cache = tmp_path / "cache"
    env = host_env(cache)
    hosts = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(HOST), str(root)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        for _ in range(4)
    ]
    try:
        results = [host.communicate(timeout=60) for host in hosts]
    finally:
        for host in hosts:
            if host.poll() is None:
                host.kill()
                host.communicate(timeout=60)
    for host, (out, err) in zip(hosts, results, strict=True):
        assert host.returncode == 0, err
        assert json.loads(out)["errors"] == []
    monkeypatch.setenv("PIKE_CACHE_DIR", str(cache))
    with PikeManager([root], quarantine=True, on_error="collect") as mgr:
        assert mgr.quarantined == []
        assert len(mgr.get_classes()) == 20


def forker_tree(make_tree: MakeTree, crash: str) -> Path:
    """A folder of ``a`` and ``forker``, which runs ``crash`` (it forks) when the test's
    crash variable is set."""
    body = textwrap.indent(textwrap.dedent(crash).strip(), "    ")
    forker = f"import os\nif os.environ.get({CRASH!r}):\n{body}\nclass Forker: pass\n"
    return make_tree({"a.py": "class A: pass\n", "forker.py": forker})


def test_a_host_that_died_importing_is_noticed_while_a_child_it_forked_lives(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = forker_tree(
        make_tree,
        """
        import select
        if os.fork() == 0:  # a child that lives on until the test says
            select.select([0], [], [], 60)
            os._exit(0)
        os._exit(1)
        """,
    )
    cache = tmp_path / "cache"
    host = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOST), str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=host_env(cache, {CRASH: "1"}),
        cwd=tmp_path,
    )
    assert host.stdin is not None
    try:
        assert host.wait(timeout=60) == 1
        monkeypatch.setenv("PIKE_CACHE_DIR", str(cache))
        with PikeManager([root], quarantine=True, on_error="collect") as mgr:
            assert mgr.quarantined == ["forker"]
    finally:
        host.stdin.close()  # the child's stdin: it ends
        if host.poll() is None:
            host.kill()
            host.wait(timeout=60)


def test_a_child_forked_while_importing_leaves_its_parents_note_alone(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The child ends the import its parent began, then loads the rest with a note of
    # its own; the parent waits for it, then dies still inside that import.
    root = forker_tree(
        make_tree,
        """
        child = os.fork()
        if child:
            os.waitpid(child, 0)
            os._exit(1)
        """,
    )
    cache = tmp_path / "cache"
    result = run_host(HOST, str(root), cache=cache, extra={CRASH: "1"})
    assert result.returncode == 1, result.stderr
    child = json.loads(result.stdout.splitlines()[-1])
    assert child == {"loaded": ["a", "forker"], "errors": [], "quarantined": []}
    monkeypatch.setenv("PIKE_CACHE_DIR", str(cache))
    with PikeManager([root], quarantine=True, on_error="collect") as mgr:
        assert mgr.quarantined == ["forker"]
        assert class_names(mgr.get_classes()) == ["A"]


def test_the_note_follows_the_cache_folder(make_tree: MakeTree, tmp_path: Path) -> None:
    root = make_tree({"a.py": "class A: pass\n", "crash.py": crasher()})
    first, second = tmp_path / "first", tmp_path / "second"
    code = f"""
        import os, sys
        from pike.manager import PikeManager
        with PikeManager(sys.argv[1:], quarantine=True, disabled="crash") as mgr:
            mgr.get_classes()  # a note, in the first cache folder
        os.environ["PIKE_CACHE_DIR"] = {str(second)!r}
        with PikeManager(sys.argv[1:], quarantine=True) as mgr:
            mgr.get_classes()
    """
    assert run_host(code, str(root), cache=first, extra={CRASH: "1"}).returncode == 1
    assert reported(run_host(HOST, str(root), cache=second))["quarantined"] == ["crash"]


def test_quarantine_without_a_cache_folder_warns_and_loads(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree({"a.py": "class A: pass\n"})
    monkeypatch.setenv("PIKE_CACHE_DIR", "off")
    with pytest.warns(PikeWarning, match="quarantine is off.*PIKE_CACHE_DIR"):
        mgr = PikeManager([root], quarantine=True)
    with mgr:
        assert class_names(mgr.get_classes()) == ["A"]
        assert mgr.quarantined == []
        with pytest.raises(PikeValueError, match="quarantine is off"):
            mgr.release("a")
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)  # others could write there: not pike's
    monkeypatch.setenv("PIKE_CACHE_DIR", str(shared))
    with pytest.warns(PikeWarning, match="not private"):
        mgr = PikeManager([root], quarantine=True)
    with mgr:
        assert class_names(mgr.get_classes()) == ["A"]


# -- requirements ----------------------------------------------------------------------------

PY = f"{sys.version_info.major}.{sys.version_info.minor}"
HERE = ".".join(str(part) for part in sys.version_info[:3])

# (what __requires__ is, host=, the outcome, the requirement and what was found if unmet)
#   met: it loads, no warning; unmet: enforce keeps it out, warn warns and loads;
#   unchecked: a warning under enforce and warn, and it loads; ignore: nothing is checked.
APP = ("myapp", "2.0")
MISSING = "surely-not-installed-pike-test"
REQUIREMENTS = {
    "host unmet": ('{"host": ">=2.1,<3"}', APP, "unmet", ("myapp >=2.1,<3", "2.0")),
    "host met": ('{"host": ">=2.1,<3"}', ("myapp", "2.3.1"), "met", None),
    "host too new": ('{"host": ">=2.1,<3"}', ("myapp", "3.0"), "unmet", ("myapp >=2.1,<3", "3.0")),
    "host pre-release, named": ('{"host": ">=2.0rc1"}', ("myapp", "2.0rc1"), "met", None),
    "host pre-release, in range": ('{"host": ">=1.0,<3"}', ("myapp", "2.5rc1"), "met", None),
    "host pre-release, below": (
        '{"host": ">=2.0"}', ("myapp", "2.0rc1"), "unmet", ("myapp >=2.0", "2.0rc1")
    ),
    "host invalid specifier": ('{"host": ">=banana"}', APP, "unmet", ("myapp >=banana", "2.0")),
    "host not a string": ('{"host": 2}', APP, "unmet", None),
    "host without host=": ('{"host": ">=2.1"}', None, "unchecked", None),
    "python unmet": ('{"python": ">=99"}', None, "unmet", ("python >=99", HERE)),
    "python met": (f'{{"python": ">={PY}"}}', None, "met", None),
    "python pre-release": (f'{{"python": ">={PY}.0rc1"}}', None, "met", None),
    "python invalid": ('{"python": "3.11+"}', None, "unmet", ("python 3.11+", HERE)),
    "platform met": (f'{{"platforms": [{sys.platform!r}, "nowhere"]}}', None, "met", None),
    "platform prefix": (f'{{"platforms": [{sys.platform[:3]!r}]}}', None, "met", None),
    "platform unmet": (
        '{"platforms": ["nowhere"]}', None, "unmet", ("platforms ['nowhere']", sys.platform)
    ),
    "platforms not a list": ('{"platforms": "linux"}', None, "unmet", None),
    "platform empty": (
        '{"platforms": [""]}', None, "unmet", ("platforms ['']", sys.platform)
    ),
    "dependency met": ('{"dependencies": ["pytest>=1"]}', None, "met", None),
    "dependency too old": ('{"dependencies": ["pytest<1"]}', None, "unmet", None),
    "dependency missing": (
        f'{{"dependencies": ["{MISSING}>=1"]}}',
        None,
        "unmet",
        (f"dependency {MISSING}>=1", "not installed"),
    ),
    "dependency not wanted here": (
        f'{{"dependencies": ["{MISSING}; python_version < \'3\'"]}}', None, "met", None
    ),
    "dependency invalid": ('{"dependencies": ["pytest >= >= 1"]}', None, "unmet", None),
    "all met": (
        f'{{"host": ">=2", "python": ">=3", "platforms": [{sys.platform!r}], '
        '"dependencies": ["pytest"]}',
        ("myapp", "2.3.1"),
        "met",
        None,
    ),
    "not a dict": ('["python>=3"]', None, "unmet", None),
    "non-literal": ('dict(python=">=99")', None, "unchecked", None),
    "non-literal value": ('{"python": ">=" + "99"}', None, "unchecked", None),
    "unknown key": ('{"colour": "blue"}', None, "unchecked", None),
}  # fmt: skip


def requiring(ran: Path, requires: str) -> str:
    """A plugin whose __requires__ (on line 3) is ``requires``, leaving ``ran`` when it
    runs."""
    return f"import os\n\n__requires__ = {requires}\n{sentinel(ran)}class Plugin: pass\n"


@pytest.mark.parametrize("mode", ["enforce", "warn", "ignore"])
@pytest.mark.parametrize("case", sorted(REQUIREMENTS))
def test_requirements_under_each_mode(
    make_tree: MakeTree, tmp_path: Path, case: str, mode: str
) -> None:
    requires, host, outcome, unmet = REQUIREMENTS[case]
    ran = tmp_path / "ran"
    root = make_tree({"plugin.py": requiring(ran, requires), "other.py": "class Other: pass\n"})
    warns = mode != "ignore" and (outcome == "unchecked" or (outcome, mode) == ("unmet", "warn"))
    with (
        pytest.warns(PikeWarning) if warns else contextlib.nullcontext() as caught,
        PikeManager([root], on_error="collect", requires=mode, host=host) as mgr,
    ):
        classes = class_names(mgr.get_classes())
        errors = mgr.errors
    if outcome == "unmet" and mode == "enforce":
        assert classes == ["Other"]
        [error] = errors
        assert isinstance(error, PluginIncompatibleError) and isinstance(error, ImportError)
        assert error.module_name == "plugin"
        assert error.path == str(root / "plugin.py")
        assert error.lineno == 3
        assert f"{root / 'plugin.py'}, line 3" in str(error)
        assert "It was not imported (requires='enforce')" in str(error)
        if unmet is not None:
            assert (error.requirement, error.found) == unmet
        assert not ran.exists()
    else:
        assert classes == ["Other", "Plugin"]
        assert errors == []
        assert ran.exists()
    if warns:
        [warning] = caught  # type: ignore[misc]
        text = str(warning.message)
        assert text.startswith(f"plugin module 'plugin' ({root / 'plugin.py'}, line 3)")
        assert "imported" in text
        if unmet is not None:
            assert unmet[0] in text and "It is imported anyway (requires='warn';" in text
        assert warning.filename == __file__  # the caller's line, not pike's


def test_requirements_are_warned_about_by_default(make_tree: MakeTree, tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    root = make_tree({"plugin.py": requiring(ran, '{"python": ">=99"}')})
    with (
        pytest.warns(PikeWarning, match=r"requires python >=99, found"),
        PikeManager([root]) as mgr,
    ):
        assert class_names(mgr.get_classes()) == ["Plugin"]
    assert ran.exists()


def test_an_unmet_requirement_is_raised_under_raise(make_tree: MakeTree, tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    root = make_tree({"plugin.py": requiring(ran, '{"host": ">=2.1,<3"}')})
    with PikeManager([root], requires="enforce", host=("myapp", "1.9")) as mgr:
        with pytest.raises(
            PluginIncompatibleError, match=re.escape("requires myapp >=2.1,<3, found 1.9")
        ):
            mgr.get_classes()
        with pytest.raises(PluginIncompatibleError):
            mgr.load_plugin("plugin")
        with pytest.raises(PluginIncompatibleError):
            importlib.import_module("plugin")
    assert not ran.exists()


def test_an_edited_requirement_is_read_again(make_tree: MakeTree, tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    root = make_tree({"plugin.py": requiring(ran, '{"python": ">=99"}')})
    with PikeManager([root], on_error="collect", requires="enforce") as mgr:
        assert mgr.get_modules() == []
        assert [type(e) for e in mgr.errors] == [PluginIncompatibleError]
    (root / "plugin.py").write_text(requiring(ran, '{"python": ">=3"}'))
    with PikeManager([root], on_error="collect", requires="enforce") as mgr:
        assert class_names(mgr.get_classes()) == ["Plugin"]
        assert mgr.errors == []
    assert ran.exists()


def test_a_requirement_inside_a_block_is_not_a_literal(make_tree: MakeTree, tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    source = "import sys\nif sys.version_info:\n    __requires__ = {'python': '>=99'}\n"
    root = make_tree({"plugin.py": source + sentinel(ran)})
    with (
        pytest.warns(PikeWarning, match=r"line 3\) sets __requires__ to something other"),
        PikeManager([root], on_error="collect", requires="enforce") as mgr,
    ):
        assert [m.__name__ for m in mgr.get_modules()] == ["plugin"]
    assert ran.exists()


def test_dependencies_are_checked_without_importing_them(
    make_tree: MakeTree, tmp_path: Path
) -> None:
    # Distributions of the test's own, on the host's sys.path: each a .dist-info folder
    # and a module that would leave a file behind if it were imported.
    deps = tmp_path / "deps"
    for name, version in (("fake_dep", "1.5"), ("pre_dep", "2.0rc1")):
        info = deps / f"{name}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: {version}\n\n"
        )
        (deps / f"{name}.py").write_text(sentinel(tmp_path / f"{name}.imported"))
    ran = tmp_path / "ran"
    root = make_tree(
        {
            "a_met.py": requiring(ran, '{"dependencies": ["fake-dep>=1.0"]}'),
            "b_spelled.py": requiring(ran, '{"dependencies": ["Fake.Dep==1.5"]}'),
            "c_too_old.py": requiring(tmp_path / "c", '{"dependencies": ["fake_dep>=2"]}'),
            "d_missing.py": requiring(tmp_path / "d", '{"dependencies": ["absent-dist>=1"]}'),
            "e_pre.py": requiring(ran, '{"dependencies": ["pre-dep>=1.0"]}'),
            "f_pre_named.py": requiring(ran, '{"dependencies": ["pre-dep>=2.0rc1"]}'),
            "g_pre_below.py": requiring(tmp_path / "g", '{"dependencies": ["pre-dep>=2.0"]}'),
        }
    )
    code = """
        import json, sys
        from pike.manager import PikeManager
        with PikeManager([sys.argv[1]], on_error="collect", requires="enforce") as mgr:
            loaded = sorted(m.__name__ for m in mgr.get_modules())
            errors = [[e.module_name, e.requirement, e.found] for e in mgr.errors]
        imported = sorted({"fake_dep", "pre_dep"} & set(sys.modules))
        print(json.dumps({"loaded": loaded, "errors": errors, "imported": imported}))
    """
    result = run_host(
        code, str(root), cache=tmp_path / "cache", extra={"PYTHONPATH": f"{deps}{os.pathsep}{REPO}"}
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "loaded": ["a_met", "b_spelled", "e_pre", "f_pre_named"],
        "errors": [
            ["c_too_old", "dependency fake_dep>=2", "fake-dep 1.5"],
            ["d_missing", "dependency absent-dist>=1", "not installed"],
            ["g_pre_below", "dependency pre-dep>=2.0", "pre-dep 2.0rc1"],
        ],
        "imported": [],
    }
    assert not (tmp_path / "fake_dep.imported").exists()
    assert not (tmp_path / "pre_dep.imported").exists()
    for kept_out in ("c", "d", "g"):
        assert not (tmp_path / kept_out).exists()


# -- the block list -------------------------------------------------------------------------

BLOCK = {"old": ("1.1.7", "CVE-2026-0001: runs shell commands from its config")}


@pytest.mark.parametrize(
    "declaration",
    [
        # (what old.py declares after its first line, its version as read, the line)
        ("__version__ = '1.1.6'\n", "1.1.6", 2),
        ("__version__ = '1.1.7rc1'\n", "1.1.7rc1", 2),
        ("__version__ = '0.9.99'\n", "0.9.99", 2),
        ("__version__ = 'banana'\n", "banana", 2),
        ("", None, None),
        ("__version__ = '.'.join(['1', '2'])\n", None, 2),
        ("import sys\nif sys:\n    __version__ = '9.9'\n", None, 4),
        ("from os import sep as __version__\n", None, 2),
    ],
)
@pytest.mark.parametrize("mode", ["enforce", "warn", "ignore"])
def test_a_blocked_version_is_not_imported(
    make_tree: MakeTree, tmp_path: Path, declaration: tuple[str, str | None, int | None], mode: str
) -> None:
    declared, version, line = declaration
    ran = tmp_path / "ran"
    root = make_tree(
        {
            "old.py": f"{sentinel(ran)}{declared}class Old: pass\n",
            "other.py": "__version__ = '0.1'\nclass Other: pass\n",  # not on the list
        }
    )
    with PikeManager([root], on_error="collect", blocked=BLOCK, requires=mode) as mgr:
        assert class_names(mgr.get_classes()) == ["Other"]
        [error] = mgr.errors
    assert isinstance(error, PluginBlockedError) and isinstance(error, ImportError)
    assert error.module_name == "old"
    assert error.path == str(root / "old.py")
    assert error.reason == BLOCK["old"][1]
    assert error.lowest_good_version == "1.1.7"
    assert error.version == version
    assert error.lineno == line
    assert "is blocked below version 1.1.7: CVE-2026-0001" in str(error)
    assert not ran.exists()


@pytest.mark.parametrize("version", ["1.1.7", "1.1.8", "1.10", "2.0.dev1", "1.1.7.post1"])
def test_a_good_version_on_the_block_list_loads(
    make_tree: MakeTree, tmp_path: Path, version: str
) -> None:
    ran = tmp_path / "ran"
    root = make_tree({"old.py": f"__version__ = {version!r}\n{sentinel(ran)}class Old: pass\n"})
    with PikeManager([root], blocked=BLOCK) as mgr:
        assert class_names(mgr.get_classes()) == ["Old"]
        assert mgr.errors == []
    assert ran.exists()


def test_the_block_list_names_full_dotted_names(make_tree: MakeTree, tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    root = make_tree(
        {
            "pkg/__init__.py": "__version__ = '0.1'\n",
            "pkg/old.py": f"__version__ = '1.0'\n{sentinel(ran)}",
            "old.py": "__version__ = '2.0'\nclass TopOld: pass\n",
        }
    )
    with PikeManager([root], on_error="collect", blocked={"pkg.old": ("1.1", "bad")}) as mgr:
        assert module_names(mgr) == ["old", "pkg"]
        assert [(type(e), e.module_name, e.version) for e in mgr.errors] == [
            (PluginBlockedError, "pkg.old", "1.0")
        ]
        with pytest.raises(PluginBlockedError):
            mgr.load_plugin("pkg.old")
    with (
        PikeManager([root], blocked={"pkg.old": ("1.1", "bad")}) as mgr,  # under raise
        pytest.raises(PluginBlockedError, match=re.escape("'pkg.old'")),
    ):
        mgr.get_classes()
    assert not ran.exists()


# -- the command line ---------------------------------------------------------------------


CLI_TREE = {
    "a.py": "class A: pass\n",
    "b.py": "class B: pass\n",
    "c.py": "class C: pass\n",
    "d.py": "class D: pass\n",
    "pkg/__init__.py": "",
    "pkg/one.py": "class One: pass\n",
    "pkg/two.py": "class Two: pass\n",
}


def listed(*args: str) -> dict[str, Any]:
    status, out, err = run_streams(*args, "--json")
    assert status in (0, 1), err
    document: dict[str, Any] = json.loads(out)
    document["status"] = status
    return document


def test_cli_disable_is_repeatable_and_comma_separated(make_tree: MakeTree) -> None:
    root = make_tree(CLI_TREE)
    document = listed(str(root), "--disable", "a", "--disable", "b, c", "--disable", "pkg")
    assert document["status"] == 0
    assert [c["class"] for c in document["classes"]] == ["D"]
    assert document["errors"] == []
    assert document["counts"]["skipped"] == 4
    reasons = {Path(s["path"]).name: s["reason"] for s in document["skipped"]}
    assert reasons == {
        "a.py": "turned off: matches 'a' (--disable)",
        "b.py": "turned off: matches 'b' (--disable)",
        "c.py": "turned off: matches 'c' (--disable)",
        "pkg": "turned off: matches 'pkg' (--disable)",
    }
    status, text = run_cli(str(root), "--disable", "a,b,c,pkg")
    assert status == 0
    assert "1 plugin class in 1 module" in text
    assert "Skipped (4):" in text and "(--disable)" in text


def test_cli_reads_the_environment_too(
    make_tree: MakeTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(CLI_TREE)
    monkeypatch.setenv("PIKE_DISABLE", "a,b")
    document = listed(str(root), "--disable", "c")
    assert [c["class"] for c in document["classes"]] == ["D", "One", "Two"]
    reasons = {Path(s["path"]).name: s["reason"] for s in document["skipped"]}
    assert reasons["a.py"] == "turned off: matches 'a' (PIKE_DISABLE)"
    assert reasons["c.py"] == "turned off: matches 'c' (--disable)"
    monkeypatch.setenv("PIKE_SAFE_MODE", "yes")
    document = listed(str(root))
    assert document["classes"] == []
    assert {s["reason"] for s in document["skipped"]} == {
        "turned off: safe mode (PIKE_SAFE_MODE=yes)"
    }


def test_cli_only_then_disable(make_tree: MakeTree) -> None:
    root = make_tree(CLI_TREE)
    document = listed(str(root), "--only", "pkg.*", "--only", "a", "--disable", "pkg.two")
    assert [c["class"] for c in document["classes"]] == ["A", "One"]
    assert "(--only)" in {Path(s["path"]).name: s["reason"] for s in document["skipped"]}["b.py"]
    static_document = listed(str(root), "--static", "--only", "pkg.*,a", "--disable", "pkg.two")
    assert [c["class"] for c in static_document["classes"]] == ["A", "One"]


@pytest.mark.parametrize(
    "flags", [("--only", ""), ("--disable", " , "), ("--static", "--only", "")]
)
def test_cli_a_switch_that_holds_no_pattern_is_a_usage_error(
    make_tree: MakeTree, flags: tuple[str, ...]
) -> None:
    # An empty --only (a shell variable left unset) would otherwise keep nothing.
    status, out, err = run_streams(str(make_tree(CLI_TREE)), *flags)
    assert status == 2
    assert out == ""
    assert err.startswith("pike: error: --") and "holds no pattern" in err


def test_cli_safe_mode(make_tree: MakeTree, tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    root = make_tree({**CLI_TREE, "e.py": sentinel(ran)})
    for mode in ((), ("--static",)):
        document = listed(str(root), "--safe-mode", *mode)
        assert document["status"] == 0
        assert document["classes"] == []
        assert document["counts"]["skipped"] == 6
        assert {s["reason"] for s in document["skipped"]} == {"turned off: safe mode (--safe-mode)"}
    assert not ran.exists()


def test_cli_quarantine_and_release(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree({"a.py": "class A: pass\n", "crash.py": crasher()})
    cache = tmp_path / "cache"
    crashed = subprocess.run(
        [sys.executable, "-m", "pike", str(root), "--quarantine"],
        capture_output=True,
        text=True,
        timeout=60,
        env=host_env(cache, {CRASH: "1"}),
        cwd=tmp_path,
        check=False,
    )
    assert crashed.returncode == 1
    assert "crashing" in crashed.stderr  # what plugins print goes to stderr
    monkeypatch.setenv("PIKE_CACHE_DIR", str(cache))

    document = listed(str(root), "--quarantine")
    assert document["status"] == 1
    assert [c["class"] for c in document["classes"]] == ["A"]
    [error] = document["errors"]
    assert (error["module"], error["kind"]) == ("crash", "quarantined")
    assert error["file"] == str(root / "crash.py")
    assert "pike --release crash" in error["message"]
    assert listed(str(root))["errors"] == []  # without --quarantine it loads

    status, out, err = run_streams(str(root), "--release", "a")
    assert status == 2
    assert out == ""
    assert "'a' is not in quarantine" in err and "['crash']" in err
    status, out, err = run_streams(str(root), "--release", "crash")
    assert status == 0, err
    assert out.startswith("released crash (") and "crash.py" in out
    assert listed(str(root), "--quarantine")["errors"] == []
    status, _, err = run_streams(str(root), "--release", "crash")
    assert status == 2
    assert "not in quarantine" in err


def test_cli_quarantine_without_a_cache_folder_warns(
    make_tree: MakeTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree({"a.py": "class A: pass\n"})
    monkeypatch.setenv("PIKE_CACHE_DIR", "off")
    document = listed(str(root), "--quarantine")
    assert document["status"] == 0
    assert [c["class"] for c in document["classes"]] == ["A"]
    [warning] = document["warnings"]
    assert warning.startswith("quarantine is off")
    assert document["counts"]["warnings"] == 1
    status, text = run_cli(str(root), "--quarantine")
    assert status == 0
    assert "Warnings (1):" in text and "quarantine is off" in text


def test_cli_host_and_requires(make_tree: MakeTree, tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    root = make_tree(
        {"a.py": "class A: pass\n", "needs.py": requiring(ran, '{"host": ">=2.1,<3"}')}
    )
    enforced = listed(str(root), "--host", "myapp==2.0", "--requires", "enforce")
    assert enforced["status"] == 1
    assert [c["class"] for c in enforced["classes"]] == ["A"]
    [error] = enforced["errors"]
    assert (error["module"], error["kind"], error["line"]) == ("needs", "incompatible", 3)
    assert "(--requires enforce)" in error["message"]
    assert enforced["warnings"] == []
    assert not ran.exists()

    warned = listed(str(root), "--host", "myapp==2.0")  # --requires warn is the default
    assert warned["status"] == 0
    assert [c["class"] for c in warned["classes"]] == ["A", "Plugin"]
    [warning] = warned["warnings"]
    assert "requires myapp >=2.1,<3, found 2.0" in warning
    assert "(--requires enforce keeps it out)" in warning
    assert warned["counts"] == {
        "classes": 2,
        "modules": 2,
        "errors": 0,
        "warnings": 1,
        "skipped": 0,
    }
    assert ran.exists()

    met = listed(str(root), "--host", " myapp == 2.3.1 ", "--requires", "enforce")
    assert (met["status"], met["errors"], met["warnings"]) == (0, [], [])
    ignored = listed(str(root), "--host", "myapp==1.0", "--requires", "ignore")
    assert (ignored["status"], ignored["errors"], ignored["warnings"]) == (0, [], [])
    no_host = listed(str(root), "--requires", "enforce")
    assert no_host["status"] == 0
    [warning] = no_host["warnings"]
    assert "--host NAME==VERSION" in warning

    status, text = run_cli(str(root), "--host", "myapp==2.0", "--requires", "enforce")
    assert status == 1
    assert "Errors (1):" in text and "requires myapp >=2.1,<3, found 2.0" in text


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("myapp", "expected NAME==VERSION"),
        ("myapp==", "expected NAME==VERSION"),
        ("==2.0", "expected NAME==VERSION"),
        ("myapp>=2.0", "expected NAME==VERSION"),
        ("myapp==banana", "'banana' is not a PEP 440 version"),
    ],
)
def test_cli_a_malformed_host_is_a_usage_error(
    make_tree: MakeTree, host: str, message: str
) -> None:
    status, out, err = run_streams(str(make_tree({"a.py": ""})), "--host", host)
    assert status == 2
    assert out == ""
    assert err.startswith("pike: error: ") and message in err
    assert "Traceback" not in err


def test_cli_requires_takes_only_its_modes(
    make_tree: MakeTree, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        run_cli(str(make_tree({})), "--requires", "strict")
    assert info.value.code == 2
    assert "invalid choice: 'strict'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flags",
    [
        ("--quarantine",),
        ("--host", "myapp==1.0"),
        ("--requires", "enforce"),
        ("--release", "a"),
    ],
)
def test_cli_import_only_flags_with_static_are_usage_errors(
    make_tree: MakeTree, flags: tuple[str, ...]
) -> None:
    status, out, err = run_streams(str(make_tree({"a.py": ""})), "--static", *flags)
    assert status == 2
    assert out == ""
    assert "leave out --static" in err


def test_cli_in_a_subprocess_reports_a_quarantined_plugin(
    make_tree: MakeTree, tmp_path: Path
) -> None:
    root = make_tree({"a.py": "class A: pass\n", "crash.py": crasher("segfault")})
    env = host_env(tmp_path / "cache", {CRASH: "1"})

    def pike(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pike", str(root), *args],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=tmp_path,
            check=False,
        )

    assert pike("--quarantine").returncode == -signal.SIGSEGV
    again = pike("--quarantine", "--json")  # still crashing, were it imported
    assert again.returncode == 1, again.stderr
    assert [e["kind"] for e in json.loads(again.stdout)["errors"]] == ["quarantined"]
    released = pike("--release", "crash")
    assert released.returncode == 0
    assert released.stdout.startswith("released crash (")
    status = pike("--release", "crash")
    assert status.returncode == 2
    assert "pike: error:" in status.stderr and "Traceback" not in status.stderr


def test_plugin_errors_of_the_gate_are_pike_errors() -> None:
    for error in (
        PluginDisabledError,
        PluginQuarantinedError,
        PluginIncompatibleError,
        PluginBlockedError,
    ):
        assert issubclass(error, PluginImportError)
        assert issubclass(error, PikeError)
        assert issubclass(error, ImportError)


# -- what a review found -------------------------------------------------------------------


EXTENSION = r"""
#include <Python.h>
#include <stdio.h>
#include <stdlib.h>
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "boom", NULL, -1, NULL};
PyMODINIT_FUNC PyInit_boom(void) {
    const char *ran = getenv("PIKE_TEST_RAN");
    if (ran) { FILE *f = fopen(ran, "a"); if (f) { fputs("ran\n", f); fclose(f); } }
    if (getenv("PIKE_TEST_CRASH")) abort();
    return PyModule_Create(&def);
}
"""


@pytest.fixture
def extension_tree(make_tree: MakeTree, tmp_path: Path) -> Path:
    """A plugins folder holding ``boom``, an extension module whose machine code notes that
    it ran (in ``$PIKE_TEST_RAN``) and aborts the process where PIKE_TEST_CRASH is set,
    and ``uses_boom``, which imports it."""
    import shutil
    import sysconfig

    compiler = shutil.which("cc") or shutil.which("gcc")
    include = sysconfig.get_paths()["include"]
    if compiler is None or not (Path(include) / "Python.h").exists():
        pytest.skip("no C compiler, or no Python headers, to build an extension module")
    root = make_tree(
        {"uses_boom.py": "import boom\nclass UsesBoom: pass\n", "other.py": "class Other: pass\n"}
    )
    source = tmp_path / "boom.c"
    source.write_text(EXTENSION)
    target = root / ("boom" + sysconfig.get_config_var("EXT_SUFFIX"))
    built = subprocess.run(
        [compiler, "-shared", "-fPIC", f"-I{include}", str(source), "-o", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if built.returncode != 0:
        pytest.skip(f"the extension module did not build: {built.stderr[:200]}")
    return root


def test_an_extension_module_turned_off_never_runs_its_machine_code(
    extension_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = tmp_path / "ran"
    monkeypatch.setenv("PIKE_TEST_RAN", str(ran))
    with PikeManager([extension_tree], disabled="boom", on_error="collect") as mgr:
        assert class_names(mgr.get_classes()) == ["Other"]  # uses_boom's import is refused
        [error] = mgr.errors
        assert error.module_name == "uses_boom"
        assert isinstance(error.__cause__, PluginDisabledError)
    assert not ran.exists()
    with PikeManager([extension_tree], blocked={"boom": ("1.0", "r")}, on_error="collect") as mgr:
        mgr.get_classes()
        assert any(isinstance(e, PluginBlockedError) for e in mgr.errors)
    assert not ran.exists()


def test_an_extension_module_that_crashes_in_its_init_is_quarantined(
    extension_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    died = run_host(HOST, str(extension_tree), cache=cache, extra={CRASH: "1"})
    assert died.returncode == -signal.SIGABRT, died.stderr
    monkeypatch.setenv("PIKE_CACHE_DIR", str(cache))
    with PikeManager([extension_tree], quarantine=True, on_error="collect") as mgr:
        assert mgr.quarantined == ["boom"]
        assert class_names(mgr.get_classes()) == ["Other"]
        assert {e.module_name for e in mgr.errors} == {"boom", "uses_boom"}


def test_a_host_that_dies_reporting_an_error_blames_no_plugin(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The host's on_error runs once the failed import has ended: its crash is its own.
    root = make_tree({"a.py": "class A: pass\n", "b_fails.py": "raise ValueError('no')\n"})
    cache = tmp_path / "cache"
    code = """
        import os, sys
        from pike.manager import PikeManager
        with PikeManager(sys.argv[1:], quarantine=True, on_error=lambda e: os._exit(3)) as m:
            m.get_classes()
    """
    assert run_host(code, str(root), cache=cache).returncode == 3
    monkeypatch.setenv("PIKE_CACHE_DIR", str(cache))
    with PikeManager([root], quarantine=True, on_error="collect") as mgr:
        assert mgr.quarantined == []


def test_a_crash_while_two_threads_import_blames_both(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wait = "import sync\nsync.arrived()\nclass {0}: pass\n"
    root = make_tree({"one.py": wait.format("One"), "two.py": wait.format("Two"), "three.py": ""})
    cache = tmp_path / "cache"
    code = """
        import os, sys, threading, types
        from pike.manager import PikeManager
        barrier = threading.Barrier(3, timeout=30)

        def arrived():  # both plugins stay inside their imports until the host dies
            barrier.wait()
            threading.Event().wait(30)

        sys.modules["sync"] = types.SimpleNamespace(arrived=arrived)
        mgr = PikeManager(sys.argv[1:], quarantine=True)
        # Import statements, in two threads at once (the manager's calls take turns).
        threads = [threading.Thread(target=__import__, args=(n,)) for n in ("one", "two")]
        for thread in threads:
            thread.start()
        barrier.wait()  # both plugins are running
        os._exit(1)
    """
    assert run_host(code, str(root), cache=cache).returncode == 1
    monkeypatch.setenv("PIKE_CACHE_DIR", str(cache))
    with PikeManager([root], quarantine=True, on_error="collect") as mgr:
        assert mgr.quarantined == ["one", "two"]
        assert module_names(mgr) == ["three"]


# A plugin that get_classes() imports (one of its batch) starts an import of another in a
# thread; the host dies while both run, or once the thread's import has ended.
STARTS_A_THREAD = """
import sync, threading
thread = threading.Thread(target=__import__, args=("two",))
thread.start()
sync.after_start(thread)
class One: pass
"""


@pytest.mark.parametrize(
    ("after_start", "blamed"),
    [
        ("barrier.wait(); threading.Event().wait(30)", ["one", "two"]),  # both under way
        ("thread.join(30); os._exit(1)", ["one"]),  # the thread's import ended first
    ],
)
def test_a_crash_while_a_batch_module_and_a_thread_import_blames_what_runs(
    make_tree: MakeTree,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    after_start: str,
    blamed: list[str],
) -> None:
    root = make_tree(
        {"one.py": STARTS_A_THREAD, "two.py": "import sync\nsync.arrived()\n", "three.py": ""}
    )
    cache = tmp_path / "cache"
    code = f"""
        import os, sys, threading, types
        from pike.manager import PikeManager
        barrier = threading.Barrier(3, timeout=30)

        def after_start(thread):
            {after_start}

        def arrived():
            if {blamed!r} == ["one", "two"]:
                barrier.wait()
                threading.Event().wait(30)

        def kill():
            barrier.wait()
            os._exit(1)

        sys.modules["sync"] = types.SimpleNamespace(after_start=after_start, arrived=arrived)
        threading.Thread(target=kill, daemon=True).start()
        with PikeManager(sys.argv[1:], quarantine=True) as mgr:
            mgr.get_classes()
    """
    assert run_host(code, str(root), cache=cache).returncode == 1
    monkeypatch.setenv("PIKE_CACHE_DIR", str(cache))
    with PikeManager([root], quarantine=True, on_error="collect") as mgr:
        assert mgr.quarantined == blamed


def test_packaging_s_own_errors_fail_closed(make_tree: MakeTree, tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    plugins = {
        "marker.py": requiring(ran, "{'dependencies': [\"pip; python_version ~= 'abc'\"]}"),
        "digits.py": requiring(ran, "{'python': '>=' + '1' * 5000}"),  # not a literal: warned
        "long.py": requiring(ran, "{'python': '>=" + "1" * 5000 + "'}"),
    }
    root = make_tree(plugins)
    with (
        pytest.warns(PikeWarning),
        PikeManager([root], on_error="collect", requires="enforce") as mgr,
    ):
        assert module_names(mgr) == ["digits"]
        assert sorted(e.module_name for e in mgr.errors) == ["long", "marker"]
        assert all(isinstance(e, PluginIncompatibleError) for e in mgr.errors)
    with pytest.raises(PikeValueError, match="not a PEP 440 version"):
        PikeManager([root], host=("app", "1" * 5000))
    with pytest.raises(PikeValueError, match="not a PEP 440 version"):
        PikeManager([root], blocked={"a": ("9" * 5000, "r")})


@pytest.mark.parametrize(
    "source",
    [
        "(__requires__ := {'python': '>=99'})\n",
        "for __requires__ in [{'python': '>=99'}]:\n    pass\n",
        "__requires__ = {}\n__requires__['python'] = '>=99'\n",
        "__requires__ = {}\n__requires__.update(python='>=99')\n",
        "import os as __requires__\n",
    ],
)
def test_a_requires_set_or_changed_otherwise_is_not_a_literal(
    make_tree: MakeTree, tmp_path: Path, source: str
) -> None:
    ran = tmp_path / "ran"
    root = make_tree({"plugin.py": source + sentinel(ran)})
    with (
        pytest.warns(PikeWarning, match="sets __requires__ to something other than a literal"),
        PikeManager([root], on_error="collect", requires="enforce") as mgr,
    ):
        assert module_names(mgr) == ["plugin"]
    assert ran.exists()


def test_a_module_that_only_reads_its_version_keeps_it(make_tree: MakeTree) -> None:
    source = "__version__ = '2.0'\ndef version():\n    return __version__\nprint(__version__)\n"
    root = make_tree({"plugin.py": source})
    with PikeManager([root], blocked={"plugin": ("1.0", "r")}, on_error="collect") as mgr:
        assert module_names(mgr) == ["plugin"]


def test_only_judges_a_package_as_the_walk_did(make_tree: MakeTree) -> None:
    root = make_tree(
        {"tools/__init__.py": "", "tools/one.py": "", "legacy/__init__.py": "", "legacy/two.py": ""}
    )
    with PikeManager([root], only=["*one"]) as mgr:
        assert [e.name for e in mgr.entries] == ["tools", "tools.one"]
        assert list(mgr.get_package_names()) == ["tools"]
        with pytest.raises(PluginDisabledError, match="'legacy'"):
            importlib.import_module("legacy")


def test_only_judges_a_package_imported_before_any_walk_by_what_is_inside(
    make_tree: MakeTree, tmp_path: Path
) -> None:
    # "*.sub" could reach into any package: one with no such module inside stays off,
    # though nothing has been listed when the host imports it.
    sentinel = tmp_path / "ran"
    root = make_tree(
        {
            "tools/__init__.py": "",
            "tools/sub.py": "",
            "legacy/__init__.py": f"open({str(sentinel)!r}, 'w').close()\n",
            "legacy/thing.py": "",
        }
    )
    with PikeManager([root], only=["*.sub"]) as mgr:
        with pytest.raises(PluginDisabledError, match="'legacy'"):
            importlib.import_module("legacy")
        assert importlib.import_module("tools.sub").__name__ == "tools.sub"
        assert [e.name for e in mgr.entries] == ["tools", "tools.sub"]
    assert not sentinel.exists()


def test_the_cache_folder_inside_a_plugin_folder_gets_nothing(
    make_tree: MakeTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(
        {"plugin.py": "__requires__ = {'dependencies': ['pip>=1'], 'host': '>=1'}\nclass P: pass\n"}
    )
    monkeypatch.setenv("PIKE_CACHE_DIR", str(root / "cache"))
    with (
        pytest.warns(PikeWarning, match="lies inside a plugin folder"),
        PikeManager([root], quarantine=True, host=("app", "2.0"), blocked={"x": ("1", "r")}) as mgr,
    ):
        assert class_names(mgr.get_classes()) == ["P"]
    assert not (root / "cache").exists() or not any((root / "cache").rglob("*"))


def test_a_cache_folder_that_cannot_be_made_turns_quarantine_off(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree({"a.py": "class A: pass\n"})
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("PIKE_CACHE_DIR", str(tmp_path / "a-file" / "cache"))  # under a file
    with (
        pytest.warns(PikeWarning, match="quarantine is off: pike's cache folder cannot be made"),
        PikeManager([root], quarantine=True) as mgr,
    ):
        assert class_names(mgr.get_classes()) == ["A"]
        assert mgr.quarantined == []


def test_damaged_quarantine_files_blame_nothing_and_raise_nothing(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pike import _cache, _quarantine

    root = make_tree({"a.py": "class A: pass\n"})
    cache = tmp_path / "cache"
    monkeypatch.setenv("PIKE_CACHE_DIR", str(cache))
    folder = Path(_cache.subfolder(_quarantine.FOLDER) or "")
    # A note of a dead process whose record claims more than the file holds (its slot
    # says to look at the record: kind 2), one of garbage, one with a cut-short slot; a
    # list whose entries hold NULs and wrong types.
    slot = _quarantine._MAGIC.ljust(_quarantine._SLOT_AT, b"\0") + (2).to_bytes(8, sys.byteorder)
    claims = slot.ljust(_quarantine._RECORD_AT, b"\0") + b"\xff" * 8 + b"\x01" * 64
    (folder / "note4-1-0-0").write_bytes(claims)
    (folder / "note4-2-0-0").write_bytes(os.urandom(300))
    (folder / "note4-3-0-0").write_bytes(slot)
    # A note as an older pike names it (locked another way): never opened, left alone.
    older = folder / "note-4-0-0"
    older.write_bytes(b"pike-note\x01" + b"\x01" * 80)
    good = (0, 0, 0, 0, 0, None)
    _cache.write_file(
        str(folder / "list"),
        {
            "modules": {
                str(root / "a.py\0x"): ("a", str(root / "a.py"), good, 1.0, 1),
                str(root / "a.py"): ("a\0", str(root / "a.py"), good, 1.0, 1),
                "x": ("a", "x", "not a state", 1.0, 1),
                "y": 5,
            }
        },
    )
    with PikeManager([root], quarantine=True, on_error="collect") as mgr:
        assert mgr.quarantined == []
        assert class_names(mgr.get_classes()) == ["A"]
    assert not any(folder.glob("note4-[123]-*"))  # the dead notes went
    assert older.exists()


def test_environ_values_are_checked(make_tree: MakeTree) -> None:
    root = make_tree({"a.py": ""})
    for environ in ({"PIKE_DISABLE": 5}, {"PIKE_SAFE_MODE": None}, {"PIKE_ONLY": b"a"}):
        with pytest.raises(PikeTypeError, match="environ"):
            PikeManager([root], environ=environ)  # type: ignore[arg-type]


def test_named_managers_turn_entry_points_off_by_name_and_module(
    make_tree: MakeTree, tmp_path: Path
) -> None:
    from pike.errors import NoMatches
    from pike.named import DriverManager, ExtensionManager

    ran = tmp_path / "ran"
    root = make_tree(
        {
            "entry_points.txt": "[pike.test.guards]\nfast = fastmod:Fast\nslow = slowmod:Slow\n",
            "fastmod.py": "class Fast: pass\n",
            "slowmod.py": sentinel(ran, "class Slow: pass\n"),
        }
    )
    with ExtensionManager("pike.test.guards", search_paths=[root], disabled="slow") as mgr:
        assert mgr.names() == ["fast"]
        assert [ep.name for ep in mgr.list_entry_points()] == ["fast"]
    with ExtensionManager("pike.test.guards", search_paths=[root], disabled="slowmod") as mgr:
        assert mgr.names() == ["fast"]
    with ExtensionManager("pike.test.guards", search_paths=[root], only="f*") as mgr:
        assert mgr.names() == ["fast"]
    with ExtensionManager("pike.test.guards", search_paths=[root], safe_mode=True) as mgr:
        assert mgr.names() == []
    with pytest.raises(NoMatches, match=r"'slow'.*turned off: matches 'slow\*' \(disabled=\)"):
        DriverManager("pike.test.guards", "slow", search_paths=[root], disabled="slow*")
    assert not ran.exists()
    with pytest.raises(PikeTypeError, match="unexpected keyword argument 'disabld'"):
        ExtensionManager("pike.test.guards", search_paths=[root], disabld="x")  # type: ignore[call-arg]
    with pytest.raises(PikeValueError, match="requires='bogus'"):
        ExtensionManager("pike.test.guards", search_paths=[root], requires="bogus")  # type: ignore[arg-type]


def test_load_plugin_judges_a_package_by_the_patterns_before_any_walk(make_tree: MakeTree) -> None:
    root = make_tree(
        {"tools/__init__.py": "", "tools/one.py": "", "legacy/__init__.py": "", "legacy/two.py": ""}
    )
    for only in ("*one", "tools.o*", "[st]ools.one", "[!l]*.one"):
        with PikeManager([root], only=only) as mgr:  # nothing walked: the names are asked
            assert mgr.load_plugin("tools.one").__name__ == "tools.one"
            with pytest.raises(PluginDisabledError):
                mgr.load_plugin("legacy.two")


def test_plugins_imported_in_two_threads_at_once_load(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    barrier = threading.Barrier(2, timeout=30)
    monkeypatch.setitem(sys.modules, "sync", types.SimpleNamespace(arrived=barrier.wait))
    wait = "import sync\nsync.arrived()\nimport helper\nclass {0}: pass\n"
    root = make_tree({"one.py": wait.format("One"), "two.py": wait.format("Two"), "helper.py": ""})
    monkeypatch.setenv("PIKE_CACHE_DIR", str(tmp_path / "cache"))
    found: list[object] = []
    with PikeManager([root], quarantine=True) as mgr:
        threads = [
            threading.Thread(target=lambda n=n: found.append(importlib.import_module(n)))
            for n in ("one", "two")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(m.__name__ for m in found) == ["one", "two"]  # type: ignore[attr-defined]
        assert mgr.quarantined == []


def test_an_archive_member_s_requirements_are_kept_by_its_crc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zipfile

    root = tmp_path / "plugins"
    root.mkdir()
    with zipfile.ZipFile(root / "bundle.zip", "w") as archive:
        archive.writestr("needy.py", "__requires__ = {'python': '>=99'}\nclass Needy: pass\n")
        archive.writestr("fine.py", "__requires__ = {'python': '>=3'}\nclass Fine: pass\n")
    monkeypatch.setenv("PIKE_CACHE_DIR", str(tmp_path / "cache"))
    for _run in range(2):  # parsed, then read back from the cache
        with PikeManager([root], isolate=True, requires="enforce", on_error="collect") as mgr:
            assert class_names(mgr.get_classes()) == ["Fine"]
            [error] = mgr.errors
            assert isinstance(error, PluginIncompatibleError) and error.lineno == 1
    assert any((tmp_path / "cache").glob("declared-*"))


def test_a_source_that_does_not_parse_declares_nothing(make_tree: MakeTree) -> None:
    root = make_tree({"broken.py": "__requires__ = {\n", "good.py": "class Good: pass\n"})
    with PikeManager([root], requires="enforce", on_error="collect") as mgr:
        assert class_names(mgr.get_classes()) == ["Good"]
        [error] = mgr.errors
        assert type(error) is PluginImportError  # its own SyntaxError, as without requires
        assert isinstance(error.__cause__, SyntaxError)


def test_notes_that_do_not_check_out_blame_nothing(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import binascii
    import marshal
    import struct

    from pike import _cache, _quarantine
    from pike._filestate import FileState

    root = make_tree({"a.py": "class A: pass\n", "b.py": "class B: pass\n"})
    monkeypatch.setenv("PIKE_CACHE_DIR", str(tmp_path / "cache"))
    folder = Path(_cache.subfolder(_quarantine.FOLDER) or "")
    state = FileState.of(os.stat(root / "a.py"), str(root / "a.py"), 0).to_data()
    item = marshal.dumps(("a", str(root / "a.py"), str(root / "a.py"), *state))

    def part(payload: bytes, crc: int | None = None) -> bytes:
        checked = binascii.crc32(payload) if crc is None else crc
        return struct.pack("<II", len(payload), checked) + payload

    def note(kind: int, place: int = 0, record: bytes = b"", batch: bytes = b"") -> bytes:
        words = struct.pack("=QQ5Qq", kind, place, 0, 0, 0, 0, 0, -2)
        slot = _quarantine._MAGIC.ljust(_quarantine._SLOT_AT, b"\0") + words
        data = bytearray(slot.ljust(_quarantine._RECORD_AT, b"\0"))
        data += record
        if batch:
            data = data.ljust(_quarantine._BATCH_AT, b"\0") + batch
        return bytes(data)

    with_one = part(struct.pack("<I", len(item)) + item)
    notes = {
        "note4-11-0-0": note(0),  # nothing ran
        "note4-12-0-0": note(1),  # a batch's module, with no batch
        "note4-13-0-0": note(1, batch=part(marshal.dumps(("not a tuple",)))),
        "note4-14-0-0": note(1, batch=part(marshal.dumps((["a"], ["x"], [""])), crc=1)),
        "note4-15-0-0": note(1, place=5, batch=part(marshal.dumps((["a"], ["x"], [""])))),
        "note4-26-0-0": note(1, batch=part(marshal.dumps((["a"], ["x", "y"], [""])))),
        "note4-27-0-0": note(1, batch=part(marshal.dumps((["a"], [7], [""])))),
        "note4-16-0-0": note(2, record=part(b"\x10\x00\x00\x00" + b"\xff" * 16)),  # garbage
        "note4-17-0-0": note(2, record=part(b"", crc=9)),
        "note4-18-0-0": b"pike-note",  # too short
        "note4-19-0-0": note(3),  # no such kind
    }
    for name, data in notes.items():
        (folder / name).write_bytes(data)
    (folder / "note4-20-0-0").mkdir()  # not a file
    fresh = folder / ".note4-21-0-0"  # a note being made: left alone
    fresh.write_bytes(note(2, record=with_one))
    stale = folder / ".note4-22-0-0"  # one whose process died making it
    stale.write_bytes(note(0))
    os.utime(stale, (0, 0))
    alive = folder / "note4-23-0-0"  # a living process's (its lock held)
    alive.write_bytes(note(2, record=with_one))
    with (
        locked_by_another_process(alive),
        PikeManager([root], quarantine=True, on_error="collect") as mgr,
    ):
        assert mgr.quarantined == []
        assert class_names(mgr.get_classes()) == ["A", "B"]
    left = sorted(p.name for p in folder.iterdir() if "note" in p.name)
    theirs = [name for name in left if not name.startswith(f"note4-{os.getpid()}-")]  # not ours
    assert theirs == [".note4-21-0-0", "note4-20-0-0", "note4-23-0-0"]
    # A dead one naming a plugin in its record, among garbage, blames that plugin, even
    # named with this process's id (a process of an earlier boot, or container, had it).
    (folder / f"note4-{os.getpid()}-24-0").write_bytes(
        note(2, record=part(b"\x03\x00\x00\x00abc" + struct.pack("<I", len(item)) + item))
    )
    with PikeManager([root], quarantine=True, on_error="collect") as mgr:
        assert mgr.quarantined == ["a"]


def test_a_quarantined_file_that_is_gone_is_not_held(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree({"a.py": "class A: pass\n", "crash.py": crasher()})
    cache = tmp_path / "cache"
    assert run_host(HOST, str(root), cache=cache, extra={CRASH: "1"}).returncode == 1
    (root / "crash.py").unlink()
    monkeypatch.setenv("PIKE_CACHE_DIR", str(cache))
    with PikeManager([root], quarantine=True) as mgr:
        assert mgr.quarantined == []


def test_a_host_that_exits_normally_leaves_no_note(make_tree: MakeTree, tmp_path: Path) -> None:
    root = make_tree({"a.py": "class A: pass\n"})
    cache = tmp_path / "cache"
    assert json.loads(run_host(HOST, str(root), cache=cache).stdout)["loaded"] == ["a"]
    assert not list((cache / "quarantine").glob("note4-*"))


@pytest.mark.parametrize(
    "requires",
    [
        "{'python': 3.11}",  # not a string
        "{'platforms': 'linux'}",  # not a list
        "{'platforms': ['plan9']}",
        "{'dependencies': 'pip'}",  # not a list
        "{'dependencies': ['pip>=1', 'pip>=1', 'not a requirement !']}",
        "{'dependencies': ['pip>=999']}",
        "{'host': '>=9'}",
        "['python']",  # a literal, but not a dict
    ],
)
def test_what_cannot_be_met_is_refused_under_enforce(
    make_tree: MakeTree, tmp_path: Path, requires: str
) -> None:
    ran = tmp_path / "ran"
    root = make_tree({"plugin.py": requiring(ran, requires)})
    with PikeManager([root], host=("app", "1.0"), requires="enforce", on_error="collect") as mgr:
        assert module_names(mgr) == []
        [error] = mgr.errors
        assert isinstance(error, PluginIncompatibleError)
        assert error.requirement and "It was not imported" in str(error)
    assert not ran.exists()


def test_packaging_s_answers_are_kept_up_to_a_limit(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pike import _cache, _requires

    monkeypatch.setattr(_requires, "MAX_VERDICTS", 3)
    monkeypatch.setenv("PIKE_CACHE_DIR", str(tmp_path / "cache"))
    specifiers = [f"'>={i}'" for i in range(1, 6)]
    for i, specifier in enumerate(specifiers):
        root = make_tree({f"p{i}.py": f"__requires__ = {{'host': {specifier}}}\n"})
        with PikeManager([root], host=("app", "9.0")) as mgr:
            assert module_names(mgr) == [f"p{i}"]
    document = _cache.read(_requires._VERDICTS)
    assert document is not None and len(document["verdicts"]) <= 3


def test_kept_declarations_of_the_wrong_shape_are_not_believed() -> None:
    from pike._declared import _valid

    assert _valid((1, {"python": ">=3"}, 3, 0, None, None))
    assert _valid((2, None, 1, 1, "1.0", 2))
    for wrong in [
        (True, {}, 3, 0, None, None),  # a bool is no kind
        ([1], {}, 3, 0, None, None),  # nor is a list (and it raises nothing)
        (1, {}, 0, 0, None, None),  # no line 0
        (1, {}, 2**31, 0, None, None),
        (1, {}, None, 0, None, None),  # declared, so on a line
        (0, None, 3, 0, None, None),  # not declared, so on none
        (1, {}, 3, 1.0, "x", 4),
        (3, {}, 3, 0, None, None),  # no such kind
        (1, {}, 3, 0, None),
        "not a tuple",
    ]:
        assert not _valid(wrong), wrong


def test_a_list_lock_held_too_long_is_given_up_on(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    from pike import _cache, _quarantine

    root = make_tree({"a.py": "class A: pass\n", "crash.py": crasher()})
    cache = tmp_path / "cache"
    assert run_host(HOST, str(root), cache=cache, extra={CRASH: "1"}).returncode == 1
    monkeypatch.setenv("PIKE_CACHE_DIR", str(cache))
    monkeypatch.setattr(_quarantine, "_LOCK_WAIT", 0.05)
    lock = Path(_cache.subfolder(_quarantine.FOLDER) or "") / "lock"
    with (
        locked_by_another_process(lock),  # a process stopped while it held the list's lock
        PikeManager([root], quarantine=True, on_error="collect") as mgr,
    ):
        assert mgr.quarantined == []  # the dead note is left for a later start
        assert class_names(mgr.get_classes()) == ["A", "Crasher"]
    with PikeManager([root], quarantine=True, on_error="collect") as mgr:
        assert mgr.quarantined == ["crash"]
        mgr.release("crash")
        assert mgr.quarantined == []


def test_a_source_that_cannot_be_parsed_with_a_requirement_in_it(make_tree: MakeTree) -> None:
    # The bytes name __requires__; ast cannot read them (a NUL): declared nothing, and its
    # import says what is wrong, as without requirements.
    root = make_tree({"good.py": "class Good: pass\n"})
    (root / "nul.py").write_bytes(b"__requires__ = {'python': '>=99'}\n# \0\n")
    with PikeManager([root], requires="enforce", on_error="collect") as mgr:
        assert class_names(mgr.get_classes()) == ["Good"]
        [error] = mgr.errors
        assert error.module_name == "nul" and not isinstance(error, PluginIncompatibleError)


def test_a_module_without_source_cannot_have_its_requirements_read(
    make_tree: MakeTree, tmp_path: Path
) -> None:
    import py_compile

    source = tmp_path / "needy.py"
    source.write_text("__requires__ = {'python': '>=99'}\nclass Needy: pass\n")
    root = make_tree({})
    py_compile.compile(str(source), cfile=str(root / "needy.pyc"))
    with (
        pytest.warns(PikeWarning, match="has no source to read its __requires__ from"),
        PikeManager([root], requires="enforce", on_error="collect") as mgr,
    ):
        assert class_names(mgr.get_classes()) == ["Needy"]
    # requires="ignore" checks nothing, and says nothing of it, on the block list too.
    with (
        warnings.catch_warnings(),
        PikeManager(
            [root], requires="ignore", blocked={"needy": ("1.0", "r")}, on_error="collect"
        ) as mgr,
    ):
        warnings.simplefilter("error")
        assert mgr.get_classes() == []
        assert [type(e) for e in mgr.errors] == [PluginBlockedError]


def test_a_version_that_is_not_a_string_is_blocked(make_tree: MakeTree) -> None:
    root = make_tree({"old.py": "__version__ = 1.2\nclass Old: pass\n"})
    with PikeManager([root], blocked={"old": ("1.0", "r")}, on_error="collect") as mgr:
        assert mgr.get_classes() == []
        [error] = mgr.errors
        assert isinstance(error, PluginBlockedError) and "1.2, not a string" in str(error)
        assert error.version is None


def test_cli_release_says_why_quarantine_is_off(
    make_tree: MakeTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree({"a.py": ""})
    monkeypatch.setenv("PIKE_CACHE_DIR", "off")
    status, out, err = run_streams(str(root), "--release", "a")
    assert status == 2 and out == ""
    assert "pike: warning: quarantine is off: pike's cache folder is turned off" in err
    assert "'a' is not in quarantine" in err


def test_dependencies_are_looked_for_in_the_sys_path_folders(
    make_tree: MakeTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    (site / "Fake_Dist-2.0.dist-info").mkdir(parents=True)
    (site / "Fake_Dist-2.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: Fake.Dist\nVersion: 2.0\n\nA description.\n"
    )
    (site / "nameless-1.0.dist-info").mkdir()  # no metadata: not a distribution
    (site / "legacy.egg-info").write_text("Metadata-Version: 1.0\nName: legacy\nVersion: 0.5\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PIKE_CACHE_DIR", str(tmp_path / "cache"))
    ran = tmp_path / "ran"
    root = make_tree(
        {
            "met.py": requiring(ran, "{'dependencies': ['fake-dist>=1', 'legacy<1']}"),
            "old.py": requiring(ran, "{'dependencies': ['fake_dist>=3']}"),
            "gone.py": requiring(ran, "{'dependencies': ['nameless']}"),
            "win.py": requiring(ran, "{'dependencies': [\"nothing; sys_platform == 'plan9'\"]}"),
        }
    )
    for _run in range(2):  # the folders listed, then their listings read back
        with PikeManager([root], requires="enforce", on_error="collect") as mgr:
            assert module_names(mgr) == ["met", "win"]
            found = {e.module_name: e.found for e in mgr.errors}  # type: ignore[attr-defined]
            assert found == {"old": "fake-dist 2.0", "gone": "not installed"}


def test_a_block_with_quarantine_and_switches_adds_nothing_to_sys_modules(
    make_tree: MakeTree, tmp_path: Path
) -> None:
    # docs/guide.md, "Cleanup": what quarantine and the switches need is loaded as the
    # manager is made, not in its block.
    root = make_tree({"a.py": "class A: pass\n", "off.py": "", "pkg/__init__.py": ""})
    code = f"""
        import sys
        from pike.manager import PikeManager
        mgr = PikeManager([{str(root)!r}], quarantine=True, disabled="off", only=["a", "p*"])
        before = set(sys.modules)
        with mgr:
            names = [c.__name__ for c in mgr.get_classes()]
            mgr.refresh()
        print(names, sorted(set(sys.modules) ^ before))
    """
    result = run_python(code, "-S", env_extra={"PIKE_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['A'] []"


def test_quarantine_loads_no_extension_module_but_mmap(make_tree: MakeTree, tmp_path: Path) -> None:
    # docs/design.md, "Speed tricks": what a process's note needs costs one extension
    # module at most (POSIX locks by os.lockf, not fcntl; the slot's words through a
    # memoryview, not struct).
    root = make_tree({"a.py": "class A: pass\n"})
    code = f"""
        import importlib.machinery, sys
        from pike.manager import PikeManager
        before = set(sys.modules)
        with PikeManager([{str(root)!r}], quarantine=True) as mgr:
            mgr.get_classes()
        loaded = set(sys.modules) - before
        suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
        files = {{n: str(getattr(sys.modules[n], "__file__", "")) for n in loaded}}
        print(sorted(n for n, file in files.items() if file.endswith(suffixes)))
        print(sorted(loaded & {{"fcntl", "_struct", "struct"}}), "pike._quarantine" in loaded)
    """
    result = run_python(code, "-S", env_extra={"PIKE_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr
    extensions, others = result.stdout.splitlines()
    assert extensions in ("['mmap']", "[]")  # [] where mmap is built into the interpreter
    assert others == "[] True"


@pytest.mark.parametrize(
    ("pattern", "reaches"),
    [
        ("*one", True),
        ("pkg?one", True),
        ("[p]kg.sub", True),
        ("[!q]kg.*", True),
        ("pkg.[]x]", True),
        ("p*", True),
        ("pkg", False),  # matches the package itself: then it is on by its name
        ("other.*", False),
        ("pk", False),
    ],
)
def test_a_package_no_walk_can_list_is_kept_where_a_pattern_reaches_into_it(
    pattern: str, reaches: bool
) -> None:
    # What judges an archive's package imported before any walk (its folder is no folder
    # to list): whether a pattern of only= can match a module inside it.
    from pike._switches import Switches

    switches = Switches(only=[pattern], environ={})
    judged = switches.reason("pkg", True, lambda: None)
    if pattern == "pkg":
        assert judged is None
    else:
        assert (judged is None) is reaches, judged
    assert switches.reason("pkg", False) is not None or pattern in ("pkg", "p*")
