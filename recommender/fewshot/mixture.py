"""The training tasks as scenarios for a new task, weighted by its observations.

Each training task ``t`` is one scenario of what the new task's response looks like: its
Gaussian-copula scores ``S[t, c]`` over candidate configurations ``c`` (measured where it
ran ``c``, else the meta-learned model's prediction for that task). After ``k``
observations each scenario is weighted by how well an increasing affine map of its scores
explains the task's standardised values (a Gaussian likelihood of the residuals on
``k - 2`` degrees of freedom, as the centre and slope are fitted; uniform below
:data:`MIN_EVIDENCE` observations), times a prior over the scenarios: how much the
zero-shot model weighs each training task for this one from its meta-features (uniform
when the task's meta-features are unknown or the model found no per-task signal).

Two uses, one set of weights:

* :func:`hedge_gain`, the expected gain of one more configuration over the best seen, in
  each scenario: with uniform weights and nothing observed, greedily adding the
  configuration of highest gain builds the global greedy portfolio; observations tilt it
  towards the scenarios the task resembles.
* :class:`MixturePosterior`, a Gaussian process on the task's own values whose prior mean
  is the weighted scenario mean (affinely mapped to the task's scale) and whose prior
  variance adds the scenarios' disagreement: expected improvement then refines around
  what the task has shown.

:class:`EnsemblePosterior` pairs that mixture with a GP on the task's own results alone
(:mod:`recommender.fewshot.taskgp`), weighted by how much better it ranks them than the
best training task does: the tuner's posterior from ``N_HEDGE`` results on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from recommender.fewshot.taskgp import TaskGP, fit_task_gp, target_weight

Array = npt.NDArray[np.float64]
MIN_EVIDENCE = 3  # observations before they reweight the scenarios
NOISE_FLOOR = 0.05  # residual variance floor (standardised scale): no scenario is certain
# Parameters fitted to each scenario (centre and slope): the likelihood counts k - FITTED
# results, so three results weigh a third of what they did counted in full. Compared on the
# shipped packs with python -m pipelines.bench.bench_opening --variants.
FITTED = 2


def scenario_weights(s_obs: Array, y: Array, *, beta: float = 1.0, prior: Array | None = None,
                     min_evidence: int = MIN_EVIDENCE, fitted: int = FITTED) -> Array:  # fmt: skip
    """Scenario weights from the task's observations.

    Args:
        s_obs: ``(T, k)`` each scenario's scores at the observed configurations.
        y: ``(k,)`` the task's values there, larger is better.
        beta: temperature of the likelihood (0: uniform).
        prior: ``(T,)`` prior weights (``None``: uniform).
        min_evidence: below this many observations, the prior alone.
        fitted: parameters fitted to each scenario before its residuals are scored; the
            likelihood counts ``k - fitted`` observations (0: all ``k``).

    >>> s = np.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]])
    >>> w = scenario_weights(s, np.array([1.0, 2.0, 3.0]))
    >>> bool(w[0] > 0.8 and abs(w.sum() - 1) < 1e-12)
    True
    """
    n_tasks, k = s_obs.shape
    p = np.full(n_tasks, 1.0 / n_tasks) if prior is None else np.asarray(prior, dtype=float)
    if k < min_evidence or np.ptp(y) == 0:
        return np.asarray(p / p.sum(), dtype=float)
    u = (y - y.mean()) / y.std()
    sc = s_obs - s_obs.mean(axis=1, keepdims=True)
    slope = np.maximum((sc @ u) / np.maximum((sc * sc).sum(axis=1), 1e-12), 0.0)
    resid = u[None] - slope[:, None] * sc
    loglik = -0.5 * max(k - fitted, 0) * np.log((resid * resid).mean(axis=1) + NOISE_FLOOR)
    logw = beta * (loglik - loglik.max())
    w = p * np.exp(logw)
    return np.asarray(w / w.sum(), dtype=float)


def hedge_gain(s_cand: Array, s_obs: Array, w: Array) -> Array:
    """Weighted expected gain of each candidate over each scenario's best observed score.

    ``s_cand (T, c)``, ``s_obs (T, k)``, ``w (T,)`` -> ``(c,)``. With nothing observed, the
    weighted mean score (the first pick of a greedy portfolio).
    """
    if s_obs.shape[1] == 0:
        return np.asarray(w @ s_cand, dtype=float)
    best = s_obs.max(axis=1, keepdims=True)
    return np.asarray(w @ np.maximum(s_cand - best, 0.0), dtype=float)


@dataclass
class MixturePosterior:
    """The task's standardised values ``u``: scenario-mean prior plus a GP on the residuals.

    ``predict`` returns the posterior mean and standard deviation of ``u`` at encoded
    configurations; ``u_obs`` are the observed ones (what expected improvement beats).
    """

    surrogate: Any  # the FewShotSurrogate whose scenarios these are
    x_obs: Array
    u_obs: Array
    weights: Array
    a: float
    b: float
    gp: TaskGP

    def predict(self, x: Array) -> tuple[Array, Array]:
        s = self.surrogate.scenario_scores(x)
        m = self.weights @ s
        spread = np.sqrt(np.maximum(self.weights @ (s - m) ** 2, 0.0))
        mu, sd = self.gp.predict(x)
        mean = self.a + self.b * m + mu
        return np.asarray(mean, dtype=float), np.sqrt(sd**2 + (self.b * spread) ** 2)


def mixture_posterior(surrogate: Any, x_obs: Array, y: Array, *, beta: float = 1.0,
                      prior: Array | None = None, min_evidence: int = MIN_EVIDENCE,
                      fitted: int = FITTED) -> Any:  # fmt: skip
    """:class:`MixturePosterior` of a task from ``k >= 2`` observations (values, larger
    better); ``beta``, ``prior``, ``min_evidence`` and ``fitted`` as in
    :func:`scenario_weights`."""
    s_obs = surrogate.scenario_scores(x_obs)
    w = scenario_weights(s_obs, y, beta=beta, prior=prior, min_evidence=min_evidence,
                         fitted=fitted)  # fmt: skip
    u = (y - y.mean()) / (y.std() or 1.0)
    a, b = _affine(w @ s_obs, u)
    gp = fit_task_gp(x_obs, u - (a + b * (w @ s_obs)))
    return MixturePosterior(surrogate, x_obs, u, w, a, b, gp)


def _affine(m: Array, u: Array) -> tuple[float, float]:
    """``u ~ a + b m`` by least squares, the slope ``b`` at least 0."""
    mc = m - m.mean()
    b = max(float(mc @ u) / max(float(mc @ mc), 1e-12), 0.0)
    return -b * float(m.mean()), b


@dataclass
class EnsemblePosterior:
    """The tuner's posterior on the task's standardised scale: the scenario mixture and
    the task's own GP, weighted ``1 - target`` and ``target``
    (:func:`~recommender.fewshot.taskgp.target_weight`). The mixture of the two is what
    expected improvement averages over."""

    surrogate: Any
    u_obs: Array
    mixture: MixturePosterior
    task_gp: TaskGP
    target: float

    def members(self, x: Array) -> list[tuple[float, Array, Array]]:
        """``(weight, mean, sd)`` of each member with weight at ``x``."""
        parts: list[tuple[float, MixturePosterior | TaskGP]] = [
            (1.0 - self.target, self.mixture),
            (self.target, self.task_gp),
        ]
        return [(w, *m.predict(x)) for w, m in parts if w > 0]


def ensemble_posterior(surrogate: Any, x_obs: Array, y: Array, *, prior: Array | None = None,
                       pending: Array | None = None, rng: np.random.Generator | None = None,
                       own_gp: bool = True) -> EnsemblePosterior:  # fmt: skip
    """:class:`EnsemblePosterior` of ``k >= 2`` results (values, larger better); ``pending``
    configurations count as returning the mean so far (a constant liar), after the
    target weight is set from the results alone (``own_gp=False``: weight 0)."""
    rng = rng or np.random.default_rng(0)
    s_obs = surrogate.scenario_scores(x_obs)
    u = (y - y.mean()) / (y.std() or 1.0)

    target = 0.0
    if own_gp and len(y) >= 3 and np.ptp(y) > 0:
        target = target_weight(s_obs, fit_task_gp(x_obs, u).loo(u), u, rng)
    if pending is not None and len(pending):
        x_obs = np.vstack([x_obs, pending])
        y = np.concatenate([y, np.full(len(pending), y.mean())])
        u = (y - y.mean()) / (y.std() or 1.0)
    mix = mixture_posterior(surrogate, x_obs, y, prior=prior)
    return EnsemblePosterior(surrogate, mix.u_obs, mix, fit_task_gp(x_obs, u), target)
