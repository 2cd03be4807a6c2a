"""Table -> float matrix, fitted on training rows only.

Numeric columns: median imputation (infinities count as missing), a missing
indicator for columns with gaps in the training rows, standard scaling.
Categorical columns: one-hot when they have few levels, frequency-rank ordinal
codes (then scaled) when they have many, dropped when almost every value is
unique (identifiers carry no signal a short run can use).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

MAX_ONE_HOT = 16
ID_LIKE_SHARE = 0.9


class TableEncoder:
    """Fit on a training frame, then transform any frame with the same columns.

    >>> enc = TableEncoder().fit(pd.DataFrame({"a": [1.0, None, 3.0], "c": ["x", "y", "x"]}))
    >>> enc.transform(pd.DataFrame({"a": [2.0], "c": ["y"]})).shape
    (1, 4)
    """

    def fit(self, frame: pd.DataFrame) -> TableEncoder:
        """Learn imputation values, scalings and category levels from ``frame``."""
        numeric = [c for c in frame.columns if _is_numeric(frame[c])]
        categorical = [c for c in frame.columns if c not in set(numeric)]
        self.numeric_ = numeric
        values = _numeric_matrix(frame, numeric)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-missing columns
            medians = np.nanmedian(values, axis=0) if numeric else np.zeros(0)
        self.medians_ = np.nan_to_num(medians, nan=0.0)
        self.indicators_: npt.NDArray[np.intp] = np.flatnonzero(np.isnan(values).any(axis=0))
        self.one_hot_: dict[Any, list[str]] = {}
        self.ordinal_: dict[Any, dict[str, float]] = {}
        for col in categorical:
            counts = _as_strings(frame[col]).value_counts()
            if len(counts) <= MAX_ONE_HOT:
                self.one_hot_[col] = sorted(counts.index)
            elif len(counts) < ID_LIKE_SHARE * len(frame):
                # Most frequent first; ties by name, so row order never matters.
                ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
                self.ordinal_[col] = {k: float(i) for i, (k, _) in enumerate(ranked)}
        raw = self._raw(frame)
        self.mean_ = raw.mean(axis=0) if len(raw) else np.zeros(raw.shape[1])
        std = raw.std(axis=0) if len(raw) else np.ones(raw.shape[1])
        self.std_ = np.where(std > 1e-12, std, 1.0)
        return self

    @property
    def n_features(self) -> int:
        """Width of the transformed matrix."""
        return int(self.mean_.shape[0])

    def transform(self, frame: pd.DataFrame) -> npt.NDArray[np.float32]:
        """Encode ``frame`` into a standardised float32 matrix."""
        raw = self._raw(frame)
        out = (raw - self.mean_) / self.std_
        return np.ascontiguousarray(out, dtype=np.float32)

    def _raw(self, frame: pd.DataFrame) -> npt.NDArray[np.float64]:
        values = _numeric_matrix(frame, self.numeric_)
        missing = np.isnan(values)
        filled = np.where(missing, self.medians_, values)
        parts = [filled, missing[:, self.indicators_].astype(np.float64)]
        for col, levels in self.one_hot_.items():
            codes = pd.Categorical(_as_strings(frame[col]), categories=levels).codes
            block = np.zeros((len(frame), len(levels)))
            rows = np.flatnonzero(codes >= 0)
            block[rows, codes[rows]] = 1.0
            parts.append(block)
        for col, ranks in self.ordinal_.items():
            mapped = _as_strings(frame[col]).map(ranks).astype("float64")
            parts.append(mapped.fillna(float(len(ranks))).to_numpy()[:, None])
        return np.concatenate(parts, axis=1) if parts else np.zeros((len(frame), 0))


def informative_columns(frame: pd.DataFrame) -> list[Any]:
    """Columns the encoder can learn from: not constant, and not identifier-like text."""
    out = []
    for col in frame.columns:
        values = frame[col]
        if _is_numeric(values):
            values = values.astype("float64").replace([np.inf, -np.inf], np.nan)
        n_levels = int(values.nunique(dropna=False))
        if n_levels < 2:
            continue
        if not _is_numeric(frame[col]) and n_levels > MAX_ONE_HOT:
            if n_levels >= ID_LIKE_SHARE * len(frame):
                continue
        out.append(col)
    return out


def _is_numeric(series: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


def _numeric_matrix(frame: pd.DataFrame, columns: list[Any]) -> npt.NDArray[np.float64]:
    if not columns:
        return np.zeros((len(frame), 0))
    values = frame[columns].astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isinf(values), np.nan, values)  # infinities count as missing


def _as_strings(series: pd.Series) -> pd.Series:
    # Missing values become their own level, so "unknown" can carry signal.
    return series.astype("string").fillna("<missing>")
