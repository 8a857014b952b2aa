"""pike.__version__: read on first use from the file the build writes from git tags
(pyproject.toml, [tool.setuptools_scm]), else from the installed distribution, and
never at ``import pike.manager``."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import pytest

import pike
from tests.conftest import REPO, run_python

# PEP 440, public and local parts (its appendix's pattern, without epochs and the spellings
# it normalises away).
VERSION = re.compile(
    r"\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?(\+[a-z0-9]+(\.[a-z0-9]+)*)?"
)


def _fresh(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """pike reads its version again, from ``folder``."""
    monkeypatch.delitem(vars(pike), "__version__", raising=False)
    monkeypatch.setattr(pike, "__path__", [str(folder)])


def test_the_version_is_a_pep_440_one_and_the_installed_distributions() -> None:
    assert VERSION.fullmatch(pike.__version__), pike.__version__
    try:
        installed = importlib.metadata.version("pike")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run uninstalled
        pytest.skip("pike is not installed")
    assert pike.__version__ == installed


def test_the_version_is_read_from_the_file_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "_version.txt").write_text("3.1.0.dev4+gabc1234\n")
    _fresh(monkeypatch, tmp_path)
    assert pike.__version__ == "3.1.0.dev4+gabc1234"
    (tmp_path / "_version.txt").write_text("9.9.9\n")
    assert pike.__version__ == "3.1.0.dev4+gabc1234"
    assert vars(pike)["__version__"] == "3.1.0.dev4+gabc1234"


def test_without_the_file_the_installed_distribution_answers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _fresh(monkeypatch, tmp_path)
    monkeypatch.setattr(importlib.metadata, "version", lambda name: f"{name} 4.0.0")
    assert pike.__version__ == "pike 4.0.0"


def test_neither_file_nor_distribution_gives_the_builds_fallback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    _fresh(monkeypatch, tmp_path)
    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert pike.__version__ == "0+unknown"
    # A build without git or tags has a version all the same: the development line's.
    assert re.search(
        r'^fallback_version = "\d+\.\d+\.\d+\.dev0"$',
        (REPO / "pyproject.toml").read_text(),
        re.MULTILINE,
    )


def test_importing_the_manager_reads_no_version_and_no_metadata() -> None:
    result = run_python(
        """
        import sys
        import pike.manager
        print(sorted(m for m in ("importlib.metadata", "pike.named") if m in sys.modules))
        print("__version__" in vars(pike))
        """,
        "-S",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["[]", "False"]


def test_the_version_file_is_read_without_importlib_metadata() -> None:
    if not (REPO / "pike" / "_version.txt").exists():  # pragma: no cover - never built
        pytest.skip("pike/_version.txt is written when pike is built or installed")
    result = run_python(
        """
        import sys
        import pike
        print(pike.__version__)
        print("importlib.metadata" in sys.modules)
        """,
        "-S",
    )
    assert result.returncode == 0, result.stderr
    version, metadata = result.stdout.split("\n")[:2]
    assert version == (REPO / "pike" / "_version.txt").read_text().strip()
    assert metadata == "False"
