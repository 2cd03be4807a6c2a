"""Bring every Arrow column to a type the checks understand.

The checks read booleans, integers up to 64 bits, floats and text. Everything else a
Parquet file (or a tracker) can hold is converted here, by rules a person can predict:

- float16 is widened to float32; decimals become float64;
- uint64 stays an integer when every value fits in int64, else it becomes float64
  (a note says so: such integers lose their last digits);
- dictionary columns are decoded; large and view strings become strings;
- dates, times, timestamps, durations and intervals become their ISO text;
- lists, structs, maps and unions become JSON text;
- binary becomes text when it is UTF-8, else the file is refused.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from recommender.errors import IngestError

INT64_MAX = (1 << 63) - 1


def normalize_types(table: pa.Table, *, source: str) -> tuple[pa.Table, list[str]]:
    """``table`` with every column in a supported type, and notes on lossy changes."""
    notes: list[str] = []
    columns = []
    changed = False
    for name, column in zip(table.column_names, table.columns, strict=True):
        new = _normalize(column, name, source, notes)
        changed = changed or new is not column
        columns.append(new)
    if not changed:
        return table, notes
    return pa.table(columns, names=table.column_names), notes


def _normalize(col: pa.ChunkedArray, name: str, source: str, notes: list[str]) -> Any:
    t = col.type
    if isinstance(t, pa.ExtensionType):
        return _normalize(
            pa.chunked_array([c.storage for c in col.chunks], t.storage_type), name, source, notes
        )
    if pa.types.is_dictionary(t):
        return _normalize(col.cast(t.value_type), name, source, notes)
    if (
        pa.types.is_null(t)
        or pa.types.is_boolean(t)
        or pa.types.is_string(t)
        or pa.types.is_float32(t)
        or pa.types.is_float64(t)
        or (pa.types.is_integer(t) and not pa.types.is_uint64(t))
    ):
        return col
    if pa.types.is_uint64(t):
        top = pc.max(col).as_py()
        if top is None or top <= INT64_MAX:
            return col.cast(pa.int64())
        notes.append(
            f"column {name!r}: integers up to {top} do not fit in 64-bit signed integers; "
            "kept as floats (about 16 significant digits)"
        )
        return pc.cast(col, pa.float64(), safe=False)
    if pa.types.is_float16(t):
        return col.cast(pa.float32())
    if pa.types.is_decimal(t):
        return pc.cast(col, pa.float64(), safe=False)
    if pa.types.is_large_string(t) or getattr(pa.types, "is_string_view", lambda _t: False)(t):
        return col.cast(pa.string())
    if pa.types.is_temporal(t) or pa.types.is_interval(t):
        return _as_text(col)
    if _is_binary(t):
        try:
            return col.cast(pa.string())
        except pa.ArrowInvalid as err:
            raise IngestError(
                f"{source}: column {name!r}: expected text, got binary data that is not UTF-8; "
                "drop or decode the column; nothing from this file was stored"
            ) from err
    if pa.types.is_nested(t):
        return _as_json(col)
    raise IngestError(
        f"{source}: column {name!r} has Arrow type {t}, which cannot be stored; expected "
        "numbers, booleans, text, dates or nested values; nothing from this file was stored"
    )


def _is_binary(t: pa.DataType) -> bool:
    view = getattr(pa.types, "is_binary_view", lambda _t: False)(t)
    return bool(
        pa.types.is_binary(t) or pa.types.is_large_binary(t)
        or pa.types.is_fixed_size_binary(t) or view
    )  # fmt: skip


def _as_text(col: pa.ChunkedArray) -> pa.ChunkedArray:
    try:
        return col.cast(pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return pa.chunked_array(
            [pa.array([None if v is None else str(v) for v in col.to_pylist()], pa.string())]
        )


def _as_json(col: pa.ChunkedArray) -> pa.ChunkedArray:
    def dump(value: Any) -> str | None:
        if value is None:
            return None
        return json.dumps(value, default=str, ensure_ascii=False, allow_nan=True)

    try:
        values = col.to_pylist()
    except (pa.ArrowException, ValueError, OverflowError):
        return _as_text(col)
    return pa.chunked_array([pa.array([dump(v) for v in values], pa.string())])


_BIG = r"^\s*[+-]?(\d{19,}(\.0*)?|\d+(\.\d*)?[eE]\+?(1[89]|[2-9]\d|\d{3,}))\s*$"


def widen_big_integers(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """A text parameter column of numbers, some beyond 64-bit integers, as float64.

    Otherwise the column is returned as it is: text that is not all numbers is left to
    the checks, which type and quarantine it cell by cell.
    """
    if not pa.types.is_string(col.type) or col.null_count == len(col):
        return col
    if not pc.any(pc.match_substring_regex(col, _BIG)).as_py():
        return col
    values: list[float | None] = []
    for v in col.to_pylist():
        if v is None or not v.strip():
            values.append(None)
            continue
        try:
            values.append(float(v))
        except ValueError:
            return col
    return pa.chunked_array([pa.array(values, pa.float64())])
