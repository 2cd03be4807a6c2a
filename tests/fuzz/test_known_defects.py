"""Defects the fuzz targets found, kept as tests once fixed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.helpers import check_ingest, count, workdir


@pytest.mark.parametrize(
    ("text", "rejected"),
    [
        # The value hypothesis found: a text column, mostly integers, so typed int; the
        # value beyond int64 and the "a" are both quarantined.
        ("task,param.n,metric.acc\nt,9.223372036854776e+18,0.5\nt,1,0.4\nt,a,0.3\n", 2),
        # A space whose parameter is already an int, then a value beyond int64.
        ("task,param.seed_only,metric.acc\nt,18446744073709551615,0.5\n", 1),
    ],
    ids=["text-column-typed-int", "space-already-int"],
)
def test_integer_beyond_int64_in_an_int_parameter_is_quarantined(text: str, rejected: int) -> None:
    with workdir() as work:
        path = work / "runs.csv"
        path.write_text(text)
        runs = count(work / "store.duckdb", "runs")
        result = check_ingest(work, path, rows=text.count("\n") - 1)
        assert not result.refused and result.message == ""
        assert result.report["rejected"] == rejected
        assert count(work / "store.duckdb", "runs") == runs + result.report["accepted"]
        assert Path(path).exists()
