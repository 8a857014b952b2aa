"""The command line: python -m pike PATH [PATH ...] (docs/design.md, "Command line")."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from pike.cli import main
from tests.conftest import REPO, MakeTree, run_python


def run_cli(*args: str) -> tuple[int, str]:
    """The exit status and everything printed, report (stdout) then problems (stderr)."""
    status, out, err = run_streams(*args)
    return status, out + err


def run_streams(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(args), out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def test_cli_lists_classes_with_module_bases_file_and_line(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "cli_base.py": "class Base:\n    pass\n",
            "cli_plugin.py": "from cli_base import Base\n\n\nclass Thing(Base):\n    pass\n",
        }
    )
    status, text = run_cli(str(root))
    assert status == 0
    lines = text.splitlines()
    assert lines[0].split() == ["MODULE", "CLASS", "BASES", "FILE"]
    thing = next(line for line in lines if "Thing" in line)
    assert thing.split()[:3] == ["cli_plugin", "Thing", "cli_base.Base"]
    assert thing.endswith("cli_plugin.py:4")
    assert "2 plugin classes in 2 modules" in text
    assert "Errors" not in text


def test_cli_reports_errors_and_skipped_and_exits_1(make_tree: MakeTree) -> None:
    root = make_tree({"good.py": "class G: pass\n", "bad.py": "1/0\n", "bad-name.py": ""})
    status, text = run_cli(str(root))
    assert status == 1
    assert "1 plugin class in 1 module" in text
    assert "Errors (1):" in text
    assert "ZeroDivisionError" in text
    assert "Skipped (1):" in text
    assert "bad-name.py" in text


def test_cli_empty_folder(make_tree: MakeTree) -> None:
    status, text = run_cli(str(make_tree({})))
    assert status == 0
    assert text.strip() == "0 plugin classes in 0 modules"


def test_cli_missing_folder_is_usage_error_without_traceback(tmp_path: object) -> None:
    result = run_python("import sys; from pike.cli import main; sys.exit(main())")
    assert result.returncode == 2
    assert "PATH" in result.stderr
    missing = f"{tmp_path}/missing"
    result = subprocess.run(
        [sys.executable, "-m", "pike", missing],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"search path '{missing}' does not exist" in result.stderr


def test_cli_missing_folder_in_process(tmp_path: object) -> None:
    status, out, err = run_streams(f"{tmp_path}/nope")
    assert status == 2
    assert out == ""
    assert "does not exist" in err


def test_cli_unknown_option_is_usage_error() -> None:
    with pytest.raises(SystemExit) as info:
        run_cli("--frobnicate", ".")
    assert info.value.code == 2


def test_cli_help_explains_itself(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        run_cli("--help")
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "exit status" in text
    assert "PATH" in text


def test_cli_sample_plugins_from_the_repo_root() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pike", "sample_plugins"],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    for name in ("SimpleDriver", "MyOtherDriver", "ShoutExtension", "ReverseExtension"):
        assert name in result.stdout
    assert "sample_plugins/my_driver.py:6" in result.stdout
    assert "sample_plugins/drafts: directory without __init__.py" in result.stderr


def test_cli_a_sourceless_modules_lines_come_from_its_bytecode(make_tree: MakeTree) -> None:
    import py_compile

    root = make_tree({"src.py": "X = 1\n\nclass FromPyc: pass\n"})
    py_compile.compile(str(root / "src.py"), cfile=str(root / "bin_only.pyc"))
    (root / "src.py").unlink()
    status, text = run_cli(str(root))
    assert status == 0
    row = next(line for line in text.splitlines() if "FromPyc" in line)
    assert row.endswith("bin_only.pyc:3")


def test_cli_source_that_no_longer_parses(make_tree: MakeTree) -> None:
    # The line is the code's that ran: Python 3.13 keeps it on the class; before, it is
    # read from the module's code again, which is gone with the source.
    root = make_tree(
        {"rewrites.py": "class R: pass\nwith open(__file__, 'w') as f:\n    f.write('(')\n"}
    )
    status, text = run_cli(str(root))
    assert status == 0
    row = next(line for line in text.splitlines() if " R " in line)
    assert row.endswith("rewrites.py:1" if sys.version_info >= (3, 13) else "rewrites.py")


def test_cli_module_entry_point(make_tree: MakeTree, monkeypatch: pytest.MonkeyPatch) -> None:
    import runpy

    root = make_tree({"entry_mod.py": "class E: pass\n"})
    monkeypatch.setattr(sys, "argv", ["pike", str(root)])
    with pytest.raises(SystemExit) as info:
        runpy.run_module("pike", run_name="__main__")
    assert info.value.code == 0


# -- options ----------------------------------------------------------------------

FOLDER = {
    "bases.py": "class Driver: pass\nclass Extension: pass\n",
    "drivers.py": "from bases import Driver\nclass Fast(Driver): pass\nclass Slow(Driver): pass\n",
    "exts.py": "from bases import Extension\nclass Loud(Extension): pass\n",
}


def class_names(text: str) -> list[str]:
    lines = text.split("\n\n", maxsplit=1)[0].splitlines()[1:]
    return [line.split()[1] for line in lines]


def test_base_module_colon_class(make_tree: MakeTree) -> None:
    root = make_tree(FOLDER)
    status, text = run_cli(str(root), "--base", "bases:Driver")
    assert status == 0
    assert class_names(text) == ["Fast", "Slow"]
    assert "2 subclasses of bases:Driver in 3 modules" in text
    assert run_cli(str(root), "--base", "bases.Extension")[1].count("Loud") == 1


def test_base_from_an_importable_host_module(make_tree: MakeTree) -> None:
    root = make_tree({"errs.py": "class MyError(ValueError): pass\nclass Other: pass\n"})
    status, text = run_cli(str(root), "--base", "builtins:ValueError")
    assert status == 0
    assert class_names(text) == ["MyError"]


def test_bare_class_name_in_both_modes(make_tree: MakeTree) -> None:
    root = make_tree(FOLDER)
    for extra in ([], ["--static"]):
        status, text = run_cli(str(root), "--base", "Driver", *extra)
        assert status == 0
        assert class_names(text) == ["Fast", "Slow"]


@pytest.mark.parametrize(
    ("base", "message"),
    [
        ("bases:", "expected MODULE:CLASS"),
        (":Driver", "expected MODULE:CLASS"),
        ("not a name", "expected MODULE:CLASS or a class name"),
        ("no_such_module_xyz:Driver", "cannot import module 'no_such_module_xyz'"),
        ("bases:Missing", "module 'bases' has no class 'Missing'"),
    ],
)
def test_bad_base_is_usage_error(make_tree: MakeTree, base: str, message: str) -> None:
    root = make_tree(FOLDER)
    status, out, err = run_streams(str(root), "--base", base)
    assert status == 2
    assert out == ""
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("base", "message"),
    [
        ("nope:X", "no module 'nope' among the plugins or importable from here"),
        ("nope.deeper:X", "no module 'nope.deeper' among the plugins"),
    ],
)
def test_a_static_base_that_names_nothing_is_a_usage_error(
    make_tree: MakeTree, base: str, message: str
) -> None:
    """As in import mode; found with no code run (a plugin module's classes, or a module
    that can be found)."""
    root = make_tree(FOLDER)
    status, out, err = run_streams(str(root), "--static", "--base", base)
    assert status == 2
    assert out == ""
    assert message in err
    status, out, _err = run_streams(str(root), "--static", "--base", "bases:Driver")
    assert status == 0 and class_names(out) == ["Fast", "Slow"]
    status, out, _err = run_streams(str(root), "--static", "--base", "json:JSONDecoder")
    assert status == 0  # an importable module: found, not run
    # A name a plugin module binds to a class, and a plugin module that does not parse,
    # are the static listing's to follow: not usage errors.
    alias = make_tree({**FOLDER, "alias.py": "from bases import Driver as Alias\n"})
    status, out, _err = run_streams(str(alias), "--static", "--base", "alias:Alias")
    assert status == 0
    broken = make_tree({**FOLDER, "broken.py": "class (:\n"})
    status, out, err = run_streams(str(broken), "--static", "--base", "broken:X")
    assert status == 1 and "no module" not in err  # the parse error, not bad usage


def test_no_path_is_a_usage_error_unless_only_the_cache_is_cleared(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    assert "the following arguments are required: PATH" in capsys.readouterr().err


def test_the_help_gives_every_exit_status_and_what_static_writes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    shown = capsys.readouterr().out
    assert "130  interrupted" in shown
    assert "pike's cache folder" in shown and "--clear-cache" in shown


def test_static_runs_nothing(make_tree: MakeTree, tmp_path: object) -> None:
    marker = f"{tmp_path}/ran"
    root = make_tree(
        {**FOLDER, "side_effect.py": f"open({marker!r}, 'w').close()\nclass Effect: pass\n"}
    )
    status, text = run_cli(str(root), "--static")
    assert status == 0
    assert class_names(text) == ["Driver", "Extension", "Fast", "Slow", "Loud", "Effect"]
    assert "(static: nothing was run)" in text
    assert not os.path.exists(marker)
    assert not (root / "__pycache__").exists()


def test_static_parse_error_exits_1(make_tree: MakeTree) -> None:
    root = make_tree({**FOLDER, "broken.py": "class (:\n"})
    status, text = run_cli(str(root), "--static")
    assert status == 1
    assert "Errors (1):" in text
    assert "cannot be parsed" in text


def test_json_shape(make_tree: MakeTree) -> None:
    root = make_tree({**FOLDER, "bad.py": "1/0\n", "bad-name.py": ""})
    status, text = run_cli(str(root), "--json", "--base", "bases:Driver")
    assert status == 1
    doc = json.loads(text)
    assert set(doc) == {
        "format",
        "pike",
        "mode",
        "search_paths",
        "base",
        "classes",
        "errors",
        "warnings",
        "skipped",
        "counts",
    }
    assert (doc["format"], doc["mode"], doc["base"]) == (1, "import", "bases:Driver")
    assert doc["search_paths"] == [str(root)]
    assert doc["classes"][0] == {
        "module": "drivers",
        "class": "Fast",
        "bases": ["bases.Driver"],
        "file": str(root / "drivers.py"),
        "line": 2,
        "source": str(root),
    }
    [error] = doc["errors"]
    assert (error["module"], error["kind"], error["line"]) == ("bad", "import", 1)
    assert error["file"] == str(root / "bad.py")
    assert doc["skipped"] == [
        {"path": str(root / "bad-name.py"), "reason": doc["skipped"][0]["reason"]}
    ]
    assert doc["counts"] == {"classes": 2, "modules": 3, "errors": 1, "warnings": 0, "skipped": 1}
    assert doc["warnings"] == []


def test_json_static_and_collisions(make_tree: MakeTree) -> None:
    root = make_tree({**FOLDER, "json.py": "class Shadow: pass\n"})
    doc = json.loads(run_cli(str(root), "--json")[1])
    assert [e["kind"] for e in doc["errors"]] == ["collision"]
    doc = json.loads(run_cli(str(root), "--json", "--static")[1])
    assert doc["mode"] == "static"
    assert doc["classes"][2]["bases"] == ["Driver"]  # as written in the source


def test_missing_folder_in_static_mode(tmp_path: object) -> None:
    status, _, err = run_streams(f"{tmp_path}/nope", "--static")
    assert status == 2
    assert "does not exist" in err


def test_help_lists_options_and_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run_cli("--help")
    text = capsys.readouterr().out
    for word in ("--base", "--static", "--json", "MODULE:CLASS", "examples:", "exit status"):
        assert word in text


def test_closed_pipe_is_quiet(make_tree: MakeTree) -> None:
    root = make_tree({f"m{i}.py": "class A: pass\nclass B: pass\n" for i in range(400)})
    proc = subprocess.Popen(
        [sys.executable, "-m", "pike", str(root), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()  # like `| head -c 10`
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in err


# -- streams, options and odd terminals; hostile plugins through the command line ---------------


def pike_cli(
    *args: str, stdout: object = subprocess.PIPE, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "pike", *args],
        stdout=stdout,  # type: ignore[arg-type]
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
        check=False,
    )


def test_the_report_goes_to_stdout_and_problems_to_stderr(make_tree: MakeTree) -> None:
    root = make_tree({"good.py": "class G: pass\n", "bad.py": "1/0\n", "bad-name.py": ""})
    result = pike_cli(str(root))
    assert result.returncode == 1
    assert "G" in result.stdout and "1 plugin class in 1 module" in result.stdout
    assert "Errors" not in result.stdout and "Skipped" not in result.stdout
    assert "Errors (1):" in result.stderr and "ZeroDivisionError" in result.stderr
    assert "Skipped (1):" in result.stderr and "bad-name.py" in result.stderr
    assert "Traceback" not in result.stderr
    silenced = pike_cli(str(root), stdout=subprocess.DEVNULL)  # `pike broken >/dev/null`
    assert silenced.returncode == 1
    assert "ZeroDivisionError" in silenced.stderr


def test_what_plugins_print_goes_to_stderr_and_json_stays_json(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "chatty.py": """
                import os, sys
                print("hello from chatty")
                sys.stdout.write("more chatter\\n")
                os.write(1, b"raw bytes on fd 1\\n")
                class Chatty: pass
            """
        }
    )
    result = pike_cli(str(root), "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert [c["class"] for c in document["classes"]] == ["Chatty"]
    for said in ("hello from chatty", "more chatter", "raw bytes on fd 1"):
        assert said in result.stderr
    _, out, err = run_streams(str(root), "--json")  # in-process: sys.stdout redirected
    assert json.loads(out)["counts"]["classes"] == 1
    assert "hello from chatty" in err


def test_a_base_module_that_prints_does_not_corrupt_json(make_tree: MakeTree) -> None:
    root = make_tree({"loud_base.py": "print('I am loud')\nclass Base: pass\n"})
    result = pike_cli(str(root), "--json", "--base", "loud_base:Base")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["classes"] == []
    assert "I am loud" in result.stderr


def test_traceback_shows_each_failure_in_full(make_tree: MakeTree) -> None:
    root = make_tree({"deep.py": "def inner():\n    raise KeyError('gone')\n\ninner()\n"})
    status, out, err = run_streams(str(root), "--traceback")
    assert status == 1
    assert "Traceback (most recent call last)" in err
    assert "line 2, in inner" in err and "KeyError: 'gone'" in err
    assert "Traceback" not in out
    # The plugin's own frames: not the import system's, nor pike's.
    assert "importlib" not in err and f"pike{os.sep}" not in err
    assert "line 4, in <module>" in err
    status, out, _ = run_streams(str(root), "--traceback", "--json")
    [error] = json.loads(out)["errors"]
    assert error["traceback"].startswith("Traceback (most recent call last)")
    assert "traceback" not in json.loads(run_streams(str(root), "--json")[1])["errors"][0]


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    from pike import __version__

    with pytest.raises(SystemExit) as info:
        main([flag])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"pike {__version__}"


def test_file_names_the_terminal_cannot_show_are_escaped(make_tree: MakeTree) -> None:
    root = make_tree({"caf\u00e9.py": "class Caf\u00e9: pass\n"})
    undecodable = os.fsencode(str(root)) + b"/bad\xff.py"
    with open(undecodable, "w") as f:
        f.write("")
    result = pike_cli(str(root), env_extra={"PYTHONIOENCODING": "ascii"})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "caf\\xe9" in result.stdout
    assert "bad\\udcff.py" in result.stderr  # skipped: not an identifier
    document = json.loads(pike_cli(str(root), "--json", env_extra={"LC_ALL": "C"}).stdout)
    assert document["classes"][0]["class"] == "Caf\u00e9"


def test_a_full_disk_ends_with_a_message(make_tree: MakeTree) -> None:
    root = make_tree({f"m{i}.py": f"class C{i}: pass\n" for i in range(50)})
    with open("/dev/full", "w") as full:
        result = pike_cli(str(root), stdout=full)
    assert result.returncode != 0
    assert "cannot write the report" in result.stderr
    assert "No space left on device" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_closed_stdout_ends_with_a_message(make_tree: MakeTree) -> None:
    root = make_tree({"one.py": "class One: pass\n"})
    result = subprocess.run(
        [sys.executable, "-c", "import os, sys; os.close(1); import runpy; "
         "sys.argv = ['pike', sys.argv[1]]; runpy.run_module('pike', run_name='__main__')",
         str(root)],
        capture_output=False, stderr=subprocess.PIPE, text=True, cwd=REPO, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "stdout is closed" in result.stderr or "cannot write the report" in result.stderr
    assert "Traceback" not in result.stderr


HOSTILE = {
    "gen_exit.py": "raise GeneratorExit\n",
    "sys_exit.py": "raise SystemExit(3)\n",
    "own_base.py": "class Custom(BaseException): pass\nraise Custom('mine')\n",
    "bad_str.py": """
        class Unprintable(Exception):
            def __str__(self):
                raise RuntimeError("no str for you")
        raise Unprintable()
    """,
    "fake_syntax.py": "raise SyntaxError('made up', (None, 'x', 1, 'y'))\n",
    "globals.py": """
        class Trap:
            def __getattribute__(self, name):
                raise RuntimeError(name)
            def __eq__(self, other):
                raise RuntimeError("eq")
            __hash__ = None
        trap = Trap()
        class Meta(type):
            def __getattribute__(cls, name):
                raise RuntimeError(name)
        class Sneaky(metaclass=Meta): pass
        class Liar:
            __module__ = Trap()
        class Fine: pass
    """,
    "appender.py": "import sys\nsys.path.append([])\nclass Appended: pass\n",
}


def test_hostile_plugins_never_make_the_cli_print_a_traceback(make_tree: MakeTree) -> None:
    root = make_tree(HOSTILE)
    for extra in ([], ["--json"], ["--base", "Fine"], ["--static"]):
        result = pike_cli(str(root), *extra)
        assert result.returncode == (0 if "--static" in extra else 1), (extra, result.stderr)
        assert "Traceback" not in result.stderr, extra
        if "--json" in extra:
            json.loads(result.stdout)
    result = pike_cli(str(root))
    for name in ("gen_exit", "sys_exit", "own_base", "bad_str", "fake_syntax"):
        assert f"'{name}' failed to import" in result.stderr
    assert "Sneaky" in result.stdout and "Fine" in result.stdout


@pytest.mark.parametrize(
    "base", ["", ":", "a:b:c", "\x01", "this:Zen", "os:path", "1:2", "sys:modules.x"]
)
def test_odd_base_values_are_usage_errors_not_tracebacks(make_tree: MakeTree, base: str) -> None:
    root = make_tree({"one.py": "class One: pass\n"})
    result = pike_cli(str(root), "--json", "--base", base)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "pike: error: --base" in result.stderr  # after the Zen of Python, for 'this'
    assert "Traceback" not in result.stderr


def test_odd_paths_are_usage_errors(tmp_path: object) -> None:
    for path in ("", "a\x01b", f"{tmp_path}/missing", "/dev/null"):
        result = pike_cli(path)
        assert result.returncode == 2, (path, result.stderr)
        assert "Traceback" not in result.stderr


def test_static_shows_the_collisions_the_import_mode_shows(make_tree: MakeTree) -> None:
    first = make_tree({**FOLDER, "json.py": "class Shadow: pass\n", "twin/__init__.py": ""})
    second = make_tree({"twin.py": "class Hidden: pass\n", "own.py": "class Own: pass\n"})
    kinds = {}
    for mode in ([], ["--static"]):
        status, out, _ = run_streams(str(first), str(second), *mode, "--json")
        document = json.loads(out)
        assert status == 1
        kinds[bool(mode)] = sorted((e["module"], e["kind"]) for e in document["errors"])
        names = [c["class"] for c in document["classes"]]
        assert "Shadow" not in names and "Hidden" not in names and "Own" in names
    assert kinds[True] == kinds[False] == [("json", "collision"), ("twin", "collision")]


def test_errors_show_paths_as_the_table_does(
    make_tree: MakeTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree({"fine.py": "class Fine: pass\n", "bad.py": "1/0\n"})
    monkeypatch.chdir(root.parent)
    _, out, err = run_streams(root.name)
    assert f"{root.name}/fine.py:1" in out
    assert f"({root.name}/bad.py, line 1)" in err
    assert str(root) not in err


def test_help_points_at_the_docs_site(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "https://pyarmory-pike.readthedocs.io/en/latest/cli/" in capsys.readouterr().out


def test_cli_import_mode_takes_lines_from_the_code_it_ran(make_tree: MakeTree) -> None:
    # No file is parsed again for the lines: they come from the modules' own code.
    root = make_tree(
        {
            "one.py": "import os\n\n\nclass One:\n    pass\n",
            "pkg/__init__.py": "",
            "pkg/two.py": (
                "def decorate(cls):\n    return cls\n\n\n@decorate\nclass Two:\n    pass\n"
            ),
        }
    )
    code = f"""
        import ast, io
        parsed = []
        real = ast.parse
        ast.parse = lambda *a, **k: parsed.append(a) or real(*a, **k)
        from pike import cli
        out = io.StringIO()
        status = cli.main([{str(root)!r}], out=out, err=io.StringIO())
        rows = [line.split()[-1].rsplit(":", 1)[1] for line in out.getvalue().splitlines()[1:3]]
        print(status, len(parsed), rows)
    """
    result = run_python(code, env_extra={"PIKE_CACHE_DIR": "off"})
    assert result.returncode == 0, result.stderr
    # Where the definition starts, as Python reports it: a decorated class at its decorator.
    assert result.stdout.strip() == "0 0 ['4', '5']"


# -- --watch -----------------------------------------------------------------------------


class Watching:
    """``pike PATH --watch ...`` in a subprocess, its stdout read line by line with a
    timeout (a thread reads it), ended by Ctrl-C (SIGINT); killed on leaving the
    ``with`` block if a failing test left it running."""

    def __enter__(self) -> Watching:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def __init__(self, *args: str) -> None:
        import queue
        import threading

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pike", *args, "--watch"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def line(self) -> str:
        return self.lines.get(timeout=30)

    def until(self, wanted: str) -> str:
        while (line := self.line()) != wanted and wanted not in line:
            pass
        return line

    def interrupt(self) -> tuple[int, str]:
        import signal

        self.proc.send_signal(signal.SIGINT)
        status = self.proc.wait(timeout=30)
        self.reader.join(30)  # it ends at the end of stdout
        assert self.proc.stderr is not None
        return status, self.proc.stderr.read()


def test_watch_prints_the_listing_then_each_change_until_interrupted(
    make_tree: MakeTree,
) -> None:
    root = make_tree({"a.py": "class A: pass\n"})
    with Watching(str(root)) as run:
        run.until("1 plugin class in 1 module")
        (root / "b.py").write_text("print('b says hello')\nclass B: pass\n")
        assert run.until("added") == "added: b"
        (root / "b.py").write_text("class B(:\n")
        assert run.until("kept") == "kept: b; 1 error"
        status, err = run.interrupt()
    assert status == 130
    assert "b says hello" in err and "SyntaxError" in err and "pike: interrupted" in err
    assert "Traceback" not in err


def test_watch_with_json_prints_one_object_per_line(make_tree: MakeTree) -> None:
    root = make_tree({"a.py": "class A: pass\n"})
    with Watching(str(root), "--json") as run:
        listing = json.loads(run.line())
        assert [c["class"] for c in listing["classes"]] == ["A"]
        (root / "a.py").unlink()
        assert json.loads(run.line()) == {
            "added": [],
            "changed": [],
            "removed": ["a"],
            "kept": [],
            "errors": [],
        }
        assert run.interrupt()[0] == 130


def test_watch_with_static_is_a_usage_error(make_tree: MakeTree) -> None:
    root = make_tree({"a.py": "class A: pass\n"})
    status, out, err = run_streams(str(root), "--watch", "--static")
    assert status == 2 and out == "" and "--static" in err


# -- --attrs and --where (docs/cli.md, docs/picking.md) ------------------------------

DECLARING = {
    "attr_base.py": "class Reader:\n    pass\n",
    "attr_csv.py": "from attr_base import Reader\n"
    "__plugin__ = {'name': 'CSV', 'tags': ['tabular', 'text']}\n"
    "class Csv(Reader):\n    extensions = ('.csv', '.tsv')\n    priority = 10\n"
    "    flags = {'fast': True}\n",
    "attr_bin.py": "from attr_base import Reader\n"
    "open(__file__ + '.ran', 'w').close()\n"
    "class Bin(Reader):\n    extensions = ('.bin',)\n    priority = 1\n    raw = b'x'\n"
    "    odd = {1: ..., 2j: {3, 1}}\n    inf = 1e999\n    loose = True\n",
}


def test_cli_attrs_shows_what_the_source_declares(make_tree: MakeTree) -> None:
    root = make_tree(DECLARING)
    for mode in ((), ("--static",)):
        status, out, _ = run_streams(str(root), "--attrs", *mode)
        assert status == 0
        lines = out.splitlines()
        assert lines[0].split() == ["MODULE", "CLASS", "BASES", "ATTRS", "FILE"]
        csv = next(line for line in lines if " Csv " in line)
        assert "extensions=('.csv', '.tsv'), priority=10, flags={'fast': True}" in csv
        base = next(line for line in lines if " Reader " in line)
        assert base.split()[3] == "-"
        status, out, _ = run_streams(str(root), "--attrs", "--json", *mode)
        document = json.loads(out)
        by_name = {c["class"]: c for c in document["classes"]}
        assert by_name["Csv"]["attrs"] == {
            "extensions": [".csv", ".tsv"],
            "priority": 10,
            "flags": {"fast": True},
        }
        # What JSON has no word for is written as Python writes it.
        assert by_name["Bin"]["attrs"] == {
            "extensions": [".bin"],
            "priority": 1,
            "raw": "b'x'",
            "odd": {"1": "Ellipsis", "2j": [1, 3]},
            "inf": "inf",
            "loose": True,
        }
        assert by_name["Reader"]["attrs"] == {}
    status, out, _ = run_streams(str(root), "--json")
    assert all("attrs" not in c for c in json.loads(out)["classes"])


def test_cli_where_keeps_the_matching_classes_and_imports_only_them(
    make_tree: MakeTree,
) -> None:
    root = make_tree(DECLARING)
    ran = root / "attr_bin.py.ran"
    for where, expected in [
        (["extensions=.csv"], ["Csv"]),  # held by a tuple
        (["priority=10"], ["Csv"]),  # a literal: an int
        (["priority='10'"], []),  # a string is not the int
        (["tags=text"], ["Csv"]),  # __plugin__, when the class does not declare it
        (["name=CSV", "extensions=.tsv"], ["Csv"]),  # all must hold
        (["name=CSV", "extensions=.bin"], []),
        (["flags=fast"], ["Csv"]),  # a dict holds its keys
        (["extensions=('.csv', '.tsv')"], ["Csv"]),  # equal as a whole
        (["extensions=.cs"], []),  # no substring
        (["missing=1"], []),
    ]:
        args = [str(root)] + [f"--where={w}" for w in where]
        status, out, _ = run_streams(*args, "--static", "--json")
        assert status == 0, where
        assert [c["class"] for c in json.loads(out)["classes"]] == expected, where
        status, out, _ = run_streams(*args, "--json")
        assert status == 0, where
        document = json.loads(out)
        assert [c["class"] for c in document["classes"]] == expected, where
        assert document["counts"]["modules"] == len(expected)
        assert not ran.exists(), where  # the other plugin never ran
    status, out, _ = run_streams(str(root), "--where", "loose=True", "--base", "Reader")
    assert status == 0 and " Bin " in out and ran.exists()
    ran.unlink()
    assert run_streams(str(root), "--where", "loose=1", "--static")[1].startswith("0 ")
    status, out, _ = run_streams(
        str(root), "--where", "priority=1", "--base", "attr_base:Reader", "--attrs"
    )
    assert status == 0 and "raw=b'x'" in out and "1 subclass of attr_base:Reader" in out


def test_cli_where_compares_at_every_depth_and_a_bare_base_imports_only_its_picks(
    make_tree: MakeTree,
) -> None:
    root = make_tree(
        {
            "base.py": "class Base:\n    pass\n",
            "one.py": "from base import Base\nclass One(Base):\n    tags = (1,)\n"
            "    name = 'csv'\n",
            "true.py": "from base import Base\nclass TrueOne(Base):\n    tags = (True,)\n",
            "helper.py": "open(__file__ + '.ran', 'w').close()\nclass Helper:\n    tags = (1,)\n",
        }
    )
    for where, expected in [
        ("tags=(1,)", ["One"]),  # (1,) is not (True,), as attrs keeps them
        ("tags=(True,)", ["TrueOne"]),
        ("tags=[1]", []),  # a list is not the tuple
        ("tags=True", ["TrueOne"]),
        ("name= csv", ["One"]),  # a string, as the shell left it, but for its spaces
    ]:
        for mode in (("--static",), ()):
            status, out, _ = run_streams(
                str(root), "--where", where, "--base", "Base", "--json", *mode
            )
            assert status == 0, where
            assert [c["class"] for c in json.loads(out)["classes"]] == expected, (where, mode)
    assert not (root / "helper.py.ran").exists()  # not derived from Base: never imported


def test_cli_attrs_json_keeps_keys_apart_that_only_json_would_merge(make_tree: MakeTree) -> None:
    root = make_tree({"a.py": "class A:\n    k = {1: 'int', '1': 'str'}\n"})
    status, out, _ = run_streams(str(root), "--attrs", "--json", "--static")
    assert status == 0
    [cls] = json.loads(out)["classes"]
    assert cls["attrs"] == {"k": {"1": "int", "'1'": "str"}}


@pytest.mark.parametrize("where", ["noequals", "=1", " =x", ""])
def test_cli_malformed_where_is_bad_usage(make_tree: MakeTree, where: str) -> None:
    root = make_tree(DECLARING)
    for mode in ((), ("--static",)):
        status, text = run_cli(str(root), "--where", where, *mode)
        assert status == 2
        assert "expected KEY=VALUE" in text and "Traceback" not in text
    assert not (root / "attr_bin.py.ran").exists()
