"""domain/ never imports the transport or the wiring (STYLE.md: dependency direction)."""

from __future__ import annotations

import ast
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "domain"
FORBIDDEN = ("litestar", "server", "handlers", "workers", "uvicorn", "taskiq", "redis", "boto3")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_domain_depends_on_nothing_outside_it() -> None:
    offenders = {
        str(path.relative_to(DOMAIN)): sorted(_imports(path) & set(FORBIDDEN))
        for path in DOMAIN.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    assert offenders, "no domain modules found"
