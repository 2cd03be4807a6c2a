from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from recommender.errors import ModelError, NotFittedError
from recommender.fewshot import FewShotSurrogate
from recommender.fewshot.gp import gp_nll
from recommender.fewshot.surrogate import fill
from recommender.surrogate.model import TrainingData
from recommender.surrogate.normalize import normalize_values

from .conftest import N_TASKS, sizes, task_response


def _task(data: TrainingData, task: str) -> tuple[np.ndarray, np.ndarray]:
    mask = (data.frame["task"] == task).to_numpy()
    return data.X[mask], data.frame["value"].to_numpy()[mask]


def _heldout_nll(model: FewShotSurrogate, data: TrainingData, task: str) -> float:
    x, v = _task(data, task)
    y = normalize_values(v, method="regret")
    mf = model.task_vector(data.metafeatures[task])
    t = torch.as_tensor
    with torch.no_grad():
        nll = gp_nll(
            model.model_, t(fill(x))[None], t(y)[None], t(mf)[None],
            torch.zeros(1, model.n_latent, dtype=torch.float64),
        )  # fmt: skip
    return float(nll) / len(y)


def test_meta_training_lowers_heldout_nll(training_data: TrainingData) -> None:
    held = training_data.tasks[2]
    train = training_data.subset([t for t in training_data.tasks if t != held])
    untrained = FewShotSurrogate(n_steps=0, seed=0).fit(train)
    trained = FewShotSurrogate(n_steps=60, batch_tasks=4, batch_points=24, seed=0).fit(train)
    assert trained.losses_[-1] < trained.losses_[0]
    assert (
        _heldout_nll(trained, training_data, held)
        < _heldout_nll(untrained, training_data, held) - 0.2
    )


def test_scenarios_predict_each_task_where_it_did_not_run(
    surrogate: FewShotSurrogate, training_data: TrainingData
) -> None:
    space = surrogate.space_
    fresh = space.sample(64, seed=123)  # configurations no task ran
    truth = np.array([[task_response(c, size) for c in fresh] for size in sizes()])
    untrained = FewShotSurrogate(n_steps=0, seed=0).fit(training_data)

    def agreement(model: FewShotSurrogate) -> float:
        s = model.scenario_scores(space.encode(fresh))
        assert s.shape == (N_TASKS, 64) and np.isfinite(s).all()
        return float(np.mean([np.corrcoef(s[t], truth[t])[0, 1] for t in range(N_TASKS)]))

    assert agreement(surrogate) > agreement(untrained) + 0.1


def test_save_load_round_trip(surrogate: FewShotSurrogate, tmp_path: Path) -> None:
    files = surrogate.save(tmp_path / "m")
    assert {f.name for f in files} == {"fewshot.safetensors", "fewshot.json"}
    loaded = FewShotSurrogate.load(tmp_path / "m")
    x = surrogate.space_.encode(surrogate.space_.sample(20, seed=3))
    np.testing.assert_allclose(loaded.scenario_scores(x), surrogate.scenario_scores(x), rtol=1e-9)
    np.testing.assert_allclose(loaded.pool_, surrogate.pool_)


def test_load_refuses_a_missing_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="unreadable"):
        FewShotSurrogate.load(tmp_path)


def test_unfitted_and_too_few_tasks(training_data: TrainingData) -> None:
    with pytest.raises(NotFittedError):
        FewShotSurrogate().scenario_scores(np.zeros((1, 4)))
    with pytest.raises(ModelError, match="at least 2 tasks"):
        FewShotSurrogate(n_steps=1).fit(training_data.subset(training_data.tasks[:1]))
    assert len(training_data.tasks) == N_TASKS
