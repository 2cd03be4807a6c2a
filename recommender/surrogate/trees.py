"""Decision trees as flat arrays, predicted with numpy: the surrogates' inference format.

Answering a query needs only the trained trees, not the library that grew them. The
XGBoost boosters and the scikit-learn forest are exported to one node table each
(children, split feature, threshold, where a missing value goes, leaf value), stored
with safetensors, and traversed level by level for every tree and row at once. So a
query imports neither xgboost nor scikit-learn.

The traversal follows XGBoost's own rules, so its predictions equal the booster's bit
for bit: features and thresholds in float32, ``x < threshold`` goes left, a missing
value (NaN) follows the node's default direction, and a member's prediction is
``base_score`` plus its trees' leaf values added one by one in float32. A
scikit-learn split ``x <= t`` is stored as ``x < nextafter(t, inf)`` in float64, which
is the same test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from recommender.errors import ModelError

IntArray = npt.NDArray[np.intp]
FIELDS = ("children", "feature", "threshold", "default_left", "value", "roots")
BLOCK = 1 << 17  # lanes (tree x row) walked at once


@dataclass
class TreeArrays:
    """Trees in one node table. Node ``i`` of any tree:

    ``children[2i]`` / ``children[2i + 1]``: the left / right child (a leaf points to
    itself on both sides, so every row can take the same number of steps);
    ``feature[i]``, ``threshold[i]``: go left when ``x[feature] < threshold``;
    ``default_left[i]``: where a NaN goes; ``value[i]``: the leaf value.
    ``roots[t]`` is tree ``t``'s root; ``depth`` the longest root-to-leaf path.
    """

    children: IntArray
    feature: IntArray
    threshold: npt.NDArray[np.floating[Any]]
    default_left: npt.NDArray[np.bool_]
    value: npt.NDArray[np.floating[Any]]
    roots: IntArray
    depth: int

    @property
    def n_trees(self) -> int:
        return len(self.roots)

    def leaf_values(self, X: npt.NDArray[np.float64]) -> npt.NDArray[np.floating[Any]]:
        """``(n_trees, n)``: the leaf each row reaches in each tree, in the trees' dtype.

        A missing value is routed without testing for NaN at every step: ``X`` is laid
        out twice, NaN as ``-inf`` (below every threshold: left) and as ``+inf`` (right),
        and each node reads the copy that sends NaN its default way. Trees are walked in
        blocks of about ``BLOCK`` lanes (tree x row) so the working arrays stay in cache.
        """
        n, d = X.shape
        both = np.concatenate([np.nan_to_num(X.T, nan=-np.inf), np.nan_to_num(X.T, nan=np.inf)])
        flat = np.ascontiguousarray(both, dtype=self.threshold.dtype).ravel()  # feature-major
        column, threshold, child_slot = self._slots(d)
        offset = column * n
        cols = np.arange(n, dtype=np.intp)
        out = np.empty((self.n_trees, n), dtype=self.value.dtype)
        step = max(1, BLOCK // max(n, 1))
        for start in range(0, self.n_trees, step):
            slot = np.repeat(2 * self.roots[start : start + step, None], n, axis=1)
            for _ in range(self.depth):
                x = flat[offset[slot] + cols]
                slot = child_slot[slot + (x >= threshold[slot])]
            out[start : start + step] = self.value[slot // 2]
        return out

    def _slots(self, d: int) -> tuple[IntArray, npt.NDArray[Any], IntArray]:
        """Per slot (node ``i`` has slots ``2i`` and ``2i + 1``): the column of the doubled
        ``X`` it reads, its threshold, and its children's slots (computed once)."""
        cached = self.__dict__.get("_slot_cache")
        if cached is None or cached[0] != d:
            column = np.repeat(self.feature + d * ~self.default_left, 2)
            cached = (d, column, np.repeat(self.threshold, 2), 2 * self.children)
            self.__dict__["_slot_cache"] = cached
        return cached[1], cached[2], cached[3]

    # -- persistence ------------------------------------------------------------------
    def to_arrays(self) -> dict[str, npt.NDArray[Any]]:
        return {
            "children": self.children.astype(np.int32),
            "feature": self.feature.astype(np.int32),
            "threshold": np.ascontiguousarray(self.threshold),
            "default_left": self.default_left.astype(np.uint8),
            "value": np.ascontiguousarray(self.value),
            "roots": self.roots.astype(np.int32),
            "depth": np.array([self.depth], dtype=np.int32),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, npt.NDArray[Any]]) -> TreeArrays:
        return cls(
            arrays["children"].astype(np.intp),
            arrays["feature"].astype(np.intp),
            arrays["threshold"],
            arrays["default_left"].astype(bool),
            arrays["value"],
            arrays["roots"].astype(np.intp),
            int(arrays["depth"][0]),
        )


