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

_INT64_BOUND = 2.0**63  # the first double an int64 cannot hold
# Parameter columns checked per statement. DuckDB binds one huge expression in time that
# grows faster than its size, so files with more columns are checked in chunks.
CHUNK = 200

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
    types: dict[str, str] = {}
    for start in range(0, len(stringy), CHUNK):  # bounded statements: wide files stay linear
        types.update(_infer_text_chunk(con, stringy[start : start + CHUNK]))
    return types


def _infer_text_chunk(con: duckdb.DuckDBPyConnection, stringy: list[str]) -> dict[str, str]:
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
        # Beyond int64 (2^63 as a double, uint64's top half) the row is quarantined,
        # never cast: a cast would fail the whole statement.
        fits = f"({d} >= {-_INT64_BOUND!r} AND {d} < {_INT64_BOUND!r})"
        big = (
            f"{sql_str(f'param {_json_name(name)}: expected an int64 integer, got ')} || "
            f"{raw} || ' (beyond ±2^63); store it as a float or a string'"
        )
        return (
            f"TRY_CAST(round({d}) AS BIGINT)",
            f"CASE WHEN {q} IS NOT NULL AND NOT {ok} THEN {bad} "
            f"WHEN {q} IS NOT NULL AND NOT {fits} THEN {big} END",
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


def _params_parts(params: list[str], ptypes: dict[str, str]) -> tuple[list[str], list[str]]:
    """``json_object`` arguments and reason expressions of some parameter columns."""
    p_json, reasons = [], []
    for col in params:
        value, reason = _param_exprs(col, ptypes[col])
        p_json += [sql_str(col[len("param.") :]), value]
        reasons.append(reason)
    return p_json, reasons


def _check_params_in_chunks(
    con: duckdb.DuckDBPyConnection, table: pa.Table, params: list[str], ptypes: dict[str, str]
) -> None:
    """Build ``_pre``: per row, the parameters' reasons and JSON members, CHUNK at a time.

    ``_pinner`` is the text of the one ``json_object`` over all parameters without its
    braces (members of each chunk joined by commas), so the stored JSON, and the run
    keys made from it, are the same as a single statement's.
    """
    # Each statement sees only the columns it checks: binding a scan of every column
    # costs time in proportion to them all.
    index = {name: i for i, name in enumerate(table.column_names)}
    rows = pa.array(range(table.num_rows), pa.int64())
    others = [i for name, i in index.items() if not name.startswith("param.")]
    con.register("_srow", table.select(others).append_column("_row", rows))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _pre AS "
        "SELECT _row, NULL::VARCHAR AS _preason, '' AS _pinner FROM _srow"
    )
    for start in range(0, len(params), CHUNK):
        chunk = params[start : start + CHUNK]
        con.register("_sc", table.select([index[c] for c in chunk]).append_column("_row", rows))
        p_json, reasons = _params_parts(chunk, ptypes)
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _pre AS
            SELECT _row,
                   NULLIF(concat_ws('; ', _preason, NULLIF(_r, '')), '') AS _preason,
                   _pinner || CASE WHEN _pinner = '' THEN '' ELSE ',' END
                       || substr(_m, 2, length(_m) - 2) AS _pinner
            FROM (
                SELECT _row, _preason, _pinner, concat_ws('; ', {", ".join(reasons)}) AS _r,
                       CAST(json_object({", ".join(p_json)}) AS VARCHAR) AS _m
                FROM _sc JOIN _pre USING (_row)
            )
            """
        )
    con.unregister("_sc")


def _checked_sql(
    cols: list[str],
    params: list[str],
    metrics: list[str],
    ptypes: dict[str, str],
    chunked: bool = False,
) -> str:
    """The SELECT over ``_src`` that types every row and lists its reasons.

    ``chunked``: the parameters' part comes from ``_pre`` (see
    :func:`_check_params_in_chunks`) instead of this statement.
    """
    reasons = ["CASE WHEN task IS NULL OR trim(CAST(task AS VARCHAR)) = '' THEN 'missing task' END"]
    source = "_src"
    if chunked:  # built by _check_params_in_chunks
        reasons.append("_pre._preason")
        params_json = "CAST('{' || _pre._pinner || '}' AS JSON)"
        source = "_srow JOIN _pre USING (_row)"
    else:
        p_json, p_reasons = _params_parts(params, ptypes)
        reasons += p_reasons
        params_json = f"json_object({', '.join(p_json)})" if p_json else "'{}'::JSON"
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
        FROM {source}
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
    chunked = len(params) > CHUNK
    if chunked:
        _check_params_in_chunks(con, table, params, ptypes)
    sql = _checked_sql(table.column_names, params, metrics, ptypes, chunked=chunked)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _checked AS {sql}")
    finally:
        if chunked:
            con.execute("DROP TABLE IF EXISTS _pre")
            con.unregister("_srow")
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
