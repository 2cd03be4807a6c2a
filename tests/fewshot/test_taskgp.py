"""The task's own GP and its ranking-loss weight against the training tasks."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.fewshot import FewShotSurrogate
from recommender.fewshot.mixture import ensemble_posterior
from recommender.fewshot.taskgp import discordance, fit_task_gp, target_weight


def _line(k: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(0.0, 1.0, k)[:, None]
    return x, (x[:, 0] - 0.5) / 0.3


def test_the_task_gp_interpolates_and_predicts_left_out_points() -> None:
    x, u = _line(8)
    gp = fit_task_gp(x, u)
    mu, sd = gp.predict(x)
    np.testing.assert_allclose(mu, u, atol=1e-2)
    assert (sd < 0.1).all()
    _, sd_far = gp.predict(np.array([[3.0]]))
    assert sd_far[0] > 5 * sd.max()
    assert np.corrcoef(gp.loo(u), u)[0, 1] > 0.9  # a smooth trend: left-out points follow


def test_discordance_counts_misordered_pairs() -> None:
    u = np.array([0.0, 1.0, 2.0])
    assert discordance(u, u).sum() == 0
    assert discordance(-u, u).sum() / 2 == 3  # every pair reversed
    assert discordance(np.zeros(3), u).sum() / 2 == pytest.approx(1.5)  # ties count half


def test_the_task_gp_takes_over_when_every_training_task_disagrees() -> None:
    x, u = _line(8)
    rng = np.random.default_rng(0)
    gp_loo = fit_task_gp(x, u).loo(u)
    wrong = -u[None] + 0.1 * rng.normal(size=(6, 8))  # each scenario reverses the order
    right = u[None] + 0.1 * rng.normal(size=(6, 8))
    right[0] = u  # one training task orders the results exactly
    assert target_weight(wrong, gp_loo, u, rng) > 0.9
    assert target_weight(right, gp_loo, u, rng) < 0.1
    assert target_weight(wrong[:, :2], gp_loo[:2], u[:2], rng) == 0.0  # too few results


def test_ensemble_keeps_the_prior_while_a_training_task_explains_the_results(
    surrogate: FewShotSurrogate,
) -> None:
    x = surrogate.pool_[:10]
    like = surrogate.scenario_scores(x)[1]
    follows = ensemble_posterior(surrogate, x, 0.7 + 0.02 * like)  # task 1 orders them all
    assert follows.target == 0.0
    off = ensemble_posterior(surrogate, x, 0.7 - 0.02 * like, own_gp=False)
    assert off.target == 0.0 and len(off.members(x)) == 1
    on = ensemble_posterior(surrogate, x, 0.7 - 0.02 * like)
    assert 0.0 <= on.target <= 1.0
