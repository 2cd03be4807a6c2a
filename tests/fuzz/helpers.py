"""What every fuzz target asserts: a clean outcome, exact counts, or an untouched store.

A target runs the CLI in-process (``CliRunner``) on one hostile input against a copy of
a store that already holds a run, then calls :func:`check_ingest` (or
:func:`check_clean`), which accepts exactly two outcomes:

- **ingested**: exit 0, and every row of the input is accounted for
  (accepted + already stored + rejected = rows), with the store grown by exactly the
  accepted runs and the rejected rows;
- **refused**: exit 1 with one line on stderr (``Error: ...``) and the store,
  compared table by table, exactly as it was.

Anything else (a Python traceback, an exception escaping the CLI, a second line, a
partial write) fails the target, except one known defect of the checks, named in
``KNOWN_DEFECTS`` and held by a strict xfail test in ``test_known_defects.py``: the
moment it is fixed that test fails, and its entry here must go.

With ``RECOMMENDER_FUZZ_LOG=path`` each example appends its outcome to ``path``, so an
exploratory run can say how many inputs were ingested, refused or hit a known defect.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from click.testing import CliRunner, Result

from recommender.cli import cli

TABLES = ("tasks", "runs", "rejected", "batches", "curves", "param_types", "spaces",
          "metafeatures")  # fmt: skip
_TEMPLATE: dict[str, Path] = {}
_DUMPS: dict[str, dict[str, list[tuple[Any, ...]]]] = {}
_FRESH: set[Path] = set()  # work stores still identical to the template


def template_store() -> Path:
    """A store holding one ingested run, made once per session and copied per example."""
    if "store" not in _TEMPLATE:
        root = Path(tempfile.mkdtemp(prefix="recommender-fuzz-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        src = root / "seed.csv"
        src.write_text("task,param.seed_only,metric.acc\nseed,1,0.5\n")
        db = root / "template.duckdb"
        result = CliRunner().invoke(cli, ["ingest", str(src), "--db", str(db)])
        assert result.exit_code == 0, result.output
        _TEMPLATE["store"] = db
        _DUMPS["store"] = dump(db)
    return _TEMPLATE["store"]


@contextmanager
def workdir() -> Iterator[Path]:
    """A fresh folder holding ``store.duckdb``, a copy of the template store."""
    with tempfile.TemporaryDirectory(prefix="recommender-fuzz-") as tmp:
        shutil.copy(template_store(), Path(tmp) / "store.duckdb")
        _FRESH.add(Path(tmp) / "store.duckdb")
        try:
            yield Path(tmp)
        finally:
            _FRESH.discard(Path(tmp) / "store.duckdb")


def dump(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted, to compare a store before and after."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for table in TABLES:
            rows = con.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608
            out[table] = sorted(rows, key=repr)
        return out
    finally:
        con.close()


def count(db: Path, table: str) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])  # noqa: S608
    finally:
        con.close()


# A text parameter column typed int whose values exceed int64 (a value such as
# 9.223372036854776e+18 in "1", "2", "x"; or a space already typed int): the checks'
# CAST(round(TRY_CAST(... AS DOUBLE)) AS BIGINT) raises instead of quarantining the row.
KNOWN_DEFECTS: dict[str, tuple[str, ...]] = {}


def known_defect(exc: BaseException | None) -> str | None:
    """The name of the known defect ``exc`` is, if it is one."""
    text = str(exc)
    for name, needles in KNOWN_DEFECTS.items():
        if exc is not None and all(n in text for n in needles):
            return name
    return None


def log(outcome: str) -> None:
    path = os.environ.get("RECOMMENDER_FUZZ_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(outcome + "\n")


def invoke(args: list[str]) -> Result:
    return CliRunner().invoke(cli, args, catch_exceptions=True)


def assert_clean(result: Result) -> None:
    """Exit 0, or exit 1 with one ``Error:`` line; never an escaped exception or traceback."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"exception escaped the CLI: {result.exception!r}") from (
            result.exception
        )
    assert "Traceback" not in result.output, result.output
    assert result.exit_code in (0, 1), (result.exit_code, result.output)
    if result.exit_code == 1:
        lines = [line for line in result.output.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("Error: ")]
        assert len(errors) == 1, result.output
        assert "\n" not in errors[0]


@dataclass
class Outcome:
    refused: bool
    report: dict[str, Any]
    message: str


def check_ingest(work: Path, source: Path | str, *extra: str, rows: int | None) -> Outcome:
    """Ingest ``source`` into the work store; assert the outcome is clean and exact.

    Args:
        rows: how many rows the input holds (None: not known to the generator).
    """
    db = work / "store.duckdb"
    # A fresh copy of the template needs no dump: the template's is known.
    before = _DUMPS["store"] if db in _FRESH else dump(db)
    _FRESH.discard(db)
    result = invoke(["ingest", str(source), "--db", str(db), "--json", *extra])
    defect = known_defect(result.exception)
    if defect:
        log(f"known defect: {defect}")
        assert dump(db) == before, "a failed ingest changed the store"
        return Outcome(True, {}, defect)
    assert_clean(result)
    if result.exit_code == 1:
        assert dump(db) == before, "a refused ingest changed the store"
        log("refused")
        return Outcome(True, {}, result.output.strip())
    report = json.loads(result.output[result.output.index("{") :])
    n = report["accepted"] + report["duplicates"] + report["rejected"]
    if rows is not None:
        assert n == rows, (n, rows, report)
    after = dump(db)
    assert len(after["runs"]) == len(before["runs"]) + report["accepted"]
    if report["batch"] is not None:
        assert len(after["rejected"]) == len(before["rejected"]) + report["rejected"]
        assert all(r[-1] for r in after["rejected"]), "a quarantined row has no reason"
    else:
        assert after == before
    log("ingested")
    return Outcome(False, report, "")
