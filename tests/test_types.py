"""Types as a user meets them: a typed program that mypy --strict accepts, one it rejects."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO

pytest.importorskip("mypy", reason="mypy comes with the test extras")

ACCEPTED = """
    from pathlib import Path
    from typing import Any

    from pike import DriverManager, ExtensionManager, PikeManager, PluginError
    from pike.discovery import static
    from pike.named import extension


    class Driver:
        def get_name(self) -> str:
            return "base"


    def drivers(folder: Path) -> list[type[Driver]]:
        with PikeManager([folder, "more"], on_error="collect", trust="owner") as mgr:
            found: list[type[Driver]] = mgr.get_all_inherited_classes(Driver)
            errors: list[PluginError] = mgr.errors
            print(len(errors))
            return found


    def one(folder: str) -> object:
        m: DriverManager[Driver]
        with DriverManager("app.drivers", "fast", search_paths=[folder], on_error="raise") as m:
            return m.driver


    def listed(folder: str) -> list[str]:
        manager: ExtensionManager[Any]
        manager = ExtensionManager("app.ext", search_paths=folder, invoke_on_load=True)
        return [ext.name for ext in manager] + [c.name for c in static.list_classes(folder)]


    def formatted(ext: extension.Extension[Driver], data: dict[str, str], /) -> str:
        assert ext.obj is not None
        return ext.obj.get_name() + ext.entry_point_target
"""

REJECTED = """
    from pike import DriverManager, PikeManager

    PikeManager(42)
    PikeManager([b"bytes"])
    PikeManager("plugins", on_error="sometimes")
    DriverManager("group", "name", no_such_option=True)
    x: int = PikeManager("plugins").get_classes()
"""


def run_mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    program = tmp_path / "program.py"
    program.write_text(textwrap.dedent(source))
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary",
         "--cache-dir", str(tmp_path / "cache"), str(program)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False,
        env={"MYPYPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip


def test_types_a_typed_program_using_pike_passes_mypy_strict(tmp_path: Path) -> None:
    result = run_mypy(tmp_path, ACCEPTED)
    assert result.returncode == 0, result.stdout + result.stderr


def test_types_mypy_strict_rejects_wrong_calls(tmp_path: Path) -> None:
    result = run_mypy(tmp_path, REJECTED)
    assert result.returncode == 1
    lines = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert [int(line.split(":")[1]) for line in lines] == [4, 5, 6, 7, 8], result.stdout
