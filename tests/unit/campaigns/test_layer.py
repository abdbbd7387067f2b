"""The campaigns' place in ARCHITECTURE.md: they read the store and render templates, and
reach channels only through the values and Protocols of `hub/model` (senders, bounce
sources), which the runtime wires in."""

from __future__ import annotations

import ast
from pathlib import Path

import hub.campaigns

ROOT = Path(hub.campaigns.__file__).parent
ALLOWED = ("hub.campaigns", "hub.model", "hub.activity", "hub.templates", "hub.errors", "hub.text")


def _ours(node: ast.AST) -> list[str]:
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return [node.module]
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return []


def test_campaigns_import_only_what_their_layer_may() -> None:
    wrong = [
        f"{path.name}: {name}"
        for path in sorted(ROOT.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        for name in _ours(node)
        if name.split(".")[0] in ("hub", "kpi")
        and not any(name == a or name.startswith(a + ".") for a in ALLOWED)
    ]
    assert wrong == []
