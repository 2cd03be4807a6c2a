"""PCA meta-features of the numeric attributes (OpenML's old PCA qualities).

The numeric attributes are mean-imputed and standardised, so the components are those
of the correlation matrix. The number of components for 95% variance is counted like
``sklearn.decomposition.PCA(n_components=0.95)`` (pymfe's ``t4`` uses the same rule).
"""

from __future__ import annotations

import numpy as np

from recommender.metafeatures.prepare import FloatArray
from recommender.metafeatures.tabular import moments

PCA_FEATURES = (
    "PCAFractionOfComponentsFor95PercentVariance",
    "PCAVarianceFractionFirstPC",
    "PCASkewnessFirstPC",
    "PCAKurtosisFirstPC",
)


def pca_features(X: FloatArray) -> dict[str, float]:
    """PCA features of a numeric matrix (rows = instances).

    Args:
        X: numeric attributes with NaN for missing values.

    Returns:
        The fraction of components needed for 95% of the variance, the variance share
        of the first component, and the absolute skewness (G1) and the kurtosis (G2)
        of the first component's scores. NaN when there are under 2 rows, no varying
        attribute, or infinite values.
    """
    nan = dict.fromkeys(PCA_FEATURES, float("nan"))
    n, p = X.shape
    if n < 2 or p == 0:
        return nan
    Z = _standardise(X)
    cov = Z.T @ Z / n
    if not np.isfinite(cov).all():  # an infinite value: no variance to decompose
        return nan
    try:
        eigval, eigvec = np.linalg.eigh(cov)
    except np.linalg.LinAlgError:
        return nan
    eigval, eigvec = eigval[::-1].clip(min=0.0), eigvec[:, ::-1]
    total = eigval.sum()
    if total <= 0:
        return nan
    ratio = eigval / total
    k = min(int(np.searchsorted(np.cumsum(ratio), 0.95, side="right")) + 1, p)
    _, _, skew, kurt = moments((Z @ eigvec[:, 0])[:, None])
    return {
        "PCAFractionOfComponentsFor95PercentVariance": k / p,
        "PCAVarianceFractionFirstPC": float(ratio[0]),
        # A component's sign is arbitrary, so only the size of its skewness is defined.
        "PCASkewnessFirstPC": float(abs(skew[0])),
        "PCAKurtosisFirstPC": float(kurt[0]),
    }


def _standardise(X: FloatArray) -> FloatArray:
    missing = np.isnan(X)
    counts = (~missing).sum(axis=0)
    mean = np.where(counts > 0, np.where(missing, 0.0, X).sum(axis=0) / np.maximum(counts, 1), 0.0)
    Z = np.where(missing, mean, X) - mean
    std = Z.std(axis=0)
    # Constant columns stay zero, as with sklearn's StandardScaler.
    return Z / np.where(std > 0, std, 1.0)
