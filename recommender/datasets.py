"""Load a dataset from a file or folder into one in-memory :class:`Dataset`.

Tables (CSV, TSV, Parquet, JSON lines) are read through DuckDB, so a ``max_rows``
subsample is drawn while streaming: rows are kept by a seeded hash of their content at
a per-class rate, and only the kept rows reach pandas. NumPy ``.npz`` files hold ``X``
and ``y``; an image folder holds one sub-folder per class; a text table has a text
column and a label column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from recommender.bundled import bundled_frame, is_bundled
from recommender.errors import DatasetError

PROBLEM_TYPES = ("binary", "multiclass", "regression")
MODALITIES = ("tabular", "image", "text")
TABLE_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "json",
    ".ndjson": "json",
    ".json": "json",
}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
TARGET_NAMES = ("target", "label", "class", "y")
# Without max_rows, a table file larger than this is described from a seeded sample of
# at most CELL_BUDGET cells (rows x columns), so memory stays bounded by default.
WHOLE_FILE_BYTES = 1 << 30
CELL_BUDGET = 100_000_000
# An integer-valued target with at most this many distinct values is a class label.
MAX_CLASSES_INFERRED = 50
# A string column is free text when its mean length and word count pass these.
TEXT_MIN_CHARS = 40.0
TEXT_MIN_WORDS = 5.0


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
    """

    name: str
    modality: str
    problem_type: str
    X: pd.DataFrame
    y: pd.Series
    target: str
    n_rows_total: int | None = None

    def __post_init__(self) -> None:
        if self.n_rows_total is None:
            self.n_rows_total = len(self.X)


def infer_problem_type(y: pd.Series) -> str:
    """Guess the learning problem from a target column.

    Strings, booleans and categories are class labels; so are integer values with at
    most 50 distinct values. Anything else numeric is regression.

    Args:
        y: target values (missing values are ignored).

    Returns:
        ``"binary"`` (at most two classes), ``"multiclass"`` or ``"regression"``.

    >>> infer_problem_type(pd.Series([0, 1, 1, 0]))
    'binary'
    >>> infer_problem_type(pd.Series([0.5, 1.25, 3.0]))
    'regression'
    """
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
    codes, counts = _class_codes(y)
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


