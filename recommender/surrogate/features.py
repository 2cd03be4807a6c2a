"""The surrogates' input: which meta-features to use, how to scale them, the design matrix.

Meta-features are sparse and inconsistent across tasks (landmarkers exist for some
datasets only, entropies are NaN without nominal features). We use a fixed list of
basic OpenML qualities, keep those present for every training task, and transform them
with a signed ``log1p`` then standardise. A query task missing some of them gets the
training mean for those (and is told so); one missing most of them is refused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from recommender.errors import DatasetError, ModelError

# Basic OpenML qualities, most informative first; complete for every LCBench task.
PREFERRED_METAFEATURES: tuple[str, ...] = (
    "NumberOfInstances",
    "NumberOfFeatures",
    "NumberOfClasses",
    "Dimensionality",
    "MajorityClassPercentage",
    "MinorityClassPercentage",
    "PercentageOfNumericFeatures",
    "PercentageOfSymbolicFeatures",
    "PercentageOfMissingValues",
    "PercentageOfBinaryFeatures",
)


def _slog(x: float) -> float:
    return math.copysign(math.log1p(abs(x)), x)


@dataclass
class MetaFeatureScaler:
    """Chosen meta-feature names with the mean and scale of their transformed values."""

    names: list[str]
    mean: list[float]
    scale: list[float]

    @classmethod
    def fit(cls, metafeatures: Mapping[str, Mapping[str, float]]) -> MetaFeatureScaler:
        """Choose the preferred meta-features present (finite) for every task that has any.

        Tasks without meta-features count as the training mean; when no task has any,
        the scaler uses none (a model of the configs alone).

        Args:
            metafeatures: ``{task: {name: value}}`` of the training tasks.

        Raises:
            DatasetError: tasks have meta-features but share none of the preferred ones.
        """
        described = [mf for mf in metafeatures.values() if mf]
        if not described:
            return cls([], [], [])
        names = [n for n in PREFERRED_METAFEATURES if all(_finite(mf.get(n)) for mf in described)]
        if not names:
            raise DatasetError(
                "training tasks share none of the basic meta-features "
                f"({', '.join(PREFERRED_METAFEATURES[:4])}, ...); ingest them with "
                "recommender ingest FILE --kind metafeatures"
            )
        raw = np.array([[_slog(mf[n]) for n in names] for mf in described])
        scale = raw.std(axis=0)
        return cls(names, raw.mean(axis=0).tolist(), np.where(scale > 0, scale, 1.0).tolist())

    def transform(self, mf: Mapping[str, float]) -> tuple[npt.NDArray[np.float64], list[str]]:
        """One task's standardised vector, and the names that were missing (imputed).

        A task without meta-features (``{}``) gets the training mean for all of them.

        Raises:
            DatasetError: meta-features were given, but most of the model's are missing.
        """
        missing = [n for n in self.names if not _finite(mf.get(n))]
        if mf and len(missing) * 2 > len(self.names):
            raise DatasetError(
                f"meta-features missing: expected {', '.join(self.names)}; got none of "
                f"{', '.join(missing)}; compute them with recommender describe DATASET"
            )
        vec = [
            0.0 if n in missing else (_slog(float(mf[n])) - m) / s
            for n, m, s in zip(self.names, self.mean, self.scale, strict=True)
        ]
        return np.array(vec, dtype=float), missing

    def to_json(self) -> dict[str, Any]:
        return {"names": self.names, "mean": self.mean, "scale": self.scale}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> MetaFeatureScaler:
        return cls(list(obj["names"]), list(obj["mean"]), list(obj["scale"]))


def _finite(value: Any) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def design_matrix(
    config_x: npt.NDArray[np.float64], task_vec: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Rows ``[encoded config, task meta-features]`` for one task's configs."""
    return np.hstack([config_x, np.broadcast_to(task_vec, (len(config_x), len(task_vec)))])


def check_training_arrays(
    X: npt.ArrayLike, y: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """``X`` and ``y`` as float arrays, checked: 2-D, non-empty, one target per row.

    Raises:
        ModelError: empty or mismatched inputs.
    """
    X_, y_ = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    if X_.ndim != 2 or len(X_) == 0 or len(X_) != len(y_):
        raise ModelError(
            f"surrogate: expected a non-empty 2-D X with one target per row, got X "
            f"{X_.shape} and y {y_.shape}; ingest runs first"
        )
    return X_, y_
