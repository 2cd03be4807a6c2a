"""scikit-learn surrogate: an extremely randomised forest, saved without pickle.

The alternative to the XGBoost ensemble. Its trees are exported to flat arrays
(children, split feature, threshold, leaf value) stored with safetensors, and a loaded
model predicts with a vectorised traversal of those arrays, so no estimator object is
ever unpickled. Trees are grouped into members whose means serve as posterior samples,
like the XGBoost members.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from recommender.errors import ModelError, NotFittedError
from recommender.surrogate.base import check_training_arrays

_MISSING = -1.0  # inactive conditional parameters (NaN) sit below every encoded value


class ForestSurrogate:
    """Extra-trees regressor exported to arrays.

    Args:
        n_estimators: trees in all.
        max_depth: tree depth limit (keeps the arrays, and prediction time, small).
        min_samples_leaf: smallest leaf.
        n_members: groups of trees reported as ensemble members.
        seed: randomness.
        n_jobs: threads while fitting.
    """

    def __init__(
        self,
        *,
        n_estimators: int = 60,
        max_depth: int = 12,
        min_samples_leaf: int = 3,
        n_members: int = 4,
        seed: int | None = None,
        n_jobs: int = 1,
        **_ignored: Any,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.n_members = n_members
        self.seed = seed
        self.n_jobs = n_jobs

    def get_params(self) -> dict[str, Any]:
        return {
            "n_estimators": self.n_estimators,
            "max_depth": self.max_depth,
            "min_samples_leaf": self.min_samples_leaf,
            "n_members": self.n_members,
            "seed": self.seed,
        }

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
        self.arrays_ = _export([est.tree_ for est in forest.estimators_])
        self.n_features_in_ = X_.shape[1]
        return self

    def _check(self) -> None:
        if not hasattr(self, "arrays_"):
            raise NotFittedError("ForestSurrogate is not fitted; call fit() or load() first")

    def _tree_predictions(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]:
        self._check()
        X_ = np.asarray(X, dtype=float)
        if X_.ndim != 2 or X_.shape[1] != self.n_features_in_:
            raise ModelError(
                f"surrogate: expected {self.n_features_in_} columns, got {X_.shape}; "
                "the model was trained for another space or meta-feature set; retrain"
            )
        return _traverse(self.arrays_, np.nan_to_num(X_, nan=_MISSING))

    def predict_members(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """``(n_members, n)``: the mean prediction of each group of trees."""
        per_tree = self._tree_predictions(X)
        groups = np.array_split(np.arange(len(per_tree)), self.n_members)
        return np.stack([per_tree[g].mean(axis=0) for g in groups])

    def predict_member(self, X: npt.ArrayLike, member: int) -> npt.NDArray[np.float64]:
        """Predictions of one group of trees."""
        return self.predict_members(X)[member]

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Mean over all trees."""
        return self._tree_predictions(X).mean(axis=0)

    def save(self, directory: Path) -> list[Path]:
        """Write the tree arrays as safetensors; return the file."""
        from safetensors.numpy import save_file

        self._check()
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "forest.safetensors"
        save_file({k: np.ascontiguousarray(v) for k, v in self.arrays_.items()}, str(path))
        return [path]

    @classmethod
    def load(cls, directory: Path, n_features: int, params: dict[str, Any]) -> ForestSurrogate:
        """Read arrays written by :meth:`save` (safetensors; no pickle).

        Raises:
            ModelError: the file is missing, unreadable or incomplete.
        """
        from safetensors.numpy import load_file

        try:
            arrays = load_file(str(directory / "forest.safetensors"))
        except Exception as err:  # safetensors raises its own type for a bad header
            raise ModelError(
                f"model file {directory}/forest.safetensors unreadable: {err}"
            ) from err
        if set(arrays) != set(_FIELDS):
            raise ModelError(f"model file {directory}/forest.safetensors is incomplete; retrain")
        model = cls(**params)
        model.arrays_ = dict(arrays)
        model.n_features_in_ = n_features
        return model


_FIELDS = ("left", "right", "feature", "threshold", "value", "roots")


def _export(trees: list[Any]) -> dict[str, npt.NDArray[Any]]:
    """Concatenate sklearn trees into one node table; child ids are made global."""
    left, right, feature, threshold, value, roots = [], [], [], [], [], []
    offset = 0
    for tree in trees:
        n = tree.node_count
        is_leaf = tree.children_left == -1
        left.append(np.where(is_leaf, -1, tree.children_left + offset))
        right.append(np.where(is_leaf, -1, tree.children_right + offset))
        feature.append(np.where(is_leaf, 0, tree.feature))
        threshold.append(tree.threshold)
        value.append(tree.value.reshape(n, -1)[:, 0])
        roots.append(offset)
        offset += n
    return {
        "left": np.concatenate(left).astype(np.int64),
        "right": np.concatenate(right).astype(np.int64),
        "feature": np.concatenate(feature).astype(np.int64),
        "threshold": np.concatenate(threshold).astype(np.float64),
        "value": np.concatenate(value).astype(np.float64),
        "roots": np.asarray(roots, dtype=np.int64),
    }


def _traverse(
    arrays: dict[str, npt.NDArray[Any]], X: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """``(n_trees, n)`` leaf values: every sample walks every tree at once."""
    left, right = arrays["left"], arrays["right"]
    feature, threshold = arrays["feature"], arrays["threshold"]
    node = np.repeat(arrays["roots"][:, None], len(X), axis=1)
    cols = np.arange(len(X))[None, :]
    while True:
        inner = left[node] != -1
        if not inner.any():
            break
        go_left = X[cols, feature[node]] <= threshold[node]
        node = np.where(inner, np.where(go_left, left[node], right[node]), node)
    return arrays["value"][node]
