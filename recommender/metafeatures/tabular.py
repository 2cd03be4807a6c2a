"""Tabular meta-features with OpenML quality names and definitions.

Definitions follow OpenML's characterisers: the target counts as an attribute in
NumberOfFeatures and the type counts; attribute statistics use Apache Commons Math
(sample standard deviation, bias-corrected skewness G1 and excess kurtosis G2, and
percentiles at position p(n+1)); entropies are in bits. Missing values are skipped.
All groups are vectorised over columns and take column chunks, so memory stays a small
multiple of the input.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recommender.metafeatures.prepare import FloatArray, IntArray, PreparedTable

STAT_PREFIXES = ("Min", "Max", "Mean", "Quartile1", "Quartile2", "Quartile3")
_CHUNK = 16  # columns per vectorised pass: bounds the temporaries to 16 columns
_TINY_VARIANCE = 1e-19  # Apache Commons returns 0 skewness/kurtosis below this


def summarize(values: FloatArray, stem: str) -> dict[str, float]:
    """Min, Max, Mean and quartiles of the finite values, named like OpenML.

    ``summarize(x, "MeansOfNumericAtts")`` gives ``MinMeansOfNumericAtts``, ...,
    ``Quartile3MeansOfNumericAtts``; all NaN when no value is finite.
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {f"{p}{stem}": float("nan") for p in STAT_PREFIXES}
    q1, q2, q3 = np.quantile(finite, [0.25, 0.5, 0.75], method="weibull")
    return {
        f"Min{stem}": float(finite.min()),
        f"Max{stem}": float(finite.max()),
        f"Mean{stem}": float(finite.mean()),
        f"Quartile1{stem}": float(q1),
        f"Quartile2{stem}": float(q2),
        f"Quartile3{stem}": float(q3),
    }


# -- general ------------------------------------------------------------------------
def general_features(t: PreparedTable) -> dict[str, float]:
    """Counts, missing values, class balance and nominal cardinalities (OpenML simple)."""
    n = t.n_rows
    n_total = round(n * t.scale)
    p_num, p_nom = len(t.numeric_columns), t.nominal.shape[1]
    n_feat = p_num + p_nom + 1  # OpenML counts the target as an attribute
    nom_missing = t.nominal < 0
    missing_cells = int(nom_missing.sum())
    rows_missing = nom_missing.any(axis=1)
    for col in t.numeric_columns:
        missing = np.isnan(col)
        missing_cells += int(missing.sum())
        rows_missing |= missing
    n_numeric = p_num + (0 if t.classification else 1)
    n_symbolic = p_nom + (1 if t.classification else 0)
    n_binary = int((t.nominal_levels == 2).sum()) + int(t.n_classes == 2)
    out = {
        "NumberOfInstances": float(n_total),
        "NumberOfFeatures": float(n_feat),
        "NumberOfClasses": float(t.n_classes),
        "Dimensionality": n_feat / n_total,
        "NumberOfMissingValues": float(round(missing_cells * t.scale)),
        "NumberOfInstancesWithMissingValues": float(round(rows_missing.sum() * t.scale)),
        "PercentageOfMissingValues": 100.0 * missing_cells / (n_feat * n),
        "PercentageOfInstancesWithMissingValues": 100.0 * rows_missing.mean(),
        "NumberOfNumericFeatures": float(n_numeric),
        "NumberOfSymbolicFeatures": float(n_symbolic),
        "NumberOfBinaryFeatures": float(n_binary),
        "PercentageOfNumericFeatures": 100.0 * n_numeric / n_feat,
        "PercentageOfSymbolicFeatures": 100.0 * n_symbolic / n_feat,
        "PercentageOfBinaryFeatures": 100.0 * n_binary / n_feat,
    }
    out.update(class_features(t))
    out.update(_nominal_cardinality(t))
    return out


def class_features(t: PreparedTable) -> dict[str, float]:
    """Class sizes and shares, class entropy (bits) and target autocorrelation."""
    nan = float("nan")
    names = ("MajorityClassSize", "MinorityClassSize", "MajorityClassPercentage")
    out = dict.fromkeys((*names, "MinorityClassPercentage", "ClassEntropy"), nan)
    if t.y_codes is None:
        out["AutoCorrelation"] = _autocorrelation_numeric(t.y_float)
        return out
    counts = np.bincount(t.y_codes, minlength=t.n_classes)
    counts = counts[counts > 0]
    n = counts.sum()
    out["MajorityClassSize"] = float(round(counts.max() * t.scale))
    out["MinorityClassSize"] = float(round(counts.min() * t.scale))
    out["MajorityClassPercentage"] = 100.0 * counts.max() / n
    out["MinorityClassPercentage"] = 100.0 * counts.min() / n
    out["ClassEntropy"] = entropy_bits(counts)
    same = t.y_codes[1:] == t.y_codes[:-1]
    out["AutoCorrelation"] = float(same.mean()) if same.size else nan
    return out


def _autocorrelation_numeric(y: FloatArray | None) -> float:
    # OpenML: (n - 1 - sum(y[i-1] - y[i])) / (n - 1) for a numeric target.
    if y is None or y.size < 2:
        return float("nan")
    changes = float(np.sum(y[:-1] - y[1:]))
    return (y.size - 1 - changes) / (y.size - 1)


