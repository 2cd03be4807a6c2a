"""Training data from the store, and a fitted surrogate bundle that saves and loads safely.

A bundle holds the space, the meta-feature scaler, the surrogate ensemble and a compact
memory of the training tasks (their meta-feature vectors and up to ``KEEP_PER_TASK``
evaluated configs each, fewer with many tasks, with normalised scores) and a pool of
distinct evaluated configs with their value on every task, used for portfolio selection
and explanations, so a warm recommendation never reads the runs table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from recommender.errors import ModelError
from recommender.spaces.space import Space
from recommender.surrogate.base import BaseSurrogate
from recommender.surrogate.features import MetaFeatureScaler, design_matrix
from recommender.surrogate.kinds import make_model, model_class, model_kind
from recommender.surrogate.normalize import normalize_per_task
from recommender.surrogate.portfolio import CV_MAX_TASKS, choose_rule, standardised_ranks

if TYPE_CHECKING:  # pandas is needed to train, not to answer a query
    import pandas as pd

KEEP_PER_TASK = 2000
MEMORY_ROWS = 100_000
POOL_SIZE = 2000
MIN_RUNS_PER_TASK = 2
# Rows the boosters see at most (an even, seeded subsample per task beyond it): keeps a
# retrain on a million runs within about a minute on two cores.
MAX_FIT_ROWS = 200_000
# Choosing the portfolio's task-weighting sharpness: grouped folds, one booster each on at
# most this many rows.
OOF_FOLDS = 3
OOF_MAX_ROWS = 60_000


@dataclass
class TrainingData:
    """Runs of one space and metric, normalised per task, with task meta-features."""

    space: Space
    metric: str
    maximize: bool
    fidelity: float | None
    frame: pd.DataFrame  # task, value, score, run_key
    X: npt.NDArray[np.float64]  # encoded configs, aligned with frame
    metafeatures: dict[str, dict[str, float]]
    dropped_tasks: list[str] = field(default_factory=list)

    @property
    def tasks(self) -> list[str]:
        return sorted(self.frame["task"].unique())

    def capped(self, max_rows: int, seed: int | None = 0) -> TrainingData:
        """At most ``max_rows`` rows, the same fraction from every task (seeded)."""
        if len(self.frame) <= max_rows:
            return self
        keep = self.frame.groupby("task", sort=False).sample(
            frac=max_rows / len(self.frame), random_state=seed or 0
        )
        rows = np.sort(keep.index.to_numpy())
        return TrainingData(
            self.space, self.metric, self.maximize, self.fidelity,
            self.frame.iloc[rows].reset_index(drop=True), self.X[rows],
            self.metafeatures, self.dropped_tasks,
        )  # fmt: skip

    def subset(self, tasks: list[str]) -> TrainingData:
        """Only the runs of ``tasks`` (re-normalisation is not needed: it is per task)."""
        mask = self.frame["task"].isin(tasks).to_numpy()
        mf = {t: self.metafeatures[t] for t in tasks if t in self.metafeatures}
        return TrainingData(
            self.space, self.metric, self.maximize, self.fidelity,
            self.frame[mask].reset_index(drop=True), self.X[mask], mf,
        )  # fmt: skip


def load_training_data(
    store: Any,
    space: Space,
    *,
    metric: str,
    maximize: bool,
    fidelity: float | None = None,
    method: str = "copula",
) -> TrainingData:
    """Runs of ``space`` (by space name, else by exact parameter names) joined with meta-features.

    Meta-features are optional: a task without them has ``{}`` (see
    :meth:`~recommender.surrogate.features.MetaFeatureScaler.fit`).

    Raises:
        ModelError: no usable runs (none for the space/metric, or no task with two).
    """
    import pandas as pd

    kwargs = {"params": space.names, "metric": metric, "fidelity": fidelity}
    df = store.runs_frame(space=space.name, **kwargs)
    if df.empty:
        df = store.runs_frame(space=None, param_names_exact=True, **kwargs)
    if df.empty:
        raise ModelError(
            f"no successful runs with metric {metric!r} for space {space.name!r}"
            + ("" if fidelity is None else f" at fidelity {fidelity:g}")
            + f"; ingest runs with: recommender ingest FILE --space {space.name}"
        )
    mf_all = store.metafeatures()
    counts = df["task"].value_counts()
    usable = [t for t in counts.index if counts[t] >= MIN_RUNS_PER_TASK]
    dropped = sorted(set(counts.index) - set(usable))
    if not usable:
        raise ModelError(
            f"none of the {len(counts)} task(s) with runs for space {space.name!r} has "
            f"{MIN_RUNS_PER_TASK} successful runs; ingest more runs per task"
        )
    df = df[df["task"].isin(usable)].reset_index(drop=True)
    frame = pd.DataFrame({"task": df["task"], "value": df["value"].astype(float)})
    frame["score"] = normalize_per_task(frame, maximize=maximize, method=method)
    frame["run_key"] = df["run_key"]
    mf = {t: dict(mf_all.get(t) or {}) for t in usable}
    return TrainingData(
        space, metric, maximize, fidelity, frame, space.encode_frame(df[space.names]), mf, dropped
    )


@dataclass
class FittedSurrogate:
    """Everything a recommendation needs, fitted on some tasks."""

    space: Space
    scaler: MetaFeatureScaler
    model: BaseSurrogate  # a registered kind (recommender.surrogate.kinds)
    task_names: list[str]
    task_vecs: npt.NDArray[np.float64]  # (T, M)
    memory_x: npt.NDArray[np.float64]  # (R, D) evaluated configs kept
    memory_task: npt.NDArray[np.int64]  # (R,) index into task_names
    memory_score: npt.NDArray[np.float64]  # (R,) normalised score on that task
    memory_value: npt.NDArray[np.float64]  # (R,) (v - median) / (best - median) on that task
    pool_x: npt.NDArray[np.float64]  # (P, D) distinct evaluated configs for portfolio picks
    pool_values: npt.NDArray[np.float64]  # (T, P) value of each on every task (nearest run)
    meta: dict[str, Any] = field(default_factory=dict)
    _trees: dict[int, Any] = field(default_factory=dict, repr=False)
    _pool_ranks: npt.NDArray[np.float64] | None = field(default=None, repr=False)

    @property
    def profile_beta(self) -> float:
        """Sharpness of the portfolio's task weights (0, the plain portfolio, if unfitted)."""
        return float(self.meta.get("profile_beta", 0.0))

    @property
    def profile_first(self) -> str:
        """The portfolio's first pick: ``weighted`` (best weighted mean) or ``surrogate``."""
        return str(self.meta.get("profile_first", "weighted"))

    def pool_ranks(self) -> npt.NDArray[np.float64]:
        """Standardised ranks of every task's pool values (computed once)."""
        if self._pool_ranks is None:
            self._pool_ranks = standardised_ranks(self.pool_values)
        return self._pool_ranks

    def task_tree(self, t: int) -> tuple[Any, npt.NDArray[np.int64]]:
        """KD-tree over task ``t``'s kept configs (built once), and their memory rows."""
        if t not in self._trees:
            from scipy.spatial import cKDTree

            rows = np.flatnonzero(self.memory_task == t)
            self._trees[t] = (cKDTree(np.nan_to_num(self.memory_x[rows], nan=-1.0)), rows)
        return self._trees[t]  # type: ignore[no-any-return]

    def task_vector(
        self, metafeatures: dict[str, float]
    ) -> tuple[npt.NDArray[np.float64], list[str]]:
        return self.scaler.transform(metafeatures)

    def predict_members(
        self, config_x: npt.NDArray[np.float64], task_vec: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        return self.model.predict_members(design_matrix(config_x, task_vec))

    # -- persistence ----------------------------------------------------------------
    def save(self, directory: Path) -> list[Path]:
        """Members as UBJ, arrays as safetensors, the rest as JSON; return the files."""
        from safetensors.numpy import save_file

        files = self.model.save(directory)
        arrays = {
            "task_vecs": np.ascontiguousarray(self.task_vecs, dtype=np.float64),
            "memory_x": np.ascontiguousarray(self.memory_x, dtype=np.float64),
            "memory_task": np.ascontiguousarray(self.memory_task, dtype=np.int64),
            "memory_score": np.ascontiguousarray(self.memory_score, dtype=np.float64),
            "memory_value": np.ascontiguousarray(self.memory_value, dtype=np.float64),
            "pool_x": np.ascontiguousarray(self.pool_x, dtype=np.float64),
            "pool_values": np.ascontiguousarray(self.pool_values, dtype=np.float64),
        }
        save_file(arrays, str(directory / "memory.safetensors"))
        sidecar = {
            "space": self.space.to_json(),
            "metafeatures": self.scaler.to_json(),
            "model_kind": self.model.kind,
            "model_params": self.model.get_params(),
            "n_features": self.model.n_features_in_,
            "feature_names": self.space.feature_names + self.scaler.names,
            "task_names": self.task_names,
            "meta": self.meta,
        }
        (directory / "model.json").write_text(json.dumps(sidecar, indent=1))
        return [*files, directory / "memory.safetensors", directory / "model.json"]

    @classmethod
    def load(cls, directory: Path) -> FittedSurrogate:
        """Read a bundle written by :meth:`save`.

        Raises:
            ModelError: a file is missing or unreadable.
        """
        from safetensors.numpy import load_file

        try:
            sidecar = json.loads((directory / "model.json").read_text())
            arrays = load_file(str(directory / "memory.safetensors"))
        except (OSError, ValueError) as err:
            raise ModelError(f"model in {directory} is unreadable: {err}; retrain") from err
        names = ("task_vecs", "memory_x", "memory_task", "memory_score", "memory_value", "pool_x")
        missing = {*names, "pool_values"} - set(arrays)
        if missing or not {"space", "metafeatures", "model_params", "n_features"} <= set(sidecar):
            raise ModelError(f"model in {directory} was written by another version; retrain")
        kind = model_kind({"kind": sidecar.get("model_kind", "xgboost")})
        model = model_class(kind).load(directory, sidecar["n_features"], sidecar["model_params"])
        return cls(
            Space.from_json(sidecar["space"]),
            MetaFeatureScaler.from_json(sidecar["metafeatures"]),
            model,
            list(sidecar["task_names"]),
            arrays["task_vecs"],
            arrays["memory_x"],
            arrays["memory_task"],
            arrays["memory_score"],
            arrays["memory_value"],
            arrays["pool_x"],
            arrays["pool_values"],
            dict(sidecar.get("meta", {})),
        )


def fit_surrogate(
    data: TrainingData, *, params: dict[str, Any] | None = None, seed: int | None = 0
) -> FittedSurrogate:
    """Fit the scaler and the XGBoost ensemble on ``data``; keep a memory of its tasks."""
    scaler = MetaFeatureScaler.fit(data.metafeatures)
    tasks = data.tasks
    vecs = np.stack([scaler.transform(data.metafeatures[t])[0] for t in tasks])
    index = {t: i for i, t in enumerate(tasks)}
    task_idx = data.frame["task"].map(index).to_numpy()
    X = np.hstack([data.X, vecs[task_idx]])
    fit_rows = _fit_rows(len(X), MAX_FIT_ROWS, seed)
    model = make_model(params, seed)
    model.fit(X[fit_rows], data.frame["score"].to_numpy()[fit_rows], groups=task_idx[fit_rows])
    keep = _memory_rows(data.frame, task_idx, seed, keep_per_task(len(tasks)))
    value = normalize_per_task(data.frame, maximize=data.maximize, method="regret").to_numpy()
    fitted = FittedSurrogate(
        data.space, scaler, model, tasks, vecs,
        data.X[keep], task_idx[keep].astype(np.int64), data.frame["score"].to_numpy()[keep],
        value[keep],
        np.empty((0, data.X.shape[1])),
        np.empty((len(tasks), 0)),
        {"metric": data.metric, "maximize": data.maximize, "fidelity": data.fidelity},
    )  # fmt: skip
    fitted.pool_x, fitted.pool_values = _portfolio_pool(fitted)
    _fit_profile_beta(fitted, X, data.frame["score"].to_numpy(), task_idx, params, seed)
    return fitted


def _fit_profile_beta(
    fitted: FittedSurrogate,
    X: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    task_idx: npt.NDArray[Any],
    params: dict[str, Any] | None,
    seed: int | None,
) -> None:
    """Choose the portfolio's rule (weighting sharpness, first pick) out of fold.

    Tasks are split into ``OOF_FOLDS`` groups; one booster per group, trained on the
    others, predicts the held tasks' scores over the pool. :func:`choose_rule` then
    scores each rule leave-task-out. Nothing here sees a task it predicts.
    """
    T, P = len(fitted.task_names), fitted.pool_x.shape[0]
    if T < 3 or P == 0 or not fitted.scaler.names:  # no meta-features: no per-task signal
        fitted.meta.update(profile_beta=0.0, profile_first="weighted", profile_cv={})
        return
    rng = np.random.default_rng(seed)
    needed = np.arange(T) if T <= CV_MAX_TASKS else rng.choice(T, CV_MAX_TASKS, replace=False)
    order = rng.permutation(T)
    profiles = np.zeros((T, P))
    for f in range(min(OOF_FOLDS, T)):
        held = order[f::OOF_FOLDS]
        rows = np.flatnonzero(~np.isin(task_idx, held))
        rows = rows[_fit_rows(len(rows), OOF_MAX_ROWS, seed)]
        model = make_model({**(params or {}), "n_members": 1}, seed)
        model.fit(X[rows], y[rows], groups=task_idx[rows])
        for t in np.intersect1d(held, needed):
            profiles[t] = model.predict(design_matrix(fitted.pool_x, fitted.task_vecs[t]))
    beta, first, scores = choose_rule(profiles, fitted.pool_values, np.sort(needed))
    fitted.meta.update(profile_beta=beta, profile_first=first, profile_cv=scores)


def _fit_rows(n: int, cap: int, seed: int | None) -> npt.NDArray[np.int64]:
    if n <= cap:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, cap, replace=False))


