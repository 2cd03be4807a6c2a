"""Row checks of canonical run tables, each one vectorised SQL expression.

A canonical table has the columns ``task``, ``param.<name>``, ``metric.<name>`` and
optionally ``run_id``, ``fidelity``, ``status``, ``duration_s``, ``error``, plus
``_line`` (the row's line in its file). It is registered as ``_src``; :func:`check`
builds ``_checked`` (every row with its reasons, empty when good) and ``_new`` (the
good rows not stored yet, one per run key).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pyarrow as pa

from recommender.store.core import BadLines, quote_ident, sql_str

if TYPE_CHECKING:
    import duckdb

STATUSES = {
    "ok": ("ok", "success", "succeeded", "finished", "complete", "completed", "done"),
    "failed": ("failed", "fail", "error", "errored", "crashed", "diverged"),
    "pruned": ("pruned", "stopped", "early_stopped"),
    "running": ("running", "scheduled", "waiting"),
    "killed": ("killed", "cancelled", "canceled"),
}

# (accepted, duplicates, rejected, [(reason, count), ...])
CheckCounts = tuple[int, int, int, list[tuple[str, int]]]


def auto_space_name(params: Sequence[str]) -> str:
    """Space name for runs ingested without ``--space``: derived from the parameter names."""
    digest = hashlib.md5("\x1f".join(sorted(params)).encode()).hexdigest()[:8]
    return f"auto-{digest}"


def infer_param_types(
    con: duckdb.DuckDBPyConnection, table: pa.Table, columns: list[str], space: str
) -> dict[str, str]:
    """``{column: int|float|bool|categorical}``: the space's registered types, else inferred."""
    registered = dict(
        con.execute("SELECT name, type FROM param_types WHERE space = ?", [space]).fetchall()
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
        types.update(_infer_text_types(con, stringy))
    return types


def _infer_text_types(con: duckdb.DuckDBPyConnection, stringy: list[str]) -> dict[str, str]:
    exprs = []
    for col in stringy:
        q = quote_ident(col)
        d = f"TRY_CAST({q} AS DOUBLE)"
        exprs += [
            f"count({q})",
            f"count({d})",
            f"count(CASE WHEN {d} = round({d}) THEN 1 END)",
            f"count(CASE WHEN lower(CAST({q} AS VARCHAR)) IN ('true', 'false') THEN 1 END)",
        ]
    row = con.execute(f"SELECT {', '.join(exprs)} FROM _src").fetchall()[0] or ()
    types = {}
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
    q = quote_ident(col)
    name = col[len("param.") :]
    raw = f"CAST({q} AS VARCHAR)"
    d = f"TRY_CAST({q} AS DOUBLE)"
    bad = f"{sql_str(f'param {_json_name(name)}: expected {kind}, got ')} || '\"' || {raw} || '\"'"
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
    q = quote_ident(col)
    name = col[len("metric.") :]
    raw = f"CAST({q} AS VARCHAR)"
    d = f"TRY_CAST({q} AS DOUBLE)"
    prefix = f"metric {_json_name(name)}: expected a"
    reason = (
        f"CASE WHEN {q} IS NULL THEN NULL "
        f"WHEN {d} IS NULL THEN {sql_str(prefix + ' number, got ')} || '\"' || {raw} || '\"' "
        f"WHEN NOT isfinite({d}) THEN {sql_str(prefix + ' finite number, got ')} || {raw} END"
    )
    return d, reason


def _status_expr(has_status: bool) -> tuple[str, str]:
    if not has_status:
        return "'ok'", "NULL"
    low = "lower(trim(CAST(status AS VARCHAR)))"
    cases = " ".join(
        f"WHEN {low} IN ({', '.join(sql_str(s) for s in names)}) THEN {sql_str(canon)}"
        for canon, names in STATUSES.items()
    )
    norm = f"CASE WHEN status IS NULL OR {low} = '' THEN 'ok' {cases} END"
    reason = (
        f"CASE WHEN ({norm}) IS NULL THEN 'unknown status \"' || CAST(status AS VARCHAR) || "
        f"'\"; expected one of {', '.join(STATUSES)}' END"
    )
    return norm, reason


def _number_check(col: str, label: str, nonneg: bool = False) -> tuple[str, str]:
    q = quote_ident(col)
    d = f"TRY_CAST({q} AS DOUBLE)"
    cond = f"{d} IS NULL OR NOT isfinite({d})" + (f" OR {d} < 0" if nonneg else "")
    what = "a non-negative number" if nonneg else "a number"
    return d, (
        f"CASE WHEN {q} IS NOT NULL AND ({cond}) THEN "
        f"{sql_str(f'{label}: expected {what}, got ')} || '\"' || CAST({q} AS VARCHAR) || '\"' END"
    )


def _checked_sql(
    cols: list[str], params: list[str], metrics: list[str], ptypes: dict[str, str]
) -> str:
    """The SELECT over ``_src`` that types every row and lists its reasons."""
    reasons = ["CASE WHEN task IS NULL OR trim(CAST(task AS VARCHAR)) = '' THEN 'missing task' END"]
    p_json = []
    for col in params:
        value, reason = _param_exprs(col, ptypes[col])
        p_json += [sql_str(col[len("param.") :]), value]
        reasons.append(reason)
    m_json, m_any = [], []
    for col in metrics:
        value, reason = _metric_exprs(col)
        m_json += [sql_str(col[len("metric.") :]), value]
        m_any.append(f"{quote_ident(col)} IS NOT NULL")
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
    return f"""
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


def check(
    con: duckdb.DuckDBPyConnection,
    table: pa.Table,
    params: list[str],
    metrics: list[str],
    ptypes: dict[str, str],
    bad_lines: BadLines,
) -> CheckCounts:
    """Build ``_checked`` and ``_new`` from ``_src``; count accepted, duplicate, rejected rows."""
    sql = _checked_sql(table.column_names, params, metrics, ptypes)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _checked AS {sql}")
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