def _nominal_cardinality(t: PreparedTable) -> dict[str, float]:
    levels = t.nominal_levels.astype(np.float64)
    if t.classification:
        levels = np.append(levels, float(t.n_classes))
    stem = "NominalAttDistinctValues"
    if levels.size == 0:
        return {f"{p}{stem}": float("nan") for p in ("Min", "Max", "Mean", "Stdv")}
    return {
        f"Min{stem}": float(levels.min()),
        f"Max{stem}": float(levels.max()),
        f"Mean{stem}": float(levels.mean()),
        f"Stdv{stem}": float(levels.std(ddof=1)) if levels.size > 1 else float("nan"),
    }


def entropy_bits(counts: IntArray | FloatArray) -> float:
    """Shannon entropy in bits of a vector of counts (zeros ignored)."""
    c = np.asarray(counts, dtype=np.float64)
    c = c[c > 0]
    if c.size == 0:
        return float("nan")
    p = c / c.sum()
    return 0.0 - float((p * np.log2(p)).sum())  # one class: 0, not -0


# -- statistical ----------------------------------------------------------------------
def moments(
    X: FloatArray | Sequence[FloatArray],
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per-column mean, sample std, skewness G1 and excess kurtosis G2, skipping NaN.

    These are Apache Commons Math's ``DescriptiveStatistics`` estimators, which OpenML
    uses: skewness is NaN below 3 values and kurtosis below 4; both are 0 for a
    (numerically) constant column.

    Args:
        X: an (n, p) matrix, or a list of p columns (stacked 16 at a time, so the
            temporaries stay small however many columns there are).
    """
    p = X.shape[1] if isinstance(X, np.ndarray) else len(X)
    out = np.full((4, p), np.nan)
    for start in range(0, p, _CHUNK):
        if isinstance(X, np.ndarray):
            block = X[:, start : start + _CHUNK]
        else:
            block = np.column_stack(X[start : start + _CHUNK])
        out[:, start : start + block.shape[1]] = _block_moments(block)
    return out[0], out[1], out[2], out[3]


def _block_moments(block: FloatArray) -> FloatArray:
    mask = ~np.isnan(block)
    complete = bool(mask.all())
    n = mask.sum(axis=0).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        if complete:  # the common case: no masking passes
            mean = block.sum(axis=0) / n
            d = block - mean
        else:
            mean = np.where(mask, block, 0.0).sum(axis=0) / n
            d = np.where(mask, block - mean, 0.0)
        d2 = np.square(d)
        m2 = d2.sum(axis=0) / n
        d *= d2  # d now holds d**3; reusing buffers bounds memory to two blocks
        m3 = d.sum(axis=0) / n
        np.square(d2, out=d2)
        m4 = d2.sum(axis=0) / n
        var = m2 * n / (n - 1)
        g1 = m3 / m2**1.5
        g2 = m4 / m2**2 - 3.0
        skew = np.sqrt(n * (n - 1)) / (n - 2) * g1
        kurt = ((n + 1) * g2 + 6) * (n - 1) / ((n - 2) * (n - 3))
    flat = var < _TINY_VARIANCE
    skew = np.where(n < 3, np.nan, np.where(flat, 0.0, skew))
    kurt = np.where(n < 4, np.nan, np.where(flat, 0.0, kurt))
    std = np.where(n < 2, np.nan, np.sqrt(var))
    return np.vstack([mean, std, skew, kurt])


def statistical_features(t: PreparedTable) -> dict[str, float]:
    """Means, std devs, skewness and kurtosis of numeric attributes, summarised.

    As in OpenML, a numeric (regression) target is one of the numeric attributes.
    Regression datasets also get Target* statistics.
    """
    columns = list(t.numeric_columns)
    if t.y_float is not None:
        columns.append(t.y_float)
    mean, std, skew, kurt = moments(columns)
    out: dict[str, float] = {}
    out.update(summarize(mean, "MeansOfNumericAtts"))
    out.update(summarize(std, "StdDevOfNumericAtts"))
    out.update(summarize(skew, "SkewnessOfNumericAtts"))
    out.update(summarize(kurt, "KurtosisOfNumericAtts"))
    if t.y_float is not None:
        out.update(target_features(t))
    return out


def target_features(t: PreparedTable) -> dict[str, float]:
    """Mean, std, skewness, kurtosis, min, median, max of a regression target."""
    names = ("Mean", "Std", "Skewness", "Kurtosis", "Min", "Median", "Max")
    if t.y_float is None:
        return {f"Target{k}": float("nan") for k in names}
    y = t.y_float[:, None]
    mean, std, skew, kurt = (float(v[0]) for v in moments(y))
    finite = t.y_float[np.isfinite(t.y_float)]
    low, mid, high = np.quantile(finite, [0.0, 0.5, 1.0])
    values = (mean, std, skew, kurt, float(low), float(mid), float(high))
    return {f"Target{k}": v for k, v in zip(names, values, strict=True)}
