"""pike's CI sessions; .ci/run runs them all after the README's test command.

    nox -l                 # the sessions
    nox -s tests-3.12      # one of them
    nox -s coverage -- -k refresh

The suite on every Python the classifiers claim, the suite under coverage with its
floor, lint and types, the distributions and the source distribution's own suite,
the docs site, the README's main command and the command line, the benchmark in
quick mode.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import nox

nox.options.error_on_missing_interpreters = True  # a claimed Python not found fails the run

ROOT = Path(__file__).resolve().parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
PYTHONS = nox.project.python_versions(PYPROJECT)  # from the classifiers
MAIN = "3.11"
PYTEST = ("-q", "-p", "no:cacheprovider")
COVERAGE = (
    "--cov=pike",
    "--cov-branch",
    "--cov-report=term-missing:skip-covered",
    "--cov-fail-under=95",
)


def _extra(extra: str, *names: str) -> list[str]:
    """The requirements of an extra in pyproject.toml whose names start with ``names``."""
    requirements: list[str] = PYPROJECT["project"]["optional-dependencies"][extra]
    return [r for r in requirements if r.startswith(names)]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The suite on each Python the classifiers claim."""
    session.install("-e", ".[test]")
    session.run("pytest", *PYTEST, *session.posargs)


@nox.session(python=MAIN)
def coverage(session: nox.Session) -> None:
    """The suite under branch coverage, with its floor."""
    session.install("-e", ".[test]")
    session.run("pytest", *PYTEST, *COVERAGE, *session.posargs)


@nox.session(python=MAIN)
def lint(session: nox.Session) -> None:
    """ruff's checks and format, mypy --strict."""
    session.install(
        *_extra("dev", "ruff"),
        *_extra("test", "mypy"),
        *_extra("watch", "watchfiles"),
        *PYPROJECT["project"]["dependencies"],  # packaging, which mypy reads pike's use of
    )
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "--strict", "pike")


@nox.session(python=MAIN)
def sdist(session: nox.Session) -> None:
    """Both distributions built and checked; the sdist holds what git tracks and
    reports the version it was built with, unpacked where no git is; its own suite
    passes with plain pytest; a bare export of the tree (no git, no PKG-INFO) builds."""
    session.install(*_extra("dev", "build", "twine"))
    work = Path(tempfile.mkdtemp(prefix="pike-sdist-"))  # outside the checkout: no git above
    dist = work / "dist"
    session.run(
        "python", "-m", "build", "--sdist", "--wheel", "--outdir", str(dist), ".", silent=True
    )
    [tarball] = dist.glob("*.tar.gz")
    [wheel] = dist.glob("*.whl")
    session.run("twine", "check", "--strict", str(tarball), str(wheel))
    built_version = wheel.name.split("-")[1]

    tracked = _tracked()
    if tracked is None:
        session.warn("not a git checkout: the sdist's files and a bare export are not checked")
    else:
        _check_files(session, tarball, tracked)

    root = _unpack(tarball, work / "unpacked")
    venv = work / "venv"
    session.run("python", "-m", "venv", str(venv))
    python, pytest = str(venv / "bin" / "python"), str(venv / "bin" / "pytest")
    with session.chdir(root):
        session.run(python, "-m", "pip", "install", "--quiet", ".[test]", external=True)
        session.run(pytest, external=True)
    with session.chdir(work):  # the installed copy answers, not the unpacked tree
        version = session.run(
            python, "-c", "import pike; print(pike.__version__)", external=True, silent=True
        )
    pkg_info = (root / "PKG-INFO").read_text(encoding="utf-8")
    reported = {
        "wheel built from git": built_version,
        "PKG-INFO": _field(pkg_info, "Version"),
        "installed from the unpacked sdist": str(version).strip(),
    }
    session.log(f"versions: {reported}")
    if len(set(reported.values())) != 1:
        session.error(f"the versions differ: {reported}")

    if tracked is not None:
        export = work / "export"
        export.mkdir()
        archive = work / "export.tar"
        session.run("git", "archive", "--format=tar", "-o", str(archive), "HEAD", external=True)
        with tarfile.open(archive) as tar:
            _extract(tar, export)
        wheels = work / "export-dist"
        session.run(
            python,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            str(wheels),
            str(export),
            external=True,
        )
        [exported] = wheels.glob("*.whl")
        # pyproject.toml's fallback_version, read as text (nox may run on 3.10: no tomllib)
        pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
        [fallback] = re.findall(r'^fallback_version = "([^"]+)"$', pyproject, re.MULTILINE)
        if exported.name.split("-")[1] != fallback:
            session.error(
                f"a bare export built as {exported.name}, not the fallback version {fallback}"
            )
    shutil.rmtree(work)  # kept when the session fails, to look at


@nox.session(python=MAIN)
def docs(session: nox.Session) -> None:
    """The docs site, built strictly (broken links and references fail)."""
    session.install("-e", ".[docs]")
    site = Path(tempfile.mkdtemp(prefix="pike-site-"))
    session.run("mkdocs", "build", "--strict", "--site-dir", str(site))
    # Cross-references render as links, and code is highlighted when the site is built.
    for page, text in [
        ("reference/index.html", 'class="autorefs autorefs-internal"'),
        ("guide/index.html", '<span class="kn">from</span>'),
    ]:
        if text not in (site / page).read_text(encoding="utf-8"):
            session.error(f"{page} has no {text!r}")
    shutil.rmtree(site)


@nox.session(python=MAIN)
def cli(session: nox.Session) -> None:
    """The README's main command with nothing installed; then the installed script."""
    session.run("python", "-m", "pike", "sample_plugins")
    session.install("-e", ".")
    session.run("pike", "--version")
    session.run("pike", "sample_plugins", silent=True)


@nox.session(python=MAIN)
def benchmark(session: nox.Session) -> None:
    """The benchmark in quick mode (keeps it working; asserts nothing about time)."""
    session.install("-e", ".[watch]")
    scratch = tempfile.mkdtemp(prefix="pike-bench-")
    session.run("python", "benchmarks/run.py", "--quick", "--scratch", scratch)
    shutil.rmtree(scratch)


def _tracked() -> set[str] | None:
    """The files git tracks that are on disk, or None outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    names = {name.decode() for name in out.split(b"\0") if name}
    return {name for name in names if (ROOT / name).is_file()}


def _check_files(session: nox.Session, tarball: Path, tracked: set[str]) -> None:
    """The sdist holds exactly the tracked files, besides what the build writes."""
    with tarfile.open(tarball) as tar:
        names = {m.name.split("/", 1)[1] for m in tar.getmembers() if not m.isdir()}
    written = {"PKG-INFO", "setup.cfg", "pike/_version.txt"}
    extra = {n for n in names - tracked - written if not n.startswith("pike.egg-info/")}
    missing = tracked - names
    if extra or missing:
        session.error(
            f"sdist: not tracked by git {sorted(extra)}; tracked, left out {sorted(missing)}"
        )


def _unpack(tarball: Path, into: Path) -> Path:
    with tarfile.open(tarball) as tar:
        _extract(tar, into)
    [root] = into.iterdir()
    return root


def _extract(tar: tarfile.TarFile, into: Path) -> None:
    if hasattr(tarfile, "data_filter"):  # Python 3.10.12, 3.11.4 and later
        tar.extractall(into, filter="data")
    else:
        tar.extractall(into)


def _field(pkg_info: str, name: str) -> str:
    for line in pkg_info.splitlines():
        key, _, value = line.partition(": ")
        if key == name:
            return value
    return ""
