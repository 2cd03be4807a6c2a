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
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

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
    gp: Any

    def predict(self, x: Array) -> tuple[Array, Array]:
        s = self.surrogate.scenario_scores(x)
        m = self.weights @ s
        spread = np.sqrt(np.maximum(self.weights @ (s - m) ** 2, 0.0))
        mu, sd = self.gp.predict(_features(x), return_std=True)
        mean = self.a + self.b * m + mu
        return np.asarray(mean, dtype=float), np.sqrt(sd**2 + (self.b * spread) ** 2)


def mixture_posterior(surrogate: Any, x_obs: Array, y: Array, *, beta: float = 1.0,
                      prior: Array | None = None, min_evidence: int = MIN_EVIDENCE,
                      fitted: int = FITTED) -> Any:  # fmt: skip
    """:class:`MixturePosterior` of a task from ``k >= 2`` observations (values, larger
    better); ``beta``, ``prior``, ``min_evidence`` and ``fitted`` as in
    :func:`scenario_weights`."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    s_obs = surrogate.scenario_scores(x_obs)
    w = scenario_weights(s_obs, y, beta=beta, prior=prior, min_evidence=min_evidence,
                         fitted=fitted)  # fmt: skip
    u = (y - y.mean()) / (y.std() or 1.0)
    m = w @ s_obs
    mc = m - m.mean()
    b = max(float(mc @ u) / max(float(mc @ mc), 1e-12), 0.0)
    a = -b * float(m.mean())
    kernel = ConstantKernel(0.5, (1e-3, 10.0)) * Matern(0.3, (0.05, 3.0), nu=2.5) + WhiteKernel(
        1e-3, (1e-6, 1e-1)
    )
    gp = GaussianProcessRegressor(kernel, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(_features(x_obs), u - (a + b * m))
    return MixturePosterior(surrogate, x_obs, u, w, a, b, gp)


def _features(x: Array) -> Array:
    """Encoded configurations for the residual GP (inactive cells at 0)."""
    return np.nan_to_num(np.where(np.asarray(x) < 0, np.nan, x), nan=0.0)
