"""Does ``tune --parallel N`` finish the same budget sooner, and as well? Against serial.

Baseline: ``recommender tune`` one trial at a time (``parallel=1``). Candidate: the same
tune with ``--parallel N`` (default 2), on the same data, budget, epochs and seed, each
in a fresh store loaded with the shipped knowledge beforehand (so both time only the
tune: meta-features, the few-shot model, worker start-up, the trials and their writes).
The table is a synthetic tabular classification (``--rows`` x ``--features``) whose
trials take several seconds each. With ``--repeats R`` the two alternate, R times each,
and the medians are reported.

Reports each one's wall time, trials, distinct configs, runs stored and best value, and
the wall-time ratio parallel / serial.

    python -m pipelines.bench.bench_tune_parallel                        # 2 cores, CPU
    python -m pipelines.bench.bench_tune_parallel --parallel 8 --device cuda \\
        --budget 32 --rows 200000 --epochs 20                            # an 8-GPU machine

Results go to stdout and, with ``--out FILE``, as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def write_table(path: Path, rows: int, features: int, seed: int) -> Path:
    """A binary table with a noisy linear and a non-linear part: trials differ in value."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features)).astype(np.float32)
    w = rng.normal(size=features)
    signal = x @ w + 1.5 * np.sin(2 * x[:, 0]) * x[:, 1]
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(features)])
    frame["label"] = (signal + rng.normal(size=rows) > 0).astype(int)
    frame.to_csv(path, index=False)
    return path


def prepared_store(path: Path) -> Path:
    """A new store holding the shipped tabular knowledge, as a first command leaves it."""
    from recommender.knowledge.packs import ensure_shipped
    from recommender.store import open_store

    with open_store(path) as store:
        ensure_shipped(store, "tabular_mlp")
    return path


def one_tune(args: argparse.Namespace, table: Path, db: Path, parallel: int) -> dict[str, Any]:
    from recommender.api.tuning import tune
    from recommender.store import DuckDBStore

    start = time.perf_counter()
    result = tune(
        table, "label", budget=args.budget, epochs=args.epochs, device=args.device,
        seed=args.seed, parallel=parallel, executor=args.executor, db=db,
        on_note=lambda note: print(f"    {note}", file=sys.stderr),
    )  # fmt: skip
    wall = time.perf_counter() - start
    with DuckDBStore(db, read_only=True) as store:
        runs = [r for r in store.runs(table.stem) if r["source"] == "tune"]
    trained = [t for t in result.trials if t.status in ("ok", "pruned", "failed", "diverged")]
    best = result.best
    return {
        "parallel": parallel,
        "wall_s": wall,
        "trials": len(trained),
        "distinct_configs": len({json.dumps(t.config, sort_keys=True) for t in trained}),
        "runs_stored": len(runs),
        "best_value": None if best is None else best.value,
        "trial_s": statistics.median(t.duration_s or 0.0 for t in trained),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--executor", default="local", choices=["local", "ray"])
    parser.add_argument("--budget", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        table = write_table(Path(tmp) / "bench_table.csv", args.rows, args.features, args.seed)
        for repeat in range(args.repeats):
            order = [1, args.parallel] if repeat % 2 == 0 else [args.parallel, 1]
            for parallel in order:
                db = prepared_store(Path(tmp) / f"store_{repeat}_{parallel}.duckdb")
                print(f"  repeat {repeat}: parallel={parallel} ...", file=sys.stderr)
                results.append({"repeat": repeat, **one_tune(args, table, db, parallel)})
                print(f"    {results[-1]}", file=sys.stderr)
    report = summarise(args, results)
    print(json.dumps(report["summary"], indent=2))
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2))
    return 0


def summarise(args: argparse.Namespace, results: list[dict[str, Any]]) -> dict[str, Any]:
    def median(parallel: int, key: str) -> float:
        return float(statistics.median(r[key] for r in results if r["parallel"] == parallel))

    summary = {
        "setup": {k: v for k, v in vars(args).items() if k != "out"},
        "serial_wall_s": median(1, "wall_s"),
        "parallel_wall_s": median(args.parallel, "wall_s"),
        "wall_ratio_parallel_over_serial": median(args.parallel, "wall_s") / median(1, "wall_s"),
        "serial_best": median(1, "best_value"),
        "parallel_best": median(args.parallel, "best_value"),
        "median_trial_s": median(1, "trial_s"),
        "every_run_distinct_and_stored": all(
            r["trials"] == r["distinct_configs"] == r["runs_stored"] == args.budget for r in results
        ),
    }
    return {"summary": summary, "runs": results}


if __name__ == "__main__":
    raise SystemExit(main())
