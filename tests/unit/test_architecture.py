"""The architecture holds: import contracts, no SQL outside the store, and a map that names
every module (docs/architecture.md)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_import_contracts_hold() -> None:
    """Dependencies point one way; the contracts are in pyproject.toml ([tool.importlinter])."""
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "BROKEN" not in done.stdout


def _modules() -> list[Path]:
    return sorted(p for top in ("bot", "adapters") for p in (REPO / top).rglob("*.py") if "__pycache__" not in p.parts)


def test_no_sql_outside_the_store() -> None:
    """Every statement is run by bot/store; features ask it by methods named for what they return."""
    offenders = []
    for path in _modules():
        if path.is_relative_to(REPO / "bot" / "store"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("execute", "executemany", "executescript"):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert offenders == [], "move these statements into bot/store:\n" + "\n".join(offenders)


def test_the_architecture_map_names_every_module() -> None:
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([\w/.]+\.py)`", text))
    missing = [
        str(path.relative_to(REPO))
        for path in _modules()
        if path.name != "__init__.py" and str(path.relative_to(REPO)) not in named
    ]
    assert missing == [], "add a line for each to docs/architecture.md:\n" + "\n".join(missing)
