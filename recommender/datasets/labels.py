"""Targets and classes: the problem type, the default target column, stratified subsamples."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from recommender.errors import DatasetError, option

if TYPE_CHECKING:
    import pandas as pd

TARGET_NAMES = ("target", "label", "class", "y")
# An integer-valued target with at most this many distinct values is a class label.
MAX_CLASSES_INFERRED = 50


def infer_problem_type(y: pd.Series) -> str:
    """Guess the learning problem from a target column.

    Strings, booleans and categories are class labels; so are integer values with at
    most 50 distinct values. Anything else numeric is regression.

    Args:
        y: target values (missing values are ignored).

    Returns:
        ``"binary"`` (at most two classes), ``"multiclass"`` or ``"regression"``.

    >>> import pandas as pd
    >>> infer_problem_type(pd.Series([0, 1, 1, 0]))
    'binary'
    >>> infer_problem_type(pd.Series([0.5, 1.25, 3.0]))
    'regression'
    """
    import pandas as pd

    values = y.dropna()
    n_unique = int(values.nunique())
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric:
        as_float = values.to_numpy(dtype=np.float64)
        integral = bool(np.all(np.isfinite(as_float)) and np.all(as_float == np.round(as_float)))
        if not integral or n_unique > MAX_CLASSES_INFERRED:
            return "regression"
    return "binary" if n_unique <= 2 else "multiclass"


def subsample_indices(
    y: pd.Series | npt.NDArray[np.generic], n: int, *, stratify: bool, seed: int = 0
) -> npt.NDArray[np.int64]:
    """Positions of a seeded subsample of ``n`` rows, stratified by ``y`` if asked.

    Each class keeps a share proportional to its size and at least one row while
    ``n`` allows. The positions come back sorted, so the original order is kept.

    Args:
        y: labels (only used when ``stratify``) or any array of the row count.
        n: rows wanted; all rows are returned when there are fewer.
        stratify: keep class proportions.
        seed: random seed.

    Returns:
        Sorted integer positions.
    """
    total = len(y)
    if n >= total:
        return np.arange(total, dtype=np.int64)
    rng = np.random.default_rng(seed)
    if not stratify:
        return np.sort(rng.choice(total, size=n, replace=False)).astype(np.int64)
    codes, counts = class_codes(y)
    quota = class_quota(counts, n)
    order = rng.permutation(total)
    ranks = np.empty(total, dtype=np.int64)
    # Rank of each row inside its class, in the random order.
    sorted_codes = codes[order]
    by_class = np.argsort(sorted_codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    within = np.arange(total) - np.repeat(starts, counts)
    ranks[order[by_class]] = within
    return np.flatnonzero(ranks < quota[codes]).astype(np.int64)


def class_codes(
    y: pd.Series | npt.NDArray[np.generic],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    import pandas as pd

    codes, uniques = pd.factorize(pd.Series(y), use_na_sentinel=False)
    counts = np.bincount(codes, minlength=len(uniques)).astype(np.int64)
    return codes.astype(np.int64), counts


def class_quota(counts: npt.NDArray[np.int64], n: int) -> npt.NDArray[np.int64]:
    """Rows per class: proportional, at least one each while ``n`` allows, summing to n."""
    share = counts / counts.sum() * n
    quota = np.minimum(np.floor(share).astype(np.int64), counts)
    if n >= len(counts):
        quota = np.maximum(quota, np.minimum(counts, 1))
    # Hand out what rounding left over to the classes with the largest remainders.
    left = n - int(quota.sum())
    for i in np.argsort(-(share - np.floor(share))):
        if left <= 0:
            break
        if quota[i] < counts[i]:
            quota[i] += 1
            left -= 1
    while quota.sum() > n:  # minimum-one rule overshot: trim the biggest classes
        quota[int(np.argmax(quota))] -= 1
    return quota


def default_target(columns: Iterable[Any]) -> str:
    """A column named target, label, class or y (any case), else the last of ``columns``
    (a DataFrame's columns when given a DataFrame)."""
    names = [str(c) for c in columns]
    lowered = {name.lower(): name for name in names}
    for candidate in TARGET_NAMES:
        if candidate in lowered:
            return lowered[candidate]
    return names[-1]


def check_target_column(frame: pd.DataFrame, target: str, name: str) -> None:
    if target not in frame.columns:
        columns = ", ".join(map(str, frame.columns[:30]))
        more = f" (+{len(frame.columns) - 30} more)" if len(frame.columns) > 30 else ""
        raise DatasetError(
            f"{name}: no target column {target!r}; available columns: {columns}{more}; "
            f"pass one with {option('target')}"
        )


def oversampled(quota: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Expected rows to stream per class so that fewer than ``quota`` is very unlikely."""
    q = quota.astype(np.float64)
    return q * 1.05 + 5.0 * np.sqrt(q) + 10.0


def labelled_rows(target: pd.Series) -> pd.Series:
    """Rows whose target is known: not missing and, for numbers, finite (inf is no label)."""
    import pandas as pd

    known = target.notna()
    if pd.api.types.is_numeric_dtype(target) and not pd.api.types.is_bool_dtype(target):
        known &= np.isfinite(target.astype("float64"))
    return known
