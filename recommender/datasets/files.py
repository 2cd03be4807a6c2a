"""Read a table file (CSV, TSV, Parquet, JSON lines) with DuckDB, sampling while streaming.

With ``max_rows``, rows are kept by a seeded hash of their content at a per-class rate,
and only the kept rows reach pandas.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from recommender.datasets.labels import (
    check_target_column,
    class_quota,
    default_target,
    infer_problem_type,
    oversampled,
)
from recommender.errors import DatasetError

if TYPE_CHECKING:
    import pandas as pd

# Table file suffix -> DuckDB reader.
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
# Larger table files are sampled while read (see ``read_table_file``).
WHOLE_FILE_BYTES = 1 << 30


def read_table_file(
    path: Path,
    kind: str,
    target: str | None,
    problem: str | None,
    max_rows: int | None,
    seed: int,
    *,
    whole_file_bytes: int,
    cell_budget: int,
) -> tuple[pd.DataFrame, int | None]:
    """Read a table with DuckDB; with ``max_rows``, stream a seeded per-class sample.

    ``kind`` is ``csv``, ``parquet`` or ``json``. Without ``max_rows``, a file over
    ``whole_file_bytes`` is sampled to ``cell_budget`` cells' worth of rows.

    Returns:
        The rows read, and the labelled rows of the whole file when sampled (else ``None``).
    """
    import duckdb

    con = duckdb.connect()
    try:
        src = con.sql(_reader_sql(kind), params=[str(path)])
        columns = [str(c) for c in src.columns]
        if not columns:
            raise DatasetError(f"{path}: no columns found; expected a table with a header row")
        if max_rows is None and path.stat().st_size > whole_file_bytes:
            max_rows = max(cell_budget // len(columns), 2)
        if max_rows is None:
            return _to_pandas(src), None
        import pandas as pd

        target = target or default_target(columns)
        check_target_column(pd.DataFrame(columns=columns), target, path.stem)
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
    import pandas as pd

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
    rates["rate"] = np.minimum(1.0, oversampled(quota) / sizes)
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


# Column types read_columns hands over as they are (numbers, booleans, text).
PLAIN_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER",
     "UBIGINT", "FLOAT", "DOUBLE", "BOOLEAN", "VARCHAR"}
)  # fmt: skip


def read_columns(path: Path) -> dict[str, npt.NDArray[Any]] | None:
    """A table file read whole into NumPy columns (masked arrays where values are
    missing), when it is small (under ``WHOLE_FILE_BYTES``) and holds numbers, booleans
    and text only; else ``None`` (read it with :func:`read_table_file`). The same reader
    as :func:`read_table_file`, without pandas.
    """
    import duckdb

    kind = TABLE_SUFFIXES.get(path.suffix.lower())
    if kind is None or not path.is_file() or path.stat().st_size > WHOLE_FILE_BYTES:
        return None
    con = duckdb.connect()
    try:
        relation = con.sql(_reader_sql(kind), params=[str(path)])
        if not relation.columns or any(str(t) not in PLAIN_TYPES for t in relation.types):
            return None
        columns: dict[str, npt.NDArray[Any]] = relation.fetchnumpy()
        return columns
    except duckdb.Error:
        return None  # the full reader says what is wrong
    finally:
        con.close()


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


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
