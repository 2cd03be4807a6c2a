"""Malformed tables: each is ingested with its bad rows quarantined, or refused whole."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recommender.errors import IngestError
from recommender.ingest import ingest
from recommender.store import DuckDBStore

cell = st.one_of(
    st.integers(-5, 5).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "large", "ok", "failed", "weird", "NA", "1e999", "-", '"', "a,b", " "]),
    st.text(alphabet="abc01,.\"'\t ", max_size=6),
)
header = st.lists(
    st.sampled_from(["task", "param.x", "param.y", "metric.acc", "metric.loss", "status",
                     "fidelity", "run_id", "duration_s", "junk"]),
    min_size=1, max_size=6, unique=True,
)  # fmt: skip


@st.composite
def csv_text(draw: st.DrawFn) -> str:
    cols = draw(header)
    rows = draw(st.lists(st.lists(cell, min_size=len(cols) - 1, max_size=len(cols) + 1),
                         max_size=8))  # fmt: skip
    return "\n".join([",".join(cols), *(",".join(r) for r in rows)]) + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=csv_text())
def test_malformed_table_is_quarantined_or_refused(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "runs.csv"
        path.write_text(text)
        store = DuckDBStore(":memory:")
        try:
            report = ingest(store, path)
        except IngestError as err:
            assert "\n" not in str(err)
            info = store.info()
            assert info["runs"] == info["rejected"] == info["batches"] == 0
            return
        info = store.info()
        assert info["runs"] == report.accepted
        assert info["rejected"] == report.rejected
        if report.accepted or report.rejected:
            assert info["batches"] == 1
        stored = store.con.execute("SELECT count(*) FROM rejected WHERE reason = ''").fetchall()
        assert stored[0][0] == 0  # every quarantined row has its reason
        store.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1,
                    max_size=12))  # fmt: skip
def test_any_parameter_name_round_trips(name: str) -> None:
    import pyarrow as pa

    table = pa.table({
        "task": ["t", "t"], f"param.{name}": [1, 2], "metric.acc": [0.5, 0.7],
        "_line": pa.array([1, 2], pa.int64()),
    })  # fmt: skip
    store = DuckDBStore(":memory:")
    report = store.add_runs(table, source="mem", format="parquet", checksum=None)
    assert report.accepted == 2
    assert sorted(r["params"][name] for r in store.runs("t")) == [1, 2]
    frame = store.runs_frame(space=None, params=[name], metric="acc")
    assert sorted(frame[name]) == [1, 2]
    store.close()
