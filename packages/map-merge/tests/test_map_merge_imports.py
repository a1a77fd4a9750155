"""No import circle between map-merge's modules (function-level imports included), read from the source."""

from __future__ import annotations

import ast
from pathlib import Path

import map_merge

PACKAGE = Path(map_merge.__file__).parent


def imports_of(path: Path) -> set[str]:
    """The map_merge submodules a module imports anywhere in its body (top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("map_merge"):
            if node.module == "map_merge":
                found |= {f"map_merge.{a.name}" for a in node.names if (PACKAGE / f"{a.name}.py").is_file()}
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("map_merge.")}
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of a directed graph as a list of nodes, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_circle_between_modules() -> None:
    graph = {
        f"map_merge.{path.stem}": imports_of(path) for path in PACKAGE.glob("*.py") if path.stem != "__init__"
    }
    assert "map_merge.config" in graph["map_merge.scaleout"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_guard_sees_a_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
