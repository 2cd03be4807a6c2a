"""Turn a tabular :class:`~recommender.datasets.loading.Dataset` into arrays the feature groups
share.

Column types follow OpenML: numeric dtypes (not bool) are numeric attributes; strings,
booleans and categories are nominal ("symbolic") attributes whose declared values are
the categories of a pandas ``Categorical`` or else the distinct values seen.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import pandas as pd

from recommender.datasets.loading import Dataset

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass
class PreparedTable:
    """Arrays derived once from a tabular dataset.

    Attributes:
        numeric_columns: numeric feature columns, float64 with NaN for missing (views of
            the dataset where possible: the full table is never copied into one matrix).
        numeric_names: their column names.
        nominal: nominal feature columns as integer codes (-1 missing), shape (n, p_nom).
        nominal_levels: declared number of values of each nominal column.
        nominal_names: their column names.
        y_codes: class codes for classification (else None).
        y_float: target as float for regression (else None).
        n_classes: number of classes (0 for regression, as OpenML).
        scale: rows of the source per row here (>= 1 when the dataset was subsampled).
    """

    numeric_columns: list[FloatArray]
    numeric_names: list[str]
    nominal: IntArray
    nominal_levels: IntArray
    nominal_names: list[str]
    y_codes: IntArray | None
    y_float: FloatArray | None
    n_classes: int
    scale: float
    n_rows: int

    @cached_property
    def numeric(self) -> FloatArray:
        """The numeric columns as one (n, p_num) matrix; meant for sampled tables."""
        out = np.empty((self.n_rows, len(self.numeric_columns)), dtype=np.float64, order="F")
        for j, col in enumerate(self.numeric_columns):
            out[:, j] = col
        return out

    @property
    def classification(self) -> bool:
        return self.y_codes is not None


def is_numeric_column(values: pd.Series) -> bool:
    """Whether a column is a numeric attribute (booleans are nominal, as in ARFF)."""
    return bool(
        pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)
    )


def prepare(dataset: Dataset) -> PreparedTable:
    """Split a tabular dataset into numeric and nominal arrays plus the target.

    Args:
        dataset: a tabular dataset.

    Returns:
        The prepared arrays.
    """
    X = dataset.X
    num_cols = [c for c in X.columns if is_numeric_column(X[c])]
    nom_cols = [c for c in X.columns if not is_numeric_column(X[c])]
    n = len(X)
    numeric = [X[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in num_cols]
    codes = [nominal_codes(X[c]) for c in nom_cols]
    nominal = np.column_stack([c for c, _ in codes]) if codes else np.empty((n, 0), np.int64)
    levels = np.array([k for _, k in codes], dtype=np.int64)
    y_codes: IntArray | None = None
    y_float: FloatArray | None = None
    n_classes = 0
    if dataset.problem_type == "regression":
        y_float = dataset.y.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        y_codes, n_classes = nominal_codes(dataset.y)
    total = dataset.n_rows_total or n
    return PreparedTable(
        numeric_columns=numeric,
        numeric_names=[str(c) for c in num_cols],
        nominal=nominal.astype(np.int64),
        nominal_levels=levels,
        nominal_names=[str(c) for c in nom_cols],
        y_codes=y_codes,
        y_float=y_float,
        n_classes=n_classes,
        scale=total / n if n else 1.0,
        n_rows=n,
    )


def nominal_codes(values: pd.Series) -> tuple[IntArray, int]:
    """Integer codes (-1 for missing) and the number of declared values of a column.

    Codes follow the sorted distinct values, so they do not depend on row order.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        # Re-code by the sorted categories, so codes do not depend on category order.
        categories = pd.Series(values.cat.categories)
        try:
            rank = categories.rank(method="first").to_numpy(dtype=np.int64) - 1
        except TypeError:
            rank = categories.astype(str).rank(method="first").to_numpy(dtype=np.int64) - 1
        codes = values.cat.codes.to_numpy(dtype=np.int64)
        lookup = np.append(rank, -1)  # code -1 (missing) indexes the last slot
        return lookup[codes], len(categories)
    try:
        codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
    except TypeError:  # mixed types cannot be sorted; sort their text instead
        text = values.astype(str).where(values.notna())
        codes, uniques = pd.factorize(text, sort=True, use_na_sentinel=True)
    return codes.astype(np.int64), len(uniques)


def row_hashes(t: PreparedTable, seed: int) -> npt.NDArray[np.uint64]:
    """A seeded 64-bit hash of each row's content (attributes and target).

    Each cell is mixed with a constant derived from its column's name and the values
    are summed, so the hash depends neither on row order nor on column order.
    Subsamples taken by smallest hash are therefore invariant to shuffling.
    """
    n = t.n_rows
    acc = np.zeros(n, dtype=np.uint64)
    columns: list[tuple[str, npt.NDArray[np.uint64]]] = []
    for j, name in enumerate(t.numeric_names):
        columns.append((name, np.ascontiguousarray(t.numeric_columns[j]).view(np.uint64)))
    for j, name in enumerate(t.nominal_names):
        columns.append((name, t.nominal[:, j].astype(np.uint64)))
    target = t.y_codes if t.y_codes is not None else t.y_float
    if target is not None:
        bits = target.astype(np.uint64) if t.y_codes is not None else target.view(np.uint64)
        columns.append(("\x00target", bits))
    with np.errstate(over="ignore"):
        for name, bits in columns:
            acc += _mix(bits ^ _column_key(name, seed))
        return _mix(acc)


def series_hashes(values: pd.Series, seed: int) -> npt.NDArray[np.uint64]:
    """A seeded hash of each value of a column (texts, image paths)."""
    key = f"{seed:016d}"[-16:]  # pandas wants a 16-character key
    return pd.util.hash_pandas_object(values, index=False, hash_key=key).to_numpy(np.uint64)


def _column_key(name: str, seed: int) -> np.uint64:
    key = np.array([zlib.crc32(name.encode()) ^ (seed << 32)], dtype=np.uint64)
    return np.uint64(_mix(key)[0])


def _mix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64's finaliser: a cheap, well-spread bijection on 64-bit integers."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def canonical_subsample(
    hashes: npt.NDArray[np.uint64] | IntArray,
    n: int,
    y_codes: IntArray | None = None,
    *,
    presorted: bool = False,
) -> IntArray:
    """Positions of at most ``n`` rows chosen by smallest hash, ordered by hash.

    With ``y_codes`` every class keeps a proportional share (at least one row while
    ``n`` allows). The result is the same set, in the same order, for any row order.
    With ``presorted``, ``hashes`` is already ``argsort(hashes)`` (saves a sort when
    several groups sample the same rows).
    """
    from recommender.datasets.loading import class_quota

    order = hashes if presorted else np.argsort(hashes, kind="stable")
    if len(hashes) <= n:
        return order.astype(np.int64)
    if y_codes is None:
        return order[:n].astype(np.int64)
    counts = np.bincount(y_codes[y_codes >= 0], minlength=int(y_codes.max()) + 1)
    present = counts > 0
    quota = np.zeros_like(counts)
    quota[present] = class_quota(counts[present].astype(np.int64), n)
    ordered_codes = y_codes[order]
    # Rank of each row within its class, walking rows by increasing hash.
    onehot_rank = np.zeros(len(order), dtype=np.int64)
    for code in np.flatnonzero(present):
        mask = ordered_codes == code
        onehot_rank[mask] = np.arange(int(mask.sum()))
    keep = onehot_rank < quota[ordered_codes]
    return order[keep].astype(np.int64)
