"""The one store: a DuckDB file (``":memory:"`` in tests).

DuckDB allows one writing process at a time. A second process that finds the
file locked waits up to ``lock_timeout`` seconds, then fails with a clear message.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import duckdb

from recommender.errors import SchemaVersionError, StoreError
from recommender.store.migrations import LATEST_VERSION, MIGRATIONS
from recommender.store.paths import default_db_path, default_lock_timeout
from recommender.types import Task

RELEASED_WAIT_S = 600.0  # lock wait for writes inside DuckDBStore.released()

_LOCK_MARKERS = ("lock", "conflicting", "being used by another process")


def _is_lock_error(err: Exception) -> bool:
    text = str(err).lower()
    return any(m in text for m in _LOCK_MARKERS)


class DuckDBStore:
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

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        read_only: bool = False,
        lock_timeout: float | None = None,
        upgrade: bool = True,
    ) -> None:
        self.path = str(path)
        self.read_only = read_only
        self.lock_timeout = default_lock_timeout() if lock_timeout is None else lock_timeout
        self._depth = 0  # nesting of transaction()
        self._released = False  # connection closed by released()
        in_memory = self.path == ":memory:"
        if not in_memory:
            p = Path(self.path)
            if p.exists() and p.is_dir():
                raise StoreError(f"store path {p} is a directory; expected a .duckdb file path")
            if not p.exists():
                p.parent.mkdir(parents=True, exist_ok=True)
                if read_only:
                    # A read of a store that does not exist yet sees an empty store.
                    DuckDBStore(p, lock_timeout=self.lock_timeout).close()
        self.con = self._connect(read_only and not in_memory)
        try:
            self._check_version(upgrade)
        except BaseException:
            self.close()  # a refused store leaves no connection behind
            raise

    # -- connection ---------------------------------------------------------------
    def _connect(
        self, read_only: bool, lock_timeout: float | None = None
    ) -> duckdb.DuckDBPyConnection:
        wait = self.lock_timeout if lock_timeout is None else lock_timeout
        deadline = time.monotonic() + max(wait, 0.0)
        delay = 0.05
        while True:
            try:
                return duckdb.connect(self.path, read_only=read_only)
            except duckdb.IOException as err:
                if not _is_lock_error(err):
                    raise StoreError(
                        f"cannot open store {self.path}: expected a DuckDB file, got: "
                        f"{str(err).splitlines()[0]}; pass another --db"
                    ) from err
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"store {self.path} is busy (another process holds it); waited "
                        f"{wait:g} s; retry when it finishes or raise "
                        f"--lock-timeout / RECOMMENDER_LOCK_TIMEOUT"
                    ) from err
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
            except duckdb.Error as err:
                raise StoreError(
                    f"cannot open store {self.path}: expected a DuckDB file, got: {err}"
                ) from err

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.con.close()

    def __enter__(self) -> DuckDBStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -------------------------------------------------------------------
    def schema_version(self) -> int:
        row = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
        ).fetchall()[0]
        if not row or row[0] == 0:
            return 0
        v = self.con.execute("SELECT max(version) FROM schema_version").fetchall()[0]
        return int(v[0]) if v and v[0] is not None else 0

    def _check_version(self, upgrade: bool) -> None:
        version = self.schema_version()
        if version > LATEST_VERSION:
            raise SchemaVersionError(
                f"{self.path} is schema v{version}, this recommender knows up to "
                f"v{LATEST_VERSION}; upgrade the package: pip install -U recommender"
            )
        if version < LATEST_VERSION:
            if not upgrade and not self.read_only:
                return  # the caller migrates explicitly (``recommender store upgrade``)
            if self.read_only:
                raise SchemaVersionError(
                    f"{self.path} is schema v{version}, code needs v{LATEST_VERSION}; "
                    f"run: recommender store upgrade --db {self.path}"
                )
            self.migrate()

    def migrate(self, target: int = LATEST_VERSION) -> list[int]:
        """Apply pending migrations up to ``target`` in one transaction; return those applied."""
        current = self.schema_version()
        applied: list[int] = []
        with self.transaction():
            if current == 0:
                self.con.execute(
                    "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                    "description VARCHAR, applied_at TIMESTAMP DEFAULT current_timestamp)"
                )
            for version, description, sql in MIGRATIONS:
                if current < version <= target:
                    self.con.execute(sql)
                    self.con.execute(
                        "INSERT INTO schema_version (version, description) VALUES (?, ?)",
                        [version, description],
                    )
                    applied.append(version)
        return applied

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: commit on success, roll back on any exception (Ctrl-C included).

        Nested uses join the outermost transaction, so a composite write (loading the
        shipped knowledge, say) commits or rolls back as one.
        """
        if self._depth:
            self._depth += 1
            try:
                yield self.con
            finally:
                self._depth -= 1
            return
        self.con.execute("BEGIN TRANSACTION")
        self._depth = 1
        try:
            yield self.con
        except BaseException:
            with contextlib.suppress(Exception):
                self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")
        finally:
            self._depth = 0

    @contextlib.contextmanager
    def released(self) -> Iterator[None]:
        """Give up the file (and its lock) for a long block; write inside via :meth:`attached`.

        Other processes can read and write the store meanwhile (a validation that trains
        for minutes should not lock everyone out). An in-memory store stays as it is.
        """
        if self.path == ":memory:" or self._released:
            yield
            return
        self.close()
        self._released = True
        try:
            yield
        finally:
            self._released = False
            self.con = self._connect(self.read_only)

    @contextlib.contextmanager
    def attached(self) -> Iterator[None]:
        """Inside :meth:`released`: hold the file for this block only.

        It waits for the lock at least ``RELEASED_WAIT_S``: what is written here (a
        finished training run) is worth waiting for.
        """
        if not self._released:
            yield
            return
        self.con = self._connect(self.read_only, max(self.lock_timeout, RELEASED_WAIT_S))
        try:
            yield
        finally:
            self.close()

    # -- tasks and meta-features ----------------------------------------------------
    def add_task(
        self,
        name: str,
        *,
        modality: str | None = None,
        problem_type: str | None = None,
        source: str | None = None,
    ) -> None:
        """Insert a task, or fill in the fields it lacks."""
        self.con.execute(
            """
            INSERT INTO tasks (task, modality, problem_type, source) VALUES (?, ?, ?, ?)
            ON CONFLICT (task) DO UPDATE SET
                modality = coalesce(tasks.modality, excluded.modality),
                problem_type = coalesce(tasks.problem_type, excluded.problem_type),
                source = coalesce(tasks.source, excluded.source)
            """,
            [name, modality, problem_type, source],
        )

    def add_metafeatures(
        self, task: str, features: Mapping[str, float | None], *, source: str
    ) -> int:
        """Store (or replace) meta-features of one task; return how many were written."""
        rows = [
            (task, str(k), None if v is None else float(v), source) for k, v in features.items()
        ]
        with self.transaction():
            self.add_task(task, source=source)
            if rows:
                self.con.executemany(
                    "INSERT OR REPLACE INTO metafeatures (task, name, value, source) "
                    "VALUES (?, ?, ?, ?)",
                    rows,
                )
        return len(rows)

    def tasks(self) -> list[Task]:
        """All tasks, with how many runs and meta-features each has."""
        rows = self.con.execute(
            """
            SELECT t.task, t.modality, t.problem_type, t.source,
                   coalesce(r.n, 0), coalesce(m.n, 0)
            FROM tasks t
            LEFT JOIN (SELECT task, count(*) AS n FROM runs GROUP BY task) r USING (task)
            LEFT JOIN (SELECT task, count(*) AS n FROM metafeatures GROUP BY task) m USING (task)
            ORDER BY t.task
            """
        ).fetchall()
        return [Task(r[0], r[1], r[2], r[3], int(r[4]), int(r[5])) for r in rows]

    def metafeatures(self, task: str | None = None) -> dict[str, dict[str, float]]:
        """``{task: {feature: value}}`` for one task or all."""
        sql = "SELECT task, name, value FROM metafeatures"
        args: list[Any] = []
        if task is not None:
            sql += " WHERE task = ?"
            args.append(task)
        out: dict[str, dict[str, float]] = {}
        for t, name, value in self.con.execute(sql + " ORDER BY task, name", args).fetchall():
            out.setdefault(t, {})[name] = float("nan") if value is None else float(value)
        return out

    # -- runs -----------------------------------------------------------------------
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
            args.append(int(limit))
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

    def info(self) -> dict[str, Any]:
        """Counts, schema version and path, for ``store info``."""

        def count(table: str) -> int:
            row = self.con.execute(f"SELECT count(*) FROM {table}").fetchall()[0]  # noqa: S608
            return int(row[0]) if row else 0

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
        out.mkdir(parents=True, exist_ok=True)
        counts = {}
        for (table,) in self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "ORDER BY table_name"
        ).fetchall():
            target = out / f"{table}.parquet"
            rel = self.con.table(table)
            rel.write_parquet(str(target))
            row = self.con.execute(f"SELECT count(*) FROM {_quote_ident(table)}").fetchall()[0]
            counts[table] = int(row[0]) if row else 0
        return counts


def _json_path(name: str) -> str:
    return "$." + json.dumps(name, ensure_ascii=False)


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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
