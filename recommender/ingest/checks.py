"""Check canonical run tables in SQL and write the good rows, all or nothing.

A canonical table has the columns ``task``, ``param.<name>``, ``metric.<name>`` and
optionally ``run_id``, ``fidelity``, ``status``, ``duration_s``, plus ``_line`` (the
row's line in its file). Every check is one vectorised SQL expression; a row that
fails any check goes to ``rejected`` with all its reasons.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

from recommender.errors import IngestError
from recommender.store.duckdb import DuckDBStore, _quote_ident
from recommender.types import IngestReport

STATUSES = {
    "ok": ("ok", "success", "succeeded", "finished", "complete", "completed", "done"),
    "failed": ("failed", "fail", "error", "errored", "crashed", "diverged"),
    "pruned": ("pruned", "stopped", "early_stopped"),
    "running": ("running", "scheduled", "waiting"),
    "killed": ("killed", "cancelled", "canceled"),
}
Progress = Callable[[str], None]


def auto_space_name(params: Sequence[str]) -> str:
    """Space name for runs ingested without ``--space``: derived from the parameter names."""
    digest = hashlib.md5("\x1f".join(sorted(params)).encode()).hexdigest()[:8]
    return f"auto-{digest}"


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _infer_param_types(
    store: DuckDBStore, table: pa.Table, columns: list[str], space: str
) -> dict[str, str]:
    registered = dict(
        store.con.execute("SELECT name, type FROM param_types WHERE space = ?", [space]).fetchall()
    )
    types: dict[str, str] = {}
    stringy = []
    for col in columns:
        name = col[len("param.") :]
        arrow_type = table.schema.field(col).type
        if name in registered:
            types[col] = registered[name]
        elif pa.types.is_integer(arrow_type):
            types[col] = "int"
        elif pa.types.is_floating(arrow_type):
            types[col] = "float"
        elif pa.types.is_boolean(arrow_type):
            types[col] = "bool"
        elif pa.types.is_null(arrow_type):
            types[col] = "float"
        else:
            stringy.append(col)
    if stringy:
        exprs = []
        for col in stringy:
            q = _quote_ident(col)
            d = f"TRY_CAST({q} AS DOUBLE)"
            exprs += [
                f"count({q})",
                f"count({d})",
                f"count(CASE WHEN {d} = round({d}) THEN 1 END)",
                f"count(CASE WHEN lower(CAST({q} AS VARCHAR)) IN ('true', 'false') THEN 1 END)",
            ]
        row = store.con.execute(f"SELECT {', '.join(exprs)} FROM _src").fetchall()[0] or ()
        for i, col in enumerate(stringy):
            n, n_num, n_int, n_bool = row[4 * i : 4 * i + 4]
            if n and n_bool == n:
                types[col] = "bool"
            elif n and 2 * n_num > n:  # the majority is numeric: the rest contradicts it
                types[col] = "int" if n_int == n_num else "float"
            else:
                types[col] = "categorical"
    return types


def _param_exprs(col: str, kind: str) -> tuple[str, str]:
    """(typed value expression, reason expression or NULL) for one parameter column."""
    q = _quote_ident(col)
    name = col[len("param.") :]
    raw = f"CAST({q} AS VARCHAR)"
    d = f"TRY_CAST({q} AS DOUBLE)"
    bad = f"{_sql_str(f'param {_json_name(name)}: expected {kind}, got ')} || '\"' || {raw} || '\"'"
    if kind == "int":
        ok = f"({d} IS NOT NULL AND isfinite({d}) AND {d} = round({d}))"
        return (
            f"CAST(round({d}) AS BIGINT)",
            f"CASE WHEN {q} IS NOT NULL AND NOT {ok} THEN {bad} END",
        )
    if kind == "float":
        ok = f"({d} IS NOT NULL AND isfinite({d}))"
        return d, f"CASE WHEN {q} IS NOT NULL AND NOT {ok} THEN {bad} END"
    if kind == "bool":
        low = f"lower({raw})"
        return (
            f"({low} IN ('true', '1', '1.0'))",
            f"CASE WHEN {q} IS NOT NULL AND {low} NOT IN ('true', 'false', '1', '0', '1.0', '0.0') "
            f"THEN {bad} END",
        )
    return raw, "NULL"


def _json_name(name: str) -> str:
    return '"' + name + '"'


def _metric_exprs(col: str) -> tuple[str, str]:
    q = _quote_ident(col)
    name = col[len("metric.") :]
    raw = f"CAST({q} AS VARCHAR)"
    d = f"TRY_CAST({q} AS DOUBLE)"
    prefix = f"metric {_json_name(name)}: expected a"
    reason = (
        f"CASE WHEN {q} IS NULL THEN NULL "
        f"WHEN {d} IS NULL THEN {_sql_str(prefix + ' number, got ')} || '\"' || {raw} || '\"' "
        f"WHEN NOT isfinite({d}) THEN {_sql_str(prefix + ' finite number, got ')} || {raw} END"
    )
    return d, reason


def _status_expr(has_status: bool) -> tuple[str, str]:
    if not has_status:
        return "'ok'", "NULL"
    low = "lower(trim(CAST(status AS VARCHAR)))"
    cases = " ".join(
        f"WHEN {low} IN ({', '.join(_sql_str(s) for s in names)}) THEN {_sql_str(canon)}"
        for canon, names in STATUSES.items()
    )
    norm = f"CASE WHEN status IS NULL OR {low} = '' THEN 'ok' {cases} END"
    reason = (
        f"CASE WHEN ({norm}) IS NULL THEN 'unknown status \"' || CAST(status AS VARCHAR) || "
        f"'\"; expected one of {', '.join(STATUSES)}' END"
    )
    return norm, reason


def _number_check(col: str, label: str, nonneg: bool = False) -> tuple[str, str]:
    q = _quote_ident(col)
    d = f"TRY_CAST({q} AS DOUBLE)"
    cond = f"{d} IS NULL OR NOT isfinite({d})" + (f" OR {d} < 0" if nonneg else "")
    what = "a non-negative number" if nonneg else "a number"
    return d, (
        f"CASE WHEN {q} IS NOT NULL AND ({cond}) THEN "
        f"{_sql_str(f'{label}: expected {what}, got ')} || '\"' || CAST({q} AS VARCHAR) || '\"' END"
    )


def check_and_write(
    store: DuckDBStore,
    table: pa.Table,
    *,
    source: str,
    fmt: str,
    checksum: str | None,
    space: str | None = None,
    bad_lines: Sequence[tuple[int | None, str, str]] = (),
    curves: pa.Table | None = None,
    strict: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Check ``table`` and store its good rows, its rejected rows and its curves atomically.

    Args:
        store: the store to write into.
        table: a canonical run table (see the module docstring).
        source: where the rows came from (shown to people, kept in ``batches``).
        fmt: the source format (csv, parquet, mlflow, ...).
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
    note = progress or (lambda _stage: None)
    cols = table.column_names
    params = [c for c in cols if c.startswith("param.")]
    metrics = [c for c in cols if c.startswith("metric.")]
    if "task" not in cols:
        raise IngestError(
            f"{source}: expected a 'task' column, got columns {_list(cols)}; "
            "name it with --task-column, set one with --task, or use --mapping"
        )
    if not metrics:
        raise IngestError(
            f"{source}: expected at least one 'metric.<name>' column, got columns {_list(cols)}; "
            "rename them or map them with --mapping"
        )
    space_name = space or auto_space_name([p[len("param.") :] for p in params])
    con = store.con
    con.register("_src", table)
    try:
        note("checking")
        ptypes = _infer_param_types(store, table, params, space_name)
        report = _check(store, table, params, metrics, ptypes, space_name, bad_lines)
        n_acc, n_dup, n_rej, reasons = report
        if strict and n_rej:
            first = reasons[0][0] if reasons else "malformed line"
            raise IngestError(
                f"{source}: {n_rej} bad row(s), first: {first}; --strict refused the whole "
                "file, nothing was stored"
            )
        batch: int | None = None
        n_tasks = int(
            (con.execute("SELECT count(DISTINCT task) FROM _new").fetchall()[0] or (0,))[0]
        )
        n_curve = 0
        if n_acc == 0 and checksum and _seen(store, checksum):
            # The same bytes again: its rejected rows are already in the quarantine.
            dry_run_write = True
        else:
            dry_run_write = dry_run
        if not dry_run_write and (n_acc or n_rej):
            note("writing")
            with store.transaction():
                batch = _write(store, source, fmt, checksum, space_name, ptypes, report, bad_lines)
                if curves is not None and curves.num_rows and n_acc:
                    n_curve = _write_curves(store, curves)
        return IngestReport(
            source=source,
            format=fmt,
            accepted=n_acc,
            duplicates=n_dup,
            rejected=n_rej,
            batch=batch,
            tasks=n_tasks,
            curve_points=n_curve,
            reasons=tuple(reasons),
            dry_run=dry_run,
        )
    finally:
        con.unregister("_src")
        for t in ("_checked", "_new"):
            con.execute(f"DROP TABLE IF EXISTS {t}")


def _check(
    store: DuckDBStore,
    table: pa.Table,
    params: list[str],
    metrics: list[str],
    ptypes: dict[str, str],
    space: str,
    bad_lines: Sequence[tuple[int | None, str, str]],
) -> tuple[int, int, int, list[tuple[str, int]]]:
    cols = table.column_names
    reasons = ["CASE WHEN task IS NULL OR trim(CAST(task AS VARCHAR)) = '' THEN 'missing task' END"]
    p_json = []
    for col in params:
        value, reason = _param_exprs(col, ptypes[col])
        p_json += [_sql_str(col[len("param.") :]), value]
        reasons.append(reason)
    m_json, m_any = [], []
    for col in metrics:
        value, reason = _metric_exprs(col)
        m_json += [_sql_str(col[len("metric.") :]), value]
        m_any.append(f"{_quote_ident(col)} IS NOT NULL")
        reasons.append(reason)
    status, status_reason = _status_expr("status" in cols)
    reasons.append(status_reason)
    reasons.append(
        f"CASE WHEN ({status}) = 'ok' AND NOT ({' OR '.join(m_any)}) "
        "THEN 'status ok but no metric value' END"
    )
    fidelity = "NULL::DOUBLE"
    if "fidelity" in cols:
        fidelity, r = _number_check("fidelity", "fidelity")
        reasons.append(r)
    duration = "NULL::DOUBLE"
    if "duration_s" in cols:
        duration, r = _number_check("duration_s", "duration_s", nonneg=True)
        reasons.append(r)
    error = "CAST(error AS VARCHAR)" if "error" in cols else "NULL::VARCHAR"
    run_id = "CAST(run_id AS VARCHAR)" if "run_id" in cols else "NULL"
    params_json = f"json_object({', '.join(p_json)})" if p_json else "'{}'::JSON"
    # Metrics without a value are left out of the object rather than stored as null.
    # (a JSON merge patch onto {} drops null members).
    metrics_json = (
        "json_merge_patch('{}', json_object("
        + ", ".join(f"{n}, {v}" for n, v in zip(m_json[::2], m_json[1::2], strict=True))
        + "))"
    )
    con = store.con
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _checked AS
        SELECT _line,
               concat_ws('; ', {", ".join(reasons)}) AS reason,
               CAST(task AS VARCHAR) AS task,
               {run_id} AS run_id,
               {params_json} AS params,
               {metrics_json} AS metrics,
               {fidelity} AS fidelity,
               {status} AS status,
               {duration} AS duration_s,
               {error} AS error,
               -- a stable key: the run's id if it has one, else its content
               md5(concat_ws(chr(31), task,
                   coalesce('id:' || run_id,
                            'content:' || CAST(params AS VARCHAR) || CAST(metrics AS VARCHAR)
                            || status),
                   coalesce(CAST(fidelity AS VARCHAR), ''))) AS run_key
        FROM _src
        """
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _new AS SELECT c.* FROM _checked c "
        "ANTI JOIN runs r ON r.run_key = c.run_key WHERE c.reason = ''"
    )
    row = con.execute("SELECT count(*) - count(DISTINCT run_key) FROM _new").fetchall()[0]
    if row[0]:
        # The same run twice in one file: keep its first line (rare, so only then sort).
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _new AS SELECT * FROM _new "
            "QUALIFY row_number() OVER (PARTITION BY run_key ORDER BY _line) = 1"
        )
    row = con.execute(
        "SELECT (SELECT count(*) FROM _checked WHERE reason = ''), (SELECT count(*) FROM _new)"
    ).fetchall()[0] or (0, 0)
    n_good, n_acc = int(row[0]), int(row[1])
    grouped = con.execute(
        "SELECT reason, count(*) AS n, min(_line) AS first FROM _checked WHERE reason <> '' "
        "GROUP BY reason ORDER BY n DESC, first LIMIT 20"
    ).fetchall()
    reasons_out = [(str(r), int(n)) for r, n, _ in grouped]
    if bad_lines:
        counts: dict[str, int] = {}
        for _, _, reason in bad_lines:
            counts[reason] = counts.get(reason, 0) + 1
        reasons_out = sorted([*reasons_out, *counts.items()], key=lambda rn: -rn[1])
    n_rej = table.num_rows - n_good + len(bad_lines)
    return n_acc, n_good - n_acc, n_rej, reasons_out


