"""The layers are a checked contract: entry points → API → use cases → core → storage, one way down.

Read from the source with ``ast`` (every import counts, also those inside functions, which is where
batchctl imports its heavy parts), so the test needs nothing installed beyond the project.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "batchctl"

# Highest first. A module may import its own layer and the layers below it, never one above.
# Modules not named here are "core" (lifecycle, store, leases, strategy, registry, catalog, …).
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("entry points", ("batchctl.cli", "batchctl.http", "batchctl.__main__")),
    ("the package facade", ()),  # batchctl/__init__.py: lazy public names from any layer
    ("api", ("batchctl.client", "batchctl.worker")),
    ("use cases", ("batchctl.service", "batchctl.operations", "batchctl.runner", "batchctl.schedule_service")),
    ("core", ()),
    # bounds: the ranges of numbers, with only errors beneath it, so that config can check settings with it.
    ("storage", ("batchctl.db", "batchctl.config", "batchctl.masking", "batchctl.errors", "batchctl.bounds")),
]
CORE = next(index for index, (name, _) in enumerate(LAYERS) if name == "core")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    if module == "batchctl":
        return 1
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return index
    return CORE


def sources() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" not in path.parts:
            yield module_name(path), path


def imports_of(path: Path, module: str) -> set[str]:
    """Every batchctl module ``path`` imports, anywhere in the file."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from batchctl import service`
    known = {name for name, _ in sources()}
    # The package itself is no edge: ``from batchctl import store`` runs batchctl/__init__.py, whose public
    # names are lazy (nothing is imported until one is used).
    return {name for name in found if name in known and name not in (module, "batchctl")}


GRAPH = {name: imports_of(path, name) for name, path in sources()}


def reachable(start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in GRAPH.get(todo.pop(), set()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_the_graph_was_read() -> None:
    assert "batchctl.client" in GRAPH["batchctl.cli.jobs"]
    assert "batchctl.db" in GRAPH["batchctl.store"]


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_no_module_imports_a_layer_above_its_own(module: str) -> None:
    upward = sorted(target for target in GRAPH[module] if layer_of(target) < layer_of(module))
    assert upward == [], f"{module} ({LAYERS[layer_of(module)][0]}) imports from above: {upward}"


def test_nothing_under_cli_imports_the_database_layer() -> None:
    cli = [name for name in GRAPH if name == "batchctl.cli" or name.startswith("batchctl.cli.")]
    assert cli, "the CLI modules were found"
    assert {name: GRAPH[name] & {"batchctl.db"} for name in cli if "batchctl.db" in GRAPH[name]} == {}


def test_the_worker_never_reaches_the_service_the_cli_or_the_client() -> None:
    forbidden = {name for name in GRAPH if layer_of(name) == 0} | {"batchctl.service", "batchctl.client"}
    assert sorted(reachable("batchctl.worker") & forbidden) == []
