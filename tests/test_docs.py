"""The guide's examples run as written and print what the guide says."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import REPO, run_python

BLOCK = re.compile(r"^```(\w*)\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def test_guide_examples_print_what_the_guide_shows(tmp_path: Path) -> None:
    blocks = BLOCK.findall((REPO / "docs" / "guide.md").read_text())
    code = "\n".join(body for lang, body in blocks if lang == "python")
    expected = "".join(body for lang, body in blocks if lang == "")
    result = run_python(code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert expected.count("\n") > 10  # the guide shows its output
    assert result.stdout == expected


def test_readme_links_work_on_the_package_index_page() -> None:
    # PyPI shows README.md without the repository around it: every link is absolute,
    # and each one into the docs site names a page that exists in docs/.
    site = "https://pyarmory-pike.readthedocs.io/en/latest/"
    links = re.findall(r"\]\(([^)]+)\)", (REPO / "README.md").read_text())
    assert links, "the README links to the docs"
    for link in links:
        assert link.startswith("https://"), link
        if link.startswith(site):
            page = link.removeprefix(site).strip("/") or "index"
            assert (REPO / "docs" / f"{page}.md").exists(), link
