"""The packages import each other only downwards, as the README's layout section says.

The graph is read from the source with `ast` (every import statement, at module level or inside
a function, under `TYPE_CHECKING` too), so a late import cannot hide an edge. `ALLOWED` is the
table written down in the README: a new edge needs a line there and a reason.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: What each package may import of ours. `ui` takes data types and pure helpers from below
#: (models, error classes, formatting), never a service call.
ALLOWED: dict[str, frozenset[str]] = {
    "bot": frozenset(
        {
            "handlers",
            "ui",
            "config",
            "ai",
            "scheduler",
            "metrics",
            "automation",
            "publishers",
            "storage",
        }
    ),
    "handlers": frozenset(
        {"ui", "config", "ai", "scheduler", "metrics", "automation", "publishers", "storage"}
    ),
    "ui": frozenset({"ai", "scheduler", "metrics", "publishers", "storage"}),
    # validators: clock times, the SQLite path, X prices
    "config": frozenset({"publishers", "scheduler", "storage"}),
    "automation": frozenset({"ai", "scheduler", "metrics", "publishers", "storage"}),
    "metrics": frozenset({"ai", "scheduler", "publishers", "storage"}),  # ai: word diffs (pure)
    "ai": frozenset({"publishers", "storage"}),
    "scheduler": frozenset({"publishers", "storage"}),
    "publishers": frozenset(),
    "storage": frozenset(),
}
PACKAGES = frozenset(ALLOWED)
#: Only the shell and the chat layers speak aiogram; services reach the owner through the
#: notifier interface that `bot/` implements.
AIOGRAM_ALLOWED = frozenset({"bot", "handlers", "ui"})


def imports_of(path: Path) -> Iterator[tuple[str, int]]:
    """(top-level module, line) of every absolute import in a file."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], node.lineno


def edges() -> dict[tuple[str, str], list[str]]:
    """(importer package, imported top-level module) → where, for every import in our code."""
    found: dict[tuple[str, str], list[str]] = {}
    for package in sorted(PACKAGES):
        for path in sorted((ROOT / package).rglob("*.py")):
            for module, line in imports_of(path):
                if module != package:
                    where = f"{path.relative_to(ROOT)}:{line}"
                    found.setdefault((package, module), []).append(where)
    return found


EDGES = edges()


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {p: set() for p in PACKAGES}
    for (importer, module), _ in EDGES.items():
        if module in PACKAGES:
            graph[importer].add(module)
    return graph


def test_the_packages_are_all_there() -> None:
    assert all((ROOT / p / "__init__.py").is_file() for p in PACKAGES)
    assert EDGES, "no imports found: the walk is broken"


def test_no_cycle_between_packages() -> None:
    try:
        order = list(TopologicalSorter(package_graph()).static_order())
    except CycleError as exc:  # pragma: no cover - the message is the point
        pytest.fail(f"import cycle between packages: {exc.args[1]}")
    assert set(order) == PACKAGES


def test_the_allowed_table_itself_has_no_cycle() -> None:
    list(TopologicalSorter({p: set(d) for p, d in ALLOWED.items()}).static_order())


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_each_package_imports_only_what_the_table_allows(package: str) -> None:
    wrong = {
        f"{package} → {module}": where
        for (importer, module), where in EDGES.items()
        if importer == package and module in PACKAGES and module not in ALLOWED[package]
    }
    assert wrong == {}, f"not allowed (README layout section): {wrong}"


@pytest.mark.parametrize("package", sorted(PACKAGES - AIOGRAM_ALLOWED))
def test_services_adapters_and_storage_never_import_aiogram(package: str) -> None:
    assert EDGES.get((package, "aiogram"), []) == []


def test_nothing_but_bot_imports_bot_and_nothing_below_imports_handlers() -> None:
    assert [p for p in PACKAGES if (p, "bot") in EDGES and p != "bot"] == []
    assert [p for p in PACKAGES if (p, "handlers") in EDGES and p not in ("bot",)] == []


def test_storage_imports_nothing_of_ours() -> None:
    assert [m for (p, m) in EDGES if p == "storage" and m in PACKAGES] == []
