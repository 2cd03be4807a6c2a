"""The first ``recommend`` on a new store, which loads the space's shipped pack, per pack.

For each pack, ``recommender recommend --metafeatures f.json --space S --json`` runs as a
whole process on a new, empty store (``first``: it ingests the pack's runs, curves and
meta-features and registers its model), then again on that store (``loaded``: the
baseline, the same query with the pack already in). The two alternate over ``--runs``
fresh stores so machine load hits them alike; the report gives medians and their ratio.
The meta-features are those of the pack's first held-out task (else its first task).

    python -m pipelines.bench.bench_first_use [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from recommender.spaces.builtin import BUILTIN

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"


def metafeatures(pack: Path) -> dict[str, float]:
    held = pack / "holdout_metafeatures.parquet"
    row = pd.read_parquet(held if held.exists() else pack / "metafeatures.parquet")
    first = row.iloc[0]
    return {k: float(v) for k, v in first.items()
            if isinstance(v, (int, float)) and math.isfinite(float(v))}  # fmt: skip


def timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "recommender.cli", *args], env=env,
                          capture_output=True, text=True)  # fmt: skip
    took = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(done.stderr.strip())
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    lines = ["| space | runs in pack | first use, median | pack loaded, median | ratio |",
             "|---|---:|---:|---:|---:|"]  # fmt: skip
    for record in BUILTIN:
        space, pack = record.name, DATA / record.pack
        n_runs = len(pd.read_parquet(pack / "runs.parquet", columns=["task"]))
        first, loaded = [], []
        with tempfile.TemporaryDirectory() as tmp:
            mf = Path(tmp) / "mf.json"
            mf.write_text(json.dumps(metafeatures(pack)))
            query = ["recommend", "--metafeatures", str(mf), "--space", space, "--json"]
            for i in range(args.runs):
                env = {**os.environ, "RECOMMENDER_DB": str(Path(tmp) / f"s{i}.duckdb")}
                first.append(timed(query, env))
                loaded.append(timed(query, env))
        a, b = statistics.median(first), statistics.median(loaded)
        lines.append(f"| {space} | {n_runs:,} | {a:.2f} s | {b:.2f} s | {a / b:.1f}x |")
        print(lines[-1], file=sys.stderr)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
