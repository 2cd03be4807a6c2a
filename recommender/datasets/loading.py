"""Load a dataset from a file or folder into one in-memory :class:`Dataset`.

Tables (CSV, TSV, Parquet, JSON lines) are read through DuckDB, so a ``max_rows``
subsample is drawn while streaming (:mod:`recommender.datasets.files`); targets, problem
types and stratified subsamples are in :mod:`recommender.datasets.labels`. NumPy ``.npz``
files hold ``X`` and ``y``; an image folder holds one sub-folder per class; a text table has a text
column and a label column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recommender.datasets.bundled import bundled_frame, is_bundled
from recommender.datasets.files import TABLE_SUFFIXES, WHOLE_FILE_BYTES, read_table_file
from recommender.datasets.images import check_images
from recommender.datasets.labels import (
    MAX_CLASSES_INFERRED,
    TARGET_NAMES,
    check_target_column,
    class_quota,
    default_target,
    infer_problem_type,
    labelled_rows,
    subsample_indices,
)
from recommender.errors import DatasetError, option

__all__ = [
    "CELL_BUDGET", "IMAGE_SUFFIXES", "MAX_CLASSES_INFERRED", "MAX_SEED", "MODALITIES",
    "PROBLEM_TYPES", "TABLE_SUFFIXES", "TARGET_NAMES", "TEXT_MIN_CHARS", "TEXT_MIN_WORDS",
    "WHOLE_FILE_BYTES", "Dataset", "check_seed", "class_quota", "dataset_from_frame",
    "infer_problem_type", "load_dataset", "subsample_indices",
]  # fmt: skip

PROBLEM_TYPES = ("binary", "multiclass", "regression")
MODALITIES = ("tabular", "image", "text")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
# Without max_rows, a table file larger than this is described from a seeded sample of
# at most CELL_BUDGET cells (rows x columns), so memory stays bounded by default.
CELL_BUDGET = 100_000_000
# A string column is free text when its mean length and word count pass these.
TEXT_MIN_CHARS = 40.0
TEXT_MIN_WORDS = 5.0
# Seeds go to NumPy, PyTorch and scikit-learn; this range suits all three.
MAX_SEED = 2**31 - 1


def check_seed(seed: int) -> int:
    """Return ``seed`` if it is an integer in ``0..MAX_SEED``.

    Raises:
        DatasetError: a negative, too large or non-integer seed.
    """
    if (
        isinstance(seed, bool)
        or not isinstance(seed, int | np.integer)
        or not (0 <= seed <= MAX_SEED)
    ):
        raise DatasetError(f"seed: expected an integer from 0 to {MAX_SEED}, got {seed!r}")
    return int(seed)


@dataclass
class Dataset:
    """A dataset ready to describe or train on.

    Attributes:
        name: file stem unless given.
        modality: ``"tabular"``, ``"image"`` or ``"text"``.
        problem_type: ``"binary"``, ``"multiclass"`` or ``"regression"``.
        X: tabular features; for text one column ``"text"``; for images one column
            ``"path"`` with file paths.
        y: the target (class labels as given; regression as float).
        target: name of the target column.
        n_rows_total: rows in the source before ``max_rows`` subsampling (equal to
            ``len(X)`` when nothing was dropped).
        fingerprint: the source's content digest, once it is stored as a task
            (:mod:`recommender.datasets.fingerprints`).
    """

    name: str
    modality: str
    problem_type: str
    X: pd.DataFrame
    y: pd.Series
    target: str
    n_rows_total: int | None = None
    fingerprint: str | None = None

    def __post_init__(self) -> None:
        if self.n_rows_total is None:
            self.n_rows_total = len(self.X)


def dataset_from_frame(
    frame: pd.DataFrame,
    target: str,
    *,
    name: str = "dataset",
    problem: str | None = None,
    modality: str = "tabular",
    max_rows: int | None = None,
    seed: int = 0,
    n_rows_total: int | None = None,
) -> Dataset:
    """Build a :class:`Dataset` from an in-memory table.

    Rows with a missing target are dropped.

    Args:
        frame: features plus the target column.
        target: name of the target column.
        name: dataset name.
        problem: ``"binary"``, ``"multiclass"`` or ``"regression"``; inferred if None.
        modality: ``"tabular"``, ``"text"`` (one column ``"text"``) or ``"image"``.
        max_rows: keep at most this many rows (seeded, stratified for classes).
        seed: random seed of the subsample.
        n_rows_total: rows of the original source, if ``frame`` is already a sample.

    Returns:
        The dataset.

    Raises:
        DatasetError: unknown target, fewer than two labelled rows, or a problem type
            that does not fit the target.

    >>> ds = dataset_from_frame(pd.DataFrame({"a": [1, 2, 3], "t": [0, 1, 0]}), "t")
    >>> ds.problem_type, list(ds.X.columns)
    ('binary', ['a'])
    """
    check_target_column(frame, target, name)
    labelled = frame[labelled_rows(frame[target])]
    if len(labelled) == 0:
        raise DatasetError(
            f"{name}: target {target!r} is missing in every row; expected labelled rows, "
            f"pick another {option('target')}"
        )
    if len(labelled) < 2:
        raise DatasetError(
            f"{name}: expected at least 2 labelled rows, got {len(labelled)}; use a larger dataset"
        )
    problem_type = _resolve_problem(labelled[target], problem, name)
    if n_rows_total is None:
        n_rows_total = int(labelled_rows(frame[target]).sum())
    if max_rows is not None and len(labelled) > max_rows:
        keep = subsample_indices(
            labelled[target], max_rows, stratify=problem_type != "regression", seed=seed
        )
        labelled = labelled.iloc[keep]
    labelled = labelled.reset_index(drop=True)
    y = labelled[target]
    if problem_type == "regression":
        y = y.astype(np.float64)
    X = labelled.drop(columns=[target])
    return Dataset(name, modality, problem_type, X, y.rename(target), target, n_rows_total)


def _resolve_problem(y: pd.Series, problem: str | None, name: str) -> str:
    if problem is None:
        return infer_problem_type(y)
    if problem not in PROBLEM_TYPES:
        raise DatasetError(
            f"{name}: expected problem type binary, multiclass or regression, got {problem!r}"
        )
    if problem == "regression" and not pd.api.types.is_numeric_dtype(y):
        raise DatasetError(
            f"{name}: regression needs a numeric target, got {y.dtype} values like "
            f"{y.iloc[0]!r}; use {option('problem', 'multiclass')} or another {option('target')}"
        )
    if problem == "binary" and y.nunique() > 2:
        raise DatasetError(
            f"{name}: binary needs at most 2 classes, got {y.nunique()}; "
            f"use {option('problem', 'multiclass')}"
        )
    return problem


def load_dataset(
    path: str | Path,
    target: str | None = None,
    *,
    problem: str | None = None,
    text_column: str | None = None,
    max_rows: int | None = None,
    seed: int = 0,
    name: str | None = None,
) -> Dataset:
    """Read a dataset file or folder.

    Args:
        path: a CSV/TSV/Parquet/JSON-lines table, a NumPy ``.npz`` with ``X`` and
            ``y``, a folder of images with one sub-folder per class, or a dataset a
            package ships, such as ``sklearn:iris`` (see :mod:`recommender.datasets.bundled`).
        target: target column of a table; default: a column named target, label,
            class or y, else the last column.
        problem: ``"binary"``, ``"multiclass"`` or ``"regression"``; inferred if None.
        text_column: read the table as text, with this column as the document.
            Without it a table whose few feature columns include long free text is
            read as text too.
        max_rows: keep at most this many rows (seeded, stratified for classes). Default:
            every row, except for table files over ``WHOLE_FILE_BYTES``, which keep at
            most ``CELL_BUDGET`` cells' worth of rows; ``n_rows_total`` tells.
        seed: random seed of the subsample.
        name: dataset name; default: the file stem.

    Returns:
        The dataset.

    Raises:
        DatasetError: the path cannot be read, is empty or degenerate, the target
            or text column does not exist, or the seed is out of range.
    """
    check_seed(seed)
    if is_bundled(path):
        frame, bundled_target = bundled_frame(str(path))
        return dataset_from_frame(
            frame, target or bundled_target, name=name or str(path).replace(":", "_"),
            problem=problem, max_rows=max_rows, seed=seed,
        )  # fmt: skip
    path = Path(path)
    name = name or path.stem
    if max_rows is not None and max_rows < 2:
        raise DatasetError(f"expected max_rows >= 2, got {max_rows}; raise {option('max_rows')}")
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder; check the path")
    if path.is_dir():
        return _load_image_folder(path, name, problem, max_rows, seed)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _load_npz(path, name, target, problem, max_rows, seed)
    if suffix not in TABLE_SUFFIXES:
        raise DatasetError(
            f"{path}: expected .csv, .tsv, .parquet, .jsonl, .npz or an image folder, "
            f"got {suffix or 'no suffix'}; convert the file"
        )
    frame, n_total = read_table_file(
        path, TABLE_SUFFIXES[suffix], target, problem, max_rows, seed,
        whole_file_bytes=WHOLE_FILE_BYTES, cell_budget=CELL_BUDGET,
    )  # fmt: skip
    if len(frame) == 0:
        raise DatasetError(f"{path}: no data rows; expected a header and at least 2 rows")
    target = target or default_target(frame)
    ds = dataset_from_frame(
        frame,
        target,
        name=name,
        problem=problem,
        max_rows=max_rows,
        seed=seed,
        n_rows_total=n_total,
    )
    return _as_text_if_needed(ds, text_column)


def _as_text_if_needed(ds: Dataset, text_column: str | None) -> Dataset:
    if text_column is None:
        text_column = _detect_text_column(ds.X)
        if text_column is None:
            return ds
    if text_column not in ds.X.columns:
        columns = ", ".join(map(str, ds.X.columns[:30]))
        raise DatasetError(
            f"{ds.name}: no text column {text_column!r}; available columns: {columns}; "
            f"pass one with {option('text_column')}"
        )
    column = ds.X[text_column]
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        raise DatasetError(
            f"{ds.name}: text column {text_column!r}: expected text, got {column.dtype} "
            f"values; pass the column holding the documents with {option('text_column')}"
        )
    text = column.astype("string").fillna("")
    if not text.str.strip().astype(bool).any():
        raise DatasetError(
            f"{ds.name}: text column {text_column!r}: expected text, got only empty "
            f"values; pass the column holding the documents with {option('text_column')}"
        )
    ds.X = pd.DataFrame({"text": text.astype(object)})
    ds.modality = "text"
    return ds


def _detect_text_column(X: pd.DataFrame) -> str | None:
    """A long free-text column, when the table has at most three feature columns."""
    if X.shape[1] > 3:
        return None
    for col in X.columns:
        values = X[col]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        text = values.dropna().astype(str)
        if len(text) == 0:
            continue
        chars = float(text.str.len().mean())
        words = float(text.str.split().str.len().mean())
        if chars >= TEXT_MIN_CHARS and words >= TEXT_MIN_WORDS:
            return str(col)
    return None


def _load_npz(
    path: Path,
    name: str,
    target: str | None,
    problem: str | None,
    max_rows: int | None,
    seed: int,
) -> Dataset:
    try:
        with np.load(path, allow_pickle=False) as data:
            if "X" not in data or "y" not in data:
                keys = ", ".join(data.files)
                raise DatasetError(
                    f"{path}: expected arrays 'X' and 'y', got {keys or 'none'}; "
                    "save with np.savez(path, X=X, y=y)"
                )
            X, y = np.asarray(data["X"]), np.asarray(data["y"])
    except (OSError, ValueError) as err:
        raise DatasetError(f"{path}: not a readable .npz file ({err}); re-save it") from err
    if X.ndim < 2 or y.ndim != 1 or len(X) != len(y):
        raise DatasetError(
            f"{path}: expected X of shape (n, d) and y of shape (n,), got {X.shape} and "
            f"{y.shape}; reshape before saving"
        )
    flat = X.reshape(len(X), -1)
    frame = pd.DataFrame(flat, columns=[f"x{i}" for i in range(flat.shape[1])])
    target = target or "y"
    frame[target] = y
    return dataset_from_frame(
        frame, target, name=name, problem=problem, max_rows=max_rows, seed=seed
    )


def _load_image_folder(
    path: Path, name: str, problem: str | None, max_rows: int | None, seed: int
) -> Dataset:
    paths: list[str] = []
    labels: list[str] = []
    others: list[Path] = []
    for sub in sorted(p for p in path.iterdir() if p.is_dir()):
        files = sorted(f for f in sub.iterdir() if f.is_file())
        images = [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
        others += [f for f in files if f.suffix.lower() not in IMAGE_SUFFIXES]
        paths.extend(str(f) for f in images)
        labels.extend([sub.name] * len(images))
    if not paths:
        found = f"{len(others)} other file(s) such as {others[0].name}" if others else "none"
        raise DatasetError(
            f"{path}: expected one sub-folder per class holding .png/.jpg images, found "
            f"{found}; arrange images as FOLDER/CLASS/IMAGE.png"
        )
    check_images(path, paths)
    frame = pd.DataFrame({"path": paths, "label": labels})
    ds = dataset_from_frame(
        frame,
        "label",
        name=name,
        problem=problem,
        modality="image",
        max_rows=max_rows,
        seed=seed,
    )
    return ds
