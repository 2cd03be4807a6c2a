"""The package's import graph has no cycle, counting imports made inside functions.

The graph is built from the source (AST), not by importing: every ``import x`` and
``from x import y`` anywhere in a module under ``recommender/`` (module level, inside
functions, under ``TYPE_CHECKING``), relative imports resolved, ``from pkg import mod``
read as an edge to the submodule when it is one, and importing ``a.b.c`` read as edges to
``a.b.c`` and to the packages ``a`` and ``a.b`` (their ``__init__`` runs first) unless
the importer lives inside them (then they are already initialised when it runs).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "recommender"
PACKAGE = "recommender"


def _module_names() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of a dotted ``name`` that is one of our modules."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in modules:
            return candidate
    return None


def _imported(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            targets.add(source)
            targets.update(f"{source}.{alias.name}" for alias in node.names)
    own = _packages_of(module) | {module}
    edges: set[str] = set()
    for t in targets:
        found = _resolve(t, modules) if t.split(".")[0] == PACKAGE else None
        if found is not None:
            edges |= ({found} | _packages_of(found)) - own
    return edges


def _packages_of(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:n]) for n in range(1, len(parts))}


def import_graph() -> dict[str, set[str]]:
    modules = _module_names()
    return {m: _imported(m, p, modules) for m, p in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as ``[a, b, ..., a]``, or ``None`` (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    for start in sorted(graph):
        if state.get(start):
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def test_the_graph_sees_function_level_and_relative_imports() -> None:
    graph = import_graph()
    assert "recommender.errors" in graph["recommender.surrogate.gbm"]
    assert "recommender.surrogate" in graph["recommender.knowledge.ranking"]  # package __init__
    assert "recommender.store" not in graph["recommender.store.duckdb"]  # its own package
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_inside_the_package() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_command_line_reaches_the_store_only_through_the_api() -> None:
    """Each command is one API call: no module of ``cli/`` opens the store or ingests."""
    graph = import_graph()
    reaching = {
        module: sorted(
            t for t in targets if t.startswith(("recommender.store", "recommender.ingest"))
        )
        for module, targets in graph.items()
        if module.startswith("recommender.cli")
    }
    assert {m: t for m, t in reaching.items() if t} == {}
