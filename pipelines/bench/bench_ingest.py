"""Ingestion throughput: `recommender.ingest` vs a naive per-row INSERT baseline.

Writes a Parquet file of N runs (8 parameters, 3 metrics, 50 tasks), ingests it into a
fresh DuckDB file through the same code path as `recommender ingest`, and, in the same
run, times the naive baseline (one parameterised INSERT per run, JSON built in Python,
as a straightforward implementation would) on a sample, since a million per-row
inserts would take far too long. Reports runs/s for both and the ratio.

    python -m pipelines.bench.bench_ingest --runs 1000000 --baseline-runs 5000
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def make_runs(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "task": np.char.add("task", rng.integers(0, 50, n).astype(str)),
            "run_id": np.arange(n).astype(str),
            "fidelity": rng.integers(1, 51, n),
            "status": "ok",
            "duration_s": rng.uniform(1, 100, n),
        }
    )
    for i in range(6):
        frame[f"param.f{i}"] = rng.uniform(0, 1, n)
    frame["param.units"] = rng.integers(16, 1024, n)
    frame["param.opt"] = rng.choice(["adamw", "sgd"], n)
    for m in ("acc", "loss", "auc"):
        frame[f"metric.{m}"] = rng.uniform(0, 1, n)
    return frame


def naive_insert(frame: pd.DataFrame, db: Path) -> float:
    """One INSERT per run through the DB-API, JSON built per row in Python."""
    from recommender.store import DuckDBStore

    store = DuckDBStore(db)
    cols = list(frame.columns)
    idx = {c: i for i, c in enumerate(cols)}
    params = [c for c in cols if c.startswith("param.")]
    metrics = [c for c in cols if c.startswith("metric.")]
    start = time.perf_counter()
    store.con.execute("BEGIN TRANSACTION")
    for row in frame.itertuples(index=False, name=None):
        p = {c[6:]: _py(row[idx[c]]) for c in params}
        m = {c[7:]: float(row[idx[c]]) for c in metrics}
        store.con.execute(
            "INSERT INTO runs (run_key, task, space, params, metrics, fidelity, status, "
            "duration_s) VALUES (?, ?, 'bench', ?, ?, ?, ?, ?)",
            [row[idx["run_id"]], row[idx["task"]], json.dumps(p), json.dumps(m),
             float(row[idx["fidelity"]]), "ok", float(row[idx["duration_s"]])],
        )  # fmt: skip
    store.con.execute("COMMIT")
    elapsed = time.perf_counter() - start
    store.close()
    return elapsed


def _py(value: object) -> object:
    return value.item() if hasattr(value, "item") else value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1_000_000)
    ap.add_argument("--baseline-runs", type=int, default=5_000)
    args = ap.parse_args()
    from recommender.ingest import ingest
    from recommender.store import DuckDBStore

    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        frame = make_runs(args.runs)
        src = tmpdir / "runs.parquet"
        frame.to_parquet(src, index=False)
        store = DuckDBStore(tmpdir / "fast.duckdb")
        start = time.perf_counter()
        report = ingest(store, src, space="bench")
        fast = time.perf_counter() - start
        assert report.accepted == args.runs, report
        start = time.perf_counter()
        again = ingest(store, src, space="bench")
        dup = time.perf_counter() - start
        assert again.accepted == 0 and again.duplicates == args.runs
        store.close()
        sample = frame.head(args.baseline_runs)
        slow = naive_insert(sample, tmpdir / "naive.duckdb")
    fast_rate = args.runs / fast
    slow_rate = args.baseline_runs / slow
    print(
        f"recommender ingest : {args.runs:>9,} runs in {fast:6.2f} s = {fast_rate:>10,.0f} runs/s"
    )
    dup_rate = args.runs / dup
    print(f"re-ingest (all dup): {args.runs:>9,} runs in {dup:6.2f} s = {dup_rate:>10,.0f} runs/s")
    n_slow = args.baseline_runs
    print(f"naive per-row      : {n_slow:>9,} runs in {slow:6.2f} s = {slow_rate:>10,.0f} runs/s")
    print(f"speed-up           : {fast_rate / slow_rate:,.0f}x")


if __name__ == "__main__":
    main()