def _portfolio_pool(
    fitted: FittedSurrogate,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Up to ``POOL_SIZE`` distinct kept configs (best first) and their value on every task."""
    order = np.argsort(-fitted.memory_score, kind="stable")
    filled = np.round(np.nan_to_num(fitted.memory_x[order], nan=-1.0), 9)
    _, first = np.unique(filled, axis=0, return_index=True)
    rows = order[np.sort(first)[:POOL_SIZE]]
    X = fitted.memory_x[rows]
    values = np.empty((len(fitted.task_names), len(rows)))
    for t in range(len(fitted.task_names)):
        tree, mem_rows = fitted.task_tree(t)
        _, idx = tree.query(np.nan_to_num(X, nan=-1.0))
        values[t] = fitted.memory_value[mem_rows[idx]]
    return X, values


def keep_per_task(n_tasks: int) -> int:
    """Configs kept per task: all of up to 2000, less when there are many tasks."""
    return max(64, min(KEEP_PER_TASK, MEMORY_ROWS // max(n_tasks, 1)))


def _memory_rows(
    frame: pd.DataFrame, task_idx: npt.NDArray[Any], seed: int | None, per_task: int
) -> npt.NDArray[np.int64]:
    """Per task: the best half of ``per_task`` plus a random rest, for coverage."""
    rng = np.random.default_rng(seed)
    score = frame["score"].to_numpy()
    keep: list[npt.NDArray[np.int64]] = []
    for t in np.unique(task_idx):
        rows = np.flatnonzero(task_idx == t)
        if len(rows) <= per_task:
            keep.append(rows)
            continue
        order = rows[np.argsort(-score[rows], kind="stable")]
        best, rest = order[: per_task // 2], order[per_task // 2 :]
        keep.append(np.concatenate([best, rng.choice(rest, per_task - len(best), replace=False)]))
    if not keep:
        raise ModelError("surrogate: no training rows; ingest runs first")
    return np.sort(np.concatenate(keep))
