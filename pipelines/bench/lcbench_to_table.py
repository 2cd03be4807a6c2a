"""Reshape LCBench ``runs.parquet`` into the ingest table convention.

Output columns: ``task`` (the OpenML task id, as text), ``param.<name>`` for the 7
hyperparameters, ``metric.<name>`` for every surrogate output, ``run_id``
(``<task>-<config_id>``) and ``fidelity`` (the epoch).

Usage:
    python -m pipelines.bench.lcbench_to_table RUNS.parquet OUT.parquet [--epoch 52]
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

PARAMS = (
    "batch_size",
    "learning_rate",
    "momentum",
    "weight_decay",
    "num_layers",
    "max_units",
    "max_dropout",
)
METRICS = (
    "val_accuracy",
    "val_cross_entropy",
    "val_balanced_accuracy",
    "test_cross_entropy",
    "test_balanced_accuracy",
    "time",
)


def reshape(runs: pd.DataFrame, epoch: int | None = None) -> pd.DataFrame:
    """LCBench rows -> ingest convention (optionally one epoch only)."""
    missing = [c for c in ("task_id", "config_id", "epoch", *PARAMS) if c not in runs.columns]
    if missing:
        raise ValueError(f"expected LCBench columns, missing {missing}")
    if epoch is not None:
        runs = runs[runs["epoch"] == epoch]
    out = pd.DataFrame({"task": runs["task_id"].astype(str)})
    for p in PARAMS:
        out[f"param.{p}"] = runs[p]
    for m in METRICS:
        if m in runs.columns:
            out[f"metric.{m}"] = runs[m].astype(float)
    out["run_id"] = runs["task_id"].astype(str) + "-" + runs["config_id"].astype(str)
    out["fidelity"] = runs["epoch"].astype(float)
    return out.reset_index(drop=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs")
    parser.add_argument("out")
    parser.add_argument("--epoch", type=int, default=None, help="keep one epoch only")
    args = parser.parse_args(argv)
    table = reshape(pd.read_parquet(args.runs), args.epoch)
    table.to_parquet(args.out, index=False)
    print(f"wrote {len(table)} rows, {table['task'].nunique()} tasks to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
