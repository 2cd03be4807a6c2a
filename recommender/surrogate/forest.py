"""scikit-learn surrogate: an extremely randomised forest, saved without pickle.

The alternative to the XGBoost ensemble. Its trees are exported to flat arrays
(children, split feature, threshold, leaf value) stored with safetensors, and a
model predicts with the numpy traversal of :mod:`recommender.surrogate.trees`, so no
estimator object is ever unpickled and a query does not import scikit-learn. Trees are
grouped into members whose means serve as posterior samples, like the XGBoost members.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from recommender.surrogate import trees
from recommender.surrogate.base import BaseSurrogate
from recommender.surrogate.features import check_training_arrays

_MISSING = -1.0  # inactive conditional parameters (NaN) sit below every encoded value
_FIELDS = ("left", "right", "feature", "threshold", "value", "roots")


@dataclass(eq=False, kw_only=True)
class ForestSurrogate(BaseSurrogate):
    """Extra-trees regressor exported to arrays.

    Args:
        n_estimators: trees in all.
        max_depth: tree depth limit (keeps the arrays, and prediction time, small).
        min_samples_leaf: smallest leaf.
        n_members: groups of trees reported as ensemble members.
        seed: randomness.
        n_jobs: threads while fitting.
    """

    kind: ClassVar[str] = "forest"

    n_estimators: int = 60
    max_depth: int = 12
    min_samples_leaf: int = 3
    n_members: int = 4

    def fit(
        self, X: npt.ArrayLike, y: npt.ArrayLike, groups: npt.ArrayLike | None = None
    ) -> ForestSurrogate:
        """Fit the forest and export its trees; ``groups`` is accepted for interface parity.

        Raises:
            ModelError: empty or mismatched inputs.
        """
        from sklearn.ensemble import ExtraTreesRegressor

        X_, y_ = check_training_arrays(X, y)
        forest = ExtraTreesRegressor(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf,
            max_features=0.8,
            random_state=self.seed,
            n_jobs=self.n_jobs,
        ).fit(np.nan_to_num(X_, nan=_MISSING), y_)
        self._set_table(trees.export_sklearn([est.tree_ for est in forest.estimators_]))
        self.n_features_in_ = X_.shape[1]
        return self

    def _set_table(self, table: dict[str, npt.NDArray[Any]]) -> None:
        self.arrays_ = table
        self._trees = trees.from_sklearn_table(table)

    def _tree_predictions(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]:
        X_ = self._checked_rows(X)
        return np.asarray(self._trees.leaf_values(np.nan_to_num(X_, nan=_MISSING)), dtype=float)

    def predict_members(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """``(n_members, n)``: the mean prediction of each group of trees."""
        per_tree = self._tree_predictions(X)
        groups = np.array_split(np.arange(len(per_tree)), self.n_members)
        return np.stack([per_tree[g].mean(axis=0) for g in groups])

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Mean over all trees."""
        return self._tree_predictions(X).mean(axis=0)

    def save(self, directory: Path) -> list[Path]:
        """Write the tree arrays as safetensors; return the file."""
        self._check_fitted()
        directory.mkdir(parents=True, exist_ok=True)
        return [trees.save_arrays(self.arrays_, directory / "forest.safetensors")]

    @classmethod
    def load(cls, directory: Path, n_features: int, params: dict[str, Any]) -> ForestSurrogate:
        """Read arrays written by :meth:`save` (safetensors; no pickle).

        Raises:
            ModelError: the file is missing, unreadable or incomplete.
        """
        arrays = trees.load_arrays(directory / "forest.safetensors", set(_FIELDS))
        model = cls(**params)
        model._set_table(arrays)
        model.n_features_in_ = n_features
        return model
