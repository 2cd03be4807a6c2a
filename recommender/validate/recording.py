"""Write validation runs and their learning curves to the store (one transaction per run)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recommender.datasets import Dataset
    from recommender.store import DuckDBStore
    from recommender.validate.training import TrainResult

SOURCE = "validation"
SCORE = "val_score"


def start_batch(store: DuckDBStore, dataset: Dataset, features: Mapping[str, float]) -> int:
    """Register the task, its meta-features and a new ingest batch for the runs.

    Returns:
        The batch id every run of this validation is stored under.
    """
    with store.transaction() as con:
        store.add_task(
            dataset.name,
            modality=dataset.modality,
            problem_type=dataset.problem_type,
            source=SOURCE,
        )
        row = con.execute("SELECT nextval('batch_id_seq')").fetchone()
        batch = int(row[0]) if row else 0
        con.execute(
            "INSERT INTO batches (batch_id, source, format, kind, checksum, n_accepted, "
            "n_duplicates, n_rejected) VALUES (?, ?, ?, 'runs', NULL, 0, 0, 0)",
            [batch, dataset.name, SOURCE],
        )
    finite = {k: v for k, v in features.items() if v is not None and math.isfinite(v)}
    store.add_metafeatures(dataset.name, finite, source=SOURCE)
    return batch


def record_run(
    store: DuckDBStore,
    *,
    run_key: str,
    task: str,
    space: str,
    params: Mapping[str, Any],
    result: TrainResult,
    batch: int,
    query_id: int | None,
) -> None:
    """Store one finished run and its curve; a rerun with the same key replaces the old one."""
    metrics = _metrics(result)
    points = [
        (run_key, name, float(row["epoch"]), _finite(value))
        for row in result.curve
        for name, value in row.items()
        if name != "epoch"
    ]
    with store.transaction() as con:
        con.execute("DELETE FROM curves WHERE run_key = ?", [run_key])
        con.execute("DELETE FROM runs WHERE run_key = ?", [run_key])
        con.execute(
            "INSERT INTO runs (run_key, task, space, params, metrics, fidelity, status, "
            "duration_s, source, batch_id, query_id, error) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_key, task, space, json.dumps(dict(params), sort_keys=True),
                json.dumps(metrics, sort_keys=True), float(result.epochs),
                # The store's statuses are ok/failed/...: a diverged run failed, and says why.
                "failed" if result.status == "diverged" else result.status,
                result.duration_s, SOURCE, batch, query_id, result.error,
            ],
        )  # fmt: skip
        if points:
            con.executemany(
                "INSERT INTO curves (run_key, name, step, value) VALUES (?, ?, ?, ?)", points
            )
        con.execute("UPDATE batches SET n_accepted = n_accepted + 1 WHERE batch_id = ?", [batch])


def _metrics(result: TrainResult) -> dict[str, float]:
    out: dict[str, float] = {}
    if result.value is not None and math.isfinite(result.value):
        out[result.metric_name] = float(result.value)
        # One higher-is-better name across problem types: the shipped surrogate models it.
        out[SCORE] = float(result.value)
    if result.curve:
        last = result.curve[-1]
        for name in ("val_loss", "train_loss"):
            value = _finite(last.get(name))
            if value is not None and result.status != "diverged":
                out[name] = value
    if result.best_epoch is not None:
        best = result.curve[result.best_epoch - 1][result.metric_name]
        out[f"best_{result.metric_name}"] = float(best)
    return out


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    f = float(value)
    return f if math.isfinite(f) else None
