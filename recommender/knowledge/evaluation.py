"""Leave-one-task-out evaluation of recommendations against baselines.

For each task ``t`` the surrogate is refit on the other tasks only (their runs, their
meta-features, their normalisation), asked for configurations from ``t``'s
meta-features, and scored with ``t``'s own runs: a recommended configuration that was
not evaluated on ``t`` gets the value of its nearest evaluated configuration there (in
the encoded space). Regret is ``max(0, (best - achieved) / (best - median))``: 0 = the
task's best run, 1 = its median run, the scale of ``retrain``'s figure too (which instead
ranks each held-out task's own runs with the surrogate alone).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from recommender.errors import ModelError
from recommender.knowledge.ranking import recommend_with
from recommender.spaces.space import load_space
from recommender.surrogate.features import MetaFeatureScaler
from recommender.surrogate.model import TrainingData, fit_surrogate, load_training_data
from recommender.surrogate.normalize import REGRET_SCALE, regret, regret_scale
from recommender.surrogate.portfolio import weighted_greedy
from recommender.surrogate.tuning import TUNING_GRID

if TYPE_CHECKING:
    from recommender.store.base import Store

RANDOM_KS = (1, 5, 10, 25, 50)
METHODS = ("recommender", "default", "portfolio", "nearest_task")
MEASURES = (
    "each method's pick for every task, with the model refitted without that task "
    "(leave-one-task-out), scored on the task's runs: recommender_top1 is the first config "
    "recommend gives, recommender_topK the best of its first K; retrain's surrogate top-1 "
    "regret instead ranks each held-out task's own runs"
)


@dataclass
class EvaluationResult:
    """Per-task regrets of each method, and their means."""

    space: str
    metric: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    rules: dict[str, str] = field(default_factory=dict)  # task -> portfolio rule fitted without it

    def means(self) -> dict[str, float | None]:
        keys = [k for k in self.rows[0] if k != "task"] if self.rows else []
        return {k: _mean([r[k] for r in self.rows]) for k in keys}

    def what_it_measures(self) -> str:
        """The regret's scale and what it measures, in one sentence."""
        return f"Regret per task ({REGRET_SCALE}; lower is better) of {MEASURES}."

    def as_dict(self) -> dict[str, Any]:
        return {
            "space": self.space,
            "metric": self.metric,
            "tasks": self.rows,
            "mean": self.means(),
            "portfolio_rules": self.rules,
            "regret_scale": REGRET_SCALE,
            "regret_measures": MEASURES,
        }


