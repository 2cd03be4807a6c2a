"""Choosing the surrogate's settings: grouped (by task) cross-validated regret.

Used by retrain to compare settings and a challenger with the champion. Nothing here
sees the runs of a task it scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recommender.surrogate.features import MetaFeatureScaler, design_matrix
from recommender.surrogate.kinds import make_model
from recommender.surrogate.model import TrainingData
from recommender.surrogate.normalize import REGRET_SCALE, regret

TUNING_GRID: tuple[dict[str, Any], ...] = (
    {"max_depth": 6, "n_estimators": 300},
    {"max_depth": 4, "n_estimators": 400},
)
CV_MAX_ROWS = 60_000


def cv_regret(
    data: TrainingData, params: dict[str, Any], *, seed: int = 0, n_folds: int = 5
) -> dict[str, Any]:
    """Grouped (by task) K-fold regret of the surrogate's argmax over each held-out task's runs.

    One booster per fold (the ensemble mean is close to a single member), trained on at
    most ``CV_MAX_ROWS`` rows, to keep it fast. A held-out task is ranked and scored on
    all of its runs, so the regret is on the scale of ``normalize.regret``: 0 = the task's
    best run, 1 = its median run.
    """
    full, data = data, data.capped(CV_MAX_ROWS, seed)
    tasks = data.tasks
    n_folds = max(2, min(n_folds, len(tasks)))
    order = np.random.default_rng(seed).permutation(len(tasks))
    folds = [[tasks[j] for j in order[f::n_folds]] for f in range(n_folds)]
    task_col = full.frame["task"].to_numpy()
    top1, top5 = [], []
    for held in folds:
        train = data.subset([t for t in tasks if t not in held])
        scaler = MetaFeatureScaler.fit(train.metafeatures)
        vecs = {t: scaler.transform(data.metafeatures[t])[0] for t in tasks}
        X = np.vstack(
            [
                design_matrix(train.X[train.frame["task"].to_numpy() == t], vecs[t])
                for t in train.tasks
            ]
        )
        y = np.concatenate(
            [
                train.frame["score"].to_numpy()[train.frame["task"].to_numpy() == t]
                for t in train.tasks
            ]
        )
        model = make_model({**params, "n_members": 1}, seed).fit(X, y)
        for t in held:
            mask = task_col == t
            pred = model.predict(design_matrix(full.X[mask], vecs[t]))
            vals = full.frame["value"].to_numpy()[mask]
            order_t = np.argsort(-pred, kind="stable")[:5]
            best5 = vals[order_t].max() if data.maximize else vals[order_t].min()
            top1.append(regret(float(vals[order_t[0]]), vals, maximize=data.maximize))
            top5.append(regret(float(best5), vals, maximize=data.maximize))
    return {
        "top1_regret": float(np.mean(top1)),
        "top5_regret": float(np.mean(top5)),
        "n_folds": n_folds,
    }


def cv_measure(n_folds: int) -> str:
    """What :func:`cv_regret` measures, in words (``evaluate`` measures the served picks)."""
    return (
        f"the surrogate's first-ranked run of each held-out task, {n_folds} folds by task; "
        f"{REGRET_SCALE}"
    )


def tune_params(
    data: TrainingData, *, seed: int = 0
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Pick surrogate settings from ``TUNING_GRID`` by grouped CV on ``data``'s tasks only.

    Returns:
        The settings, and their :func:`cv_regret` (``None`` when nothing was compared).
    """
    if len(data.tasks) < 4 or len(TUNING_GRID) == 1:
        return dict(TUNING_GRID[0]), None
    results = [cv_regret(data, p, seed=seed) for p in TUNING_GRID]
    best = min(range(len(results)), key=lambda i: (results[i]["top1_regret"], i))
    return dict(TUNING_GRID[best]), results[best]


def choose_settings(
    data: TrainingData,
    *,
    params: dict[str, Any] | None,
    tune: bool,
    champion: dict[str, Any] | None,
    seed: int = 0,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """A challenger's settings (``params``, else tuned, else the defaults), its
    leave-task-out evaluation, and that of the ``champion``'s settings (``None``: none)."""
    tuned: dict[str, Any] | None = None  # the CV of the chosen settings, if tuning ran it
    if params:
        chosen = dict(params)
    elif tune:
        chosen, tuned = tune_params(data, seed=seed)
    else:
        chosen = {}
    mine = tuned or cv_regret(data, chosen, seed=seed)
    if champion is None:
        return chosen, mine, None
    same = champion == chosen  # same settings, data, folds and seed: same result
    return chosen, mine, dict(mine) if same else cv_regret(data, champion, seed=seed)
