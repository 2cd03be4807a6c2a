"""Writing runs: a checked source in one transaction, a validation run, a logged query."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from recommender.errors import IngestError, option, said
from recommender.store.core import BadLines, StoreCore
from recommender.types import IngestReport

if TYPE_CHECKING:
    import pyarrow as pa

    from recommender.store.checks import CheckCounts

Progress = Callable[[str], None]


class RunsStore(StoreCore):
    """Run writes: :meth:`add_runs`, :meth:`record_run`, :meth:`log_query`."""

    def add_runs(
        self,
        table: pa.Table,
        *,
        source: str,
        format: str,
        checksum: str | None,
        space: str | None = None,
        bad_lines: BadLines = (),
        curves: pa.Table | None = None,
        strict: bool = False,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Check ``table`` and store its good rows, its rejected rows and its curves atomically.

        Runs are keyed by their id, or by their content when they have none, so the
        same source twice adds nothing; rejected rows are kept with their reasons.

        Args:
            table: a canonical run table (see :mod:`recommender.store.checks`).
            source: where the rows came from (shown to people, kept in ``batches``).
            format: the source format (csv, parquet, mlflow, ...).
            checksum: the source's checksum, kept with the batch.
            space: the search-space name; default derived from the parameter names.
            bad_lines: lines the reader could not parse: (line, raw text, reason).
            curves: ``run_id, name, step, value`` learning-curve points.
            strict: refuse the whole source if any row is rejected.
            dry_run: check and count, write nothing.
            progress: called with the name of each stage.

        Returns:
            What was (or would be) accepted, found already stored, and rejected.

        Raises:
            IngestError: the table lacks a task or a metric, or ``strict`` found bad rows.
        """
        from recommender.store import checks  # pyarrow: only when ingesting

        note = progress or (lambda _stage: None)
        cols = table.column_names
        params = [c for c in cols if c.startswith("param.")]
        metrics = [c for c in cols if c.startswith("metric.")]
        _require_columns(source, cols, metrics)
        space_name = space or checks.auto_space_name([p[len("param.") :] for p in params])
        con = self.con
        con.register("_src", table)
        try:
            note("checking")
            ptypes = checks.infer_param_types(con, table, params, space_name)
            counts = checks.check(con, table, params, metrics, ptypes, bad_lines)
            n_acc, n_dup, n_rej, reasons = counts
            if strict and n_rej:
                _refuse(source, counts)
            row = con.execute("SELECT count(DISTINCT task) FROM _new").fetchall()[0] or (0,)
            moved, elsewhere = self._stored_elsewhere(space_name, claim=space is not None)
            batch, n_curve = None, 0
            # The same bytes again with nothing new: its rejected rows are already kept.
            repeat = n_acc == 0 and bool(checksum) and self._seen(str(checksum))
            write = not (dry_run or repeat) and bool(n_acc or n_rej)
            if write or (moved and not dry_run):
                note("writing")
                with self.transaction():
                    if write:
                        batch = self._write(source, format, checksum, space_name, ptypes,
                                            counts, bad_lines)  # fmt: skip
                    if curves is not None and curves.num_rows and n_acc and write:
                        n_curve = self._write_curves(curves)
                    self._claim(space_name, moved, ptypes)
            return IngestReport(
                source=source, format=format, accepted=n_acc, duplicates=n_dup, rejected=n_rej,
                batch=batch, tasks=int(row[0]), curve_points=n_curve, reasons=tuple(reasons),
                dry_run=dry_run, space=space_name, moved=moved, elsewhere=elsewhere,
            )  # fmt: skip
        finally:
            con.unregister("_src")
            for t in ("_checked", "_new"):
                con.execute(f"DROP TABLE IF EXISTS {t}")

    def _stored_elsewhere(
        self, space: str, *, claim: bool
    ) -> tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]]:
        """``(moved, elsewhere)``: ``(space, runs)`` of this source's good rows stored
        under other spaces. With ``claim`` (a space was named), runs in a space named
        after their parameters (``auto-...``, never imported) move to ``space``."""
        rows = self.con.execute(
            "SELECT r.space, count(DISTINCT r.run_key), "
            "bool_and(r.space LIKE 'auto-%' AND s.name IS NULL) FROM _checked c "
            "JOIN runs r ON r.run_key = c.run_key LEFT JOIN spaces s ON s.name = r.space "
            "WHERE c.reason = '' AND r.space <> ? GROUP BY r.space ORDER BY r.space",
            [space],
        ).fetchall()
        moved = tuple((str(s), int(n)) for s, n, auto in rows if claim and auto)
        elsewhere = tuple((str(s), int(n)) for s, n, auto in rows if not (claim and auto))
        return moved, elsewhere

    def _claim(self, space: str, moved: Sequence[tuple[str, int]], ptypes: dict[str, str]) -> None:
        """Move this source's runs out of the ``moved`` spaces into ``space``, typed."""
        for old, _ in moved:
            self.con.execute(
                "UPDATE runs SET space = ? WHERE space = ? AND run_key IN "
                "(SELECT run_key FROM _checked WHERE reason = '')",
                [space, old],
            )
        if moved and ptypes:
            self._add_param_types(space, ptypes)

    def _add_param_types(self, space: str, ptypes: dict[str, str]) -> None:
        # One statement for all columns (row by row, a wide file took minutes).
        self.con.execute(
            "INSERT INTO param_types (space, name, type) "
            "SELECT ?, unnest(?::VARCHAR[]), unnest(?::VARCHAR[]) ON CONFLICT DO NOTHING",
            [space, [col[len("param.") :] for col in ptypes], list(ptypes.values())],
        )

    def _seen(self, checksum: str) -> bool:
        row = self.con.execute("SELECT count(*) FROM batches WHERE checksum = ?", [checksum])
        return int(row.fetchall()[0][0]) > 0

    def _write(
        self,
        source: str,
        fmt: str,
        checksum: str | None,
        space: str,
        ptypes: dict[str, str],
        counts: CheckCounts,
        bad_lines: BadLines,
    ) -> int:
        """Write ``_new``, its tasks, parameter types and rejected rows as one new batch."""
        n_acc, n_dup, n_rej, _ = counts
        con = self.con
        batch = self.add_batch(
            source=source, format=fmt, kind="runs", checksum=checksum,
            accepted=n_acc, duplicates=n_dup, rejected=n_rej,
        )  # fmt: skip
        self._add_tasks_from("_new", fmt)
        con.execute(
            "INSERT INTO runs (run_key, task, space, params, metrics, fidelity, status, "
            "duration_s, source, batch_id, error) SELECT run_key, task, ?, params, metrics, "
            "fidelity, status, duration_s, ?, ?, error FROM _new",
            [space, fmt, batch],
        )
        if ptypes and n_acc:
            self._add_param_types(space, ptypes)
        if n_rej > len(bad_lines):
            con.execute(
                "INSERT INTO rejected (batch_id, line, raw, reason) "
                "SELECT ?, c._line, to_json(s)::VARCHAR, c.reason FROM _checked c "
                "JOIN _src s ON s._line = c._line WHERE c.reason <> ''",
                [batch],
            )
        self._quarantine(batch, bad_lines)
        return batch

    def _write_curves(self, curves: pa.Table) -> int:
        con = self.con
        con.register("_curves", curves)
        try:
            con.execute(
                "INSERT INTO curves (run_key, name, step, value) "
                "SELECT n.run_key, c.name, CAST(c.step AS DOUBLE), CAST(c.value AS DOUBLE) "
                "FROM _curves c JOIN _new n ON n.run_id = CAST(c.run_id AS VARCHAR)"
            )
            row = con.execute(
                "SELECT count(*) FROM _curves c JOIN _new n ON n.run_id = CAST(c.run_id AS VARCHAR)"
            ).fetchall()[0]
            return int(row[0]) if row else 0
        finally:
            con.unregister("_curves")

    def record_run(
        self,
        *,
        run_key: str,
        task: str,
        space: str,
        params: Mapping[str, Any],
        metrics: Mapping[str, float],
        fidelity: float | None,
        status: str,
        duration_s: float | None,
        source: str,
        batch: int,
        query_id: int | None = None,
        error: str | None = None,
        curve: Sequence[tuple[str, float, float | None]] = (),
    ) -> None:
        """Store one finished run and its ``(name, step, value)`` curve in one transaction.

        A rerun with the same key replaces the old one; the batch counts one more run.
        """
        points = [(run_key, name, step, value) for name, step, value in curve]
        with self.transaction() as con:
            con.execute("DELETE FROM curves WHERE run_key = ?", [run_key])
            con.execute("DELETE FROM runs WHERE run_key = ?", [run_key])
            con.execute(
                "INSERT INTO runs (run_key, task, space, params, metrics, fidelity, status, "
                "duration_s, source, batch_id, query_id, error) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    run_key, task, space, json.dumps(dict(params), sort_keys=True),
                    json.dumps(dict(metrics), sort_keys=True), fidelity, status, duration_s,
                    source, batch, query_id, error,
                ],
            )  # fmt: skip
            if points:
                con.executemany(
                    "INSERT INTO curves (run_key, name, step, value) VALUES (?, ?, ?, ?)", points
                )
            con.execute(
                "UPDATE batches SET n_accepted = n_accepted + 1 WHERE batch_id = ?", [batch]
            )

    def log_query(
        self,
        *,
        space: str,
        task: str | None,
        model_id: int,
        metafeatures: Mapping[str, Any],
        top_k: int,
        results: Sequence[Mapping[str, Any]],
    ) -> int:
        """Record one recommendation query (non-finite meta-features as null); return its id."""
        mf = {k: _finite_or_none(v) for k, v in metafeatures.items()}
        row = self.con.execute(
            "INSERT INTO queries (query_id, space, task, model_id, metafeatures, request, "
            "results) VALUES (nextval('query_id_seq'), ?, ?, ?, ?, ?, ?) RETURNING query_id",
            [
                space, task, model_id, json.dumps(mf), json.dumps({"top_k": top_k}),
                json.dumps([dict(r) for r in results], default=_jsonable),
            ],
        ).fetchone()  # fmt: skip
        assert row is not None  # RETURNING gives the row it inserted
        return int(row[0])


def _refuse(source: str, counts: CheckCounts) -> None:
    """``--strict`` found bad rows."""
    first = counts[3][0][0] if counts[3] else "malformed line"
    raise IngestError(
        f"{source}: {counts[2]} bad row(s), first: {first}; "
        f"{said('--strict', 'strict=True')} refused the whole file, nothing was stored"
    )


def _require_columns(source: str, cols: list[str], metrics: list[str]) -> None:
    if "task" not in cols:
        raise IngestError(
            f"{source}: expected a 'task' column, got columns {_list(cols)}; "
            f"name it with {option('task_column')}, set one with {option('task')}, or use "
            f"{option('mapping')}"
        )
    if not metrics:
        raise IngestError(
            f"{source}: expected at least one 'metric.<name>' column, got columns {_list(cols)}; "
            f"rename them or map them with {option('mapping')}"
        )


def _list(cols: Sequence[Any]) -> str:
    shown = [str(c) for c in cols if c != "_line"]
    more = f", ... ({len(shown)} in all)" if len(shown) > 12 else ""
    return "[" + ", ".join(shown[:12]) + more + "]"


def _finite_or_none(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    return str(value)
