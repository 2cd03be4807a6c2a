"""Fuzz the table readers (CSV, TSV, JSON Lines, Parquet) through ``recommender ingest``."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.conftest import fuzz_examples
from tests.fuzz.helpers import check_ingest, workdir

pytestmark = pytest.mark.fuzz

NAMES = ["task", "param.x", "param.y", "param.lr", "metric.acc", "metric.loss", "status",
         "fidelity", "run_id", "duration_s", "error", "junk", "epoch", "_line", ""]  # fmt: skip
BIG = ["9.223372036854776e+18", "9223372036854775808", "18446744073709551615", "9.3e18",
       "-9.3e18", "1e308", "1e-320", "-0", "0x10", "1_000"]  # fmt: skip
_TEXT = st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\x1e\x00")
cell = st.one_of(
    st.integers(-5, 5).map(str),
    st.integers().map(str),
    st.floats().map(repr),
    st.sampled_from(["", "ok", "failed", "weird", "NA", "nan", "inf", "-inf", "1e999", "true",
                     "False", "-", " ", "é", "😀", *BIG]),
    st.text(_TEXT, max_size=8).map(lambda s: '"' + s.replace('"', '""') + '"'),
    st.text(st.sampled_from("abc01.-+e ,"), max_size=6),
)  # fmt: skip


@st.composite
def delimited(draw: st.DrawFn, sep: str = ",") -> tuple[str, int]:
    """(file text, data rows): rows may have too few or too many fields."""
    cols = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=7))
    # Mostly a header the checks accept, so the rows reach them.
    cols += [c for c in ("task", "metric.acc") if c not in cols and draw(st.integers(0, 4))]
    rows = draw(st.lists(st.lists(cell.filter(lambda c: sep not in c or c.startswith('"')),
                                  min_size=max(len(cols) - 1, 1), max_size=len(cols) + 1),
                         max_size=8))  # fmt: skip
    lines = [sep.join(cols), *(sep.join(r) for r in rows)]
    # A line with nothing on it is not a row.
    n = sum(1 for r in rows if sep.join(r) != "")
    return "\n".join(lines) + "\n", n


def _write(path: Path, text: str, how: str) -> None:
    if how == "gzip":
        path.write_bytes(gzip.compress(text.encode()))
    elif how == "utf-16":
        path.write_bytes(text.encode("utf-16"))
    elif how == "utf-8-sig":
        path.write_bytes(text.encode("utf-8-sig"))
    else:
        path.write_text(text, encoding="utf-8")


@settings(max_examples=fuzz_examples(40))
@given(data=delimited(), how=st.sampled_from(["plain", "plain", "gzip", "utf-16", "utf-8-sig"]))
@example(data=("task,param.x,metric.acc\nt,9.223372036854776e+18,0.5\nt,1,0.4\n", 2), how="plain")
@example(data=("task,param.x,metric.acc\nt,18446744073709551615,0.5\n", 1), how="plain")
@example(data=("task,param.lr,param.lr,metric.acc\nt,1,2,0.5\n", 1), how="plain")
@example(data=("task,_line,metric.acc\nt,1,0.5\n", 1), how="plain")
@example(data=("task,param.x,metric.acc\nt,1,0.5\n", 1), how="gzip")
@example(data=("task,param.x,metric.acc\nt,1,0.5\n", 1), how="utf-16")
def test_csv(data: tuple[str, int], how: str) -> None:
    text, rows = data
    with workdir() as work:
        path = work / "runs.csv"
        _write(path, text, how)
        check_ingest(work, path, rows=rows)


@settings(max_examples=fuzz_examples(15))
@given(data=delimited("\t"), gz=st.booleans())
def test_tsv(data: tuple[str, int], gz: bool) -> None:
    text, rows = data
    with workdir() as work:
        path = work / ("runs.tsv.gz" if gz else "runs.tsv")
        _write(path, text, "gzip" if gz else "plain")
        check_ingest(work, path, rows=rows)


@settings(max_examples=fuzz_examples(10))
@given(
    blob=st.binary(max_size=300),
    suffix=st.sampled_from([".csv", ".tsv", ".jsonl", ".parquet", ".csv.gz"]),
)
@example(blob=b"\xff\xfe\x00\x00", suffix=".csv")
@example(blob=b"\x1f\x8b\x08\x00garbage", suffix=".csv")
@example(blob=b"\xc0\xafrandom", suffix=".jsonl")
@example(blob=b"PAR1\x00\x00PAR1", suffix=".parquet")
def test_random_bytes(blob: bytes, suffix: str) -> None:
    with workdir() as work:
        path = work / f"runs{suffix}"
        path.write_bytes(blob)
        check_ingest(work, path, rows=None)


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.sampled_from([2**63, 2**64 - 1, -(2**63) - 1, 9.3e18, 1e308]) | st.text(_TEXT, max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(_TEXT, max_size=4), inner,
                                                                 max_size=3),
    max_leaves=6,
)  # fmt: skip
json_line = st.one_of(
    st.fixed_dictionaries(
        {"task": st.text(_TEXT, max_size=3), "metric.acc": json_value},
        optional={n: json_value for n in NAMES if n not in ("task", "metric.acc")},
    ).map(json.dumps),
    st.dictionaries(st.sampled_from(NAMES), json_value, max_size=6).map(json.dumps),
    json_value.map(json.dumps),
    st.text(_TEXT, max_size=20),
)


@settings(max_examples=fuzz_examples(40))
@given(lines=st.lists(json_line, max_size=8), gz=st.booleans())
@example(lines=['{"task": "t", "param.n": 9300000000000000000, "metric.acc": 0.5}',
                '{"task": "t", "param.n": 1, "metric.acc": 0.4}'], gz=False)  # fmt: skip
@example(lines=['{"task": "t", "param.n": 18446744073709551615, "metric.acc": 0.5}'], gz=True)
@example(lines=['{"task": "t", "_line": 3, "metric.acc": 0.5}'], gz=False)
@example(lines=["\x0c", "\t", '{"task": "", "metric.acc": null}'], gz=False)
def test_jsonl(lines: list[str], gz: bool) -> None:
    text = "\n".join(lines) + "\n"
    # A line of JSON whitespace (space, tab, CR) is blank; anything else is a row.
    rows = sum(1 for line in lines if line.strip(" \t\r"))
    with workdir() as work:
        path = work / ("runs.jsonl.gz" if gz else "runs.jsonl")
        _write(path, text, "gzip" if gz else "plain")
        check_ingest(work, path, rows=rows)