def from_children(
    left: npt.ArrayLike,
    right: npt.ArrayLike,
    feature: npt.ArrayLike,
    threshold: npt.ArrayLike,
    default_left: npt.ArrayLike,
    value: npt.ArrayLike,
    roots: npt.ArrayLike,
    dtype: type[np.floating[Any]],
) -> TreeArrays:
    """Build :class:`TreeArrays` from global child ids (``-1`` for a leaf)."""
    left_, right_ = np.asarray(left, dtype=np.intp), np.asarray(right, dtype=np.intp)
    leaf = left_ == -1
    own = np.arange(len(left_), dtype=np.intp)
    children = np.empty(2 * len(left_), dtype=np.intp)
    children[0::2] = np.where(leaf, own, left_)
    children[1::2] = np.where(leaf, own, right_)
    roots_ = np.asarray(roots, dtype=np.intp)
    return TreeArrays(
        children,
        np.where(leaf, 0, np.asarray(feature, dtype=np.intp)),
        np.where(leaf, np.inf, np.asarray(threshold, dtype=dtype)).astype(dtype),
        np.where(leaf, True, np.asarray(default_left, dtype=bool)),
        np.asarray(value, dtype=dtype),
        roots_,
        _depth(children, roots_),
    )


def _depth(children: IntArray, roots: IntArray) -> int:
    depth, frontier = 0, np.unique(roots)
    while True:
        nxt = np.unique(children[np.concatenate([2 * frontier, 2 * frontier + 1])])
        nxt = nxt[~np.isin(nxt, frontier)]  # leaves point to themselves
        if len(nxt) == 0:
            return depth
        depth, frontier = depth + 1, nxt


# -- XGBoost -----------------------------------------------------------------------------
def export_booster(booster: Any) -> tuple[TreeArrays, float]:
    """One XGBoost booster's trees (float32) and its ``base_score``.

    Raises:
        ModelError: a booster this format cannot represent (not a single-target gbtree
            with numerical splits).
    """
    model = json.loads(booster.save_raw("json"))
    learner = model["learner"]
    trees = learner["gradient_booster"].get("model", {}).get("trees")
    param = learner["learner_model_param"]
    if trees is None or int(param.get("num_target", 1)) != 1 or int(param["num_class"]) > 1:
        raise ModelError("surrogate: only single-target gbtree boosters can be exported")
    left, right, feature, threshold, default_left, roots = [], [], [], [], [], []
    offset = 0
    for tree in trees:
        if any(tree["split_type"]):
            raise ModelError("surrogate: categorical splits cannot be exported; retrain")
        lc = np.asarray(tree["left_children"], dtype=np.intp)
        rc = np.asarray(tree["right_children"], dtype=np.intp)
        left.append(np.where(lc == -1, -1, lc + offset))
        right.append(np.where(rc == -1, -1, rc + offset))
        feature.append(tree["split_indices"])
        threshold.append(tree["split_conditions"])  # a leaf's value sits here too
        default_left.append(tree["default_left"])
        roots.append(offset)
        offset += len(lc)
    cond = np.concatenate(threshold).astype(np.float32)
    arrays = from_children(
        np.concatenate(left), np.concatenate(right), np.concatenate(feature), cond,
        np.concatenate(default_left), cond, roots, np.float32,
    )  # fmt: skip
    base = np.ravel(json.loads(param["base_score"]) if param["base_score"].startswith("[")
                    else float(param["base_score"]))  # fmt: skip
    return arrays, float(np.float32(base[0]))


def boosted_sum(
    leaves: npt.NDArray[np.floating[Any]], base_score: float
) -> npt.NDArray[np.float32]:
    """``base_score`` plus the rows of ``leaves`` (one per tree), added in order in float32."""
    start = np.full((1, leaves.shape[1]), base_score, dtype=np.float32)
    return np.cumsum(np.vstack([start, leaves.astype(np.float32)]), axis=0, dtype=np.float32)[-1]


# -- scikit-learn ------------------------------------------------------------------------
def export_sklearn(trees: list[Any]) -> dict[str, npt.NDArray[Any]]:
    """Concatenate sklearn trees into one node table (the stored ``forest.safetensors``)."""
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


def from_sklearn_table(table: dict[str, npt.NDArray[Any]]) -> TreeArrays:
    """:class:`TreeArrays` of an exported sklearn table: ``x <= t`` becomes ``x < next(t)``."""
    return from_children(
        table["left"], table["right"], table["feature"],
        np.nextafter(table["threshold"], np.inf), np.ones(len(table["left"]), dtype=bool),
        table["value"], table["roots"], np.float64,
    )  # fmt: skip


# -- files -------------------------------------------------------------------------------
def save_arrays(arrays: dict[str, npt.NDArray[Any]], path: Path) -> Path:
    from safetensors.numpy import save_file

    save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(path))
    return path


def load_arrays(path: Path, expected: set[str]) -> dict[str, npt.NDArray[Any]]:
    """The arrays of a safetensors file (no pickle).

    Raises:
        ModelError: the file is missing, unreadable or lacks one of ``expected``.
    """
    from safetensors.numpy import load_file

    try:
        arrays = load_file(str(path))
    except Exception as err:  # safetensors raises its own type for a bad header
        raise ModelError(f"model file {path} unreadable: {err}") from err
    if not expected <= set(arrays):
        raise ModelError(f"model file {path} is incomplete; retrain")
    return dict(arrays)
