"""The shape of the code: the layers of docs/design.md hold, nothing reaches into another
module's private names, and nothing cites a specification the repository does not hold
(docs/design.md, "Layers")."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import REPO

PIKE = REPO / "pike"


def _layers() -> list[list[str]]:
    """The layers, top first, as docs/design.md lists them: each a list of paths."""
    text = (REPO / "docs" / "design.md").read_text()
    block = text.split("<!-- layers -->", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    return [line.split()[1:] for line in block.strip().splitlines()]


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """``(module, names)`` of each ``import``/``from ... import`` of a pike module in ``path``."""
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "pike" or node.module.startswith("pike."):
                found.append((node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.partition(".")[0] == "pike"]
    return found


def _target(module: str, name: str) -> str:
    """The module a ``from module import name`` reaches: ``name`` itself if it is one."""
    candidate = f"{module}.{name}"
    path = REPO.joinpath(*candidate.split("."))
    return (
        candidate if path.with_suffix(".py").exists() or (path / "__init__.py").exists() else module
    )


def _layer_of() -> dict[str, int]:
    where: dict[str, int] = {}
    for rank, paths in enumerate(_layers()):
        for listed in paths:
            target = REPO / listed
            files = sorted(target.rglob("*.py")) if target.is_dir() else [target]
            for file in files:
                where[_module_name(file)] = rank
    return where


def test_every_module_has_its_layer_and_imports_only_below_it() -> None:
    layer = _layer_of()
    modules = {_module_name(p): p for p in PIKE.rglob("*.py")}
    assert sorted(modules) == sorted(layer), "docs/design.md's layers and pike/ differ"
    upward = []
    for name, path in modules.items():
        for module, names in _imports(path):
            for target in {_target(module, n) for n in names} or {module}:
                if layer[target] < layer[name]:
                    upward.append(f"{name} -> {target}")
    assert upward == []


def test_the_imports_have_no_circle() -> None:
    modules = {_module_name(p): p for p in PIKE.rglob("*.py")}
    graph = {
        name: {t for m, ns in _imports(path) for t in ({_target(m, n) for n in ns} or {m})}
        for name, path in modules.items()
    }
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node] - {node}):
            assert state.get(nxt) != 1, " -> ".join([*trail, node, nxt])
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])


def test_no_module_uses_another_modules_private_names() -> None:
    found = []
    for path in PIKE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        modules = set()  # names bound to pike modules in this file
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module.partition(".")[0] != "pike":
                    continue
                for alias in node.names:
                    private = alias.name.startswith("_") and not alias.name.startswith("__")
                    if private and _target(node.module, alias.name) == node.module:
                        found.append(f"{path.name}: from {node.module} import {alias.name}")
                    if _target(node.module, alias.name) != node.module:
                        modules.add(alias.asname or alias.name)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                found.append(f"{path.name}: {node.value.id}.{node.attr}")
    assert found == []


CLAUSE = re.compile(r"\bC(1[0-7]|[1-9])\b")


def test_nothing_cites_a_specification_outside_the_repository() -> None:
    places = [REPO / "README.md", REPO / "CHANGELOG.md", REPO / "pike", REPO / "docs"]
    places += [REPO / "tests", REPO / "benchmarks", REPO / "examples"]
    cited = []
    for place in places:
        files = [place] if place.is_file() else sorted(place.rglob("*"))
        for file in files:
            if file.suffix not in (".py", ".md", ".txt", ".toml", ".yml") or file == Path(__file__):
                continue
            for number, line in enumerate(file.read_text().splitlines(), 1):
                if CLAUSE.search(line):
                    cited.append(f"{file.relative_to(REPO)}:{number}: {line.strip()}")
    assert cited == []
    assert [p.name for p in (REPO / "tests").glob("test_c[0-9]*.py")] == []
