"""Features pymfe also computes agree with pymfe on real and synthetic data.

pymfe names differ and it leaves the target out of attribute counts; OpenML (and we)
count it. pymfe adds 1e-8 to every joint probability cell, which shifts its mutual
information by about 1e-6, so mutual information is compared at 1e-5 and checked
exactly against scikit-learn's ``mutual_info_score`` instead.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from recommender.datasets.loading import Dataset
from recommender.metafeatures import compute_metafeatures
from recommender.metafeatures.prepare import is_numeric_column
from tests.metafeatures.conftest import sklearn_dataset

pymfe = pytest.importorskip("pymfe.mfe")

SUMMARY_OF = {
    "Min": np.min,
    "Max": np.max,
    "Mean": np.mean,
    "Quartile1": lambda v: np.quantile(v, 0.25, method="weibull"),
    "Quartile2": np.median,
    "Quartile3": lambda v: np.quantile(v, 0.75, method="weibull"),
}


def _pymfe(ds: Dataset, features: list[str], **fit: object) -> dict[str, np.ndarray]:
    cat_cols = [i for i, c in enumerate(ds.X.columns) if not is_numeric_column(ds.X[c])]
    X = ds.X.to_numpy(dtype=object) if cat_cols else ds.X.to_numpy(dtype=float)
    mfe = pymfe.MFE(groups="all", features=features, summary=[], random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mfe.fit(X, ds.y.to_numpy(), cat_cols=cat_cols, **fit)
        names, values = mfe.extract(skewness={"method": 2}, kurtosis={"method": 2})
    return {n: np.asarray(v, dtype=float) for n, v in zip(names, values, strict=True)}


def _assert_summaries(ours: dict[str, float], stem: str, raw: np.ndarray, tol: float) -> None:
    for prefix, fn in SUMMARY_OF.items():
        name = f"{prefix}{stem}"
        assert ours[name] == pytest.approx(float(fn(raw)), rel=tol, abs=tol), name


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer"])
def test_numeric_statistics_match_pymfe(name: str) -> None:
    ds = sklearn_dataset(name)
    ours = compute_metafeatures(ds, groups=["general", "statistical"]).features
    ref = _pymfe(
        ds, ["nr_inst", "nr_attr", "nr_num", "nr_class", "mean", "sd", "skewness", "kurtosis"]
    )
    assert ours["NumberOfInstances"] == ref["nr_inst"]
    assert ours["NumberOfFeatures"] == ref["nr_attr"] + 1  # OpenML counts the target
    assert ours["NumberOfNumericFeatures"] == ref["nr_num"]
    assert ours["NumberOfClasses"] == ref["nr_class"]
    _assert_summaries(ours, "MeansOfNumericAtts", ref["mean"], 1e-12)
    _assert_summaries(ours, "StdDevOfNumericAtts", ref["sd"], 1e-12)
    _assert_summaries(ours, "SkewnessOfNumericAtts", ref["skewness"], 1e-9)
    _assert_summaries(ours, "KurtosisOfNumericAtts", ref["kurtosis"], 1e-9)


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer"])
def test_binned_information_matches_pymfe(name: str) -> None:
    ds = sklearn_dataset(name)
    ours = compute_metafeatures(ds, groups=["information"]).features
    ref = _pymfe(ds, ["attr_ent", "mut_inf", "class_ent", "eq_num_attr", "ns_ratio"])
    _assert_summaries(ours, "BinnedAttributeEntropy", ref["attr_ent"], 1e-12)
    _assert_summaries(ours, "BinnedMutualInformation", ref["mut_inf"], 1e-5)
    assert ours["BinnedTargetEntropy"] == pytest.approx(float(ref["class_ent"]), rel=1e-12)
    assert ours["BinnedEquivalentNumberOfAtts"] == pytest.approx(
        float(ref["eq_num_attr"]), rel=1e-4
    )
    assert ours["MeanBinnedNoiseToSignalRatio"] == pytest.approx(float(ref["ns_ratio"]), rel=1e-4)


def test_binned_mutual_information_is_exact() -> None:
    from sklearn.metrics import mutual_info_score

    from recommender.metafeatures.information import discretize, entropies

    ds = sklearn_dataset("wine")
    X = ds.X.to_numpy(dtype=float)
    codes = discretize(X, int(len(X) ** (1 / 3)))
    y = ds.y.to_numpy()
    _, mi = entropies(codes, y.astype(np.int64))
    expected = [mutual_info_score(y, codes[:, j]) / np.log(2) for j in range(X.shape[1])]
    np.testing.assert_allclose(mi, expected, rtol=1e-12, atol=1e-13)


def test_mixed_table_matches_pymfe(mixed: Dataset) -> None:
    ours = compute_metafeatures(mixed, groups=["general", "statistical", "information"]).features
    ref = _pymfe(
        mixed,
        [
            "nr_attr",
            "nr_num",
            "nr_cat",
            "mean",
            "sd",
            "skewness",
            "kurtosis",
            "attr_ent",
            "mut_inf",
        ],
        transform_num=False,
        transform_cat=None,
    )
    assert ours["NumberOfNumericFeatures"] == ref["nr_num"]
    assert ours["NumberOfSymbolicFeatures"] == ref["nr_cat"] + 1  # the class target
    # pymfe cannot skip missing cells; compare on the complete numeric columns.
    complete = ["x_normal", "x_int", "x_const"]
    numeric = [c for c in mixed.X.columns if is_numeric_column(mixed.X[c])]
    keep = [numeric.index(c) for c in complete]
    non_constant = [numeric.index(c) for c in ("x_normal", "x_int")]
    from recommender.metafeatures.tabular import moments

    mean, std, skew, kurt = moments(mixed.X[numeric].to_numpy(dtype=float))
    np.testing.assert_allclose(mean[keep], ref["mean"][keep], rtol=1e-12)
    np.testing.assert_allclose(std[keep], ref["sd"][keep], rtol=1e-12)
    np.testing.assert_allclose(skew[non_constant], ref["skewness"][non_constant], rtol=1e-9)
    np.testing.assert_allclose(kurt[non_constant], ref["kurtosis"][non_constant], rtol=1e-9)
    _assert_summaries(ours, "AttributeEntropy", ref["attr_ent"], 1e-12)
    _assert_summaries(ours, "MutualInformation", ref["mut_inf"], 1e-5)


@pytest.mark.parametrize("name", ["wine", "breast_cancer"])
def test_pca_fraction_matches_pymfe_t4(name: str) -> None:
    ds = sklearn_dataset(name)
    ours = compute_metafeatures(ds, groups=["pca"]).features
    ref = _pymfe(ds, ["t4"], rescale="standard")
    assert ours["PCAFractionOfComponentsFor95PercentVariance"] == pytest.approx(float(ref["t4"]))
