"""The new task's own Gaussian process, and how far to trust it over the training tasks.

The training tasks shape the prior (:mod:`recommender.fewshot.mixture`); this module
holds the other member of the tuner's ensemble, a GP fitted on the task's own results
alone, and its weight. As in RGPE (Feurer et al., ranking-weighted GP ensembles), the
weight comes from ranking loss on the task's observations: the share of bootstrap
resamples of the results in which the task's GP (leave-one-out predictions, so it is
not scored on what it was fitted to) misorders fewer pairs than the best of the training
tasks does. When the first results disagree with every training task, the task's own GP
takes over within a few trials; while some training task orders them as well, the
training tasks keep the lead.

The GP is a Matern-5/2 kernel on the encoded configuration (inactive cells at 0), zero
mean on the task's standardised values, its length scale the marginal-likelihood best of
a small grid and its amplitude profiled out: closed-form, a few small Cholesky
factorisations per suggestion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
LENGTH_SCALES = (0.1, 0.2, 0.4, 0.8, 1.6, 3.2)  # in the unit cube of the encoding
NOISE = 1e-4  # relative to the amplitude
MIN_AMP = 1e-3  # the amplitude's floor: never certain away from the results
N_BOOT = 100  # bootstrap resamples of the results for the ranking-loss weight


def features(x: Array) -> Array:
    """Encoded configurations for a GP on the task's results (inactive cells at 0)."""
    return np.nan_to_num(np.where(np.asarray(x) < 0, np.nan, x), nan=0.0)


def matern52(a: Array, b: Array, length: float) -> Array:
    """Matern-5/2 correlation of the rows of ``a`` and ``b``."""
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None] - 2.0 * a @ b.T
    r = np.sqrt(5.0 * np.maximum(d2, 0.0)) / length
    return np.asarray((1.0 + r + r * r / 3.0) * np.exp(-r), dtype=float)


@dataclass
class TaskGP:
    """A GP on one task's standardised values ``u`` at encoded configurations ``x``."""

    x: Array
    chol: Array
    alpha: Array
    amp: float
    length: float

    def predict(self, x: Array) -> tuple[Array, Array]:
        """Posterior mean and standard deviation at encoded configurations."""
        ks = matern52(self.x, features(x), self.length)
        mu = ks.T @ self.alpha
        v = np.linalg.solve(self.chol, ks)
        var = self.amp * np.maximum(1.0 - (v * v).sum(0), 1e-10)
        return mu, np.sqrt(var)

    def loo(self, u: Array) -> Array:
        """Leave-one-out predictive means at the fitted points."""
        inv = np.linalg.inv(self.chol)
        k_inv = inv.T @ inv
        return np.asarray(u - (k_inv @ u) / np.diag(k_inv), dtype=float)


def fit_task_gp(x: Array, u: Array) -> TaskGP:
    """The GP of marginal-likelihood best length scale on ``(x, u)`` (``u`` standardised)."""
    f = features(x)
    n = len(u)
    best: tuple[float, TaskGP] | None = None
    for length in LENGTH_SCALES:
        k = matern52(f, f, length) + NOISE * np.eye(n)
        chol = np.asarray(np.linalg.cholesky(k), dtype=float)
        z = np.linalg.solve(chol, u)
        amp = max(float(z @ z) / n, MIN_AMP)
        nll = 0.5 * n * np.log(amp) + float(np.log(np.diag(chol)).sum())
        if best is None or nll < best[0]:
            alpha = np.linalg.solve(chol.T, z)
            best = (nll, TaskGP(f, chol, alpha, amp, length))
    assert best is not None
    return best[1]


def discordance(pred: Array, u: Array) -> Array:
    """``(..., k, k)``: 1 where ``pred`` orders a pair of results against ``u``, a half where
    it ties a pair that ``u`` orders; ``pred`` is ``(..., k)``."""
    dp = pred[..., :, None] - pred[..., None, :]
    dy = u[:, None] - u[None, :]
    return np.asarray((dp * dy < 0) + 0.5 * ((dp == 0) & (dy != 0)), dtype=float)


def target_weight(s_obs: Array, target_loo: Array, u: Array,
                  rng: np.random.Generator, n_boot: int = N_BOOT) -> float:  # fmt: skip
    """Share of bootstrap resamples of the results in which the task's GP (leave-one-out)
    misorders fewer pairs than the best of the training tasks (``s_obs``, ``(T, k)``, their
    scores at the results) does in the same resample; a tie goes to the training tasks.
    0 below three results."""
    k = len(u)
    if k < 3 or np.ptp(u) == 0:
        return 0.0
    counts = np.stack([np.bincount(rng.integers(k, size=k), minlength=k) for _ in range(n_boot)])
    counts = counts.astype(float)

    def losses(d: Array) -> Array:  # (n_boot, ...) misordered pairs of each resample
        return np.asarray(0.5 * np.einsum("bi,...ij,bj->b...", counts, d, counts), dtype=float)

    best_prior = losses(discordance(s_obs, u)).min(axis=1)
    own = losses(discordance(target_loo, u))
    return float(np.mean(own < best_prior))
