"""Expected improvement over known configurations plus local refinement inside the space.

Candidates are the store's evaluated configurations (plus quasi-random points of the
space when the store knows few), and small perturbations (in the unit cube) of the few
best unseen of those. With a large pool, refinements compete only once the
known configurations promise little (best EI below ``REFINE_BELOW``): the meta-learned
model is surest where the store has data, and refines from there.
Every candidate is decoded to a configuration and encoded again, so ints are rounded,
log scales respected, one-hot blocks valid and inactive conditional parameters unset;
a caller's ``constrain`` (narrower bounds, fewer choices) applies before that. A
candidate equal to a seen configuration is never proposed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

from recommender.fewshot.surrogate import config_key
from recommender.spaces.space import Space

Config = dict[str, Any]


class Posterior(Protocol):
    """A task's posterior on its standardised scale: observed ``u_obs``, ``predict(x)``."""

    surrogate: Any
    u_obs: npt.NDArray[np.float64]

    def predict(
        self, x: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...


Constrain = Callable[[Config], Config | None]
SCALES = (0.01, 0.02, 0.05)
# Refinement starts once the known configurations promise little: their best EI is below
# this (on the task's standardised scale, where the training tasks' values have sd 1).
REFINE_BELOW = 0.01
MIN_POOL = 256  # below this many known configs, quasi-random points widen the search


def expected_improvement(
    mu: npt.NDArray[np.float64], sd: npt.NDArray[np.float64], best: float
) -> npt.NDArray[np.float64]:
    """EI of a maximised function with posterior ``N(mu, sd^2)`` over ``best``.

    >>> float(expected_improvement(np.array([0.0]), np.array([1.0]), 0.0)[0]) > 0.39
    True
    """
    sd = np.maximum(sd, 1e-12)
    z = (mu - best) / sd
    return np.asarray((mu - best) * norm.cdf(z) + sd * norm.pdf(z), dtype=float)


def canonical(
    space: Space, x: npt.NDArray[np.float64], constrain: Constrain | None = None
) -> npt.NDArray[np.float64]:
    """Decode, constrain (dropping rejected rows) and re-encode encoded configurations."""
    decoded = space.decode(x) if len(x) else []
    configs: Iterable[Config | None] = (
        decoded if constrain is None else (constrain(c) for c in decoded)
    )
    kept = [c for c in configs if c is not None]
    return space.encode(kept) if kept else np.empty((0, len(space.feature_names)))


def perturb(
    space: Space, x: npt.NDArray[np.float64], rng: np.random.Generator, per_point: int
) -> npt.NDArray[np.float64]:
    """``per_point`` Gaussian steps (in the unit cube) around each row of ``x``.

    Numeric columns move by one of ``SCALES``; each categorical block switches to a
    random choice with probability 0.2; inactive cells (NaN) start from the middle.
    """
    base = np.repeat(np.nan_to_num(x, nan=0.5), per_point, axis=0)
    scale = rng.choice(SCALES, size=(len(base), 1))
    col = 0
    for p in space.params:
        block = slice(col, col + p.width)
        col += p.width
        if p.type == "categorical":
            switch = rng.random(len(base)) < 0.2
            pick = rng.integers(p.width, size=int(switch.sum()))
            base[switch, block] = np.eye(p.width)[pick]
        else:
            base[:, block] += rng.normal(size=(len(base), 1)) * scale
    return np.asarray(np.clip(base, 0.0, 1.0))


def propose(
    posterior: Posterior,
    pool: npt.NDArray[np.float64],
    seen: set[bytes],
    rng: np.random.Generator,
    *,
    constrain: Constrain | None = None,
    n_random: int = 256,
    n_top: int = 3,
    per_point: int = 64,
) -> tuple[Config, float] | None:
    """The candidate of highest expected improvement that is not in ``seen``.

    Args:
        posterior: the surrogate adapted to the task.
        pool: canonical encoded configurations to consider (already constrained).
        seen: :func:`config_key` of every configuration observed, running or failed.
        rng: randomness for quasi-random points and perturbations.
        constrain: maps a configuration to the caller's narrower space (``None`` drops it).

    Returns:
        The configuration and its EI, or ``None`` when every candidate was seen.
    """
    space = posterior.surrogate.space_
    first = pool
    if len(pool) < MIN_POOL:
        sobol = space.encode(space.sample(n_random, seed=int(rng.integers(2**31))))
        first = np.vstack([pool, canonical(space, sobol, constrain)])
    best = float(np.max(posterior.u_obs)) if len(posterior.u_obs) else -np.inf
    ei = _score(posterior, first, best)
    ei[[config_key(r) in seen for r in first]] = -np.inf
    starts = first[np.argsort(-ei, kind="stable")[:n_top]]
    local = canonical(space, perturb(space, starts, rng, per_point), constrain)
    local_ei = _score(posterior, local, best)
    if len(first) >= MIN_POOL and np.isfinite(ei).any() and np.max(ei) >= REFINE_BELOW:
        local_ei[:] = -np.inf
    cands = np.vstack([first, local])
    scores = np.concatenate([ei, local_ei])
    for i in np.argsort(-scores, kind="stable"):
        if np.isfinite(scores[i]) and config_key(cands[i]) not in seen:
            config = space.decode(cands[i])[0]
            # Re-apply the caller's bounds: decoding can leave a value 1e-16 outside them.
            return (constrain(config) or config) if constrain else config, float(scores[i])
    return None


def _score(
    posterior: Posterior, x: npt.NDArray[np.float64], best: float
) -> npt.NDArray[np.float64]:
    if len(x) == 0:
        return np.empty(0)
    mu, sd = posterior.predict(x)
    if not np.isfinite(best):  # nothing observed: the best predicted mean
        return mu
    return expected_improvement(mu, sd, best)
