"""A stevedore program runs unchanged but for its imports (docs/design.md, "Named plugins").

tests/programs/stevedore_app.py uses drivers, extensions, named and enabled
managers, hooks, dispatch, exceptions and test instances, as a stevedore
program does. Its expected output below is what it prints with stevedore 5.10
itself (run once by hand with the same distributions installed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

PROGRAMS = Path(__file__).resolve().parent / "programs"
EXPECTED = [
    "driver: a=one;b=two; | Simple",
    "driver call: simple=a=one;b=two;",
    "names: fields | simple | upper",
    "map: fields=:a: one :b: two  | simple=a=one;b=two; | upper=A=ONE;B=TWO;",
    "map_method: :k: v  | k=v; | K=V;",
    "items: fields:acme_formatters:Fields | simple:acme_formatters:Simple"
    " | upper:acme_formatters:Upper",
    "entry points: broken | fields | simple | upper",
    "contains: True | False",
    "module: acme_formatters | Fields",
    "named: upper | simple",
    "enabled: fields | simple",
    "hooks: backed up doc | logged doc",
    "hook list: 2",
    "dispatch: fields=:a: one :b: two ",
    "name dispatch: upper=A=ONE;B=TWO; | simple=a=one;b=two;",
    "no driver: NoMatches | True",
    "no extensions: No acme.nothing extensions found",
    "errors eaten: []",
    "errors propagated: fields",
    "failures: broken",
    "test instance: FAKE | TESTING",
]


def install(site: Path) -> None:
    """What pip leaves for two distributions: acme-formats and acme-logging."""
    shutil.copy(PROGRAMS / "formatters.py", site / "acme_formatters.py")
    for name, points in (
        ("acme_formats", (PROGRAMS / "entry_points.txt").read_text()),
        ("acme_logging", "[acme.hooks]\non_save = acme_formatters:on_save_log\n"),
    ):
        info = site / f"{name}-1.0.dist-info"
        info.mkdir()
        dist = name.replace("_", "-")
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(points)


def test_a_stevedore_program_runs_with_only_its_imports_changed(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    site.mkdir()
    install(site)
    source = (PROGRAMS / "stevedore_app.py").read_text()
    ported = source.replace("from stevedore import", "from pike.named import")
    assert ported.count("from pike.named import") == 1 and "from stevedore" not in ported
    program = tmp_path / "app.py"
    program.write_text(ported)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(REPO)]))
    result = subprocess.run(
        [sys.executable, str(program)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == EXPECTED
    # stevedore's default: a plugin that fails to load is logged (here, Python's
    # last-resort handler on stderr) and skipped.
    assert "Could not load 'broken'" in result.stderr
