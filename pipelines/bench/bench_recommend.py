"""Recommend latency with a warm model, and retraining time on many runs.

Each figure is printed next to a named baseline measured in the same run:

* retrain: ``train_and_register`` (tuning by grouped CV, champion comparison, 3-member
  ensemble) vs ``plain-xgb``: one XGBoost fit (100 rounds, depth 6, 1 thread) on the same
  design matrix, i.e. the cost of a single model with no selection at all.
* latency: ``recommend`` with a warm model (query logged) vs ``cold``: the same call after
  clearing the in-process model cache, so the artifact is hashed and loaded each time.

Usage:
    python -m pipelines.bench.bench_recommend [--tasks 500] [--runs-per-task 2000] [--queries 50]
    python -m pipelines.bench.bench_recommend --store STORE.duckdb --space lcbench --queries 50
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from recommender.knowledge import registry
from recommender.knowledge.query import answer as recommend
from recommender.store import DuckDBStore


def synthetic_store(path: Path, n_tasks: int, per_task: int, seed: int = 0) -> DuckDBStore:
    """``n_tasks * per_task`` runs of the built-in tabular_mlp space, ingested at once."""
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    n = n_tasks * per_task
    size = 10 ** rng.uniform(2, 6, n_tasks)
    task = np.repeat(np.arange(n_tasks), per_task)
    lr = 10 ** rng.uniform(-4, -1, n)
    opt = np.where(rng.random(n) < 0.5, "adamw", "sgd")
    frame = pd.DataFrame(
        {
            "task": [f"t{i}" for i in task],
            "learning_rate": lr,
            "batch_size": np.round(2 ** rng.uniform(4, 9, n)).astype(int),
            "weight_decay": 10 ** rng.uniform(-6, -1, n),
            "num_layers": rng.integers(1, 6, n),
            "max_units": np.round(2 ** rng.uniform(4, 10, n)).astype(int),
            "max_dropout": rng.uniform(0, 0.8, n),
            "optimizer": opt,
            "momentum": rng.uniform(0.1, 0.99, n),
            "warmup_frac": rng.uniform(0, 0.3, n),
        }
    )
    best = -4 + 3 * (np.log10(size[task]) - 2) / 4
    frame["acc"] = 0.9 - 0.05 * (np.log10(lr) - best) ** 2 + rng.normal(0, 0.01, n)
    # A canonical run table (one ``param.``/``metric.`` column each); momentum only for sgd.
    frame.loc[frame["optimizer"] != "sgd", "momentum"] = np.nan
    runs = frame.drop(columns=["acc"]).add_prefix("param.").rename(columns={"param.task": "task"})
    runs["metric.acc"], runs["fidelity"] = frame["acc"], 50
    runs["_line"] = np.arange(1, n + 1)
    store = DuckDBStore(path)
    store.add_runs(
        pa.Table.from_pandas(runs, preserve_index=False),
        source="bench", format="bench", checksum=None, space="tabular_mlp",
    )  # fmt: skip
    for i, s in enumerate(size):
        store.add_metafeatures(
            f"t{i}",
            {
                "NumberOfInstances": float(s),
                "NumberOfFeatures": float(10 + i % 50),
                "NumberOfClasses": 2.0,
            },
            source="bench",
        )
    return store


def time_retrain(store: DuckDBStore, space: str, metric: str) -> None:
    import xgboost as xgb

    from recommender.spaces.space import load_space
    from recommender.surrogate.features import MetaFeatureScaler
    from recommender.surrogate.model import load_training_data

    t0 = time.perf_counter()
    report = registry.train_and_register(
        store, space=space, metric=metric, maximize=True, force=True
    )
    ours = time.perf_counter() - t0
    data = load_training_data(store, load_space(space, store), metric=metric, maximize=True)
    scaler = MetaFeatureScaler.fit(data.metafeatures)
    vecs = {t: scaler.transform(data.metafeatures[t])[0] for t in data.tasks}
    X = np.hstack([data.X, np.stack([vecs[t] for t in data.frame["task"]])])
    t0 = time.perf_counter()
    xgb.train(
        {"max_depth": 6, "nthread": 1, "tree_method": "hist"},
        xgb.DMatrix(X, data.frame["score"]),
        100,
    )
    plain = time.perf_counter() - t0
    print(
        f"retrain on {report.n_runs} runs / {report.n_tasks} tasks: {ours:.1f} s  "
        f"(status {report.status})"
    )
    print(
        f"baseline plain-xgb (1 fit, 100 rounds): {plain:.1f} s; "
        f"ratio ours/plain = {ours / plain:.2f}"
    )


def time_recommend(store: DuckDBStore, space: str, n_queries: int) -> None:
    # Query with the meta-features of tasks that have runs in this space (a store can hold
    # tasks of other modalities, whose meta-features differ).
    tasks = set(store.task_names(space=space))
    mfs = [mf for t, mf in store.metafeatures().items() if t in tasks]
    rng = np.random.default_rng(0)
    recommend(store, mfs[0], space=space)  # warm-up: load, verify, cache
    warm, cold = [], []
    for _ in range(n_queries):
        mf = mfs[int(rng.integers(len(mfs)))]
        t0 = time.perf_counter()
        recommend(store, mf, space=space)
        warm.append(time.perf_counter() - t0)
        registry.clear_cache()
        t0 = time.perf_counter()
        recommend(store, mf, space=space)
        cold.append(time.perf_counter() - t0)
    for name, xs in (("warm", warm), ("cold (baseline)", cold)):
        q = np.percentile(np.array(xs) * 1000, [50, 95])
        print(f"recommend {name}: p50 {q[0]:.1f} ms  p95 {q[1]:.1f} ms  ({n_queries} queries)")
    print(f"ratio warm/cold p50 = {statistics.median(warm) / statistics.median(cold):.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--runs-per-task", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument(
        "--store", type=Path, default=None, help="existing trained store (latency only)"
    )
    parser.add_argument("--space", default="tabular_mlp")
    args = parser.parse_args(argv)
    if args.store is not None:
        with DuckDBStore(args.store) as store:
            time_recommend(store, args.space, args.queries)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        store = synthetic_store(Path(tmp) / "bench.duckdb", args.tasks, args.runs_per_task)
        print(f"built store with {store.info()['runs']} runs in {time.perf_counter() - t0:.1f} s")
        time_retrain(store, "tabular_mlp", "acc")
        time_recommend(store, "tabular_mlp", args.queries)
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
