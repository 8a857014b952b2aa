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
import textwrap
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
    # stevedore's default: a plugin that fails to load is logged and skipped, and the
    # program has not configured logging, so nothing is printed (stevedore's logger has
    # a NullHandler, which keeps Python's last-resort handler quiet).
    assert result.stderr == ""


def run_in(site: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(REPO)]))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


def test_records_are_silent_until_the_program_configures_logging(tmp_path: Path) -> None:
    install(tmp_path)
    result = run_in(
        tmp_path,
        """
        import sys
        from pike.named import ExtensionManager, NamedExtensionManager

        # 'broken' fails to load (ERROR), 'missing' is not there (WARNING): both logged.
        print(ExtensionManager("acme.formatters").names())
        print(NamedExtensionManager("acme.formatters", names=["missing"]).names())
        print("logging" in sys.modules)

        import logging

        # oslo-config-generator's format: the records are stevedore's, by name.
        logging.basicConfig(format="%(levelname)s:%(name)s:%(message)s")
        ExtensionManager("acme.formatters")
        NamedExtensionManager("acme.formatters", names=["missing"])
        """,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["['fields', 'simple', 'upper']", "[]", "True"]
    assert result.stderr.splitlines() == [
        "ERROR:stevedore.extension:Could not load 'broken': No module named 'acme_missing'",
        "WARNING:stevedore.named:Could not load missing",
    ]


def test_the_stevedore_loggers_level_is_obeyed(tmp_path: Path) -> None:
    install(tmp_path)
    result = run_in(
        tmp_path,
        """
        import logging
        from pike.named import ExtensionManager, NamedExtensionManager

        logging.basicConfig(format="%(levelname)s:%(name)s:%(message)s")
        logging.getLogger("stevedore").setLevel(logging.ERROR)  # as osc-lib does
        NamedExtensionManager("acme.formatters", names=["missing"])  # the warning: not shown
        ExtensionManager("acme.formatters")  # an error still is
        logging.getLogger("stevedore").setLevel(logging.CRITICAL)
        ExtensionManager("acme.formatters")
        """,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "ERROR:stevedore.extension:Could not load 'broken': No module named 'acme_missing'"
    ]


def test_a_load_that_logs_nothing_imports_no_logging(tmp_path: Path) -> None:
    install(tmp_path)
    result = run_in(
        tmp_path,
        """
        import sys
        from pike.named import DriverManager, NamedExtensionManager

        DriverManager("acme.formatters", "simple")
        NamedExtensionManager("acme.formatters", names=["fields", "upper"])
        print("logging" in sys.modules)
        """,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False"]
