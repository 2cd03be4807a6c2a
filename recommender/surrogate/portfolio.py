"""Set selection for one query task: a portfolio weighted by predicted response similarity.

The model keeps a pool of distinct evaluated configs and each one's measured value on
every known task (``(v - median) / (best - median)``: 1 = that task's best, 0 = its
median). For a new task:

1. the surrogate predicts its score for every pool config (its *predicted profile*);
2. each known task ``j`` is weighted by how well its measured profile agrees with that
   prediction: ``w_j ~ exp(beta * (rho_j - max rho))``, ``rho_j`` the Spearman
   correlation over the pool. The surrogate thus acts as a learned task metric: tasks
   whose hyperparameter response it expects the new task to share count most, whatever
   their raw meta-feature distance;
3. the ``k`` configs are chosen greedily to maximise the weighted mean, over known tasks,
   of the best value in the set (the expected best-of-``k``). The first pick is either
   the config with the best weighted mean or the surrogate's own best (``first``); each
   later pick hedges where the set is weak.

``beta`` and ``first`` are fitted with the model (:func:`choose_rule`) by grouped
cross-validation over its own tasks; ``beta = 0`` with the weighted first pick is the
plain greedy global portfolio, so a store where the surrogate's profiles carry no signal
falls back to it. On LCBench this replaced a design
that took the surrogate's best-ranked candidate first (from evaluated, quasi-random and
locally refined configs) and filled the set greedily: BENCHMARKS.md has both.

This module is numpy only: it knows the model through :class:`PoolModel`, the few
attributes of a fitted surrogate bundle it reads, and imports nothing else from the
package but its errors (the surrogate imports it, not the other way round).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from recommender.errors import ModelError

BETAS = (0.0, 2.0, 5.0, 10.0, 20.0, 50.0)
FIRSTS = ("weighted", "surrogate")
CV_K = 5  # set size the cross-validation scores (with the top-1)
CV_MAX_TASKS = 64  # held-out tasks scored per beta when choosing it

FloatArray = npt.NDArray[np.float64]


class PoolModel(Protocol):
    """What set selection reads from a fitted surrogate bundle."""

    task_names: list[str]
    task_vecs: FloatArray  # (T, M) standardised meta-features of the known tasks
    pool_x: FloatArray  # (P, D) encoded pool configs
    pool_values: FloatArray  # (T, P) measured value of each pool config on each task

    @property
    def profile_beta(self) -> float: ...

    @property
    def profile_first(self) -> str: ...

    def pool_ranks(self) -> FloatArray: ...

    def predict_members(self, config_x: FloatArray, task_vec: FloatArray) -> FloatArray: ...


def average_ranks(values: FloatArray) -> FloatArray:
    """Row-wise ranks from 1, ties sharing their average rank (``scipy.stats.rankdata``'s
    default, along axis 1); a row holding a NaN is all NaN."""
    values = np.atleast_2d(np.asarray(values, dtype=float))
    n = values.shape[1]
    order = np.argsort(values, axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1)
    starts = np.ones(values.shape, dtype=bool)  # first of a run of equal values
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    ends = np.ones(values.shape, dtype=bool)  # last of a run
    ends[:, :-1] = starts[:, 1:]
    pos = np.broadcast_to(np.arange(n), values.shape)
    first = np.maximum.accumulate(np.where(starts, pos, 0), axis=1)
    last = np.minimum.accumulate(np.where(ends, pos, n)[:, ::-1], axis=1)[:, ::-1]
    ranks = np.empty(values.shape)
    np.put_along_axis(ranks, order, (first + last) / 2.0 + 1.0, axis=1)
    ranks[np.isnan(values).any(axis=1)] = np.nan
    return ranks


def standardised_ranks(values: FloatArray) -> FloatArray:
    """Row-wise average ranks, centred and scaled to unit variance (0 for constant rows)."""
    values = np.atleast_2d(values)
    ranks = average_ranks(values)
    ranks = ranks - ranks.mean(axis=1, keepdims=True)
    sd = ranks.std(axis=1, keepdims=True)
    return np.divide(ranks, sd, out=np.zeros_like(ranks), where=sd > 0)


def task_weights(profile: FloatArray, task_ranks: FloatArray, beta: float) -> FloatArray:
    """Weights of the known tasks (summing to 1) for a predicted profile over the pool.

    Args:
        profile: ``(P,)`` predicted scores of the pool configs for the new task.
        task_ranks: ``(T, P)`` :func:`standardised_ranks` of the tasks' measured values.
        beta: sharpness; 0 weighs every task alike.
    """
    rho = task_ranks @ standardised_ranks(profile)[0] / max(task_ranks.shape[1], 1)
    w = np.exp(beta * (rho - rho.max()))
    return w / w.sum()  # type: ignore[no-any-return]


def weighted_greedy(S: FloatArray, w: FloatArray, k: int, first: int | None = None) -> list[int]:
    """``k`` columns of ``S`` (tasks x configs) greedily maximising ``w @ max over the set``.

    ``first``, if given, is taken as the first pick and the rest are chosen around it.
    """
    chosen: list[int] = []
    current = np.full(S.shape[0], -np.inf)
    taken = np.zeros(S.shape[1], dtype=bool)
    if first is not None and k > 0:
        chosen.append(first)
        taken[first] = True
        current = S[:, first].copy()
    for _ in range(min(k, S.shape[1]) - len(chosen)):
        gain = w @ np.maximum(S, current[:, None])
        gain[taken] = -np.inf
        nxt = int(np.argmax(gain))
        taken[nxt] = True
        chosen.append(nxt)
        current = np.maximum(current, S[:, nxt])
    return chosen


def choose_rule(
    profiles: FloatArray,
    values: FloatArray,
    held: npt.NDArray[np.int64] | None = None,
    *,
    betas: tuple[float, ...] = BETAS,
) -> tuple[float, str, dict[str, float]]:
    """Pick ``beta`` and the first-pick rule leave-task-out, from out-of-fold profiles.

    For each held-out task ``j`` (``held``, default all), the other tasks are weighted
    from ``j``'s out-of-fold profile, a set of ``CV_K`` is chosen on them, and it is
    scored on ``j``'s measured values: regret ``max(0, 1 - best value)`` of the first
    pick and of the whole set, averaged. The rule with the lowest mean regret is used only
    if it beats the plain portfolio (``weighted/0``) by more than one standard error of
    their paired per-task difference; otherwise the plain portfolio is kept. With few
    tasks the choice is noisy, and this keeps a noisy winner from replacing a robust
    baseline.

    Args:
        profiles: ``(T, P)`` out-of-fold predictions over the pool (rows of ``held``).
        values: ``(T, P)`` measured values of the pool on every task.
        held: the tasks scored; the model fits at most ``CV_MAX_TASKS`` of them.

    Returns:
        beta, first-pick rule, and per rule (``"<first>/<beta>"``) its mean regret.
    """
    T = values.shape[0]
    if T < 3:
        return 0.0, "weighted", {}
    ranks = standardised_ranks(values)
    held = np.arange(T) if held is None else held
    per_task: dict[str, npt.NDArray[np.float64]] = {}
    for first in FIRSTS:
        for beta in betas:
            regrets = []
            for j in held:
                others = np.delete(np.arange(T), j)
                w = task_weights(profiles[j], ranks[others], beta)
                start = int(np.argmax(profiles[j])) if first == "surrogate" else None
                got = values[j, weighted_greedy(values[others], w, CV_K, start)]
                regrets.append(0.5 * (max(0.0, 1 - got[0]) + max(0.0, 1 - got.max())))
            per_task[f"{first}/{beta:g}"] = np.array(regrets)
    scores = {rule: round(float(r.mean()), 6) for rule, r in per_task.items()}
    plain = f"{FIRSTS[0]}/{betas[0]:g}"
    best = min(scores, key=lambda r: scores[r])  # first listed wins ties
    diff = per_task[best] - per_task[plain]
    se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0
    if not float(diff.mean()) + se < 0:
        best = plain
    first, beta_text = best.split("/")
    return float(beta_text), first, scores


def select(
    fitted: PoolModel, vec: FloatArray, k: int, *, plain: bool = False
) -> tuple[list[int], FloatArray, FloatArray]:
    """Pool indices of the ``k`` chosen configs (best first), the task weights, the profile.

    ``plain``: the plain global portfolio (equal weights, first pick by mean), whatever
    rule the model chose.
    """
    members = fitted.predict_members(fitted.pool_x, vec)
    profile = members.mean(axis=0)
    w = task_weights(profile, fitted.pool_ranks(), 0.0 if plain else fitted.profile_beta)
    surrogate_first = fitted.profile_first == "surrogate" and not plain
    first = int(np.argmax(profile)) if surrogate_first else None
    return weighted_greedy(fitted.pool_values, w, k, first), w, profile


def recommend_encoded(
    fitted: PoolModel, vec: FloatArray, k: int, *, plain: bool = False
) -> tuple[FloatArray, FloatArray, list[int]]:
    """The chosen configs (encoded, best first), the known tasks' weights, their pool rows."""
    if fitted.pool_x.shape[0] == 0:
        raise ModelError("the model holds no evaluated configs; retrain it on runs")
    picks, w, _ = select(fitted, vec, k, plain=plain)
    return fitted.pool_x[picks], w, picks


