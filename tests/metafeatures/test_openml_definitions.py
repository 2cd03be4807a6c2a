"""OpenML-named features against values worked out by hand on a tiny table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from recommender.datasets.loading import dataset_from_frame
from recommender.metafeatures import compute_metafeatures
from recommender.metafeatures.tabular import summarize


@pytest.fixture
def tiny() -> dict[str, float]:
    frame = pd.DataFrame(
        {
            "a": [1.0, 2.0, np.nan, 4.0],
            "b": ["x", "y", "x", None],
            "c": [True, False, True, True],
            "target": ["p", "q", "p", "p"],
        }
    )
    ds = dataset_from_frame(frame, "target", name="tiny")
    return compute_metafeatures(ds, groups=["general", "statistical", "information"]).features


def test_counts_by_hand(tiny: dict[str, float]) -> None:
    expected = {
        "NumberOfInstances": 4,
        "NumberOfFeatures": 4,  # a, b, c and the target
        "NumberOfClasses": 2,
        "Dimensionality": 1.0,
        "NumberOfNumericFeatures": 1,
        "NumberOfSymbolicFeatures": 3,
        "NumberOfBinaryFeatures": 3,  # b, c and the binary target
        "PercentageOfNumericFeatures": 25.0,
        "PercentageOfSymbolicFeatures": 75.0,
        "PercentageOfBinaryFeatures": 75.0,
        "NumberOfMissingValues": 2,
        "NumberOfInstancesWithMissingValues": 2,
        "PercentageOfMissingValues": 12.5,  # 2 of 4 x 4 cells
        "PercentageOfInstancesWithMissingValues": 50.0,
        "MajorityClassSize": 3,
        "MinorityClassSize": 1,
        "MajorityClassPercentage": 75.0,
        "MinorityClassPercentage": 25.0,
        "AutoCorrelation": 1 / 3,  # p-q, q-p, p-p
        "MinNominalAttDistinctValues": 2,
        "MaxNominalAttDistinctValues": 2,
        "MeanNominalAttDistinctValues": 2,
        "StdvNominalAttDistinctValues": 0,
    }
    for name, value in expected.items():
        assert tiny[name] == pytest.approx(value), name


def test_entropies_by_hand(tiny: dict[str, float]) -> None:
    h = lambda *p: -sum(q * math.log2(q) for q in p)  # noqa: E731
    assert tiny["ClassEntropy"] == pytest.approx(h(0.75, 0.25))
    # b over its 3 known cells (x, y, x) and c over 4 cells (T, F, T, T).
    assert tiny["MinAttributeEntropy"] == pytest.approx(h(0.75, 0.25))
    assert tiny["MaxAttributeEntropy"] == pytest.approx(h(2 / 3, 1 / 3))
    # Each attribute determines the class on its known cells: MI = class entropy there.
    mean_mi = (h(2 / 3, 1 / 3) + h(0.75, 0.25)) / 2
    assert tiny["MeanMutualInformation"] == pytest.approx(mean_mi)
    assert tiny["EquivalentNumberOfAtts"] == pytest.approx(h(0.75, 0.25) / mean_mi)
    mean_ent = (h(2 / 3, 1 / 3) + h(0.75, 0.25)) / 2
    assert tiny["MeanNoiseToSignalRatio"] == pytest.approx((mean_ent - mean_mi) / mean_mi)


def test_numeric_statistics_by_hand(tiny: dict[str, float]) -> None:
    a = np.array([1.0, 2.0, 4.0])
    assert tiny["MeanMeansOfNumericAtts"] == pytest.approx(7 / 3)
    assert tiny["MeanStdDevOfNumericAtts"] == pytest.approx(math.sqrt(7 / 3))
    assert tiny["MeanSkewnessOfNumericAtts"] == pytest.approx(stats.skew(a, bias=False))
    assert math.isnan(tiny["MeanKurtosisOfNumericAtts"])  # undefined below 4 values


def test_summarize_uses_weibull_percentiles() -> None:
    out = summarize(np.array([4.0, 1.0, 3.0, 2.0, np.nan]), "X")
    # Apache Commons legacy percentile: position p(n+1) = 1.25, 2.5, 3.75.
    assert out == {
        "MinX": 1.0,
        "MaxX": 4.0,
        "MeanX": 2.5,
        "Quartile1X": 1.25,
        "Quartile2X": 2.5,
        "Quartile3X": 3.75,
    }


def test_regression_counts_target_as_numeric() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.5, 3.0, 7.0, 5.5], "y": [0.1, 0.4, 0.35, 0.9, 0.75]})
    f = compute_metafeatures(dataset_from_frame(frame, "y"), groups=["general", "statistical"])
    assert f.problem_type == "regression"
    assert f.features["NumberOfClasses"] == 0
    assert f.features["NumberOfNumericFeatures"] == 2
    assert math.isnan(f.features["ClassEntropy"])
    assert f.features["TargetMean"] == pytest.approx(0.5)
    assert f.features["MaxMeansOfNumericAtts"] == pytest.approx(3.8)  # includes the target


def test_scaled_counts_on_a_sample() -> None:
    frame = pd.DataFrame({"a": np.arange(1000.0), "t": np.tile([0, 1, 1, 1], 250)})
    frame.loc[::10, "a"] = np.nan
    ds = dataset_from_frame(frame, "t", max_rows=200, seed=3)
    result = compute_metafeatures(ds, groups=["general"])
    assert result.features["NumberOfInstances"] == 1000
    assert result.features["MajorityClassSize"] == 750
    assert result.features["MajorityClassPercentage"] == pytest.approx(75.0)
    assert any("200-row sample of 1000" in n for n in result.notes)
