"""A process killed mid-ingest leaves the store as it was; a re-run gives exact counts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from recommender.store import DuckDBStore
from tests.factories import runs_frame, write_runs

_SLOW_INGEST = """
import sys, time
from recommender.ingest import ingest
from recommender.store import DuckDBStore
from recommender.store.runs import RunsStore

original = RunsStore._write
def slow_write(*args, **kwargs):
    batch = original(*args, **kwargs)      # rows are inserted, not yet committed
    print("inside-transaction", flush=True)
    time.sleep(60)
    return batch
RunsStore._write = slow_write
store = DuckDBStore(sys.argv[1])
ingest(store, sys.argv[2])
"""


def test_sigkill_mid_ingest_then_rerun(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    first = write_runs(tmp_path / "first.parquet", runs_frame(n_tasks=2, n_runs=50, seed=1))
    frame = runs_frame(n_tasks=3, n_runs=40, seed=2)
    frame["task"] = "other-" + frame["task"]
    second = write_runs(tmp_path / "second.parquet", frame)
    with DuckDBStore(db) as store:
        from recommender.ingest import ingest

        assert ingest(store, first).accepted == 100
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_INGEST, str(db), str(second)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()},
    )  # fmt: skip
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    line = ""
    while time.monotonic() < deadline and "inside-transaction" not in line:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
    assert "inside-transaction" in line
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with DuckDBStore(db) as store:
        info = store.info()
        assert (info["runs"], info["batches"]) == (100, 1)
        from recommender.ingest import ingest

        report = ingest(store, second)
        assert (report.accepted, report.duplicates, report.rejected) == (120, 0, 0)
        assert store.info()["runs"] == 220
