"""Small synthetic inputs for tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def runs_frame(n_tasks: int = 3, n_runs: int = 20, seed: int = 0) -> pd.DataFrame:
    """A run table in the default column convention."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(n_tasks):
        for r in range(n_runs):
            lr = float(10 ** rng.uniform(-4, -1))
            layers = int(rng.integers(1, 6))
            rows.append(
                {
                    "task": f"task{t}",
                    "run_id": f"{t}-{r}",
                    "param.lr": lr,
                    "param.layers": layers,
                    "param.opt": str(rng.choice(["adam", "sgd"])),
                    "metric.acc": float(1 - abs(np.log10(lr) + 2.5) / 3 + 0.01 * layers),
                    "metric.loss": float(rng.uniform(0, 2)),
                    "fidelity": 10,
                    "status": "ok",
                    "duration_s": float(rng.uniform(1, 5)),
                }
            )
    return pd.DataFrame(rows)


def write_runs(path: Path, frame: pd.DataFrame) -> Path:
    suffix = path.suffix
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        raise ValueError(suffix)
    return path


def binary_table(folder: Path, name: str, seed: int = 0, rows: int = 60) -> Path:
    """``folder/name.csv``: a small binary table (``label`` from ``a``); tables of
    different seeds share their file name, not their rows."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(label=(x[:, 0] > 0).astype(int))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path