def _class_codes(
    y: pd.Series | npt.NDArray[np.generic],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
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
    _check_target(frame, target, name)
    labelled = frame[frame[target].notna()]
    if len(labelled) == 0:
        raise DatasetError(
            f"{name}: target {target!r} is missing in every row; expected labelled rows, "
            "pick another --target"
        )
    if len(labelled) < 2:
        raise DatasetError(
            f"{name}: expected at least 2 labelled rows, got {len(labelled)}; use a larger dataset"
        )
    problem_type = _resolve_problem(labelled[target], problem, name)
    if n_rows_total is None:
        n_rows_total = int(frame[target].notna().sum())
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


def _check_target(frame: pd.DataFrame, target: str, name: str) -> None:
    if target not in frame.columns:
        columns = ", ".join(map(str, frame.columns[:30]))
        more = f" (+{len(frame.columns) - 30} more)" if len(frame.columns) > 30 else ""
        raise DatasetError(
            f"{name}: no target column {target!r}; available columns: {columns}{more}; "
            "pass one with --target"
        )


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
            f"{y.iloc[0]!r}; use --problem multiclass or another --target"
        )
    if problem == "binary" and y.nunique() > 2:
        raise DatasetError(
            f"{name}: binary needs at most 2 classes, got {y.nunique()}; use --problem multiclass"
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
            package ships, such as ``sklearn:iris`` (see :mod:`recommender.bundled`).
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
        DatasetError: the path cannot be read, is empty or degenerate, or the target
            or text column does not exist.
    """
    if is_bundled(path):
        frame, default_target = bundled_frame(str(path))
        return dataset_from_frame(
            frame, target or default_target, name=name or str(path).replace(":", "_"),
            problem=problem, max_rows=max_rows, seed=seed,
        )  # fmt: skip
    path = Path(path)
    name = name or path.stem
    if max_rows is not None and max_rows < 2:
        raise DatasetError(f"expected max_rows >= 2, got {max_rows}; raise --max-rows")
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
    frame, n_total = _read_table(path, TABLE_SUFFIXES[suffix], target, problem, max_rows, seed)
    if len(frame) == 0:
        raise DatasetError(f"{path}: no data rows; expected a header and at least 2 rows")
    target = target or _default_target(frame)
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


def _default_target(frame: pd.DataFrame) -> str:
    lowered = {str(c).lower(): str(c) for c in frame.columns}
    for candidate in TARGET_NAMES:
        if candidate in lowered:
            return lowered[candidate]
    return str(frame.columns[-1])


def _as_text_if_needed(ds: Dataset, text_column: str | None) -> Dataset:
    if text_column is None:
        text_column = _detect_text_column(ds.X)
        if text_column is None:
            return ds
    if text_column not in ds.X.columns:
        columns = ", ".join(map(str, ds.X.columns[:30]))
        raise DatasetError(
            f"{ds.name}: no text column {text_column!r}; available columns: {columns}; "
            "pass one with --text-column"
        )
    text = ds.X[text_column].astype("string").fillna("")
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
    for sub in sorted(p for p in path.iterdir() if p.is_dir()):
        files = sorted(
            f for f in sub.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
        )
        paths.extend(str(f) for f in files)
        labels.extend([sub.name] * len(files))
    if not paths:
        raise DatasetError(
            f"{path}: expected one sub-folder per class holding .png/.jpg images, found none; "
            "arrange images as FOLDER/CLASS/IMAGE.png"
        )
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


def _read_table(
    path: Path,
    kind: str,
    target: str | None,
    problem: str | None,
    max_rows: int | None,
    seed: int,
) -> tuple[pd.DataFrame, int | None]:
    """Read a table with DuckDB; with ``max_rows``, stream a seeded per-class sample.

    Without ``max_rows``, a file over ``WHOLE_FILE_BYTES`` is sampled to ``CELL_BUDGET``
    cells' worth of rows.
    """
    import duckdb

    con = duckdb.connect()
    try:
        src = con.sql(_reader_sql(kind), params=[str(path)])
        columns = [str(c) for c in src.columns]
        if not columns:
            raise DatasetError(f"{path}: no columns found; expected a table with a header row")
        if max_rows is None and path.stat().st_size > WHOLE_FILE_BYTES:
            max_rows = max(CELL_BUDGET // len(columns), 2)
        if max_rows is None:
            return _to_pandas(src), None
        target = target or _default_target(pd.DataFrame(columns=columns))
        _check_target(pd.DataFrame(columns=columns), target, path.stem)
        return _sample_table(con, path, kind, columns, target, problem, max_rows, seed)
    except duckdb.Error as err:
        reason = str(err).splitlines()[0]
        raise DatasetError(
            f"{path}: cannot read as {kind} ({reason}); expected a UTF-8 table with a header"
        ) from err
    finally:
        con.close()


def _reader_sql(kind: str) -> str:
    if kind == "parquet":
        return "SELECT * FROM read_parquet($1)"
    if kind == "json":
        return "SELECT * FROM read_json_auto($1)"
    return "SELECT * FROM read_csv($1, header = true)"


def _sample_table(
    con: object,
    path: Path,
    kind: str,
    columns: list[str],
    target: str,
    problem: str | None,
    max_rows: int,
    seed: int,
) -> tuple[pd.DataFrame, int]:
    """Stream the table once, keeping each row of class c with rate ~ quota_c / n_c.

    The keep decision hashes the row's content with the seed, so it is reproducible and
    independent of file order; only a few percent more than ``max_rows`` rows reach
    memory, and each class is then cut to its exact quota by the same hash order.
    """
    t = _quote(target)
    reader = _reader_sql(kind)
    counts = con.execute(  # type: ignore[attr-defined]
        f"SELECT {t} AS k, count(*) FROM ({reader}) WHERE {t} IS NOT NULL GROUP BY 1",
        [str(path)],
    ).df()
    n_total = int(counts.iloc[:, 1].sum()) if len(counts) else 0
    if n_total <= max_rows:
        return _to_pandas(con.sql(reader, params=[str(path)])), n_total  # type: ignore[attr-defined]
    classify = (problem or infer_problem_type(counts["k"])) != "regression"
    sizes = counts.iloc[:, 1].to_numpy(np.int64)
    if classify:
        quota = class_quota(sizes, max_rows)
        rates = pd.DataFrame({"k": counts["k"], "quota": quota})
        partition, join = t, f"JOIN __rates r ON s.{t} = r.k"
    else:
        quota = np.array([max_rows], dtype=np.int64)
        sizes = np.array([n_total], dtype=np.int64)
        rates = pd.DataFrame({"quota": quota})
        partition, join = "1", "CROSS JOIN __rates r"
    rates["rate"] = np.minimum(1.0, _oversampled(quota) / sizes)
    con.register("__rates", rates)  # type: ignore[attr-defined]
    row_hash = f"hash($2, {', '.join(_quote(c) for c in columns)})"
    # Stream once keeping a slight surplus per class, then cut each class to its quota
    # by the same hash order (the window runs on the small kept set only).
    relation = con.sql(  # type: ignore[attr-defined]
        f"SELECT * EXCLUDE (__h, __q, __r) FROM ("
        f" SELECT *, row_number() OVER (PARTITION BY {partition} ORDER BY __h) AS __r"
        f" FROM (SELECT s.*, {row_hash} AS __h, r.quota AS __q FROM ({reader}) s {join}"
        f"  WHERE s.{t} IS NOT NULL AND ({row_hash} % 1000000) < r.rate * 1000000))"
        f" WHERE __r <= __q ORDER BY __h",
        params=[str(path), seed],
    )
    frame = _to_pandas(relation)
    return frame, n_total


def _to_pandas(relation: object) -> pd.DataFrame:
    """A DuckDB result as pandas, strings as categoricals (fast to build, compact)."""
    import pyarrow as pa

    table = relation.to_arrow_table()  # type: ignore[attr-defined]
    # Dates and times beyond what Python and pandas hold (year 5881580) become their text.
    # Bytes become text (UTF-8, else hex), so every column is numbers, booleans or text.
    for i, f in enumerate(table.schema):
        if pa.types.is_temporal(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(pa.string()))
        elif pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type):
            try:
                text = table.column(i).cast(pa.string())
            except pa.ArrowInvalid:
                hexed = [None if v is None else v.hex() for v in table.column(i).to_pylist()]
                text = pa.chunked_array([pa.array(hexed, pa.string())])
            table = table.set_column(i, f.name, text)
    return table.to_pandas(strings_to_categorical=True, self_destruct=True, split_blocks=True)


def _oversampled(quota: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Expected rows to stream per class so that fewer than ``quota`` is very unlikely."""
    q = quota.astype(np.float64)
    return q * 1.05 + 5.0 * np.sqrt(q) + 10.0


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
