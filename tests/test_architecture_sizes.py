"""Modules stay under 400 lines and functions under 80, so each reads in one sitting."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "recommender"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def oversized(root: Path = ROOT) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        n = len(text.splitlines())
        if n > MAX_MODULE_LINES:
            found.append(f"module {path.relative_to(root.parent)}: {n} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(
                        f"function {path.relative_to(root.parent)}:{node.lineno} "
                        f"{node.name}: {length} lines"
                    )
    return found


def test_no_module_or_function_is_oversized() -> None:
    assert oversized() == []


def test_the_check_sees_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "long.py").write_text(f"def f() -> None:\n{body}\n")
    assert oversized(tmp_path) == [f"function {tmp_path.name}/long.py:1 f: 81 lines"]
