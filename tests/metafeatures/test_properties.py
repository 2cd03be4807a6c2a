"""Property tests: meta-features ignore row order, and column order where they should."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recommender.datasets.loading import dataset_from_frame
from recommender.metafeatures import compute_metafeatures

ORDER_DEPENDENT = {"AutoCorrelation"}  # OpenML defines it on consecutive rows


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(8, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    n_num = draw(st.integers(1, 4))
    n_cat = draw(st.integers(0, 2))
    data: dict[str, object] = {}
    for j in range(n_num):
        col = np.round(rng.normal(size=n) * 10 ** rng.integers(0, 3), 3)
        col[rng.random(n) < 0.1] = np.nan
        data[f"n{j}"] = col
    for j in range(n_cat):
        data[f"c{j}"] = rng.choice(list("abcd")[: int(rng.integers(2, 5))], size=n)
    labels = rng.choice(["u", "v", "w"], size=n)
    labels[:2] = ["u", "v"]  # at least two classes
    data["target"] = labels
    return pd.DataFrame(data)


def _same(a: dict[str, float], b: dict[str, float], skip: set[str]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        if k in skip:
            continue
        if math.isnan(a[k]):
            assert math.isnan(b[k]), k
        else:
            assert math.isclose(a[k], b[k], rel_tol=1e-9, abs_tol=1e-9), (k, a[k], b[k])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames(), perm_seed=st.integers(0, 2**16))
def test_row_order_does_not_matter(frame: pd.DataFrame, perm_seed: int) -> None:
    shuffled = frame.sample(frac=1.0, random_state=perm_seed).reset_index(drop=True)
    a = compute_metafeatures(dataset_from_frame(frame, "target")).features
    b = compute_metafeatures(dataset_from_frame(shuffled, "target")).features
    _same(a, b, ORDER_DEPENDENT)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames(), perm_seed=st.integers(0, 2**16))
def test_column_order_does_not_matter(frame: pd.DataFrame, perm_seed: int) -> None:
    # Landmarkers are left out: a decision stump breaks ties between equally good
    # attributes by their position.
    groups = ["general", "statistical", "pca", "information"]
    features = [c for c in frame.columns if c != "target"]
    order = list(np.random.default_rng(perm_seed).permutation(features)) + ["target"]
    a = compute_metafeatures(dataset_from_frame(frame, "target"), groups=groups).features
    b = compute_metafeatures(dataset_from_frame(frame[order], "target"), groups=groups).features
    _same(a, b, set())


@st.composite
def binning_inputs(draw: st.DrawFn) -> tuple[np.ndarray, int]:
    n = draw(st.integers(1, 300))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    X = rng.normal(size=(n, 3)) * 10.0 ** draw(st.integers(-9, 6))
    X[:, 1] = np.round(X[:, 1], draw(st.integers(-1, 2)))  # many ties
    X[:, 2] = 7.0  # constant
    X[rng.random(X.shape) < draw(st.sampled_from([0.0, 0.3, 1.0]))] = np.nan
    return X, draw(st.integers(1, 12))


@given(binning_inputs())
@settings(max_examples=200, deadline=None)
def test_discretize_matches_quantile_then_digitize(case: tuple[np.ndarray, int]) -> None:
    """The sort-based binning gives pymfe's codes: quantile edges, then a binary search."""
    from recommender.metafeatures.information import discretize

    X, n_bins = case
    expected = np.full(X.shape, -1, dtype=np.int64)
    for j in range(X.shape[1]):
        ok = ~np.isnan(X[:, j])
        if ok.any():
            edges = np.quantile(X[ok, j], np.linspace(0, 1, n_bins + 1)[1:])
            edges = np.unique(edges[np.append(True, np.diff(edges) > 1e-8)])
            expected[ok, j] = np.digitize(X[ok, j], bins=edges, right=True)
    np.testing.assert_array_equal(discretize(X, n_bins), expected)
