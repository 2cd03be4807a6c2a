"""XGBoost surrogate: a small ensemble of boosters, each fit on a bootstrap of tasks.

Resampling whole tasks (not rows) makes the members disagree where the prediction
depends on which tasks were seen, which is the uncertainty that matters for a new
task. The member predictions serve as posterior samples for portfolio selection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from recommender.errors import ModelError, NotFittedError
from recommender.surrogate.base import check_training_arrays


class GBMSurrogate:
    """Bagged XGBoost regressors.

    Args:
        n_estimators: boosting rounds per member.
        max_depth: tree depth.
        learning_rate: shrinkage.
        n_members: ensemble size (member 0 sees all tasks; the others a bootstrap).
        seed: randomness.
        n_jobs: threads per booster.
    """

    def __init__(
        self,
        *,
        n_estimators: int = 300,
        max_depth: int = 6,
        learning_rate: float = 0.05,
        n_members: int = 3,
        seed: int | None = None,
        n_jobs: int = 1,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.n_members = n_members
        self.seed = seed
        self.n_jobs = n_jobs

    def get_params(self) -> dict[str, Any]:
        return {
            "n_estimators": self.n_estimators,
            "max_depth": self.max_depth,
            "learning_rate": self.learning_rate,
            "n_members": self.n_members,
            "seed": self.seed,
        }

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
        self,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        groups: npt.ArrayLike | None = None,
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
        self.members_: list[Any] = []
        for m in range(self.n_members):
            if m == 0 or len(uniq) < 3:
                weight = np.ones(len(y_))
            else:
                counts = dict(
                    zip(*np.unique(rng.choice(uniq, len(uniq)), return_counts=True), strict=True)
                )
                weight = np.array([counts.get(t, 0) for t in g], dtype=float)
            dtrain = xgb.DMatrix(X_, label=y_, weight=weight)
            booster = xgb.train(self._xgb_params(m), dtrain, num_boost_round=self.n_estimators)
            self.members_.append(booster)
        self.n_features_in_ = X_.shape[1]
        return self

    def _check(self) -> None:
        if not hasattr(self, "members_"):
            raise NotFittedError("GBMSurrogate is not fitted; call fit() or load() first")

    def predict_members(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """``(n_members, n)`` predictions."""
        self._check()
        X_ = np.asarray(X, dtype=float)
        if X_.ndim != 2 or X_.shape[1] != self.n_features_in_:
            raise ModelError(
                f"surrogate: expected {self.n_features_in_} columns, got {X_.shape}; "
                "the model was trained for another space or meta-feature set; retrain"
            )
        return np.stack([b.inplace_predict(X_) for b in self.members_]).astype(float)

    def predict_member(self, X: npt.ArrayLike, member: int) -> npt.NDArray[np.float64]:
        """Predictions of one member (0 = the one fit on all tasks)."""
        self._check()
        return np.asarray(self.members_[member].inplace_predict(np.asarray(X, dtype=float)), float)

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Ensemble mean."""
        return self.predict_members(X).mean(axis=0)

    def save(self, directory: Path) -> list[Path]:
        """Write each member as XGBoost UBJ; return the files."""
        self._check()
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for i, b in enumerate(self.members_):
            path = directory / f"member_{i}.ubj"
            b.save_model(str(path))
            paths.append(path)
        return paths

    @classmethod
    def load(cls, directory: Path, n_features: int, params: dict[str, Any]) -> GBMSurrogate:
        """Read members written by :meth:`save` (UBJ; no pickle)."""
        import xgboost as xgb

        model = cls(**params)
        members = []
        for i in range(model.n_members):
            booster = xgb.Booster()
            try:
                booster.load_model(str(directory / f"member_{i}.ubj"))
            except xgb.core.XGBoostError as err:
                raise ModelError(
                    f"model file {directory}/member_{i}.ubj unreadable: {err}"
                ) from err
            # A loaded booster would predict on every core: slow for small batches and on
            # a busy machine; keep the fit-time thread count.
            booster.set_param({"nthread": model.n_jobs})
            members.append(booster)
        model.members_ = members
        model.n_features_in_ = n_features
        return model
