"""Fuzz ``recommender describe`` with tables of odd types, sizes and values."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.conftest import fuzz_examples
from tests.fuzz.helpers import assert_clean, dump, invoke, log, workdir
from tests.fuzz.test_fuzz_parquet import KINDS, _column

pytestmark = pytest.mark.fuzz
# Days since 1970: year 5477784, then two ordinary dates.
FAR_DATES = pa.array([2_000_000_000, -3, 5], pa.int32()).cast(pa.date32())


@st.composite
def dataset(draw: st.DrawFn) -> pa.Table:
    n = draw(st.sampled_from([0, 1, 2, 3, 7, 12]))
    k = draw(st.integers(0, 4))
    cols = {f"x{i}": _column(draw(st.sampled_from(KINDS)), n, draw) for i in range(k)}
    kind = draw(
        st.sampled_from(["string", "int64", "float64", "bool", "null", "dictionary", "date"])
    )
    cols["target"] = _column(kind, n, draw)
    return pa.table(cols)


def _describe(table: pa.Table, fmt: str, save: bool) -> None:
    with workdir() as work:
        path = work / f"data.{fmt}"
        if fmt == "parquet":
            pq.write_table(table, path)
        else:
            import pyarrow.csv as pacsv

            try:
                pacsv.write_csv(table, path)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return  # a type CSV cannot hold
        db = work / "store.duckdb"
        before = dump(db)
        args = ["describe", str(path), "--time-budget", "2", "--db", str(db)]
        result = invoke(args + (["--save"] if save else []))
        assert_clean(result)
        if result.exit_code or not save:
            assert dump(db) == before
        log("refused" if result.exit_code else "described")


@settings(max_examples=fuzz_examples(3))
@given(table=dataset(), fmt=st.sampled_from(["parquet", "csv"]), save=st.booleans())
@example(table=pa.table({"when": FAR_DATES, "x": [1.0, 2.0, 3.0], "target": [0, 1, 0]}),
         fmt="parquet", save=True)  # fmt: skip
@example(table=pa.table({"target": pa.array([None, None], pa.float64())}), fmt="csv", save=False)
@example(table=pa.table({"x": [1e308, -1e308, 5e-324], "target": ["a", "b", "a"]}), fmt="parquet",
         save=False)  # fmt: skip
@example(table=pa.table({"x0": pa.array([None, b"\x80"], pa.binary()), "target": [None, ""]}),
         fmt="parquet", save=False)  # fmt: skip
@example(table=pa.table({"x0": pa.array([None] * 4, pa.float16()),
                         "target": [9.3e18, 0.0, 9.3e18, float("inf")]}),
         fmt="parquet", save=False)  # fmt: skip
@example(table=pa.table({"x0": pa.array([None, None], pa.float16()),
                         "x1": pa.array([None, None], pa.float16()),
                         "x2": pa.array([None, float("inf")], pa.float16()),
                         "target": ["", ""]}),
         fmt="parquet", save=False)  # fmt: skip
@example(table=pa.table({"x0": pa.array([None] * 6 + [float("inf")], pa.float16()),
                         "target": [None, None, None, 0, 0, 0, 1]}),
         fmt="parquet", save=False)  # fmt: skip
def test_describe(table: pa.Table, fmt: str, save: bool) -> None:
    _describe(table, fmt, save)
