"""One task's sequential loop: seed with the zero-shot ranking, then adapt to each result.

:class:`FewShotTuner` is the mechanism behind the Optuna sampler (and any other way in):
given what has been observed on the task so far, it proposes the next configuration:

1. today's top recommendations (``n_seed``);
2. until ``N_HEDGE`` results are in, the configuration of largest expected gain over the
   training tasks as scenarios
   (:func:`~recommender.fewshot.mixture.hedge_gain`), each weighted by how well it
   explains the results so far, times how much the zero-shot model weighs it for this
   task's meta-features (``prior``): a greedy portfolio that tilts towards the tasks this
   one resembles; running trials count as chosen;
3. then expected improvement under :class:`~recommender.fewshot.mixture.EnsemblePosterior`
   (the scenario mixture, and a GP on the task's own results that takes weight as they
   disagree with every training task), over the whole space: the known configurations,
   quasi-random points and local moves around the best results
   (:func:`~recommender.fewshot.acquisition.propose`). Running trials (``pending``) count
   as returning the mean so far.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from recommender.fewshot.acquisition import Config, Constrain, canonical, propose
from recommender.fewshot.encoding import config_key, config_keys
from recommender.fewshot.mixture import ensemble_posterior, hedge_gain, scenario_weights
from recommender.fewshot.surrogate import FewShotSurrogate

# Today's zero-shot list opens the loop, then hedging over the scenarios (weighted by the
# first results) until N_HEDGE results are in, then expected improvement. Opening with 3,
# 4 or 5 of the list was compared on the shipped tabular and image packs
# (python -m pipelines.bench.bench_opening): 3 did best there, at 5, 10 and 20 trials.
N_SEED = 3
N_HEDGE = 5
N_BEST = 3  # the task's best results that local moves search around


@dataclass
class Suggestion:
    """A proposed configuration and where it came from (``recommended`` or ``adaptive``)."""

    config: Config
    source: str
    acquisition: float | None = None


class FewShotTuner:
    """Propose configurations for one task from its observations so far.

    Args:
        surrogate: a fitted :class:`FewShotSurrogate` for the space and metric.
        metafeatures: the task's meta-features (``None``: unknown).
        zero_shot: today's ranked recommendations, best first; the first ``n_seed`` not
            yet seen are proposed before the model adapts.
        maximize: direction of the values passed to :meth:`suggest`.
        n_seed: how many zero-shot configurations open the loop.
        pool: encoded configurations to consider (default: the surrogate's pool).
        prior: the zero-shot model's weight of each training task for this one, by task
            name (:func:`recommender.knowledge.ranking.task_prior`); ``None``: all alike.
        n_hedge: results before expected improvement takes over from hedging.
        own_gp: let the task's own GP take weight from the scenarios as its results
            disagree with them (``False``: the scenario mixture alone).
        whole_space: search the whole space (``False``: only the configurations of
            ``pool``, for an objective that knows no others).
    """

    def __init__(
        self,
        surrogate: FewShotSurrogate,
        *,
        metafeatures: dict[str, float] | None = None,
        zero_shot: Sequence[Config] = (),
        maximize: bool = True,
        n_seed: int = N_SEED,
        pool: npt.NDArray[np.float64] | None = None,
        prior: Mapping[str, float] | None = None,
        n_hedge: int = N_HEDGE,
        own_gp: bool = True,
        whole_space: bool = True,
    ) -> None:
        self.surrogate = surrogate
        self.space = surrogate.space_
        self.zero_shot = [self.space.clip(c) for c in zero_shot]
        self.maximize = maximize
        self.n_seed, self.n_hedge, self.own_gp = n_seed, n_hedge, own_gp
        self.whole_space = whole_space
        self.pool = surrogate.pool_ if pool is None else pool
        self._pools: dict[Any, npt.NDArray[np.float64]] = {}
        self.prior = scenario_prior(surrogate.tasks_, prior)

    def suggest(
        self,
        observed: Sequence[tuple[Config, float]],
        *,
        pending: Sequence[Config] = (),
        seen: Sequence[Config] = (),
        rng: np.random.Generator | None = None,
        constrain: Constrain | None = None,
        constrain_key: Any = None,
    ) -> Suggestion | None:
        """The next configuration.

        Args:
            observed: ``(config, value)`` of the task's finished runs.
            pending: configurations of running trials: never proposed again, and counted
                as if they had returned the mean observed value (a constant liar), so
                parallel workers get distinct configurations away from each other's.
            seen: other configurations not to repeat (failed, pruned).
            rng: randomness of the candidate search.
            constrain: maps a configuration into the caller's narrower space, or
                ``None`` to reject it; ``constrain_key`` identifies it for caching.

        Returns:
            A :class:`Suggestion`, or ``None`` when no unseen candidate is left.
        """
        rng = rng or np.random.default_rng(0)
        obs_x = self.encode([c for c, _ in observed])
        seen = [*pending, *seen]
        keys = set(config_keys(obs_x)) | set(config_keys(self.encode(seen)))
        n_started = len(observed) + len(seen)
        for config in self.zero_shot[: self.n_seed] if n_started < self.n_seed else []:
            x = canonical(self.space, self.space.encode([config]), constrain)
            if len(x) and config_key(x[0]) not in keys:
                return Suggestion(self.space.decode(x)[0], "recommended")
        y = np.array([v for _, v in observed], dtype=float)
        y = y if self.maximize else -y
        pool = self._pool(constrain, constrain_key)
        if len(observed) < max(self.n_hedge, 2):
            return self._hedge(obs_x, y, self.encode(seen), pool, keys)
        posterior = ensemble_posterior(self.surrogate, obs_x, y, prior=self.prior,
                                       pending=self.encode(pending), rng=rng,
                                       own_gp=self.own_gp)  # fmt: skip
        best_x = canonical(self.space, obs_x[np.argsort(-y)[:N_BEST]], constrain)
        picked = propose(posterior, pool, keys, rng, constrain=constrain, best_x=best_x,
                         whole_space=self.whole_space)  # fmt: skip
        if picked is None:
            return None
        return Suggestion(picked[0], "adaptive", picked[1])

    def _hedge(
        self,
        obs_x: npt.NDArray[np.float64],
        y: npt.NDArray[np.float64],
        running_x: npt.NDArray[np.float64],
        pool: npt.NDArray[np.float64],
        keys: set[bytes],
    ) -> Suggestion | None:
        s_obs = self.surrogate.scenario_scores(obs_x)
        weights = scenario_weights(s_obs, y, prior=self.prior)
        chosen = self.surrogate.scenario_scores(np.vstack([obs_x, running_x]))
        gain = hedge_gain(self.surrogate.scenario_scores(pool), chosen, weights)
        gain[[k in keys for k in config_keys(pool)]] = -np.inf
        if not len(gain) or not np.isfinite(gain.max()):
            return None
        i = int(np.argmax(gain))
        return Suggestion(self.space.decode(pool[i : i + 1])[0], "adaptive", float(gain[i]))

    def encode(self, configs: Sequence[Config]) -> npt.NDArray[np.float64]:
        """Encoded configurations (defaults fill parameters a config lacks)."""
        if not configs:
            return np.empty((0, len(self.space.feature_names)))
        default = self.space.default_config()
        return self.space.encode([self.space.clip({**default, **c}) for c in configs])

    def _pool(self, constrain: Constrain | None, key: Any) -> npt.NDArray[np.float64]:
        if constrain is None:
            return self.pool
        if key not in self._pools:
            pool = canonical(self.space, self.pool, constrain)
            _, first = np.unique(np.round(np.nan_to_num(pool, nan=-1.0), 9), axis=0,
                                 return_index=True)  # fmt: skip
            self._pools = {key: pool[np.sort(first)]}
        return self._pools[key]


def scenario_prior(
    tasks: Sequence[str], prior: Mapping[str, float] | None
) -> npt.NDArray[np.float64] | None:
    """``prior`` as weights over ``tasks`` (summing to 1); a task it does not name gets the
    mean weight of those it does. ``None`` when it names none of them."""
    if not prior:
        return None
    known = [float(prior[t]) for t in tasks if t in prior]
    if not known or not np.isfinite(known).all() or sum(known) <= 0:
        return None
    fill = float(np.mean(known))
    p = np.array([float(prior.get(t, fill)) for t in tasks])
    return np.asarray(p / p.sum(), dtype=float)
