"""The one store: a DuckDB file (``":memory:"`` in tests), and its reads.

The writes live in cohesive parts: :mod:`~recommender.store.core` (connection, lock
wait, migrations, transactions), :mod:`~recommender.store.runs`,
:mod:`~recommender.store.tasks` and :mod:`~recommender.store.models`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from recommender.errors import StoreError
from recommender.store.core import check_blocks
from recommender.store.core import json_path as _json_path
from recommender.store.core import quote_ident as _quote_ident
from recommender.store.guard import translate_error
from recommender.store.models import ModelsStore
from recommender.store.paths import default_db_path
from recommender.store.runs import RunsStore
from recommender.store.tasks import TasksStore

if TYPE_CHECKING:
    from recommender.store.base import Store


class DuckDBStore(RunsStore, TasksStore, ModelsStore):
    """A run store backed by one DuckDB database.

    Args:
        path: database file, or ``":memory:"``.
        read_only: open without write access (many readers may share the file).
        lock_timeout: seconds to wait while another process holds the file.
        upgrade: apply pending migrations when opened for writing.

    Raises:
        StoreError: the file is busy past ``lock_timeout`` or cannot be opened.
        SchemaVersionError: the schema is newer than this code, or older and
            ``read_only``/``upgrade=False`` forbid upgrading it.

    >>> store = DuckDBStore(":memory:")
    >>> store.info()["runs"]
    0
    """

    def __enter__(self) -> DuckDBStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads -----------------------------------------------------------------------
    def runs(
        self,
        task: str | None = None,
        *,
        space: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Runs as plain dicts (params and metrics decoded), newest batch last."""
        sql = (
            "SELECT run_key, task, space, params, metrics, fidelity, status, duration_s, "
            "source, batch_id, query_id, error FROM runs"
        )
        where: list[str] = []
        args: list[Any] = []
        if task is not None:
            where.append("task = ?")
            args.append(task)
        if space is not None:
            where.append("space = ?")
            args.append(space)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY batch_id, task, run_key"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(_bounded(limit))
        cols = [
            "run_key", "task", "space", "params", "metrics", "fidelity",
            "status", "duration_s", "source", "batch", "query_id", "error",
        ]  # fmt: skip
        out = []
        for row in self.con.execute(sql, args).fetchall():
            d = dict(zip(cols, row, strict=True))
            d["params"] = json.loads(d["params"])
            d["metrics"] = json.loads(d["metrics"])
            out.append(d)
        return out

    def runs_frame(
        self,
        *,
        space: str | None,
        params: list[str],
        metric: str,
        fidelity: float | None = None,
        param_names_exact: bool = False,
    ) -> Any:
        """Successful runs as a pandas DataFrame: ``task, fidelity, <params...>, value``.

        Rows come ordered by task and run key, the same on every call.

        Args:
            space: runs ingested under this space name; ``None`` means any space.
            params: parameter names to extract (missing ones come back as NaN/None).
            metric: metric to return as ``value``; runs without it are left out.
            fidelity: keep runs at this fidelity only; ``None`` keeps, per
                (task, run), the row with the highest fidelity.
            param_names_exact: keep only runs whose parameter names are exactly ``params``.
        """
        select = ", ".join(
            f"json_extract(params, ${i + 3}) AS {_quote_ident(p)}" for i, p in enumerate(params)
        )
        where = ["status = 'ok'", "json_extract(metrics, $1) IS NOT NULL"]
        args: list[Any] = [_json_path(metric), None]
        args += [_json_path(p) for p in params]
        if space is not None:
            where.append("space = $2")
            args[1] = space
        else:
            where.append("$2 IS NULL")
        if param_names_exact:
            where.append(f"list_sort(json_keys(params)) = ${len(args) + 1}")
            args.append(sorted(params))
        if fidelity is not None:
            where.append(f"fidelity = ${len(args) + 1}")
            args.append(float(fidelity))
        sql = (
            f"SELECT task, fidelity, {select}, "
            f"CAST(json_extract(metrics, $1) AS DOUBLE) AS value, params AS _params, run_key "
            f"FROM runs WHERE {' AND '.join(where)}"
        )
        if fidelity is None:
            sql += (
                " QUALIFY row_number() OVER (PARTITION BY task, _params "
                "ORDER BY fidelity DESC NULLS LAST, run_key) = 1"
            )
        # A fixed order: the window (and parallel scans) would otherwise return rows in a
        # different order on every call, and seeded subsamples would differ.
        sql += " ORDER BY task, run_key"
        df = self.con.execute(sql, args).df()
        for p in params:
            df[p] = _decode_json_column(df[p])
        return df.drop(columns=["_params"])

    def param_types(self, space: str) -> dict[str, str]:
        """``{parameter: int|float|bool|categorical}`` of the runs of ``space``, by name."""
        rows = self.con.execute(
            "SELECT name, type FROM param_types WHERE space = ? ORDER BY name", [space]
        ).fetchall()
        return {str(n): str(t) for n, t in rows}

    def params_frame(self, space: str, params: list[str]) -> Any:
        """Every run of ``space`` (any status) as a DataFrame with a column per parameter
        (missing where the run does not set it)."""
        select = ", ".join(
            f"json_extract(params, ${i + 2}) AS {_quote_ident(p)}" for i, p in enumerate(params)
        )
        args: list[Any] = [space, *(_json_path(p) for p in params)]
        df = self.con.execute(
            f"SELECT {select} FROM runs WHERE space = $1 ORDER BY run_key", args
        ).df()
        for p in params:
            df[p] = _decode_json_column(df[p])
        return df

    def run_spaces(self) -> list[tuple[str, int, int]]:
        """``(space, runs, typed parameters)`` of every space holding runs, by name."""
        rows = self.con.execute(
            "SELECT r.space, r.n, coalesce(t.k, 0) FROM "
            "(SELECT space, count(*) AS n FROM runs GROUP BY space) r LEFT JOIN "
            "(SELECT space, count(*) AS k FROM param_types GROUP BY space) t USING (space) "
            "ORDER BY r.space"
        ).fetchall()
        return [(str(s), int(n), int(k)) for s, n, k in rows]

    def count_runs(
        self,
        *,
        space: str | None = None,
        source: str | None = None,
        exclude_source: str | None = None,
    ) -> int:
        """How many runs match; ``exclude_source`` also leaves out runs without a source."""
        where, args = ["true"], []
        for clause, value in (
            ("space = ?", space),
            ("source = ?", source),
            ("source <> ?", exclude_source),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        sql = "SELECT count(*) FROM runs WHERE " + " AND ".join(where)
        return int(self.con.execute(sql, args).fetchall()[0][0])

    def task_names(self, *, space: str | None = None) -> list[str]:
        """Names of the tasks with runs (in ``space``), sorted."""
        sql = "SELECT DISTINCT task FROM runs"
        args: list[Any] = []
        if space is not None:
            sql += " WHERE space = ?"
            args.append(space)
        return [r[0] for r in self.con.execute(sql + " ORDER BY task", args).fetchall()]

    def rejected(
        self, *, batch: int | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Quarantined rows with their reasons: ``{"batch", "line", "reason", "raw"}``."""
        sql = "SELECT batch_id AS batch, line, reason, raw FROM rejected"
        args: list[Any] = []
        if batch is not None:
            sql += " WHERE batch_id = ?"
            args.append(batch)
        sql += " ORDER BY batch_id, line"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(_bounded(limit))
        cur = self.con.execute(sql, args)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    def info(self) -> dict[str, Any]:
        """Counts, schema version and path, for ``store info``."""

        def count(table: str) -> int:
            row = self.con.execute(f"SELECT count(*) FROM {table}").fetchall()[0]  # noqa: S608
            return int(row[0]) if row else 0

        if not self.in_memory:  # counts come from metadata: first check the data is there
            tables = self.con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                "AND table_type = 'BASE TABLE'"
            ).fetchall()
            check_blocks(self.con, self.path, [t for (t,) in tables])

        return {
            "path": self.path,
            "schema_version": self.schema_version(),
            "tasks": count("tasks"),
            "runs": count("runs"),
            "metafeatures": count("metafeatures"),
            "curve_points": count("curves"),
            "batches": count("batches"),
            "rejected": count("rejected"),
            "spaces": count("spaces"),
            "models": count("models"),
            "queries": count("queries"),
        }

    def export(self, directory: str | Path) -> dict[str, int]:
        """Write every table as Parquet into ``directory``; return row counts."""
        out = Path(directory)
        counts = {}
        tables = self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "ORDER BY table_name"
        ).fetchall()
        try:
            out.mkdir(parents=True, exist_ok=True)
            for (table,) in tables:
                row = self.con.execute(f"SELECT count(*) FROM {_quote_ident(table)}").fetchall()
                rel = self.con.table(table)
                rel.write_parquet(str(out / f"{table}.parquet"))
                counts[table] = int(row[0][0]) if row else 0
        except (OSError, duckdb.Error) as err:
            mine = translate_error(self.path, err)
            if mine is not None and "damaged" in str(mine) and str(out) not in str(err):
                raise mine from err  # reading the store failed, not writing the export
            raise StoreError(
                f"cannot export to {out}: expected a writable folder, got: "
                f"{(str(err).strip().splitlines() or [''])[0]}; pass another DIRECTORY"
            ) from err
        return counts


def _bounded(limit: int) -> int:
    """A row limit DuckDB can take (an int64); any larger one means all rows."""
    return max(0, min(int(limit), 2**63 - 1))


def _decode_json_column(column: Any) -> Any:
    """JSON scalars (text, or None) -> Python values, vectorised for numbers.

    Numbers parse in one pass; the rest (strings, booleans) are decoded once per distinct
    value. Missing cells stay missing (NaN).
    """
    import pandas as pd

    numbers = pd.to_numeric(column, errors="coerce")
    other = column.notna() & numbers.isna()
    if not other.any():
        return numbers
    table = {v: _decode_json_scalar(v) for v in pd.unique(column[other])}
    out = numbers.astype(object)
    out[other] = column[other].map(table)
    return out


def _decode_json_scalar(value: Any) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return value


def open_store(
    path: str | Path | None = None,
    *,
    read_only: bool = False,
    lock_timeout: float | None = None,
) -> DuckDBStore:
    """Open the store at ``path``, ``$RECOMMENDER_DB`` or the default location."""
    return DuckDBStore(
        path if path is not None else default_db_path(),
        read_only=read_only,
        lock_timeout=lock_timeout,
    )


if TYPE_CHECKING:  # mypy checks that DuckDBStore implements the Store protocol
    _IMPLEMENTS: type[Store] = DuckDBStore
