"""Ingest a table of task meta-features: one row per task, one numeric column per feature."""

from __future__ import annotations

from recommender.errors import IngestError
from recommender.ingest.tables import RawTable
from recommender.store.duckdb import DuckDBStore, _quote_ident
from recommender.types import IngestReport


def ingest_metafeature_table(
    store: DuckDBStore,
    raw: RawTable,
    *,
    source: str,
    fmt: str,
    checksum: str | None,
    task_column: str | None = None,
    strict: bool = False,
    dry_run: bool = False,
) -> IngestReport:
    """Store each row's numeric columns as meta-features of its task.

    Columns that are not numeric for most rows (a dataset's name, say) are ignored;
    a non-numeric value in a numeric column rejects its row. Empty cells are kept as
    missing values.
    """
    table = raw.table
    tcol = task_column or "task"
    cols = [c for c in table.column_names if c != "_line"]
    if tcol not in cols:
        raise IngestError(
            f"{source}: expected a task column {tcol!r}, got columns {', '.join(cols[:12])}; "
            "name it with --task-column"
        )
    con = store.con
    con.register("_mf", table)
    try:
        features = _numeric_columns(store, table, [c for c in cols if c != tcol])
        if not features:
            raise IngestError(f"{source}: no numeric meta-feature columns besides {tcol!r}")
        q = _quote_ident(tcol)
        reasons = [
            f"CASE WHEN {q} IS NULL OR trim(CAST({q} AS VARCHAR)) = '' THEN 'missing task' END"
        ]
        for c in features:
            qc = _quote_ident(c)
            d = f"TRY_CAST({qc} AS DOUBLE)"
            reasons.append(
                f"CASE WHEN {qc} IS NOT NULL AND {d} IS NULL THEN "
                f"'meta-feature \"' || {_lit(c)} || '\": expected a number, got \"' || "
                f"CAST({qc} AS VARCHAR) || '\"' END"
            )
        entries = ", ".join(
            f"({_lit(c)}, CASE WHEN isfinite(TRY_CAST({_quote_ident(c)} AS DOUBLE)) "
            f"THEN TRY_CAST({_quote_ident(c)} AS DOUBLE) END)"
            for c in features
        )
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
        n_rej, n_changed, n_tasks = int(row[0]) + len(raw.bad_lines), int(row[1]), int(row[2])
        reasons_out = [
            (str(r), int(n))
            for r, n in con.execute(
                "SELECT reason, count(*) FROM _mfc WHERE reason <> '' GROUP BY reason "
                "ORDER BY count(*) DESC LIMIT 20"
            ).fetchall()
        ]
        if strict and n_rej:
            raise IngestError(
                f"{source}: {n_rej} bad row(s), first: "
                f"{reasons_out[0][0] if reasons_out else 'malformed line'}; --strict refused "
                "the whole file, nothing was stored"
            )
        batch = None
        if not dry_run and (n_changed or n_rej):
            with store.transaction():
                r = con.execute("SELECT nextval('batch_id_seq')").fetchall()[0]
                batch = int(r[0]) if r else None
                con.execute(
                    "INSERT INTO batches (batch_id, source, format, kind, checksum, n_accepted, "
                    "n_duplicates, n_rejected) VALUES (?, ?, ?, 'metafeatures', ?, ?, ?, ?)",
                    [batch, source, fmt, checksum, n_changed, n_tasks - n_changed, n_rej],
                )
                con.execute(
                    "INSERT INTO tasks (task, source) SELECT DISTINCT task, 'metafeatures' "
                    "FROM _mfl ON CONFLICT (task) DO NOTHING"
                )
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
                if raw.bad_lines:
                    con.executemany(
                        "INSERT INTO rejected (batch_id, line, raw, reason) VALUES (?, ?, ?, ?)",
                        [(batch, ln, text, why) for ln, text, why in raw.bad_lines],
                    )
        return IngestReport(
            source=source, format=fmt, accepted=n_changed, duplicates=n_tasks - n_changed,
            rejected=n_rej, batch=batch, tasks=n_tasks, reasons=tuple(reasons_out),
            dry_run=dry_run,
        )  # fmt: skip
    finally:
        con.unregister("_mf")
        con.execute("DROP TABLE IF EXISTS _mfc")
        con.execute("DROP TABLE IF EXISTS _mfl")


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _numeric_columns(store: DuckDBStore, table: object, cols: list[str]) -> list[str]:
    import pyarrow as pa

    assert isinstance(table, pa.Table)
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
            f"count({_quote_ident(c)}), count(TRY_CAST({_quote_ident(c)} AS DOUBLE))"
            for c in stringy
        )
        row = store.con.execute(f"SELECT {exprs} FROM _mf").fetchall()[0] or ()
        for i, c in enumerate(stringy):
            n, n_num = row[2 * i], row[2 * i + 1]
            if n and 2 * n_num > n:
                out.append(c)
    return out
