"""Tasks and their meta-features: single writes, a checked meta-feature table, reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from recommender.errors import IngestError, InvalidArgumentError, option, said
from recommender.store.core import BadLines, StoreCore, quote_ident, sql_str
from recommender.types import IngestReport, Task

if TYPE_CHECKING:
    import pyarrow as pa


class TasksStore(StoreCore):
    """Task and meta-feature writes and reads."""

    def add_task(
        self,
        name: str,
        *,
        modality: str | None = None,
        problem_type: str | None = None,
        source: str | None = None,
        fingerprint: str | None = None,
    ) -> None:
        """Insert a task, or fill in the fields it lacks."""
        self.con.execute(
            """
            INSERT INTO tasks (task, modality, problem_type, source, fingerprint)
            VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (task) DO UPDATE SET
                modality = coalesce(tasks.modality, excluded.modality),
                problem_type = coalesce(tasks.problem_type, excluded.problem_type),
                source = coalesce(tasks.source, excluded.source),
                fingerprint = coalesce(tasks.fingerprint, excluded.fingerprint)
            """,
            [name, modality, problem_type, source, fingerprint],
        )

    def task_for(self, name: str, fingerprint: str | None, *, explicit: bool = False) -> str:
        """The task name under which data with ``fingerprint`` belongs in this store.

        ``name`` itself when the store has no such task, when the task was made from the
        same data, or when it has no fingerprint yet and either no meta-features (runs
        ingested from logs, say) or ``explicit`` (the user named it); otherwise, for a
        name taken from a file, ``<name>-<first 8 hex digits of the fingerprint>``, so
        two different tables never share a task.

        Raises:
            InvalidArgumentError: ``explicit`` and the task holds other data.
        """
        if fingerprint is None:
            return name
        row = self.con.execute(
            "SELECT t.fingerprint, (SELECT count(*) FROM metafeatures m WHERE m.task = t.task) "
            "FROM tasks t WHERE t.task = ?",
            [name],
        ).fetchall()
        if not row or row[0][0] == fingerprint:
            return name
        have, n_features = row[0]
        if have is None and (explicit or not n_features):
            return name
        if explicit:
            raise InvalidArgumentError(
                f"task {name!r}: expected the data it was made from (fingerprint "
                f"{str(have or 'none')[:8]}), got other data ({fingerprint[:8]}); "
                "pass another task name"
            )
        return self.task_for(f"{name}-{fingerprint[:8]}", fingerprint)

    def store_id(self) -> str:
        """This store's id, made once when the store was created or upgraded."""
        row = self.con.execute("SELECT value FROM store_meta WHERE key = 'store_id'").fetchall()
        return str(row[0][0]) if row else ""

    def label_tasks(
        self,
        *,
        runs_source: str,
        space: str,
        modality: str,
        problem_types: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Set modality and source of the tasks with runs from ``runs_source`` in ``space``.

        ``problem_types`` gives ``(problem_type, task)`` pairs to set as well.
        """
        with self.transaction() as con:
            con.execute(
                "UPDATE tasks SET modality = ?, source = ? WHERE task IN "
                "(SELECT DISTINCT task FROM runs WHERE source = ? AND space = ?)",
                [modality, runs_source, runs_source, space],
            )
            if problem_types:
                con.executemany(
                    "UPDATE tasks SET problem_type = ? WHERE task = ?", list(problem_types)
                )

    def add_metafeatures(
        self, task: str, features: Mapping[str, float | None], *, source: str
    ) -> int:
        """Store the meta-features of one task, replacing all it had; return how many.

        A new description replaces the old one whole: features the old one had and the
        new one lacks are removed, never mixed with the new ones.
        """
        rows = [
            (task, str(k), None if v is None else float(v), source) for k, v in features.items()
        ]
        with self.transaction():
            self.add_task(task, source=source)
            self.con.execute("DELETE FROM metafeatures WHERE task = ?", [task])
            if rows:
                self.con.executemany(
                    "INSERT OR REPLACE INTO metafeatures (task, name, value, source) "
                    "VALUES (?, ?, ?, ?)",
                    rows,
                )
        return len(rows)

    def add_metafeature_table(
        self,
        table: pa.Table,
        *,
        source: str,
        format: str,
        checksum: str | None,
        task_column: str | None = None,
        bad_lines: BadLines = (),
        strict: bool = False,
        dry_run: bool = False,
    ) -> IngestReport:
        """Store each row's numeric columns as meta-features of its task, all or nothing.

        Columns that are not numeric for most rows (a dataset's name, say) are ignored;
        a non-numeric value in a numeric column rejects its row, which is kept with its
        reason. Empty cells are kept as missing values.
        """
        tcol = task_column or "task"
        cols = [c for c in table.column_names if c != "_line"]
        if tcol not in cols:
            raise IngestError(
                f"{source}: expected a task column {tcol!r}, got columns {', '.join(cols[:12])}; "
                f"name it with {option('task_column')}"
            )
        con = self.con
        con.register("_mf", table)
        try:
            features = self._numeric_columns(table, [c for c in cols if c != tcol])
            if not features:
                raise IngestError(f"{source}: no numeric meta-feature columns besides {tcol!r}")
            n_rej, n_changed, n_tasks, reasons = self._check_metafeatures(tcol, features)
            n_rej += len(bad_lines)
            if strict and n_rej:
                raise IngestError(
                    f"{source}: {n_rej} bad row(s), first: "
                    f"{reasons[0][0] if reasons else 'malformed line'}; "
                    f"{said('--strict', 'strict=True')} refused the whole file, nothing was stored"
                )
            batch = None
            if not dry_run and (n_changed or n_rej):
                with self.transaction():
                    batch = self.add_batch(
                        source=source, format=format, kind="metafeatures", checksum=checksum,
                        accepted=n_changed, duplicates=n_tasks - n_changed, rejected=n_rej,
                    )  # fmt: skip
                    self._write_metafeatures(batch, source, bad_lines)
            return IngestReport(
                source=source, format=format, accepted=n_changed, duplicates=n_tasks - n_changed,
                rejected=n_rej, batch=batch, tasks=n_tasks, reasons=tuple(reasons),
                dry_run=dry_run,
            )  # fmt: skip
        finally:
            con.unregister("_mf")
            con.execute("DROP TABLE IF EXISTS _mfc")
            con.execute("DROP TABLE IF EXISTS _mfl")

    def _check_metafeatures(
        self, tcol: str, features: list[str]
    ) -> tuple[int, int, int, list[tuple[str, int]]]:
        """Build ``_mfc`` (rows with reasons) and ``_mfl`` (good values, long); count them."""
        q = quote_ident(tcol)
        reasons = [
            f"CASE WHEN {q} IS NULL OR trim(CAST({q} AS VARCHAR)) = '' THEN 'missing task' END"
        ]
        for c in features:
            qc = quote_ident(c)
            d = f"TRY_CAST({qc} AS DOUBLE)"
            reasons.append(
                f"CASE WHEN {qc} IS NOT NULL AND {d} IS NULL THEN "
                f"'meta-feature \"' || {sql_str(c)} || '\": expected a number, got \"' || "
                f"CAST({qc} AS VARCHAR) || '\"' END"
            )
        entries = ", ".join(
            f"({sql_str(c)}, CASE WHEN isfinite(TRY_CAST({quote_ident(c)} AS DOUBLE)) "
            f"THEN TRY_CAST({quote_ident(c)} AS DOUBLE) END)"
            for c in features
        )
        con = self.con
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _mfc AS
            SELECT _line, concat_ws('; ', {", ".join(reasons)}) AS reason,
                   CAST({q} AS VARCHAR) AS task, to_json(_mf)::VARCHAR AS raw,
                   map_from_entries([{entries}]) AS feats
            FROM _mf
            """
        )
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE _mfl AS
            SELECT task, unnest(map_keys(feats)) AS name, unnest(map_values(feats)) AS value
            FROM _mfc WHERE reason = ''
            """
        )
        row = con.execute(
            """
            SELECT
              (SELECT count(*) FROM _mfc WHERE reason <> ''),
              (SELECT count(DISTINCT l.task) FROM _mfl l LEFT JOIN metafeatures m
                 ON m.task = l.task AND m.name = l.name
               WHERE m.task IS NULL OR m.value IS DISTINCT FROM l.value),
              (SELECT count(DISTINCT task) FROM _mfl)
            """
        ).fetchall()[0] or (0, 0, 0)
        reasons_out = [
            (str(r), int(n))
            for r, n in con.execute(
                "SELECT reason, count(*) FROM _mfc WHERE reason <> '' GROUP BY reason "
                "ORDER BY count(*) DESC LIMIT 20"
            ).fetchall()
        ]
        return int(row[0]), int(row[1]), int(row[2]), reasons_out

    def _write_metafeatures(self, batch: int, source: str, bad_lines: BadLines) -> None:
        con = self.con
        self._add_tasks_from("_mfl", "metafeatures")
        con.execute(
            "INSERT OR REPLACE INTO metafeatures (task, name, value, source) "
            "SELECT task, name, value, ? FROM _mfl",
            [source],
        )
        con.execute(
            "INSERT INTO rejected (batch_id, line, raw, reason) "
            "SELECT ?, _line, raw, reason FROM _mfc WHERE reason <> ''",
            [batch],
        )
        self._quarantine(batch, bad_lines)

    def _numeric_columns(self, table: pa.Table, cols: list[str]) -> list[str]:
        import pyarrow as pa

        out = []
        stringy = []
        for c in cols:
            t = table.schema.field(c).type
            if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_null(t):
                out.append(c)
            elif pa.types.is_string(t) or pa.types.is_large_string(t):
                stringy.append(c)
        if stringy:
            exprs = ", ".join(
                f"count({quote_ident(c)}), count(TRY_CAST({quote_ident(c)} AS DOUBLE))"
                for c in stringy
            )
            row = self.con.execute(f"SELECT {exprs} FROM _mf").fetchall()[0] or ()
            for i, c in enumerate(stringy):
                n, n_num = row[2 * i], row[2 * i + 1]
                if n and 2 * n_num > n:
                    out.append(c)
        return out

    # -- reads ------------------------------------------------------------------------
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
