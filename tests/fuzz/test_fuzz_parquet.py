"""Fuzz the Parquet reader with every Arrow type, through ``recommender ingest``."""

from __future__ import annotations

import datetime as dt
import decimal
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.conftest import fuzz_examples
from tests.fuzz.helpers import check_ingest, workdir

pytestmark = pytest.mark.fuzz


def _f16(values: list[float | None]) -> pa.Array:
    mask = np.array([v is None for v in values], dtype=bool)
    with np.errstate(over="ignore"):
        data = np.array([0.0 if v is None else v for v in values], dtype=np.float16)
    return pa.array(data, mask=mask)


def _column(kind: str, n: int, draw: st.DrawFn) -> pa.Array:
    """n values of Arrow type ``kind``, nulls included."""

    def values(strategy: st.SearchStrategy) -> list:
        return draw(st.lists(st.none() | strategy, min_size=n, max_size=n))

    if kind == "float16":
        return _f16(
            values(st.floats(-70000, 70000) | st.sampled_from([math.nan, math.inf, -math.inf]))
        )
    if kind == "uint64":
        return pa.array(values(st.integers(0, 2**64 - 1) | st.just(2**64 - 1)), pa.uint64())
    if kind == "int64":
        return pa.array(values(st.integers(-(2**63), 2**63 - 1)), pa.int64())
    if kind == "float64":
        return pa.array(values(st.floats() | st.just(9.3e18)), pa.float64())
    if kind == "decimal":
        return pa.array(values(st.decimals(-(10**20), 10**20, places=3, allow_nan=False)),
                        pa.decimal128(38, 3))  # fmt: skip
    if kind == "timestamp":
        return pa.array(values(st.datetimes()), pa.timestamp("us"))
    if kind == "timestamp_tz":
        return pa.array(values(st.datetimes()), pa.timestamp("ms", tz="UTC"))
    if kind == "date":
        return pa.array(values(st.integers(-(2**31), 2**31 - 1)), pa.int32()).cast(pa.date32())
    if kind == "time":
        return pa.array(values(st.times()), pa.time64("us"))
    if kind == "duration":
        return pa.array(values(st.integers(-(2**40), 2**40)), pa.duration("s"))
    if kind == "list":
        return pa.array(values(st.lists(st.integers(-9, 9), max_size=3)), pa.list_(pa.int64()))
    if kind == "struct":
        item = st.fixed_dictionaries({"a": st.integers(0, 3), "b": st.text(max_size=3)})
        return pa.array(values(item), pa.struct([("a", pa.int64()), ("b", pa.string())]))
    if kind == "map":
        pairs = st.lists(st.tuples(st.text(max_size=2), st.integers(0, 3)), max_size=2)
        return pa.array(values(pairs), pa.map_(pa.string(), pa.int64()))
    if kind == "dictionary":
        choices = values(st.sampled_from(["adam", "sgd", "1", "2.5"]))
        return pa.array(choices, pa.string()).dictionary_encode()
    if kind == "large_string":
        return pa.array(values(st.text(max_size=5)), pa.large_string())
    if kind == "binary":
        return pa.array(values(st.binary(max_size=4)), pa.binary())
    if kind == "bool":
        return pa.array(values(st.booleans()), pa.bool_())
    if kind == "null":
        return pa.nulls(n)
    return pa.array(values(st.text(max_size=5)), pa.string())


KINDS = ["float16", "uint64", "int64", "float64", "decimal", "timestamp", "timestamp_tz", "date",
         "time", "duration", "list", "struct", "map", "dictionary", "large_string", "binary",
         "bool", "null", "string"]  # fmt: skip
NAMES = ["task", "param.x", "param.y", "metric.acc", "status", "fidelity", "run_id",
         "duration_s", "error", "junk"]  # fmt: skip


@st.composite
def arrow_table(draw: st.DrawFn) -> pa.Table:
    n = draw(st.integers(0, 6))
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=6, unique=True))
    # Mostly a table the checks will read row by row, so the types reach them.
    names += [c for c in ("task", "metric.acc") if c not in names and draw(st.integers(0, 4))]
    cols = {}
    for name in names:
        kind = draw(st.sampled_from(KINDS))
        if name == "task" and draw(st.integers(0, 3)):
            kind = "string"
        elif name == "metric.acc" and draw(st.booleans()):
            kind = "float64"
        cols[name] = _column(kind, n, draw)
    return pa.table(cols)


@settings(max_examples=fuzz_examples(15))
@given(table=arrow_table())
@example(table=pa.table({"task": ["t", "t"], "param.h": _f16([1.0, 2.0]),
                         "metric.acc": [0.5, 0.4]}))  # fmt: skip
@example(table=pa.table({"task": ["t"], "param.n": pa.array([2**64 - 1], pa.uint64()),
                         "metric.acc": [0.5]}))  # fmt: skip
@example(table=pa.table({"task": ["t"], "param.d": pa.array([decimal.Decimal("1.5")]),
                         "param.when": pa.array([dt.date(1, 1, 1)]),
                         "param.l": pa.array([[1, 2]]), "metric.acc": [0.5]}))  # fmt: skip
def test_parquet(table: pa.Table) -> None:
    with workdir() as work:
        path = work / "runs.parquet"
        pq.write_table(table, path)
        check_ingest(work, path, rows=table.num_rows)


def test_parquet_with_duplicate_column_names_is_refused() -> None:
    table = pa.Table.from_arrays(
        [pa.array(["t"]), pa.array([1.0]), pa.array([2.0]), pa.array([0.5])],
        names=["task", "param.lr", "param.lr", "metric.acc"],
    )
    with workdir() as work:
        path = work / "runs.parquet"
        pq.write_table(table, path)
        outcome = check_ingest(work, path, rows=1)
        assert outcome.refused
        assert "'param.lr' more than once" in outcome.message
