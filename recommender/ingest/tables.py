"""Read CSV/TSV, JSON Lines and Parquet files into Arrow, keeping malformed lines.

Each reader returns the table plus the lines it could not parse (line number and
raw text), so that nothing is dropped silently. A file that cannot be read as a whole
(not text in its encoding, duplicate column names, a column type with no meaning
here) is refused with one line and nothing of it is stored.

Text files may be gzip-compressed (``runs.csv.gz``, or gzip bytes under ``.csv``) and
in any encoding: a byte-order mark names UTF-8, UTF-16 or UTF-32, ``encoding`` names
any other; without either the file must be UTF-8.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from recommender.errors import IngestError
from recommender.ingest.text import plain_text

TABLE_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}


@dataclass
class RawTable:
    """A file read into Arrow.

    ``table`` has a ``_line`` column; ``bad_lines`` are (line, text, reason) of the lines
    that could not be parsed.
    """

    table: pa.Table
    bad_lines: list[tuple[int | None, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def table_format(path: str | Path) -> str | None:
    """The table format named by ``path``'s suffix (``.csv.gz`` is csv), or None."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return TABLE_FORMATS.get(suffixes[-1]) if suffixes else None


def read_table(path: Path, fmt: str, *, encoding: str | None = None) -> RawTable:
    """Read ``path`` as ``fmt`` (csv, tsv, jsonl, parquet).

    Args:
        path: the file; text formats may be gzip-compressed.
        fmt: csv, tsv, jsonl or parquet.
        encoding: the text's encoding (default: from its byte-order mark, else UTF-8).

    Raises:
        IngestError: the file cannot be read as a whole; nothing of it may be stored.
    """
    from recommender.ingest.arrow_types import normalize_types

    if fmt == "parquet":
        raw = _read_parquet(path)
    elif fmt in ("csv", "tsv", "jsonl"):
        with plain_text(path, encoding, what=fmt.upper().replace("JSONL", "JSON Lines")) as text:
            raw = _read_jsonl(text, path) if fmt == "jsonl" else _read_csv(text, path, fmt == "tsv")
    else:
        raise IngestError(f"unknown table format {fmt!r}; expected csv, tsv, jsonl or parquet")
    _refuse_duplicates(path, raw.table.column_names)
    raw.table, raw.notes = normalize_types(raw.table, source=str(path))
    return raw


def _refuse_duplicates(path: Path, names: list[str]) -> None:
    seen: set[str] = set()
    dups: list[str] = []
    for name in names:
        if name in seen and name not in dups:
            dups.append(name)
        seen.add(name)
    if "_line" in dups:
        raise IngestError(
            f"{path}: expected no column named '_line' (reserved for line numbers), got one; "
            "rename it; nothing from this file was stored"
        )
    if dups:
        shown = ", ".join(repr(d) for d in dups[:5]) + (" ..." if len(dups) > 5 else "")
        raise IngestError(
            f"{path}: expected unique column names, got {shown} more than once; rename the "
            "duplicates; nothing from this file was stored"
        )


def _with_line(table: pa.Table, first_line: int) -> pa.Table:
    import pyarrow.compute as pc

    n = table.num_rows
    lines = (
        pc.add(pa.array(range(n), type=pa.int64()), first_line) if n else pa.array([], pa.int64())
    )
    return table.append_column("_line", lines)


def _read_csv(text: Path, path: Path, tsv: bool) -> RawTable:
    """Parse the UTF-8 file ``text`` (the plain form of ``path``)."""
    import pyarrow.csv as pacsv

    delimiter = "\t" if tsv else ","

    bad: list[tuple[int | None, str, str]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad.append(
            (
                row.number,
                row.text,
                f"malformed line: expected {row.expected_columns} fields, got {row.actual_columns}",
            )
        )
        return "skip"

    try:
        table = pacsv.read_csv(
            text,
            read_options=pacsv.ReadOptions(block_size=1 << 24),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, invalid_row_handler=on_invalid, newlines_in_values=False
            ),
            convert_options=pacsv.ConvertOptions(
                strings_can_be_null=True,
                null_values=["", "NA", "N/A", "null", "NULL", "None"],
                # Keep NaN/inf text as text: the checks report them by name.
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowException, UnicodeDecodeError) as err:
        raise IngestError(
            f"{path}: cannot parse as {'TSV' if tsv else 'CSV'} "
            f"({_first_line(err)}); nothing from this file was stored"
        ) from err
    # Data rows start on line 2 (line 1 is the header); exact unless values span lines.
    return RawTable(_with_line(table, 2), bad)


def _read_jsonl(text: Path, path: Path) -> RawTable:
    """Parse the UTF-8 file ``text`` (the plain form of ``path``)."""
    import duckdb

    con = duckdb.connect()
    try:
        try:
            # One VARCHAR per line; JSON is parsed in SQL so bad lines can be kept.
            con.execute(
                "CREATE TEMP TABLE lines AS SELECT row_number() OVER () AS _line, line "
                "FROM read_csv(?, columns = {'line': 'VARCHAR'}, header = false, "
                "delim = chr(30), quote = '', escape = '', auto_detect = false, "
                "strict_mode = false)",
                [str(text)],
            )
        except duckdb.Error as err:
            raise IngestError(
                f"{path}: cannot read as JSON Lines ({_first_line(err)}); "
                "nothing from this file was stored"
            ) from err
        con.execute("DELETE FROM lines WHERE line IS NULL OR trim(line, ' '||chr(9)||chr(13)) = ''")
        bad_rows = con.execute(
            "SELECT _line, line FROM lines WHERE NOT coalesce(json_valid(line), false) "
            "OR json_type(line) <> 'OBJECT' ORDER BY _line"
        ).fetchall()
        bad: list[tuple[int | None, str, str]] = [
            (int(n), text, "malformed line: expected one JSON object") for n, text in bad_rows
        ]
        con.execute(
            "DELETE FROM lines WHERE NOT coalesce(json_valid(line), false) "
            "OR json_type(line) <> 'OBJECT'"
        )
        keys = [
            r[0]
            for r in con.execute(
                "SELECT k FROM (SELECT unnest(json_keys(line)) AS k, min(_line) AS first "
                "FROM lines GROUP BY k) ORDER BY first, k"
            ).fetchall()
        ]
        if not keys:
            return RawTable(pa.table({"_line": pa.array([], pa.int64())}), bad)
        if "_line" in keys:
            _refuse_duplicates(path, ["_line", "_line"])
        cols = ", ".join(
            f"CASE WHEN json_type(line, ${i + 1}) IN ('OBJECT', 'ARRAY') "
            f"THEN json_extract(line, ${i + 1})::VARCHAR "
            f"ELSE json_extract_string(line, ${i + 1}) END AS c{i}"
            for i in range(len(keys))
        )
        # JSON pointers name every key, the empty one and those with quotes included.
        args = ["/" + k.replace("~", "~0").replace("/", "~1") for k in keys]
        table = con.sql(
            f"SELECT _line, {cols} FROM lines ORDER BY _line", params=args
        ).to_arrow_table()
        table = table.rename_columns(["_line", *keys])
        line = table.column("_line")
        return RawTable(table.drop_columns(["_line"]).append_column("_line", line), bad)
    finally:
        con.close()


def _read_parquet(path: Path) -> RawTable:
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(path).read()
    except (pa.ArrowException, OSError, UnicodeDecodeError) as err:
        raise IngestError(
            f"{path}: cannot read as Parquet ({_first_line(err)}); "
            "nothing from this file was stored"
        ) from err
    return RawTable(_with_line(table, 1), [])


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
