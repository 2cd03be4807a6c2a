"""XGBoost surrogate: a small ensemble of boosters, each fit on a bootstrap of tasks.

Resampling whole tasks (not rows) makes the members disagree where the prediction
depends on which tasks were seen, which is the uncertainty that matters for a new
task. The member predictions serve as posterior samples for portfolio selection.

Saved as one XGBoost UBJ file per member plus ``trees.safetensors``, the same trees as
flat arrays (:mod:`recommender.surrogate.trees`). A loaded model predicts from the
arrays with numpy, equal to XGBoost's own predictions bit for bit, so a query does not
import xgboost. Which one answers (``RECOMMENDER_INFERENCE``):

* ``auto`` (default): the boosters if xgboost is already imported in this process (a
  process that trains, or a service that did: its C++ predictor is about twice as fast
  on a warm process), the arrays otherwise (a query process: no import at all);
* ``numpy``: the arrays; ``xgboost``: the boosters.

Boosters are read from the UBJ files on first use; a model saved without the arrays
(before they existed) always uses them.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from recommender.errors import ModelError
from recommender.surrogate import trees
from recommender.surrogate.base import BaseSurrogate
from recommender.surrogate.features import check_training_arrays

TREES_FILE = "trees.safetensors"
INFERENCE_ENV = "RECOMMENDER_INFERENCE"  # auto (default), numpy or xgboost


@dataclass(eq=False, kw_only=True)
class GBMSurrogate(BaseSurrogate):
    """Bagged XGBoost regressors.

    Args:
        n_estimators: boosting rounds per member.
        max_depth: tree depth.
        learning_rate: shrinkage.
        n_members: ensemble size (member 0 sees all tasks; the others a bootstrap).
        seed: randomness.
        n_jobs: threads per booster.
    """

    kind: ClassVar[str] = "xgboost"

    n_estimators: int = 300
    max_depth: int = 6
    learning_rate: float = 0.05
    n_members: int = 3

    def _xgb_params(self, member: int) -> dict[str, Any]:
        return {
            "objective": "reg:squarederror",
            "tree_method": "hist",
            "max_depth": self.max_depth,
            "eta": self.learning_rate,
            "subsample": 0.8,
            "colsample_bytree": 0.8,
            "min_child_weight": 5,
            "seed": (self.seed or 0) + member,
            "nthread": self.n_jobs,
        }

    def fit(
        self, X: npt.ArrayLike, y: npt.ArrayLike, groups: npt.ArrayLike | None = None
    ) -> GBMSurrogate:
        """Fit the members; ``groups`` (task labels) enables the task bootstrap.

        Raises:
            ModelError: empty or mismatched inputs.
        """
        import xgboost as xgb

        X_, y_ = check_training_arrays(X, y)
        g = np.zeros(len(y_)) if groups is None else np.asarray(groups)
        uniq = np.unique(g)
        rng = np.random.default_rng(self.seed)
        members: list[Any] = []
        for m in range(self.n_members):
            if m == 0 or len(uniq) < 3:
                weight = np.ones(len(y_))
            else:
                counts = dict(
                    zip(*np.unique(rng.choice(uniq, len(uniq)), return_counts=True), strict=True)
                )
                weight = np.array([counts.get(t, 0) for t in g], dtype=float)
            dtrain = xgb.DMatrix(X_, label=y_, weight=weight)
            members.append(
                xgb.train(self._xgb_params(m), dtrain, num_boost_round=self.n_estimators)
            )
        self._boosters: list[Any] | None = members
        self._trees: list[tuple[trees.TreeArrays, float]] | None = None
        self._source: Path | None = None
        self.n_features_in_ = X_.shape[1]
        return self

    @property
    def members_(self) -> list[Any]:
        """The XGBoost boosters (read from the saved UBJ files on first use)."""
        boosters: list[Any] | None = getattr(self, "_boosters", None)
        if boosters is None:
            self._check_fitted()  # fitted: has boosters; loaded: has the directory
            boosters = _read_boosters(self._source, self.n_members, self.n_jobs)  # type: ignore[arg-type]
            self._boosters = boosters
        return boosters

    def predict_members(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """``(n_members, n)`` predictions."""
        X_ = self._checked_rows(X)
        compact = getattr(self, "_trees", None)
        mode = os.environ.get(INFERENCE_ENV, "auto")
        if compact is None or mode == "xgboost" or (mode != "numpy" and "xgboost" in sys.modules):
            return np.stack([b.inplace_predict(X_) for b in self.members_]).astype(float)
        return np.stack([trees.boosted_sum(t.leaf_values(X_), base) for t, base in compact]).astype(
            float
        )

    def save(self, directory: Path) -> list[Path]:
        """Write each member as XGBoost UBJ and all trees as safetensors; return the files."""
        boosters = self.members_
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for i, b in enumerate(boosters):
            path = directory / f"member_{i}.ubj"
            b.save_model(str(path))
            paths.append(path)
        return [*paths, save_compact(boosters, directory)]

    @classmethod
    def load(cls, directory: Path, n_features: int, params: dict[str, Any]) -> GBMSurrogate:
        """Read a model written by :meth:`save` (safetensors and UBJ; no pickle).

        Raises:
            ModelError: a file is missing or unreadable.
        """
        model = cls(**params)
        model._source, model._boosters, model._trees = directory, None, None
        if (directory / TREES_FILE).exists():
            model._trees = _read_compact(directory / TREES_FILE, model.n_members)
        else:  # saved before the arrays existed: the boosters answer
            model._boosters = _read_boosters(directory, model.n_members, model.n_jobs)
        model.n_features_in_ = n_features
        return model


def save_compact(boosters: list[Any], directory: Path) -> Path:
    """Write the boosters' trees as ``trees.safetensors`` in ``directory``; return it."""
    out: dict[str, npt.NDArray[Any]] = {}
    for i, booster in enumerate(boosters):
        arrays, base = trees.export_booster(booster)
        out.update({f"{i}.{k}": v for k, v in arrays.to_arrays().items()})
        out[f"{i}.base_score"] = np.array([base], dtype=np.float32)
    return trees.save_arrays(out, directory / TREES_FILE)


def _read_compact(path: Path, n_members: int) -> list[tuple[trees.TreeArrays, float]]:
    names = {*trees.FIELDS, "depth", "base_score"}
    arrays = trees.load_arrays(path, {f"{i}.{k}" for i in range(n_members) for k in names})
    out = []
    for i in range(n_members):
        mine = {k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith(f"{i}.")}
        out.append((trees.TreeArrays.from_arrays(mine), float(mine["base_score"][0])))
    return out


def _read_boosters(directory: Path, n_members: int, n_jobs: int) -> list[Any]:
    import xgboost as xgb

    members = []
    for i in range(n_members):
        booster = xgb.Booster()
        try:
            booster.load_model(str(directory / f"member_{i}.ubj"))
        except xgb.core.XGBoostError as err:
            raise ModelError(f"model file {directory}/member_{i}.ubj unreadable: {err}") from err
        # A loaded booster would predict on every core: slow for small batches and on
        # a busy machine; keep the fit-time thread count.
        booster.set_param({"nthread": n_jobs})
        members.append(booster)
    return members
