"""Turn a tabular :class:`~recommender.datasets.loading.Dataset` into arrays the feature groups
share.

Column types follow OpenML: numeric dtypes (not bool) are numeric attributes; strings,
booleans and categories are nominal ("symbolic") attributes whose declared values are
the categories of a pandas ``Categorical`` or else the distinct values seen.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
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
    import pandas as pd

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


def prepare_columns(
    columns: Mapping[str, npt.NDArray[Any]], target: str
) -> tuple[PreparedTable, str] | None:
    """:func:`prepare` of the dataset that NumPy columns (masked where missing; numbers,
    booleans and text, as :func:`recommender.datasets.files.read_columns` reads a file)
    load as, without pandas; and its problem type. ``None`` where only the full loader
    can tell (no such target, fewer than 2 labelled rows, a table that may hold free text).
    """
    if target not in columns:
        return None
    y_all = columns[target]
    known = ~np.ma.getmaskarray(y_all)
    if _kind(y_all) == "number":
        known &= np.isfinite(np.ma.getdata(y_all).astype(np.float64))
    names = [c for c in columns if c != target]
    text = [c for c in names if _kind(columns[c]) == "text"]
    n = int(known.sum())
    if n < 2 or (text and len(names) <= 3):
        return None
    num = [c for c in names if _kind(columns[c]) == "number"]
    nom = [c for c in names if c not in num]
    codes = [_codes(columns[c], known, whole=c in text) for c in nom]
    nominal = np.column_stack([c for c, _ in codes]) if codes else np.empty((n, 0), np.int64)
    y = np.ma.getdata(y_all)[known]
    problem = _problem(y, _kind(y_all) == "number")
    y_codes, n_classes = (None, 0) if problem == "regression" else _codes(y_all, known)
    return PreparedTable(
        numeric_columns=[_floats(columns[c])[known] for c in num],
        numeric_names=num,
        nominal=nominal.astype(np.int64),
        nominal_levels=np.array([k for _, k in codes], dtype=np.int64),
        nominal_names=nom,
        y_codes=y_codes,
        y_float=y.astype(np.float64) if problem == "regression" else None,
        n_classes=n_classes,
        scale=1.0,
        n_rows=n,
    ), problem


def _kind(values: npt.NDArray[Any]) -> str:
    """``number``, ``boolean`` or ``text``: how pandas would type the column."""
    if values.dtype.kind in "iuf":
        return "number"
    return "boolean" if values.dtype.kind == "b" else "text"


def _floats(values: npt.NDArray[Any]) -> FloatArray:
    """A number column as float64, NaN where missing."""
    out: FloatArray = np.ma.getdata(values).astype(np.float64)
    out[np.ma.getmaskarray(values)] = np.nan
    return out


def _codes(values: npt.NDArray[Any], rows: npt.NDArray[np.bool_], whole: bool = False
           ) -> tuple[IntArray, int]:  # fmt: skip
    """:func:`nominal_codes` of the ``rows`` of a column: codes of its sorted distinct
    values, -1 where missing. A text column counts its values over every row of the file
    (``whole``), as the categories pandas reads it into."""
    missing = np.ma.getmaskarray(values)
    data = np.ma.getdata(values)
    levels = np.unique(data[~missing & (True if whole else rows)])
    codes = np.full(int(rows.sum()), -1, dtype=np.int64)
    present = ~missing[rows]
    codes[present] = np.searchsorted(levels, data[rows][present])
    return codes, len(levels)


def _problem(y: npt.NDArray[Any], numeric: bool) -> str:
    """:func:`~recommender.datasets.labels.infer_problem_type` of labelled values."""
    from recommender.datasets.labels import MAX_CLASSES_INFERRED

    n_unique = len(np.unique(y))
    if numeric:
        values = y.astype(np.float64)
        integral = bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))
        if not integral or n_unique > MAX_CLASSES_INFERRED:
            return "regression"
    return "binary" if n_unique <= 2 else "multiclass"


def nominal_codes(values: pd.Series) -> tuple[IntArray, int]:
    """Integer codes (-1 for missing) and the number of declared values of a column.

    Codes follow the sorted distinct values, so they do not depend on row order.
    """
    import pandas as pd

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
    import pandas as pd

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