def hedges(
    fitted: PoolModel, picks: list[int], weights: FloatArray, n: int = 3
) -> list[list[dict[str, Any]]]:
    """For each pick after the first: the known tasks where it most raises the set's best.

    ``gain`` is how much the pick improves on the best of the picks before it there, in
    the task's normalised value (1 = the task's best config, 0 = its median); tasks are
    ordered by weight times gain, and only tasks with a gain are listed.
    """
    S = fitted.pool_values
    out: list[list[dict[str, Any]]] = [[]]
    for i in range(1, len(picks)):
        before = S[:, picks[:i]].max(axis=1)
        gain = np.maximum(S[:, picks[i]] - before, 0.0)
        order = np.argsort(-(weights * gain), kind="stable")
        out.append(
            [
                {"task": fitted.task_names[int(t)], "gain": round(float(gain[t]), 3)}
                for t in order[:n]
                if gain[t] > 0
            ]
        )
    return out


def explain(
    fitted: PoolModel, j: int, weights: FloatArray, vec: FloatArray, n: int = 3
) -> list[dict[str, Any]]:
    """The known tasks that weigh most for this query, and how pool config ``j`` did on each.

    Equal weights (the plain portfolio) are ordered by meta-feature distance to the
    query. ``score_there`` is the config's measured value on that task: 1 = the task's
    best config, 0 = its median.
    """
    out = []
    distance = np.sqrt(((fitted.task_vecs - vec) ** 2).sum(axis=1))
    for t in np.lexsort((distance, -np.round(weights, 6)))[:n]:
        out.append(
            {
                "task": fitted.task_names[int(t)],
                "weight": round(float(weights[t]), 3),
                "score_there": round(float(fitted.pool_values[t, j]), 3),
            }
        )
    return out
