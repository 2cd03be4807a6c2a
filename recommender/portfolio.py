"""Candidate generation and portfolio selection for one query task.

Candidates: the best evaluated configs of the nearest known tasks, the best configs
overall, scrambled-Sobol samples of the space, and small perturbations of the best of
these (local refinement). Each is scored by the surrogate (see :func:`score`).

The set of ``k`` maximises the mean over known tasks of the best value in the set,
greedily, where a config's value on a known task is the benchmark-normalised value
``(v - median) / (best - median)`` of its nearest evaluated config there. The first
pick is one of the ``FIRST_CHOICES`` best-ranked candidates (the one whose greedy set
scores best), so the top-1 follows the surrogate's view of the new task; the rest come
from the model's pool of distinct evaluated configs and hedge like a portfolio. (On
LCBench, restricting the later picks to the surrogate's best-ranked candidates did
worse, leave-one-task-out.)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from recommender.surrogate.base import design_matrix
from recommender.surrogate.model import FittedSurrogate

N_NEAR_TASKS = 5
N_SCENARIO_TASKS = 64
N_RANK_TASKS = 16
FIRST_CHOICES = 3
PER_TASK = 64
N_GLOBAL = 128
N_SOBOL = 128
N_REFINE_SEEDS = 8
N_REFINE_EACH = 16
REFINE_SD = 0.03


@dataclass
class Scored:
    """Candidates with the ensemble mean and spread for the query, and a ranking score."""

    X: npt.NDArray[np.float64]
    mean: npt.NDArray[np.float64]
    std: npt.NDArray[np.float64]
    origin: list[str]
    rank_score: npt.NDArray[np.float64]


def nearest_tasks(
    fitted: FittedSurrogate, vec: npt.NDArray[np.float64], n: int
) -> npt.NDArray[np.int64]:
    """Indices of the ``n`` training tasks closest in standardised meta-feature space."""
    d = np.sqrt(((fitted.task_vecs - vec) ** 2).sum(axis=1))
    return np.argsort(d, kind="stable")[:n]


def candidates(
    fitted: FittedSurrogate, vec: npt.NDArray[np.float64], seed: int
) -> tuple[npt.NDArray[np.float64], list[str]]:
    """Encoded candidate configs and where each came from (before refinement)."""
    mem_x, mem_t, mem_s = fitted.memory_x, fitted.memory_task, fitted.memory_score
    near = nearest_tasks(fitted, vec, N_NEAR_TASKS)
    rows: list[npt.NDArray[np.int64]] = []
    for t in near:
        idx = np.flatnonzero(mem_t == t)
        rows.append(idx[np.argsort(-mem_s[idx], kind="stable")[:PER_TASK]])
    rows.append(np.argsort(-mem_s, kind="stable")[:N_GLOBAL])
    known = np.unique(np.concatenate(rows))
    sobol = fitted.space.encode(fitted.space.sample(N_SOBOL, seed))
    X = np.vstack([mem_x[known], sobol])
    origin = ["evaluated"] * len(known) + ["sobol"] * len(sobol)
    return X, origin


def refine(
    fitted: FittedSurrogate, X: npt.NDArray[np.float64], mean: npt.NDArray[np.float64], seed: int
) -> npt.NDArray[np.float64]:
    """Gaussian perturbations (in the encoded cube) of the best candidates, decoded back."""
    rng = np.random.default_rng(seed)
    best = X[np.argsort(-mean, kind="stable")[:N_REFINE_SEEDS]]
    noisy = np.repeat(best, N_REFINE_EACH, axis=0)
    noisy = noisy + rng.normal(0.0, REFINE_SD, noisy.shape) * np.isfinite(noisy)
    space = fitted.space
    return space.encode(space.decode(np.clip(noisy, 0.0, 1.0)))


def score(
    fitted: FittedSurrogate,
    X: npt.NDArray[np.float64],
    vec: npt.NDArray[np.float64],
    origin: list[str],
) -> Scored:
    """Predict each candidate for the query (members) and for the nearest known tasks.

    The ranking score blends the query prediction with the similarity-weighted mean
    of the predictions for the nearest known tasks (both standardised over the
    candidates): the second term is a smoothed, meta-feature-weighted portfolio prior
    that keeps the first pick robust when the query's meta-features are unusual.
    """
    members = fitted.predict_members(X, vec)
    near = nearest_tasks(fitted, vec, N_RANK_TASKS)
    d = np.sqrt(((fitted.task_vecs[near] - vec) ** 2).sum(axis=1))
    # One stacked prediction by the all-task member for every (near task, candidate) pair.
    stacked = np.vstack([design_matrix(X, fitted.task_vecs[t]) for t in near])
    neigh = fitted.model.predict_member(stacked, 0).reshape(len(near), len(X))
    w_near = np.exp(-d / (np.median(d) + 1e-9))
    w_near = w_near / w_near.sum()
    mean = members.mean(0)
    rank_score = _standardise(mean) + _standardise(w_near @ neigh)
    return Scored(X, mean, members.std(0), origin, rank_score)


def _standardise(a: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    sd = float(a.std())
    return (a - a.mean()) / (sd if sd > 0 else 1.0)


def scenario_values(
    fitted: FittedSurrogate, X: npt.NDArray[np.float64], tasks: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """``(len(tasks), len(X))``: value of each config's nearest evaluated config per task."""
    out = np.empty((len(tasks), len(X)))
    filled = np.nan_to_num(X, nan=-1.0)
    for j, t in enumerate(tasks):
        tree, rows = fitted.task_tree(int(t))
        _, idx = tree.query(filled)
        out[j] = fitted.memory_value[rows[idx]]
    return out


