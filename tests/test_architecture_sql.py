"""The store owns its SQL: no module outside ``recommender/store/`` runs SQL against it.

Checked on the source (AST), so it holds for code that no test reaches. A module
outside the store may not:

* call ``.execute``, ``.executemany`` or ``.sql`` (a database connection's methods),
  or ``.query`` with SQL text;
* reach the store's connection (``store.con``);
* hold a string that reads as SQL (``SELECT ... FROM``, ``INSERT INTO``,
  ``UPDATE ... SET``, ``DELETE FROM``, ``CREATE TABLE``).

A reader that opens its own in-memory DuckDB (or SQLite) connection on a user's file is
no access to the store: those functions are named in ``ALLOWED`` with the reason.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("recommender", "pipelines")
STORE = ROOT / "recommender" / "store"

# (module, function qualname) -> why it may hold SQL. Keep it short.
ALLOWED: dict[tuple[str, str], str] = {
    ("recommender/datasets/files.py", "read_table_file"): "reads the user's file, in-memory DuckDB",
    ("recommender/datasets/files.py", "_reader_sql"): "SQL of that in-memory reader",
    ("recommender/datasets/files.py", "read_columns"): "the same reader, into NumPy",
    ("recommender/datasets/files.py", "_sample_table"): "samples the file in that connection",
    ("recommender/ingest/tables.py", "_read_jsonl"): "reads JSON Lines with in-memory DuckDB",
    ("recommender/ingest/__init__.py", "_sqlite_kind"): "lists the user's SQLite tables",
    # A benchmark's baseline, run on a scratch store file of its own.
    ("pipelines/bench/bench_ingest.py", "naive_insert"): "the per-row INSERT baseline it times",
}

_CALLS = {"execute", "executemany", "sql"}
_SQL = re.compile(
    r"\bSELECT\b[\s\S]*\bFROM\b"
    r"|\bINSERT\s+(?:OR\s+\w+\s+)?INTO\b"
    r"|\bUPDATE\s+\w+\s+SET\b"
    r"|\bDELETE\s+FROM\b"
    r"|\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP\s+|TEMPORARY\s+)?TABLE\b"
)


def _text(node: ast.AST) -> str | None:
    """The literal text of a string constant or f-string (its constant parts)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return " ".join(
            v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
    return None


class _Finder(ast.NodeVisitor):
    def __init__(self) -> None:
        self.scope: list[str] = []
        self.found: list[tuple[str, int, str]] = []  # (qualname, line, what)

    def _enter(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _enter

    def _hit(self, node: ast.AST, what: str) -> None:
        self.found.append((".".join(self.scope) or "<module>", getattr(node, "lineno", 0), what))

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            first = _text(node.args[0]) if node.args else None
            if func.attr in _CALLS or (func.attr == "query" and first is not None):
                self._hit(node, f".{func.attr}(...)")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr == "con":
            self._hit(node, "the store's connection (.con)")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and _SQL.search(node.value):
            self._hit(node, f"SQL text {node.value.strip()[:40]!r}")

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        text = _text(node)
        if text and _SQL.search(text):
            self._hit(node, f"SQL text {text.strip()[:40]!r}")
        else:
            self.generic_visit(node)


def sql_outside_store(root: Path = ROOT) -> dict[tuple[str, str], list[str]]:
    """``{(module, qualname): [what, ...]}`` for every SQL use outside ``recommender/store``."""
    out: dict[tuple[str, str], list[str]] = {}
    for top in SCANNED:
        for path in sorted((root / top).rglob("*.py")):
            if STORE in path.parents:
                continue
            finder = _Finder()
            finder.visit(ast.parse(path.read_text(), filename=str(path)))
            module = path.relative_to(root).as_posix()
            for qualname, line, what in finder.found:
                out.setdefault((module, qualname), []).append(f"line {line}: {what}")
    return out


def test_no_sql_against_the_store_outside_the_store() -> None:
    found = sql_outside_store()
    offending = [
        f"{module}:{qualname}: {'; '.join(whats)}"
        for (module, qualname), whats in found.items()
        if (module, qualname) not in ALLOWED
    ]
    assert not offending, (
        "SQL outside recommender/store/; add a Store method and call it instead:\n"
        + "\n".join(offending)
    )


def test_allow_list_has_no_stale_entries() -> None:
    found = sql_outside_store()
    stale = [f"{m}:{q}" for m, q in ALLOWED if (m, q) not in found]
    assert not stale, f"allow-listed but free of SQL now; remove from ALLOWED: {stale}"


@pytest.mark.parametrize(
    "snippet",
    [
        'def f(store):\n    return store.con.execute("SELECT 1").fetchall()\n',
        'def f(con):\n    con.sql("SELECT * FROM runs")\n',
        'Q = "SELECT count(*) FROM models WHERE space = ?"\n',
        'def f(t):\n    return f"INSERT INTO {t} VALUES (1)"\n',
        'def f(db):\n    db.query("DELETE FROM runs")\n',
    ],
)
def test_the_check_sees_sql(tmp_path: Path, snippet: str) -> None:
    (tmp_path / "recommender").mkdir()
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "recommender" / "mod.py").write_text(snippet)
    assert sql_outside_store(tmp_path)


def test_the_check_leaves_prose_and_other_queries_alone(tmp_path: Path) -> None:
    (tmp_path / "recommender").mkdir()
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "recommender" / "mod.py").write_text(
        '"""Select the best configs from a store."""\ndef f(tree, x):\n    return tree.query(x)\n'
    )
    assert sql_outside_store(tmp_path) == {}
