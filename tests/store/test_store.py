from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender.errors import SchemaVersionError, StoreError
from recommender.store import DuckDBStore
from recommender.store.migrations import LATEST_VERSION


@pytest.fixture(params=["memory", "file"])
def any_store(request: pytest.FixtureRequest, tmp_path):
    s = DuckDBStore(":memory:" if request.param == "memory" else tmp_path / "s.duckdb")
    yield s
    s.close()


def test_new_store_is_at_latest_version(any_store: DuckDBStore) -> None:
    info = any_store.info()
    assert info["schema_version"] == LATEST_VERSION
    assert info["tasks"] == 0 and info["runs"] == 0


def test_metafeatures_round_trip(any_store: DuckDBStore) -> None:
    any_store.add_metafeatures("iris", {"NumberOfInstances": 150, "ClassEntropy": 1.58}, source="t")
    any_store.add_metafeatures("iris", {"NumberOfInstances": 151}, source="t")
    # A new description replaces the old one whole (ClassEntropy was not in it).
    assert any_store.metafeatures("iris") == {"iris": {"NumberOfInstances": 151.0}}
    assert [t.name for t in any_store.tasks()] == ["iris"]


def test_old_store_is_upgraded_on_write_and_refused_read_only(tmp_path) -> None:
    path = tmp_path / "old.duckdb"
    import duckdb

    # A store as version 1 of the code wrote it: only the first migration applied.
    fresh = DuckDBStore.__new__(DuckDBStore)
    con = duckdb.connect(str(path))
    fresh.con, fresh.path, fresh.read_only, fresh._depth = con, str(path), False, 0
    assert fresh.migrate(target=1) == [1]
    con.close()
    with pytest.raises(SchemaVersionError, match="recommender store upgrade"):
        DuckDBStore(path, read_only=True)
    with DuckDBStore(path) as upgraded:
        assert upgraded.schema_version() == LATEST_VERSION


def test_newer_store_is_refused(tmp_path) -> None:
    path = tmp_path / "new.duckdb"
    with DuckDBStore(path) as s:
        s.con.execute("INSERT INTO schema_version (version) VALUES (?)", [LATEST_VERSION + 5])
    with pytest.raises(SchemaVersionError, match="knows up to"):
        DuckDBStore(path)


def test_busy_store_waits_then_fails_clearly(tmp_path) -> None:
    import subprocess
    import sys
    import time

    path = tmp_path / "busy.duckdb"
    DuckDBStore(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb,sys,time; c=duckdb.connect(sys.argv[1]); print('ready', flush=True); "
         "time.sleep(30)", str(path)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        start = time.monotonic()
        with pytest.raises(StoreError, match="busy"):
            DuckDBStore(path, lock_timeout=0.5)
        assert time.monotonic() - start >= 0.5
    finally:
        holder.kill()
        holder.wait()


def test_not_a_duckdb_file(tmp_path) -> None:
    bad = tmp_path / "x.duckdb"
    bad.write_text("hello, not a database")
    with pytest.raises(StoreError, match="expected a DuckDB file"):
        DuckDBStore(bad)


def test_nested_transactions_commit_or_roll_back_as_one(store: DuckDBStore) -> None:
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.add_metafeatures("a", {"x": 1.0}, source="t")  # its own transaction, nested
            raise RuntimeError("later step fails")
    assert store.info()["metafeatures"] == 0
    with store.transaction():
        store.add_metafeatures("a", {"x": 1.0}, source="t")
    assert store.info()["metafeatures"] == 1


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.integers(-(2**40), 2**40),
            st.floats(allow_nan=False, allow_infinity=False),
            st.booleans(),
            st.text(max_size=5),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_json_columns_decode_like_each_cell(values: list[object]) -> None:
    """The vectorised decode of extracted JSON parameters equals decoding cell by cell."""
    import json

    import pandas as pd

    from recommender.store.duckdb import _decode_json_column

    cells = pd.Series([None if v is None else json.dumps(v) for v in values], dtype=object)
    decoded = _decode_json_column(cells)
    for got, want in zip(decoded, values, strict=True):
        if want is None:
            assert got is None or got != got  # missing stays missing
        elif isinstance(want, str):
            assert got == want and isinstance(got, str)
        else:
            assert got == want and type(got) is not str  # noqa: E721


def test_training_rows_do_not_depend_on_insertion_order() -> None:
    """Runs at several fidelities, stored in two orders, come back identically."""
    import json

    import numpy as np

    rows = [
        (f"r{t}-{i}-{f}", f"task{t}", json.dumps({"lr": 0.1 * i}), json.dumps({"acc": i + f}), f)
        for t in range(3)
        for i in range(30)
        for f in (1.0, 5.0)
    ]
    frames = []
    for order in (rows, [rows[i] for i in np.random.default_rng(0).permutation(len(rows))]):
        with DuckDBStore() as store:
            store.con.executemany(
                "INSERT INTO runs (run_key, task, space, params, metrics, fidelity, status, "
                "batch_id) VALUES (?, ?, 's', ?, ?, ?, 'ok', 1)",
                order,
            )
            frames.append(store.runs_frame(space="s", params=["lr"], metric="acc"))
    assert len(frames[0]) == 90 and (frames[0]["fidelity"] == 5.0).all()
    assert frames[0].equals(frames[1])
