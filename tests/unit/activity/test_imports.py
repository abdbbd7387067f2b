"""The store's import graph: acyclic, no imports hidden in functions, and nothing of ours
imported but the value types, the errors and stdlib-only helpers."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import hub.activity

PACKAGE = "hub.activity"
ROOT = Path(hub.activity.__file__).parent
#: What the store may import of ours outside itself (ARCHITECTURE.md: "nothing else of ours
#: but hub/model"; the exception tree and stdlib-only helpers are shared by every layer).
#: Stdlib-only helpers the store may lean on besides the model and the errors (0013).
ALLOWED_OUTSIDE = {"hub.model", "hub.errors", "hub.urls", "hub.backoff", "hub.text"}
OURS = ("hub", "kpi", "tests", "bench")
#: Heavy packages one path alone needs, imported by the function that uses them so the
#: rest never loads them (decision 0077: only migrating needs alembic).
DEFERRED = {"alembic"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The modules an import statement loads, submodules named by `from X import sub` included."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    found = []
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        found.append(sub if sub in MODULES else base)
    return found


def _imports(module: str) -> tuple[set[str], list[str]]:
    """(every module `module` imports, imports found inside functions)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: set[str] = set()
    nested: list[str] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                targets = _targets(module, child)
                found.update(targets)
                if in_function and any(t.split(".")[0] not in DEFERRED for t in targets):
                    nested.append(f"{module}:{child.lineno} imports {', '.join(targets)}")
            visit(
                child,
                in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)),
            )

    visit(tree, False)
    return found, nested


def _graph() -> dict[str, set[str]]:
    return {m: {t for t in _imports(m)[0] if t in MODULES and t != m} for m in MODULES}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the modules along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := walk(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := walk(start)) is not None:
            return found
    return None


def test_the_walk_sees_the_store_modules() -> None:
    # the graph below is only worth something if it holds the modules that used to loop
    graph = _graph()
    assert {"hub.activity.store", "hub.activity.writer", "hub.activity.callbacks"} <= set(graph)
    assert "hub.activity.repos.activities" in graph["hub.activity.repos"]
    assert "hub.activity.writer" in graph["hub.activity.store"]


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_store_import_graph_is_acyclic() -> None:
    assert _cycle(_graph()) is None


def test_no_imports_inside_functions() -> None:
    nested = [line for m in MODULES for line in _imports(m)[1]]
    assert nested == []


def test_store_imports_nothing_of_ours_but_model_errors_and_helpers() -> None:
    outside = {
        f"{m} imports {t}"
        for m in MODULES
        for t in _imports(m)[0]
        if t.split(".")[0] in OURS
        and not (t == PACKAGE or t.startswith(PACKAGE + "."))
        and t not in ALLOWED_OUTSIDE
    }
    assert outside == set()


@pytest.mark.parametrize("helper", sorted(ALLOWED_OUTSIDE - {"hub.model", "hub.errors"}))
def test_shared_helpers_import_only_the_standard_library(helper: str) -> None:
    path = ROOT.parent / (helper.split(".", 1)[1].replace(".", "/") + ".py")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {
        (alias.name if isinstance(node, ast.Import) else node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert names <= set(sys.stdlib_module_names) | {"__future__"}
