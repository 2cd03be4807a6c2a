"""A tiny synthetic meta-dataset whose best learning rate depends on the dataset size."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from recommender.store import DuckDBStore

TOY_SPACE: dict[str, Any] = {
    "name": "toy",
    "hyperparameters": [
        {"name": "lr", "type": "float", "low": 1e-4, "high": 1e-1, "log": True, "default": 1e-3},
        {"name": "layers", "type": "int", "low": 1, "high": 4, "log": False, "default": 2},
        {"name": "opt", "type": "categorical", "choices": ["adam", "sgd"], "default": "adam"},
    ],
    "fidelity": {"name": "epoch", "low": 1, "high": 10},
}

FAST = {"n_estimators": 60, "max_depth": 3, "n_members": 3}


def best_log_lr(n_instances: float) -> float:
    """The true optimum: log10(lr*) moves from -4 to -1 as log10(N) goes from 2 to 5."""
    return -4.0 + (math.log10(n_instances) - 2.0)


def toy_metafeatures(n_instances: float) -> dict[str, float]:
    return {"NumberOfInstances": n_instances, "NumberOfFeatures": 10.0, "NumberOfClasses": 2.0}


def toy_score(config: dict[str, Any], n_instances: float) -> float:
    gap = math.log10(config["lr"]) - best_log_lr(n_instances)
    return (
        0.9 - 0.05 * gap**2 + 0.01 * config["layers"] + (0.02 if config["opt"] == "adam" else 0.0)
    )


def fill_store(
    store: DuckDBStore,
    *,
    n_tasks: int = 6,
    n_runs: int = 40,
    seed: int = 0,
    space: bool = True,
    shared: bool = False,
    metafeatures: bool | int = True,
) -> list[str]:
    """Write tasks, meta-features, runs (and the space) into ``store``; return task names.

    ``shared``: every task evaluates the same ``n_runs`` configs (a collection design, as
    in the shipped data and LCBench); otherwise each task draws its own. ``metafeatures``:
    ``False`` for none, an int for the first that many tasks only.
    """
    rng = np.random.default_rng(seed)
    design = [_draw_config(rng) for _ in range(n_runs)]
    if space:
        store.con.execute(
            "INSERT OR REPLACE INTO spaces (name, definition, source) VALUES ('toy', ?, 'test')",
            [json.dumps(TOY_SPACE)],
        )
    names = []
    for t, n_inst in enumerate(np.logspace(2.2, 4.8, n_tasks)):
        name = f"task{t}"
        names.append(name)
        if metafeatures is True or t < metafeatures:  # an int: only the first ones have them
            store.add_metafeatures(name, toy_metafeatures(float(n_inst)), source="test")
        rows = []
        for r in range(n_runs):
            config = design[r] if shared else _draw_config(rng)
            acc = toy_score(config, float(n_inst)) + float(rng.normal(0, 0.005))
            rows.append((f"{name}-{r}", name, json.dumps(config), json.dumps({"acc": acc})))
        if rows:
            store.con.executemany(
                "INSERT INTO runs (run_key, task, space, params, metrics, fidelity, status, "
                "batch_id) "
                "VALUES (?, ?, 'toy', ?, ?, 10, 'ok', 1)",
                rows,
            )
    return names


def _draw_config(rng: np.random.Generator) -> dict[str, Any]:
    return {
        "lr": float(10 ** rng.uniform(-4, -1)),
        "layers": int(rng.integers(1, 5)),
        "opt": str(rng.choice(["adam", "sgd"])),
    }
