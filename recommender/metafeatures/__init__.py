"""Describe a dataset by meta-features: the surrogate transfers knowledge through these.

``compute_metafeatures`` is pure (no I/O besides reading image files of an image
dataset) and returns every feature of the modality, NaN where undefined or skipped.
Tabular features carry OpenML quality names; see :mod:`recommender.metafeatures.catalog`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from recommender.errors import DatasetError
from recommender.metafeatures.catalog import FEATURES, GROUPS, feature_names
from recommender.metafeatures.prepare import PreparedTable, canonical_subsample, row_hashes
from recommender.metafeatures.prepare import prepare as _prepare_table

if TYPE_CHECKING:
    from recommender.datasets.loading import Dataset

__all__ = [
    "FEATURES",
    "GROUPS",
    "MetaFeatureResult",
    "compute_metafeatures",
    "feature_names",
    "groups_computing",
    "prepared_features",
]

# Rows used by the groups that do not need every row (seeded, row-order independent).
MAX_ROWS = {"information": 100_000, "pca": 20_000, "landmarkers": 2_000}
EXPENSIVE = ("information", "landmarkers")


@dataclass
class MetaFeatureResult:
    """Meta-features of one dataset.

    Attributes:
        features: feature name -> value (NaN where undefined or skipped).
        problem_type: ``"binary"``, ``"multiclass"`` or ``"regression"``.
        modality: ``"tabular"``, ``"image"`` or ``"text"``.
        notes: what was skipped or subsampled, one short sentence each.
    """

    features: dict[str, float]
    problem_type: str
    modality: str
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, float | str | None]:
        """Features with NaN as None, plus ``problem_type`` and ``modality``."""
        out: dict[str, float | str | None] = {
            k: (None if not np.isfinite(v) else float(v)) for k, v in self.features.items()
        }
        out["problem_type"] = self.problem_type
        out["modality"] = self.modality
        return out


def compute_metafeatures(
    dataset: Dataset,
    *,
    seed: int = 0,
    time_budget_s: float | None = None,
    groups: Iterable[str] | None = None,
) -> MetaFeatureResult:
    """Compute the meta-features of a dataset.

    Args:
        dataset: a loaded dataset (see :func:`recommender.datasets.loading.load_dataset`).
        seed: seed of every subsample and cross-validation split.
        time_budget_s: once this many seconds have passed, the remaining expensive
            groups (information, landmarkers) are skipped with a note.
        groups: tabular groups to compute (default: all of ``GROUPS["tabular"]``);
            features of other groups are NaN.

    Returns:
        The features, with notes on what was skipped or subsampled.

    Raises:
        DatasetError: an unknown group or modality.

    >>> import pandas as pd
    >>> from recommender.datasets.loading import dataset_from_frame
    >>> ds = dataset_from_frame(pd.DataFrame({"a": [1.0, 2, 3, 4], "t": [0, 1, 0, 1]}), "t")
    >>> compute_metafeatures(ds, groups=["general"]).features["NumberOfFeatures"]
    2.0
    """
    if dataset.modality not in GROUPS:
        raise DatasetError(
            f"{dataset.name}: expected modality tabular, image or text, got {dataset.modality!r}"
        )
    wanted = _check_groups(dataset.modality, groups)
    names = feature_names(dataset.modality, dataset.problem_type == "regression")
    features = dict.fromkeys(names, float("nan"))
    notes: list[str] = []
    if dataset.modality == "image":
        from recommender.metafeatures.image import image_features

        features.update(image_features(dataset, seed=seed, notes=notes))
    elif dataset.modality == "text":
        from recommender.metafeatures.text import text_features

        features.update(text_features(dataset, seed=seed, notes=notes))
    else:
        table = _prepare_table(dataset)
        features.update(_tabular(table, wanted, seed, time_budget_s, notes))
    if dataset.n_rows_total and dataset.n_rows_total > len(dataset.X):
        notes.append(
            f"computed on a {len(dataset.X)}-row sample of {dataset.n_rows_total} rows; "
            "counts are scaled to the full size"
        )
    return MetaFeatureResult(features, dataset.problem_type, dataset.modality, notes)


def groups_computing(modality: str, names: Iterable[str]) -> list[str]:
    """The groups of ``modality`` that compute any of ``names``, in catalog order (every
    group when none of the names is known), so a model's features can be computed alone.

    >>> groups_computing("tabular", ["NumberOfInstances", "MeanSkewnessOfNumericAtts"])
    ['general', 'statistical']
    """
    catalog = FEATURES[modality]
    wanted = {catalog[name].group for name in names if name in catalog}
    return [g for g in GROUPS[modality] if g in wanted] or list(GROUPS[modality])


def _check_groups(modality: str, groups: Iterable[str] | None) -> list[str]:
    known = GROUPS[modality]
    if groups is None:
        return list(known)
    wanted = list(groups)
    unknown = [g for g in wanted if g not in known]
    if unknown:
        raise DatasetError(
            f"unknown meta-feature group {unknown[0]!r} for {modality} data; "
            f"expected some of: {', '.join(known)}"
        )
    return wanted


def prepared_features(
    table: PreparedTable, problem_type: str, groups: Iterable[str], *, seed: int = 0
) -> dict[str, float]:
    """The tabular features of a prepared table, as :func:`compute_metafeatures` gives
    them for the dataset it was prepared from (NaN outside ``groups``)."""
    names = feature_names("tabular", problem_type == "regression")
    features = dict.fromkeys(names, float("nan"))
    features.update(_tabular(table, _check_groups("tabular", groups), seed, None, []))
    return features


def _tabular(
    table: PreparedTable,
    groups: list[str],
    seed: int,
    time_budget_s: float | None,
    notes: list[str],
) -> dict[str, float]:
    from threadpoolctl import threadpool_limits

    from recommender.metafeatures.information import information_features
    from recommender.metafeatures.landmarkers import landmarker_features
    from recommender.metafeatures.pca import pca_features
    from recommender.metafeatures.tabular import general_features, statistical_features

    start = time.perf_counter()
    by_hash: list[np.ndarray] = []  # rows ordered by content hash: built once, if needed

    def rows(group: str) -> PreparedTable:
        limit = MAX_ROWS[group]
        if table.n_rows <= limit and group != "landmarkers":
            return table
        if not by_hash:
            by_hash.append(np.argsort(row_hashes(table, seed), kind="stable"))
        idx = canonical_subsample(by_hash[0], limit, table.y_codes, presorted=True)
        if len(idx) < table.n_rows:
            notes.append(f"{group}: computed on a seeded {len(idx)}-row sample")
        return take(table, idx)

    compute: dict[str, Callable[[], dict[str, float]]] = {
        "general": lambda: general_features(table),
        "statistical": lambda: statistical_features(table),
        "pca": lambda: pca_features(rows("pca").numeric),
        "information": lambda: information_features(rows("information")),
        "landmarkers": lambda: landmarker_features(rows("landmarkers"), seed=seed),
    }
    out: dict[str, float] = {}
    # The matrices here are small (sampled); BLAS/OpenMP threads cost more than they save.
    # Extreme values (1e308) overflow to inf in moments and distances: the features are
    # then inf or NaN, which is their value, not something to warn about.
    errors = np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore")
    with threadpool_limits(limits=1), errors:
        for group in GROUPS["tabular"]:
            if group not in groups:
                continue
            spent = time.perf_counter() - start
            if group in EXPENSIVE and time_budget_s is not None and spent >= time_budget_s:
                notes.append(f"{group} skipped: time budget ({time_budget_s:g} s) used up")
                continue
            out.update(compute[group]())
    return out


def take(t: PreparedTable, idx: np.ndarray) -> PreparedTable:
    """The rows ``idx`` of a prepared table, with the scale to the source updated."""
    n_source = t.n_rows * t.scale
    return PreparedTable(
        numeric_columns=[col[idx] for col in t.numeric_columns],
        numeric_names=t.numeric_names,
        nominal=t.nominal[idx],
        nominal_levels=t.nominal_levels,
        nominal_names=t.nominal_names,
        y_codes=None if t.y_codes is None else t.y_codes[idx],
        y_float=None if t.y_float is None else t.y_float[idx],
        n_classes=t.n_classes,
        scale=n_source / max(len(idx), 1),
        n_rows=len(idx),
    )
