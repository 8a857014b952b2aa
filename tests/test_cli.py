"""The command line: python -m pike PATH [PATH ...]."""

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
    out = io.StringIO()
    return main(list(args), out=out), out.getvalue()


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


def test_cli_missing_folder_in_process(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    status, text = run_cli(f"{tmp_path}/nope")
    assert status == 2
    assert text == ""
    assert "does not exist" in capsys.readouterr().err


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
    assert "sample_plugins/drafts: directory without __init__.py" in result.stdout


def test_cli_sourceless_module_has_no_line(make_tree: MakeTree) -> None:
    import py_compile

    root = make_tree({"src.py": "class FromPyc: pass\n"})
    py_compile.compile(str(root / "src.py"), cfile=str(root / "bin_only.pyc"))
    (root / "src.py").unlink()
    status, text = run_cli(str(root))
    assert status == 0
    row = next(line for line in text.splitlines() if "FromPyc" in line)
    assert row.endswith("bin_only.pyc")


def test_cli_source_that_no_longer_parses_has_no_line(make_tree: MakeTree) -> None:
    root = make_tree(
        {"rewrites.py": "class R: pass\nwith open(__file__, 'w') as f:\n    f.write('(')\n"}
    )
    status, text = run_cli(str(root))
    assert status == 0
    assert next(line for line in text.splitlines() if " R " in line).endswith("rewrites.py")


def test_cli_module_entry_point(make_tree: MakeTree, monkeypatch: pytest.MonkeyPatch) -> None:
    import runpy

    root = make_tree({"entry_mod.py": "class E: pass\n"})
    monkeypatch.setattr(sys, "argv", ["pike", str(root)])
    with pytest.raises(SystemExit) as info:
        runpy.run_module("pike", run_name="__main__")
    assert info.value.code == 0


# -- C11 options ----------------------------------------------------------------------

FOLDER = {
    "bases.py": "class Driver: pass\nclass Extension: pass\n",
    "drivers.py": "from bases import Driver\nclass Fast(Driver): pass\nclass Slow(Driver): pass\n",
    "exts.py": "from bases import Extension\nclass Loud(Extension): pass\n",
}


def class_names(text: str) -> list[str]:
    lines = text.split("\n\n", maxsplit=1)[0].splitlines()[1:]
    return [line.split()[1] for line in lines]


def test_c11_base_module_colon_class(make_tree: MakeTree) -> None:
    root = make_tree(FOLDER)
    status, text = run_cli(str(root), "--base", "bases:Driver")
    assert status == 0
    assert class_names(text) == ["Fast", "Slow"]
    assert "2 subclasses of bases:Driver in 3 modules" in text
    assert run_cli(str(root), "--base", "bases.Extension")[1].count("Loud") == 1


def test_c11_base_from_an_importable_host_module(make_tree: MakeTree) -> None:
    root = make_tree({"errs.py": "class MyError(ValueError): pass\nclass Other: pass\n"})
    status, text = run_cli(str(root), "--base", "builtins:ValueError")
    assert status == 0
    assert class_names(text) == ["MyError"]


def test_c11_bare_class_name_in_both_modes(make_tree: MakeTree) -> None:
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
def test_c11_bad_base_is_usage_error(
    make_tree: MakeTree, capsys: pytest.CaptureFixture[str], base: str, message: str
) -> None:
    root = make_tree(FOLDER)
    status, text = run_cli(str(root), "--base", base)
    assert status == 2
    assert text == ""
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_c11_static_runs_nothing(make_tree: MakeTree, tmp_path: object) -> None:
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


def test_c11_static_parse_error_exits_1(make_tree: MakeTree) -> None:
    root = make_tree({**FOLDER, "broken.py": "class (:\n"})
    status, text = run_cli(str(root), "--static")
    assert status == 1
    assert "Errors (1):" in text
    assert "cannot be parsed" in text


def test_c11_json_shape(make_tree: MakeTree) -> None:
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
    }
    [error] = doc["errors"]
    assert (error["module"], error["kind"], error["line"]) == ("bad", "import", 1)
    assert error["file"] == str(root / "bad.py")
    assert doc["skipped"] == [
        {"path": str(root / "bad-name.py"), "reason": doc["skipped"][0]["reason"]}
    ]
    assert doc["counts"] == {"classes": 2, "modules": 3, "errors": 1, "skipped": 1}


def test_c11_json_static_and_collisions(make_tree: MakeTree) -> None:
    root = make_tree({**FOLDER, "json.py": "class Shadow: pass\n"})
    doc = json.loads(run_cli(str(root), "--json")[1])
    assert [e["kind"] for e in doc["errors"]] == ["collision"]
    doc = json.loads(run_cli(str(root), "--json", "--static")[1])
    assert doc["mode"] == "static"
    assert doc["classes"][2]["bases"] == ["Driver"]  # as written in the source


def test_c11_missing_folder_in_static_mode(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = run_cli(f"{tmp_path}/nope", "--static")
    assert status == 2
    assert "does not exist" in capsys.readouterr().err


def test_c11_help_lists_options_and_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run_cli("--help")
    text = capsys.readouterr().out
    for word in ("--base", "--static", "--json", "MODULE:CLASS", "examples:", "exit status"):
        assert word in text


def test_c11_closed_pipe_is_quiet(make_tree: MakeTree) -> None:
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
