"""The house's layer order (docs/architecture.md), kept true by parsing every module's imports.

Function-level imports count: a lazy import is still a dependency. A module may import its own package and
any layer below its own; never a layer above, and never in a cycle.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "honed"

# Bottom first. A module's layer is named by its first component under honed/.
LAYERS = ["core", "models", "data", "retrieval", "train", "evaluate", "synth", "export", "serve", "track", "registry", "monitor", "web", "runs",
          "cli", "__main__"]


def module_names() -> dict[str, Path]:
    mods = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return mods


def imported_modules(path: Path, mods: dict[str, Path]) -> set[str]:
    """Every honed module `path` imports, anywhere in the file, resolved to the longest existing module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in mods:
                name = name.rpartition(".")[0]
            if name.startswith("honed.") or name == "honed":
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    mods = module_names()
    graph = {}
    for name, path in mods.items():
        # A module importing its own package (`honed.cli.data` → `honed.cli`) is the package's business.
        graph[name] = {t for t in imported_modules(path, mods) if t != name and not name.startswith(t + ".")}
    return graph


def layer_of(module: str) -> int:
    top = module.split(".")[1] if "." in module else "core"
    if top not in LAYERS:
        raise AssertionError(f"`{module}` is in no layer: add `{top}` to LAYERS and docs/architecture.md")
    return LAYERS.index(top)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_no_upward_imports():
    upward = [f"{m} → {t}" for m, targets in import_graph().items() for t in targets if layer_of(t) > layer_of(m)]
    assert upward == []


def test_the_checker_sees_function_level_imports_and_cycles(tmp_path):
    """The test above can fail: a lazy import inside a function is an edge, and a two-module loop is a cycle."""
    mods = {"honed.a": tmp_path / "a.py", "honed.b": tmp_path / "b.py"}
    mods["honed.a"].write_text("def f():\n    from honed.b import g\n", encoding="utf-8")
    mods["honed.b"].write_text("import honed.a\n", encoding="utf-8")
    graph = {m: imported_modules(p, mods) - {m} for m, p in mods.items()}
    assert graph == {"honed.a": {"honed.b"}, "honed.b": {"honed.a"}}
    assert cycles(graph) == [["honed.a", "honed.b"]]


@pytest.mark.parametrize("module", ["honed.core.store", "honed.data.prepare", "honed.cli"])
def test_every_module_has_a_layer(module):
    assert layer_of(module) >= 0
