"""examples/: the two walkthroughs of "A Look at two Python Plugin Managers: Stevedore and
Pike", run as scripts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

EXAMPLES = REPO / "examples"
STEVEDORE_LINES = [
    "<class 'drivers.my_driver.SimpleDriver1'>",
    "This is SimpleDriver1",
    None,  # the list of Extension records
    "This is SimpleExtension1",
    "This is SimpleExtension2",
]


def run_script(script: Path, *paths: Path) -> list[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*(str(p) for p in paths), str(REPO)])
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def check_stevedore_output(lines: list[str]) -> None:
    assert len(lines) == len(STEVEDORE_LINES)
    for line, expected in zip(lines, STEVEDORE_LINES, strict=True):
        if expected is not None:
            assert line == expected
    # Where stevedore prints two object addresses, pike's Extension says what it is.
    assert lines[2] == (
        "[<Extension 'simple_ext1' = 'extensions.my_ext:SimpleExtension1'>, "
        "<Extension 'simple_ext2' = 'extensions.my_ext:SimpleExtension2'>]"
    )


def test_pike_style_walkthrough() -> None:
    lines = run_script(EXAMPLES / "pike_style" / "main.py")
    assert lines == [
        "[<class 'my_driver.SimpleDriver'>, <class 'my_other_driver.MyOtherDriver'>]",
        "This is SimpleDriver",
        "This is MyOtherDriver",
    ]


def test_stevedore_style_from_an_installed_distribution(tmp_path: Path) -> None:
    # What `pip install examples/stevedore_style` leaves for the entry points.
    info = tmp_path / "pike_example_stevedore_style-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: pike-example-stevedore-style\nVersion: 1.0\n"
    )
    source = EXAMPLES / "stevedore_style" / "entry_points.txt"
    (info / "entry_points.txt").write_text(source.read_text())
    lines = run_script(EXAMPLES / "stevedore_style" / "main.py", tmp_path)
    check_stevedore_output(lines)


def test_stevedore_style_from_a_drop_in_folder() -> None:
    lines = run_script(EXAMPLES / "stevedore_style" / "main_drop_in.py")
    check_stevedore_output(lines)
