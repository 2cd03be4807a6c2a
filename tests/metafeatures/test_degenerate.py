"""Degenerate inputs give defined values (NaN where undefined) or one-line errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from recommender.datasets.loading import Dataset, dataset_from_frame
from recommender.errors import DatasetError
from recommender.metafeatures import compute_metafeatures, feature_names
from tests.metafeatures.conftest import mixed_frame


def _features(frame: pd.DataFrame, **kw: object) -> dict[str, float]:
    return compute_metafeatures(dataset_from_frame(frame, "target", **kw)).features  # type: ignore[arg-type]


def test_every_feature_is_returned(mixed: Dataset) -> None:
    result = compute_metafeatures(mixed)
    assert list(result.features) == feature_names("tabular", regression=False)
    assert all(isinstance(v, float) for v in result.features.values())


def test_one_row_is_an_error() -> None:
    with pytest.raises(DatasetError, match="at least 2 labelled rows, got 1"):
        dataset_from_frame(pd.DataFrame({"a": [1.0], "target": [0]}), "target")


def test_one_class_has_defined_values() -> None:
    f = _features(pd.DataFrame({"a": np.arange(10.0), "target": ["x"] * 10}))
    assert f["NumberOfClasses"] == 1
    assert f["ClassEntropy"] == 0
    assert f["MajorityClassPercentage"] == 100
    assert math.isnan(f["kNN1NErrRate"])  # nothing to learn


def test_constant_and_all_missing_columns() -> None:
    frame = pd.DataFrame(
        {
            "const": np.ones(20),
            "empty": np.full(20, np.nan),
            "other": np.arange(20.0),
            "target": [0, 1] * 10,
        }
    )
    f = _features(frame)
    assert f["NumberOfMissingValues"] == 20
    assert f["PercentageOfInstancesWithMissingValues"] == 100
    assert f["MinSkewnessOfNumericAtts"] == 0  # constant column: 0, as OpenML
    assert f["MinStdDevOfNumericAtts"] == 0
    assert math.isfinite(f["PCAFractionOfComponentsFor95PercentVariance"])


def test_only_constant_numeric_columns_have_no_pca() -> None:
    f = _features(pd.DataFrame({"a": np.ones(10), "target": [0, 1] * 5}))
    assert math.isnan(f["PCAFractionOfComponentsFor95PercentVariance"])


def test_high_cardinality_categorical() -> None:
    frame = pd.DataFrame({"id": [f"row{i}" for i in range(64)], "target": [0, 1] * 32})
    f = _features(frame)
    assert f["MaxNominalAttDistinctValues"] == 64
    assert f["MaxAttributeEntropy"] == pytest.approx(6.0)  # log2(64)
    assert math.isnan(f["MeanMeansOfNumericAtts"])  # no numeric attribute
    assert math.isfinite(f["DecisionStumpErrRate"])


def test_no_feature_columns() -> None:
    f = _features(pd.DataFrame({"target": [0, 1, 0, 1, 1]}))
    assert f["NumberOfFeatures"] == 1
    assert math.isnan(f["NaiveBayesAUC"])


def test_time_budget_skips_expensive_groups(mixed: Dataset) -> None:
    result = compute_metafeatures(mixed, time_budget_s=0.0)
    assert math.isnan(result.features["kNN1NErrRate"])
    assert math.isnan(result.features["MeanBinnedMutualInformation"])
    assert math.isfinite(result.features["MeanMeansOfNumericAtts"])
    assert "landmarkers skipped: time budget (0 s) used up" in result.notes


def test_unknown_group_is_one_line_error(mixed: Dataset) -> None:
    with pytest.raises(DatasetError, match="unknown meta-feature group 'bogus'"):
        compute_metafeatures(mixed, groups=["bogus"])


def test_large_table_subsamples_expensive_groups() -> None:
    frame = mixed_frame(n=2600, seed=1)
    result = compute_metafeatures(dataset_from_frame(frame, "target"), groups=["landmarkers"])
    assert "landmarkers: computed on a seeded 2000-row sample" in result.notes
    assert 0 <= result.features["NaiveBayesErrRate"] <= 1


def test_seed_changes_only_sampled_features() -> None:
    frame = mixed_frame(n=2600, seed=2)
    a = compute_metafeatures(dataset_from_frame(frame, "target"), seed=0).features
    b = compute_metafeatures(dataset_from_frame(frame, "target"), seed=0).features
    c = compute_metafeatures(dataset_from_frame(frame, "target"), seed=1).features
    assert a == pytest.approx(b, nan_ok=True)
    assert a["MeanMeansOfNumericAtts"] == c["MeanMeansOfNumericAtts"]
