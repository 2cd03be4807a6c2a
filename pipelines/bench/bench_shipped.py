"""Recommendation quality of the shipped knowledge, black-box through the CLI.

1. A fresh store: `recommender evaluate --space tabular_mlp` loads the shipped runs and
   model (first use) and scores leave-one-dataset-out over the 40 shipped datasets.
2. The 8 held-out datasets (runs collected the same way, never used for training) are
   ingested, and `recommender evaluate --holdout ...` scores recommendations for them
   from models fit on the 40 shipped datasets only.

Both print our regret next to the baselines measured in the same run.

    python -m pipelines.bench.bench_shipped [--out /tmp/shipped-eval]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"


def cli(*args: str, env: dict[str, str]) -> str:
    cmd = [sys.executable, "-m", "recommender.cli", *args]
    print("$ recommender " + " ".join(args), file=sys.stderr)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(done.stderr.strip() or f"{cmd} failed")
    return done.stdout


def table(result: dict[str, object], title: str) -> str:
    mean = result["mean"]
    assert isinstance(mean, dict)
    k = max(int(key[len("recommender_top") :]) for key in mean if key.startswith("recommender_top"))
    rows = [
        ("recommender", mean["recommender_top1"], mean[f"recommender_top{k}"]),
        ("greedy portfolio", mean["portfolio_top1"], mean[f"portfolio_top{k}"]),
        ("nearest task", mean["nearest_task_top1"], mean[f"nearest_task_top{k}"]),
        ("default config", mean["default"], None),
    ]
    rand = [f"{mean[key]:.3f}" for key in sorted(mean, key=_k) if key.startswith("random_")]
    out = [f"{title} ({len(result['tasks'])} tasks)", "", "| method | top-1 | best of top-5 |",
           "|---|---|---|"]  # fmt: skip
    out += [f"| {m} | {a:.3f} | {'' if b is None else f'{b:.3f}'} |" for m, a, b in rows]
    out.append(f"| random best-of-1/5/10/25/50 | {' / '.join(rand)} | |")
    return "\n".join(out)


def _k(key: str) -> int:
    return int(key.rsplit("_", 1)[-1]) if key.rsplit("_", 1)[-1].isdigit() else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None, help="folder for the store and JSON results")
    args = ap.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="shipped-eval-"))
    out.mkdir(parents=True, exist_ok=True)
    db = out / "store.duckdb"
    db.unlink(missing_ok=True)
    env = {**os.environ, "RECOMMENDER_DB": str(db)}
    loo = json.loads(cli("evaluate", "--space", "tabular_mlp", "--json", env=env))
    (out / "leave_one_dataset_out.json").write_text(json.dumps(loo, indent=1))
    cli("ingest", str(DATA / "holdout_runs.parquet"), "--space", "tabular_mlp", env=env)
    cli("ingest", str(DATA / "holdout_metafeatures.parquet"), "--kind", "metafeatures", env=env)
    held = sorted(pd.read_parquet(DATA / "holdout_runs.parquet")["task"].unique())
    flags = [x for t in held for x in ("--holdout", t)]
    hold = json.loads(cli("evaluate", "--space", "tabular_mlp", *flags, "--json", env=env))
    (out / "holdout.json").write_text(json.dumps(hold, indent=1))
    print(table(loo, "Leave-one-dataset-out over the shipped datasets"))
    print()
    print(table(hold, "Held-out datasets, models fit on the shipped datasets only"))
    print(f"\nper-task rows: {out}/leave_one_dataset_out.json, {out}/holdout.json")


if __name__ == "__main__":
    main()
