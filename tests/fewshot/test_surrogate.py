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

from .conftest import N_TASKS


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


def test_posterior_mean_interpolates_observations(
    surrogate: FewShotSurrogate, training_data: TrainingData
) -> None:
    x, v = _task(training_data, "t3")
    post = surrogate.adapt(x[:12], v[:12], surrogate.task_vector(None))
    mu, sd = post.predict(x[:12])
    prior = surrogate.adapt(x[:0], v[:0])
    mu0, _ = prior.predict(x[:12])
    # On the task's own scale: closer to what was observed than before observing it.
    assert (
        np.abs(mu - post.u_obs).mean()
        < 0.5 * np.abs(mu0 - (v[:12] - post.offset) / post.scale).mean()
    )
    assert np.corrcoef(mu, post.u_obs)[0, 1] > 0.9
    assert (sd > 0).all()


def test_adapt_with_no_observations_uses_the_prior(surrogate: FewShotSurrogate) -> None:
    post = surrogate.adapt(np.empty((0, len(surrogate.space_.feature_names))), [])
    mu, sd = post.predict(surrogate.pool_[:5])
    assert mu.shape == sd.shape == (5,)
    assert post.scale > 0


def test_save_load_round_trip(surrogate: FewShotSurrogate, tmp_path: Path) -> None:
    files = surrogate.save(tmp_path / "m")
    assert {f.name for f in files} == {"fewshot.safetensors", "fewshot.json"}
    loaded = FewShotSurrogate.load(tmp_path / "m")
    x = surrogate.pool_[:20]
    a = surrogate.adapt(x[:5], np.linspace(0.5, 0.9, 5)).predict(x)
    b = loaded.adapt(x[:5], np.linspace(0.5, 0.9, 5)).predict(x)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-9)
    np.testing.assert_allclose(loaded.pool_, surrogate.pool_)


def test_load_refuses_a_missing_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="unreadable"):
        FewShotSurrogate.load(tmp_path)


def test_unfitted_and_too_few_tasks(training_data: TrainingData) -> None:
    with pytest.raises(NotFittedError):
        FewShotSurrogate().adapt([], [])
    with pytest.raises(ModelError, match="at least 2 tasks"):
        FewShotSurrogate(n_steps=1).fit(training_data.subset(training_data.tasks[:1]))
    assert len(training_data.tasks) == N_TASKS
