"""Landmarkers: cross-validated scores of three fast learners, OpenML names.

OpenML runs Weka's DecisionStump, NaiveBayes and IBk (k=1) with 10-fold
cross-validation; here their scikit-learn counterparts (a depth-1 tree, Gaussian naive
Bayes, 1-nearest-neighbour on min-max scaled attributes) run on a stratified
subsample. Classification gives ErrRate (1 - accuracy), AUC (class-frequency weighted
one-vs-rest, as Weka's weighted AUC) and Cohen's Kappa; regression gives R2 of a
stump, a ridge regression and 1-NN.
"""

from __future__ import annotations

import warnings

import numpy as np

from recommender.metafeatures.prepare import FloatArray, IntArray, PreparedTable

CLASSIFIERS = ("DecisionStump", "NaiveBayes", "kNN1N")
REGRESSORS = ("DecisionStump", "LinearRegression", "kNN1N")
CLASS_METRICS = ("ErrRate", "AUC", "Kappa")
MAX_FOLDS = 10
MAX_LEVELS = 10  # one-hot columns per nominal attribute; rarer levels share none


def landmarker_names(classification: bool) -> list[str]:
    """Names of the landmarker features for a problem kind."""
    if classification:
        return [f"{m}{k}" for m in CLASSIFIERS for k in CLASS_METRICS]
    return [f"{m}R2" for m in REGRESSORS]


def landmarker_features(t: PreparedTable, seed: int = 0) -> dict[str, float]:
    """Cross-validated landmarker scores (NaN when the data cannot be split).

    Args:
        t: prepared table, already subsampled and in a row-order-independent order.
        seed: seed of the fold assignment and the learners.

    Returns:
        Feature name -> score.
    """
    out = dict.fromkeys(landmarker_names(t.classification), float("nan"))
    X = design_matrix(t)
    if X.shape[1] == 0:
        return out
    if t.y_codes is not None:
        y = t.y_codes
        counts = np.bincount(y)
        if (counts > 0).sum() < 2 or len(y) < 4:
            return out
        out.update(_classify(X, y, seed))
    elif t.y_float is not None and len(t.y_float) >= 4:
        out.update(_regress(X, t.y_float, seed))
    return out


def design_matrix(t: PreparedTable) -> FloatArray:
    """Mean-imputed numeric attributes scaled to [0, 1] plus one-hot nominal ones.

    Infinite values count as missing: the learners cannot take them, and scaling by an
    infinite span would turn the whole column into NaN.
    """
    X = t.numeric
    missing = ~np.isfinite(X)
    counts = (~missing).sum(axis=0)
    sums = np.where(missing, 0.0, X).sum(axis=0)
    mean = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    X = np.where(missing, mean, X)
    if X.shape[0] and X.shape[1]:
        low = X.min(axis=0)
        span = X.max(axis=0) - low
        X = (X - low) / np.where(span > 0, span, 1.0)
    blocks = [X] + [_one_hot(t.nominal[:, j]) for j in range(t.nominal.shape[1])]
    return np.column_stack(blocks) if blocks else X


def _one_hot(codes: IntArray) -> FloatArray:
    ok = codes >= 0
    counts = np.bincount(codes[ok]) if ok.any() else np.zeros(0, dtype=np.int64)
    keep = np.argsort(-counts, kind="stable")[:MAX_LEVELS]
    keep = keep[counts[keep] > 0]
    return (codes[:, None] == keep[None, :]).astype(np.float64)


def _folds(y: IntArray | FloatArray, seed: int, stratify: bool) -> object:
    from sklearn.model_selection import KFold, StratifiedKFold

    if stratify:
        counts = np.bincount(y.astype(np.int64))
        smallest = int(counts[counts > 0].min())
        if smallest >= 2:
            return StratifiedKFold(min(MAX_FOLDS, smallest), shuffle=True, random_state=seed)
    return KFold(min(MAX_FOLDS, len(y)), shuffle=True, random_state=seed)


def _classify(X: FloatArray, y: IntArray, seed: int) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, cohen_kappa_score
    from sklearn.model_selection import cross_val_predict
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.tree import DecisionTreeClassifier

    _, y = np.unique(y, return_inverse=True)
    models = {
        "DecisionStump": DecisionTreeClassifier(max_depth=1, random_state=seed),
        "NaiveBayes": GaussianNB(),
        "kNN1N": KNeighborsClassifier(n_neighbors=1),
    }
    cv = _folds(y, seed, stratify=True)
    out: dict[str, float] = {}
    for name, model in models.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            proba = cross_val_predict(model, X, y, cv=cv, method="predict_proba")  # type: ignore[arg-type]
        pred = proba.argmax(axis=1)
        out[f"{name}ErrRate"] = 1.0 - float(accuracy_score(y, pred))
        out[f"{name}AUC"] = _weighted_auc(y, proba)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out[f"{name}Kappa"] = float(cohen_kappa_score(y, pred))
    return out


def _weighted_auc(y: IntArray, proba: FloatArray) -> float:
    from sklearn.metrics import roc_auc_score

    try:
        if proba.shape[1] == 2:
            return float(roc_auc_score(y, proba[:, 1]))
        return float(roc_auc_score(y, proba, multi_class="ovr", average="weighted"))
    except ValueError:
        return float("nan")


def _regress(X: FloatArray, y: FloatArray, seed: int) -> dict[str, float]:
    from sklearn.linear_model import Ridge
    from sklearn.metrics import r2_score
    from sklearn.model_selection import cross_val_predict
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.tree import DecisionTreeRegressor

    models = {
        "DecisionStump": DecisionTreeRegressor(max_depth=1, random_state=seed),
        "LinearRegression": Ridge(alpha=1e-3),
        "kNN1N": KNeighborsRegressor(n_neighbors=1),
    }
    cv = _folds(y, seed, stratify=False)
    out: dict[str, float] = {}
    for name, model in models.items():
        pred = cross_val_predict(model, X, y, cv=cv)  # type: ignore[arg-type]
        out[f"{name}R2"] = float(r2_score(y, pred))
    return out
