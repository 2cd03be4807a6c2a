"""Wide run tables: checking and writing N parameter columns, chunked vs one statement.

Baseline, same run: the same ``Store.add_runs`` with the chunk size raised above N, so the
checks are the one SQL statement they were before chunking. Reports seconds and the ratio.

    python -m pipelines.bench.bench_wide --columns 1000 5000 --rows 50
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from recommender.store import DuckDBStore, checks


def wide_table(n_cols: int, n_rows: int) -> pa.Table:
    cols: dict[str, list[object]] = {"task": [f"t{i % 5}" for i in range(n_rows)]}
    for j in range(n_cols):
        cols[f"param.p{j}"] = [float(i * j % 7) for i in range(n_rows)]
    cols["metric.acc"] = [i / n_rows for i in range(n_rows)]
    cols["_line"] = list(range(1, n_rows + 1))
    return pa.table(cols)


def time_ingest(table: pa.Table, chunk: int) -> float:
    saved = checks.CHUNK
    checks.CHUNK = chunk
    try:
        with tempfile.TemporaryDirectory() as tmp, DuckDBStore(Path(tmp) / "s.duckdb") as store:
            start = time.perf_counter()
            report = store.add_runs(table, source="wide.csv", format="csv", checksum=None)
            elapsed = time.perf_counter() - start
        assert report.accepted == table.num_rows, report
        return elapsed
    finally:
        checks.CHUNK = saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--no-baseline", action="store_true", help="skip the one-statement run")
    args = parser.parse_args(argv)
    print("| columns | chunked | one statement | ratio |\n|---|---|---|---|")
    for n in args.columns:
        table = wide_table(n, args.rows)
        chunked = time_ingest(table, checks.CHUNK)
        if args.no_baseline:
            print(f"| {n:,} | {chunked:.1f} s | - | - |", flush=True)
            continue
        single = time_ingest(table, n + 1)
        print(f"| {n:,} | {chunked:.1f} s | {single:.1f} s | {single / chunked:.1f}x |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