def _seen(store: DuckDBStore, checksum: str) -> bool:
    row = store.con.execute("SELECT count(*) FROM batches WHERE checksum = ?", [checksum])
    return int(row.fetchall()[0][0]) > 0


def _write(
    store: DuckDBStore,
    source: str,
    fmt: str,
    checksum: str | None,
    space: str,
    ptypes: dict[str, str],
    report: tuple[int, int, int, list[tuple[str, int]]],
    bad_lines: Sequence[tuple[int | None, str, str]],
) -> int:
    n_acc, n_dup, n_rej, _ = report
    con = store.con
    row = con.execute("SELECT nextval('batch_id_seq')").fetchall()[0]
    assert row is not None
    batch = int(row[0])
    con.execute(
        "INSERT INTO batches (batch_id, source, format, kind, checksum, n_accepted, "
        "n_duplicates, n_rejected) VALUES (?, ?, ?, 'runs', ?, ?, ?, ?)",
        [batch, source, fmt, checksum, n_acc, n_dup, n_rej],
    )
    con.execute(
        "INSERT INTO tasks (task, source) SELECT DISTINCT task, ? FROM _new "
        "ON CONFLICT (task) DO NOTHING",
        [fmt],
    )
    con.execute(
        "INSERT INTO runs (run_key, task, space, params, metrics, fidelity, status, duration_s, "
        "source, batch_id, error) SELECT run_key, task, ?, params, metrics, fidelity, status, "
        "duration_s, ?, ?, error FROM _new",
        [space, fmt, batch],
    )
    if ptypes and n_acc:
        con.executemany(
            "INSERT INTO param_types (space, name, type) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [(space, col[len("param.") :], kind) for col, kind in ptypes.items()],
        )
    if n_rej > len(bad_lines):
        con.execute(
            "INSERT INTO rejected (batch_id, line, raw, reason) "
            "SELECT ?, c._line, to_json(s)::VARCHAR, c.reason FROM _checked c "
            "JOIN _src s ON s._line = c._line WHERE c.reason <> ''",
            [batch],
        )
    if bad_lines:
        con.executemany(
            "INSERT INTO rejected (batch_id, line, raw, reason) VALUES (?, ?, ?, ?)",
            [(batch, line, text, reason) for line, text, reason in bad_lines],
        )
    return batch


def _write_curves(store: DuckDBStore, curves: pa.Table) -> int:
    con = store.con
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


def _list(cols: Sequence[Any]) -> str:
    shown = [str(c) for c in cols if c != "_line"]
    more = f", ... ({len(shown)} in all)" if len(shown) > 12 else ""
    return "[" + ", ".join(shown[:12]) + more + "]"
