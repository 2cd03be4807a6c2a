"""Expected improvement over the whole space: known configurations, quasi-random points
and local moves.

Candidates are the store's evaluated configurations, quasi-random points of the whole
space (fresh each suggestion), and local moves (in the unit cube) around the task's best
results and the best-scored of those; all compete on expected improvement, so the
stored configurations shape the search without bounding it.
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

from recommender.fewshot.encoding import config_keys
from recommender.spaces.space import Space

Config = dict[str, Any]


class Posterior(Protocol):
    """A task's posterior on its standardised scale: observed ``u_obs``, and ``members(x)``,
    the ``(weight, mean, sd)`` of each Gaussian of the mixture it is at ``x``."""

    surrogate: Any
    u_obs: npt.NDArray[np.float64]

    def members(
        self, x: npt.NDArray[np.float64]
    ) -> list[tuple[float, npt.NDArray[np.float64], npt.NDArray[np.float64]]]: ...


Constrain = Callable[[Config], Config | None]
# Steps (in the unit cube) of local moves around the best results and the best candidates.
SCALES = (0.02, 0.05, 0.1, 0.2)
N_RANDOM = 256  # quasi-random points of the whole space, fresh each suggestion


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
    return encode_kept(space, space.decode(x) if len(x) else [], constrain)


def encode_kept(
    space: Space, configs: list[Config], constrain: Constrain | None = None
) -> npt.NDArray[np.float64]:
    """Encoded configurations, constrained first (dropping rejected ones)."""
    kept: Iterable[Config | None] = (
        configs if constrain is None else (constrain(c) for c in configs)
    )
    rows = [c for c in kept if c is not None]
    return space.encode(rows) if rows else np.empty((0, len(space.feature_names)))


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
    best_x: npt.NDArray[np.float64] | None = None,
    whole_space: bool = True,
    n_random: int = N_RANDOM,
    n_top: int = 3,
    per_point: int = 64,
) -> tuple[Config, float] | None:
    """The candidate of highest expected improvement that is not in ``seen``.

    Candidates: ``pool``, ``n_random`` quasi-random points of the whole space, and
    ``per_point`` local moves around each of ``best_x`` (the task's best results) and of
    the ``n_top`` pool or random points of highest expected improvement.

    Args:
        posterior: the tuner's posterior for the task.
        pool: canonical encoded configurations to consider (already constrained).
        seen: :func:`config_key` of every configuration observed, running or failed.
        rng: randomness for quasi-random points and local moves.
        constrain: maps a configuration to the caller's narrower space (``None`` drops it).
        best_x: encoded configurations to search around.
        whole_space: ``False``: ``pool`` alone.

    Returns:
        The configuration and its EI, or ``None`` when every candidate was seen.
    """
    space = posterior.surrogate.space_
    if not whole_space:
        n_random = per_point = 0
    sobol = space.sample(n_random, seed=int(rng.integers(2**31))) if n_random else []
    first = np.vstack([pool, encode_kept(space, sobol, constrain)])
    best = float(np.max(posterior.u_obs)) if len(posterior.u_obs) else -np.inf
    ei = score(posterior, first, best)
    ei[[k in seen for k in config_keys(first)]] = -np.inf
    starts = first[np.argsort(-ei, kind="stable")[:n_top]]
    if best_x is not None and len(best_x):
        starts = np.vstack([starts, best_x])
    local = canonical(space, perturb(space, starts, rng, per_point), constrain)
    cands = np.vstack([first, local])
    scores = np.concatenate([ei, score(posterior, local, best)])
    keys = config_keys(cands)
    for i in np.argsort(-scores, kind="stable"):
        if np.isfinite(scores[i]) and keys[i] not in seen:
            config = space.decode(cands[i])[0]
            # Re-apply the caller's bounds: decoding can leave a value 1e-16 outside them.
            return (constrain(config) or config) if constrain else config, float(scores[i])
    return None


def score(posterior: Posterior, x: npt.NDArray[np.float64], best: float) -> npt.NDArray[np.float64]:
    """Expected improvement over ``best`` under the posterior's mixture (the weighted EI
    of its members); with nothing observed, the mixture's mean."""
    out = np.zeros(len(x))
    if len(x) == 0:
        return out
    for w, mu, sd in posterior.members(x):
        out += w * (mu if not np.isfinite(best) else expected_improvement(mu, sd, best))
    return out
