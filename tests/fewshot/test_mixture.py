"""The training tasks as weighted scenarios: weights, hedging, the mixture posterior."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from recommender.errors import ModelError
from recommender.fewshot import FewShotSurrogate, FewShotTuner
from recommender.fewshot.mixture import (
    MIN_EVIDENCE,
    hedge_gain,
    mixture_posterior,
    scenario_weights,
)
from recommender.surrogate.model import TrainingData
from recommender.surrogate.normalize import normalize_values
from recommender.surrogate.portfolio import weighted_greedy

finite = st.floats(-1e3, 1e3, allow_nan=False)


@given(arrays(float, (4, 5), elements=finite), arrays(float, 5, elements=finite))
@example(np.zeros((4, 5)), np.zeros(5))  # constant values and scenarios: uniform
@example(np.zeros((4, 5)), np.arange(5.0))
def test_weights_are_a_distribution(s_obs: np.ndarray, y: np.ndarray) -> None:
    w = scenario_weights(s_obs, y)
    assert w.shape == (4,) and np.isfinite(w).all() and (w >= 0).all()
    assert w.sum() == pytest.approx(1.0)


def test_weights_favour_the_scenario_that_explains_the_results() -> None:
    rng = np.random.default_rng(0)
    s_obs = rng.normal(size=(5, 8))
    y = 0.3 + 0.01 * s_obs[2]  # the task behaves like scenario 2, on its own scale
    w = scenario_weights(s_obs, y)
    assert int(np.argmax(w)) == 2 and w[2] > 0.5
    assert np.allclose(scenario_weights(s_obs[:, : MIN_EVIDENCE - 1], y[: MIN_EVIDENCE - 1]), 0.2)
    assert np.allclose(scenario_weights(s_obs, y, beta=0.0), 0.2)
    anti = scenario_weights(np.vstack([s_obs[2], -s_obs[2]]), y)
    assert anti[0] > 0.9


def test_the_likelihood_counts_the_results_less_the_fitted_centre_and_slope() -> None:
    rng = np.random.default_rng(2)
    s_obs, y = rng.normal(size=(3, MIN_EVIDENCE)), rng.normal(size=MIN_EVIDENCE)
    full, fewer = scenario_weights(s_obs, y, fitted=0), scenario_weights(s_obs, y)
    assert not np.allclose(full, 1 / 3)
    k = MIN_EVIDENCE  # log-odds between scenarios shrink by (k - 2) / k
    np.testing.assert_allclose(np.log(fewer / fewer[0]), np.log(full / full[0]) * (k - 2) / k)
    assert np.allclose(scenario_weights(s_obs, y, fitted=k), 1 / 3)  # nothing left to count


def test_the_prior_weighs_until_the_evidence_speaks_then_multiplies_it() -> None:
    from recommender.fewshot.tuner import scenario_prior

    rng = np.random.default_rng(0)
    s_obs = rng.normal(size=(4, 8))
    y = s_obs[2] + 0.01 * rng.normal(size=8)
    prior = scenario_prior(["a", "b", "c", "d"], {"a": 6.0, "b": 2.0, "c": 2.0})
    assert prior is not None and np.allclose(prior, [0.45, 0.15, 0.15, 0.25])  # d: the mean
    assert np.allclose(scenario_weights(s_obs[:, :2], y[:2], prior=prior), prior)
    flat, tilted = scenario_weights(s_obs, y), scenario_weights(s_obs, y, prior=prior)
    assert np.allclose(tilted, prior * flat / (prior * flat).sum())
    assert scenario_prior(["a"], {"z": 1.0}) is None and scenario_prior(["a"], None) is None


def test_hedging_from_nothing_is_the_greedy_portfolio() -> None:
    rng = np.random.default_rng(1)
    S = rng.normal(size=(6, 30))
    w = np.full(6, 1 / 6)
    chosen: list[int] = []
    for _ in range(5):
        gain = hedge_gain(S, S[:, chosen], w)
        gain[chosen] = -np.inf
        chosen.append(int(np.argmax(gain)))
    assert chosen == weighted_greedy(S, w, 5)


def test_scenarios_are_the_measured_scores_where_a_task_ran(
    surrogate: FewShotSurrogate, training_data: TrainingData
) -> None:
    t = 3
    mask = (training_data.frame["task"] == surrogate.tasks_[t]).to_numpy()
    x = training_data.space.encode(training_data.space.decode(training_data.X[mask]))
    z = normalize_values(training_data.frame["value"].to_numpy(float)[mask], maximize=True,
                         method="copula")  # fmt: skip
    np.testing.assert_allclose(surrogate.scenario_scores(x)[t], z, atol=1e-9)
    off_pool = np.clip(x[:4] + 0.013, 0, 1)  # not run by anyone: the model's prediction
    s = surrogate.scenario_scores(off_pool)
    assert s.shape == (len(surrogate.tasks_), 4) and np.isfinite(s).all()


def test_mixture_posterior_fits_the_observations(surrogate: FewShotSurrogate) -> None:
    x = surrogate.pool_[:12]
    y = surrogate.scenario_scores(x)[1] * 0.02 + 0.7
    post = mixture_posterior(surrogate, x, y)
    mu, sd = post.predict(x)
    assert np.corrcoef(mu, post.u_obs)[0, 1] > 0.95
    assert int(np.argmax(post.weights)) == 1
    mu_far, sd_far = post.predict(surrogate.pool_[-20:])
    assert (sd > 0).all() and sd_far.mean() > sd.mean()


def test_tuner_hedges_then_refines(surrogate: FewShotSurrogate) -> None:
    tuner = FewShotTuner(surrogate, zero_shot=[], n_seed=0)
    observed: list[tuple[dict[str, object], float]] = []
    for _ in range(7):
        s = tuner.suggest(observed)
        assert s is not None and s.source == "adaptive"
        assert s.acquisition is not None and np.isfinite(s.acquisition)
        x = tuner.encode([s.config])
        observed.append((s.config, float(surrogate.scenario_scores(x)[2, 0])))
    keys = {tuple(np.round(tuner.encode([c])[0], 9)) for c, _ in observed}
    assert len(keys) == 7  # never a repeat


def test_a_model_of_the_first_format_asks_for_a_retrain(
    surrogate: FewShotSurrogate, tmp_path: Path
) -> None:
    from safetensors.torch import load_file, save_file

    surrogate.save(tmp_path / "m")
    state = load_file(str(tmp_path / "m" / "fewshot.safetensors"))
    del state["scenarios"]
    save_file(state, str(tmp_path / "m" / "fewshot.safetensors"))
    with pytest.raises(ModelError, match="another version; retrain"):
        FewShotSurrogate.load(tmp_path / "m")
    surrogate.save(tmp_path / "ok")
    loaded = FewShotSurrogate.load(tmp_path / "ok")
    np.testing.assert_allclose(loaded.scenarios_, surrogate.scenarios_)
