"""stevedore-style code type-checks as it does against stevedore 5.10: mypy --strict and
pyright (default and strict) accept tests/typing_samples/stevedore_style.py with no
annotation a stevedore program would not have, and catch the typo in typo.py.

The managers and ``Extension`` are generic with a default (``Any``) that only the type
checkers see: ``import pike.named`` never imports typing_extensions.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, run_python

SAMPLES = Path(__file__).resolve().parent / "typing_samples"
SAMPLE = SAMPLES / "stevedore_style.py"
TYPO = SAMPLES / "typo.py"


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache for the module's runs (pike's own modules are checked once)."""
    return tmp_path_factory.mktemp("mypy-cache")


def run_mypy(tmp_path: Path, cache: Path, sample: Path) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("mypy", reason="mypy comes with the test extra")
    program = tmp_path / sample.name
    shutil.copy(sample, program)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary",
         "--cache-dir", str(cache), str(program)],
        capture_output=True, text=True, cwd=tmp_path, timeout=600, check=False,
        env={"MYPYPATH": str(REPO), "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
    )  # fmt: skip


def run_pyright(tmp_path: Path, sample: Path, mode: str | None) -> list[dict[str, object]]:
    """pyright's diagnostics of ``sample``: in its default mode (None) or ``"strict"``."""
    pytest.importorskip(
        "pyright", reason="pyright (the PyPI package) is not installed; the test extra brings it"
    )
    shutil.copy(sample, tmp_path / sample.name)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    config: dict[str, object] = {
        "include": [sample.name],
        "extraPaths": [str(REPO)],
        "pythonVersion": version,
    }
    if mode is not None:
        config["typeCheckingMode"] = mode
    (tmp_path / "pyrightconfig.json").write_text(json.dumps(config))
    result = subprocess.run(
        [sys.executable, "-m", "pyright", "--outputjson", "--pythonpath", sys.executable,
         "-p", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=600, check=False,
    )  # fmt: skip
    start = result.stdout.find("{")
    assert start >= 0, result.stdout + result.stderr
    report = json.loads(result.stdout[start:])
    diagnostics: list[dict[str, object]] = report["generalDiagnostics"]
    assert report["summary"]["filesAnalyzed"] == 1, result.stdout
    return diagnostics


def shown(diagnostics: list[dict[str, object]]) -> str:
    return "\n".join(f"{d.get('range')}: {d.get('rule')}: {d.get('message')}" for d in diagnostics)


# -- mypy --strict -------------------------------------------------------------------------


def test_a_stevedore_style_program_passes_mypy_strict(tmp_path: Path, mypy_cache: Path) -> None:
    result = run_mypy(tmp_path, mypy_cache, SAMPLE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_mypy_strict_catches_a_typo_of_a_drivers_method(tmp_path: Path, mypy_cache: Path) -> None:
    result = run_mypy(tmp_path, mypy_cache, TYPO)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert errors, result.stdout
    assert all("typo.py:11:" in line for line in errors), result.stdout
    assert all('has no attribute "get_nme"' in line for line in errors), result.stdout
    assert any(line.endswith(("[union-attr]", "[attr-defined]")) for line in errors)


# -- pyright -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [None, "strict"], ids=["default", "strict"])
def test_a_stevedore_style_program_passes_pyright(tmp_path: Path, mode: str | None) -> None:
    diagnostics = run_pyright(tmp_path, SAMPLE, mode)
    assert diagnostics == [], shown(diagnostics)


@pytest.mark.parametrize("mode", [None, "strict"], ids=["default", "strict"])
def test_pyright_catches_a_typo_of_a_drivers_method(tmp_path: Path, mode: str | None) -> None:
    diagnostics = run_pyright(tmp_path, TYPO, mode)
    errors = [d for d in diagnostics if d.get("severity") == "error"]
    attribute = [d for d in errors if d.get("rule") == "reportAttributeAccessIssue"]
    assert attribute, shown(diagnostics)
    assert all('"get_nme"' in str(d.get("message")) for d in attribute), shown(diagnostics)


# -- at run time ---------------------------------------------------------------------------


def test_the_type_parameters_cost_nothing_at_run_time() -> None:
    result = run_python(
        """
        import sys
        import pike, pike.named
        from pike.named import DriverManager, Extension, ExtensionManager, HookManager
        from pike.named.extension import ConflictResolverT, OnLoadFailureCallbackT

        assert "typing_extensions" not in sys.modules, "typing_extensions imported"

        class Driver:
            pass

        # Subscripted as the type checkers read them, and as a program may at run time.
        print(DriverManager[Driver].__origin__ is DriverManager)
        print(Extension[Driver].__origin__ is Extension, ExtensionManager[Driver] is not None)
        print(OnLoadFailureCallbackT[Driver] is not None, ConflictResolverT[Driver] is not None)
        print(HookManager[Driver].__origin__ is HookManager)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True"] * 6