def select_portfolio(
    fitted: FittedSurrogate, s: Scored, vec: npt.NDArray[np.float64], k: int
) -> tuple[npt.NDArray[np.float64], list[str]]:
    """The chosen configs (encoded) and their origin, best first.

    First pick: one of the ``FIRST_CHOICES`` best-ranked candidates; the others come
    greedily from the model's pool of evaluated configs (see the module docstring).
    """
    order = np.argsort(-s.rank_score, kind="stable")
    firsts = order[: min(FIRST_CHOICES, len(order))]
    if k <= 1 or fitted.pool_x.shape[0] == 0:
        return s.X[order[:k]], [s.origin[i] for i in order[:k]]
    near = nearest_tasks(fitted, vec, N_SCENARIO_TASKS)
    first_values = scenario_values(fitted, s.X[firsts], near)
    pool_values = fitted.pool_values[near]
    best: tuple[float, int, list[int]] | None = None
    for j in range(len(firsts)):
        same = np.all(np.isclose(np.nan_to_num(fitted.pool_x, nan=-1.0),
                                 np.nan_to_num(s.X[firsts[j]], nan=-1.0)), axis=1)  # fmt: skip
        picks = _greedy(pool_values, first_values[:, j], k - 1, same)
        value = float(np.maximum(first_values[:, j], pool_values[:, picks].max(axis=1)).mean())
        if best is None or value > best[0] + 1e-12:
            best = (value, j, picks)
    assert best is not None  # firsts is never empty
    _, j, picks = best
    X = np.vstack([s.X[firsts[j]][None, :], fitted.pool_x[picks]])
    return X, [s.origin[firsts[j]]] + ["portfolio"] * len(picks)


def _greedy(
    S: npt.NDArray[np.float64], start: npt.NDArray[np.float64], n: int, taken: npt.NDArray[np.bool_]
) -> list[int]:
    """``n`` columns of ``S`` that greedily raise the mean over rows of the running max."""
    chosen: list[int] = []
    current = start.copy()
    taken = taken.copy()
    for _ in range(min(n, int((~taken).sum()))):
        gain = np.maximum(S, current[:, None]).mean(axis=0)
        gain[taken] = -np.inf
        nxt = int(np.argmax(gain))
        taken[nxt] = True
        chosen.append(nxt)
        current = np.maximum(current, S[:, nxt])
    return chosen


def recommend_encoded(
    fitted: FittedSurrogate, vec: npt.NDArray[np.float64], k: int, seed: int = 0
) -> tuple[npt.NDArray[np.float64], list[str], Scored]:
    """Candidates -> refine -> score -> set of ``k``: encoded configs, origins, scored set."""
    X, origin = candidates(fitted, vec, seed)
    first = fitted.model.predict_member(design_matrix(X, vec), 0)  # cheap pre-screen
    extra = refine(fitted, X, first, seed)
    X_all = np.vstack([X, extra])
    s = score(fitted, X_all, vec, origin + ["refined"] * len(extra))
    chosen, origins = select_portfolio(fitted, s, vec, k)
    return chosen, origins, s


def explain(
    fitted: FittedSurrogate, x: npt.NDArray[np.float64], vec: npt.NDArray[np.float64], n: int = 3
) -> list[dict[str, Any]]:
    """For the nearest known tasks: how this config's nearest evaluated neighbour did there."""
    out = []
    x0 = np.nan_to_num(x, nan=-1.0)
    for t in nearest_tasks(fitted, vec, n):
        idx = np.flatnonzero(fitted.memory_task == t)
        if len(idx) == 0:
            continue
        d = np.sqrt(((np.nan_to_num(fitted.memory_x[idx], nan=-1.0) - x0) ** 2).sum(axis=1))
        j = idx[int(np.argmin(d))]
        out.append(
            {
                "task": fitted.task_names[int(t)],
                "task_distance": round(float(np.sqrt(((fitted.task_vecs[t] - vec) ** 2).sum())), 3),
                "neighbour_distance": round(float(d.min()), 3),
                "neighbour_score": round(float(fitted.memory_score[j]), 3),
            }
        )
    return out
