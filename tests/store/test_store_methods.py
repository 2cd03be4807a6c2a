"""Store write and read methods that callers outside the store rely on."""

from __future__ import annotations

import math

import numpy as np

from recommender.store import DuckDBStore
from recommender.types import Recommendation


def test_log_query_keeps_the_request_and_results_as_json(store: DuckDBStore) -> None:
    recs = [
        Recommendation({"lr": np.float64(0.1), "opt": "adamw"}, np.float32(0.5), 0.1, rank=1),
    ]
    mf = {"NumberOfInstances": 150.0, "ClassEntropy": math.nan, "Odd": "x"}
    query_id = store.log_query(
        space="tabular_mlp", task="iris", model_id=3, metafeatures=mf, top_k=5,
        results=[r.as_dict() for r in recs],
    )  # fmt: skip
    row = store.con.execute(
        "SELECT query_id, space, task, model_id, metafeatures, request, results FROM queries"
    ).fetchall()
    # What recommend's query log writes: numpy values as numbers, non-finite values as null.
    assert row == [
        (
            query_id, "tabular_mlp", "iris", 3,
            '{"NumberOfInstances": 150.0, "ClassEntropy": null, "Odd": null}',
            '{"top_k": 5}',
            '[{"rank": 1, "config": {"lr": 0.1, "opt": "adamw"}, "predicted": 0.5, '
            '"uncertainty": 0.1, "source": "surrogate", "explanation": {}}]',
        )
    ]  # fmt: skip


def test_rejected_filters_by_batch_and_limits(store: DuckDBStore) -> None:
    with store.transaction():
        first = store.add_batch(source="a.csv", format="csv", kind="runs", rejected=2)
        store._quarantine(first, [(3, "x", "bad x"), (1, "y", "bad y")])
        second = store.add_batch(source="b.csv", format="csv", kind="runs", rejected=1)
        store._quarantine(second, [(7, "z", "bad z")])
    assert [r["line"] for r in store.rejected()] == [1, 3, 7]
    assert store.rejected(batch=second) == [
        {"batch": second, "line": 7, "reason": "bad z", "raw": "z"}
    ]
    assert len(store.rejected(limit=2)) == 2


def test_add_space_keeps_an_imported_one_unless_replacing(store: DuckDBStore) -> None:
    one = {"name": "s", "hyperparameters": [{"name": "a", "type": "float", "low": 0, "high": 1}]}
    two = {**one, "hyperparameters": one["hyperparameters"] * 2}
    store.add_space("s", one, source="first")
    store.add_space("s", two, source="second", replace=False)
    assert store.space("s") == one
    store.add_space("s", two, source="third")
    assert store.space("s") == two
    assert [(s["name"], s["source"]) for s in store.spaces()] == [("s", "third")]
    assert store.space("missing") is None


def test_count_runs_and_snapshot(store: DuckDBStore) -> None:
    batch = store.add_batch(source="v", format="validation", kind="runs")
    for key, source, status in (("r1", "validation", "ok"), ("r2", "csv", "ok"),
                                ("r3", "csv", "failed")):  # fmt: skip
        store.record_run(
            run_key=key, task="t", space="sp", params={"a": 1}, metrics={"acc": 0.5},
            fidelity=1.0, status=status, duration_s=1.0, source=source, batch=batch,
        )  # fmt: skip
    assert store.count_runs(space="sp") == 3
    assert store.count_runs(space="sp", exclude_source="validation") == 2
    assert store.count_runs(source="validation") == 1
    assert store.snapshot("sp") == (2, batch)
    assert store.snapshot("other") == (0, None)
    assert store.task_names(space="sp") == ["t"]
    assert store.info()["batches"] == 1
    (n,) = store.con.execute("SELECT n_accepted FROM batches").fetchone()
    assert n == 3