def _fill(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.nan_to_num(x, nan=-1.0)


class _TaskTable:
    """One task's evaluated configs, for nearest-neighbour scoring of any config."""

    def __init__(self, X: npt.NDArray[np.float64], values: npt.NDArray[np.float64], maximize: bool):
        self.tree = cKDTree(_fill(X))
        self.values, self.maximize = values, maximize

    def value(self, X: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        _, idx = self.tree.query(_fill(np.atleast_2d(X)))
        return self.values[idx]

    def regret_of(self, X: npt.NDArray[np.float64], k: int) -> float:
        """Regret of the best of the first ``k`` rows of ``X``."""
        vals = self.value(X[:k])
        best = vals.max() if self.maximize else vals.min()
        return regret(float(best), self.values, maximize=self.maximize)


def _tables(data: TrainingData) -> dict[str, _TaskTable]:
    out = {}
    for t in data.tasks:
        mask = (data.frame["task"] == t).to_numpy()
        out[t] = _TaskTable(data.X[mask], data.frame["value"].to_numpy()[mask], data.maximize)
    return out


def evaluate_loto(
    store: Store,
    *,
    space: str,
    metric: str,
    maximize: bool,
    fidelity: float | None = None,
    params: dict[str, Any] | None = None,
    top_k: int = 5,
    seed: int = 0,
    n_random: int = 200,
    holdout: Sequence[str] = (),
) -> EvaluationResult:
    """Leave-one-task-out regret of our recommendations and of the baselines.

    Args:
        store: an open store.
        space: space name.
        metric: metric to score; ``maximize`` its direction.
        fidelity: runs at this fidelity only (default: each run's highest).
        params: surrogate settings (``TUNING_GRID[0]`` when ``None``; never tuned on the
            held-out task).
        top_k: size of the recommended set (top-1 and best-of-top-k are reported).
        seed: randomness.
        n_random: draws averaged for the random best-of-k baselines.
        holdout: if given, only these tasks are scored, and none of them is ever used to
            fit anything (surrogate, portfolio, nearest task) for another.

    Returns:
        An :class:`EvaluationResult`.

    Raises:
        ModelError: fewer than 3 tasks with runs and meta-features.
    """
    sp = load_space(space, store)
    data = load_training_data(store, sp, metric=metric, maximize=maximize, fidelity=fidelity)
    tasks = data.tasks
    if len(tasks) < 3:
        raise ModelError(
            f"evaluate needs at least 3 tasks with runs and meta-features, got {len(tasks)}; "
            "ingest more"
        )
    tables = _tables(data)
    pool, pool_scores = _portfolio_matrix(data, tables, seed)
    held = set(holdout)
    result = EvaluationResult(sp.name, metric)
    rng = np.random.default_rng(seed)
    for t in tasks:
        if held and t not in held:
            continue
        others = [o for o in tasks if o != t and o not in held]
        fitted = fit_surrogate(
            data.subset(others), params=params or dict(TUNING_GRID[0]), seed=seed
        )
        recs = recommend_with(fitted, data.metafeatures[t], top_k=top_k)
        result.rules[t] = f"{fitted.profile_first}/{fitted.profile_beta:g}"
        ours = sp.encode([r.config for r in recs])
        row: dict[str, Any] = {"task": t}
        table = tables[t]
        row["recommender_top1"] = table.regret_of(ours, 1)
        row[f"recommender_top{top_k}"] = table.regret_of(ours, top_k)
        default = sp.encode([sp.default_config()])
        row["default"] = table.regret_of(default, 1)
        unseen = [j for j, o in enumerate(tasks) if o == t or o in held]
        seen = np.delete(pool_scores, unseen, axis=0)
        port = weighted_greedy(seen, np.full(len(seen), 1.0 / len(seen)), top_k)
        row["portfolio_top1"] = table.regret_of(pool[port], 1)
        row[f"portfolio_top{top_k}"] = table.regret_of(pool[port], top_k)
        near = _nearest_task_configs(data, others, t, top_k)
        for k in (1, top_k):  # no nearest task without meta-features: None
            row[f"nearest_task_top{k}"] = None if near is None else table.regret_of(near, k)
        row.update(_random_best_of_k(table, rng, n_random))
        result.rows.append(row)
    return result


def _portfolio_matrix(
    data: TrainingData, tables: dict[str, _TaskTable], seed: int, max_pool: int = 2000
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Unique evaluated configs, and each one's benchmark-normalised score on every task."""
    pool = np.unique(np.round(_fill(data.X), 9), axis=0)
    if len(pool) > max_pool:
        pool = pool[np.random.default_rng(seed).choice(len(pool), max_pool, replace=False)]
    pool = np.where(pool == -1.0, np.nan, pool)
    scores = np.stack(
        [
            regret_scale(tables[t].value(pool), tables[t].values, maximize=data.maximize)
            for t in data.tasks
        ]
    )
    return pool, scores


def _nearest_task_configs(
    data: TrainingData, others: list[str], target: str, k: int
) -> npt.NDArray[np.float64] | None:
    """The best ``k`` configs of the 1-NN task in standardised log meta-feature space
    (``None`` when ``target`` or all the ``others`` have no meta-features)."""
    scaler = MetaFeatureScaler.fit({t: data.metafeatures[t] for t in others})
    if not scaler.names or not data.metafeatures[target]:
        return None
    q = scaler.transform(data.metafeatures[target])[0]
    dist = [float(((scaler.transform(data.metafeatures[o])[0] - q) ** 2).sum()) for o in others]
    near = others[int(np.argmin(dist))]
    mask = (data.frame["task"] == near).to_numpy()
    order = np.argsort(-data.frame["score"].to_numpy()[mask], kind="stable")[:k]
    return data.X[mask][order]


def _mean(values: list[float | None]) -> float | None:
    """The mean of the values given (None when there are none)."""
    defined = [v for v in values if v is not None]
    return float(np.mean(defined)) if defined else None


def _random_best_of_k(table: _TaskTable, rng: np.random.Generator, n: int) -> dict[str, float]:
    out = {}
    vals = table.values
    for k in RANDOM_KS:
        kk = min(k, len(vals))
        draws = np.array([rng.choice(vals, kk, replace=False) for _ in range(n)])
        best = draws.max(axis=1) if table.maximize else draws.min(axis=1)
        out[f"random_{k}"] = float(
            np.mean([regret(float(b), vals, maximize=table.maximize) for b in best])
        )
    return out
