"""A small synthetic family of tasks in the tabular_mlp space, and models fitted on it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommender.fewshot import FewShotSurrogate
from recommender.spaces.space import builtin_space
from recommender.store import DuckDBStore
from recommender.surrogate.model import TrainingData, load_training_data

N_TASKS, PER_TASK = 6, 48


def task_response(config: dict[str, object], size: float) -> float:
    """Accuracy-like score: the best learning rate grows with the dataset size."""
    best = -4 + 3 * (np.log10(size) - 2) / 4
    lr = float(config["learning_rate"])  # type: ignore[arg-type]
    layers = float(config["num_layers"])  # type: ignore[arg-type]
    bonus = 0.02 if config.get("optimizer") == "sgd" else 0.0
    return float(0.9 - 0.05 * (np.log10(lr) - best) ** 2 + bonus - 0.01 * abs(layers - 3))


def sizes() -> list[float]:
    return [10 ** (2 + 4 * i / (N_TASKS - 1)) for i in range(N_TASKS)]


def write_store(path: Path | str, seed: int = 0) -> DuckDBStore:
    """``N_TASKS * PER_TASK`` runs of tabular_mlp with meta-features, and nothing else."""
    space = builtin_space("tabular_mlp")
    store = DuckDBStore(path)
    rows = []
    for i, size in enumerate(sizes()):
        for j, config in enumerate(space.sample(PER_TASK, seed=seed + i)):
            rows.append({"run_key": f"t{i}-{j}", "task": f"t{i}",
                         "params": config, "acc": task_response(config, size)})  # fmt: skip
    frame = pd.DataFrame(rows)
    frame["params"] = frame["params"].map(json.dumps)
    store.con.register("gen", frame)
    store.con.execute(
        "INSERT INTO runs (run_key, task, space, params, metrics, fidelity, status, batch_id) "
        "SELECT run_key, task, 'tabular_mlp', params::JSON, json_object('acc', acc), 50, "
        "'ok', 1 FROM gen"
    )
    store.con.unregister("gen")
    for i, size in enumerate(sizes()):
        store.add_task(f"t{i}")
        store.add_metafeatures(
            f"t{i}",
            {"NumberOfInstances": size, "NumberOfFeatures": 10.0 + i, "NumberOfClasses": 2.0},
            source="test",
        )
    return store


def metafeatures_for(size: float) -> dict[str, float]:
    return {"NumberOfInstances": size, "NumberOfFeatures": 12.0, "NumberOfClasses": 2.0}


@pytest.fixture(scope="package")
def training_data() -> Iterator[TrainingData]:
    store = write_store(":memory:")
    yield load_training_data(
        store, builtin_space("tabular_mlp"), metric="acc", maximize=True, fidelity=None
    )
    store.close()


@pytest.fixture(scope="package")
def surrogate(training_data: TrainingData) -> FewShotSurrogate:
    return FewShotSurrogate(n_steps=60, batch_tasks=4, batch_points=24, seed=0).fit(training_data)
