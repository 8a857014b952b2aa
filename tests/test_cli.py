"""The command line: python -m pike PATH [PATH ...]."""

from __future__ import annotations

import io
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
