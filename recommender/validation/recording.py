"""Write validation runs and their learning curves to the store (one transaction per run)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recommender.datasets.loading import Dataset
    from recommender.store.base import Store
    from recommender.training.common import TrainResult

SOURCE = "validation"
SCORE = "val_score"


def start_batch(
    store: Store, dataset: Dataset, features: Mapping[str, float], *, source: str = SOURCE
) -> int:
    """Register the task, its meta-features and a new ingest batch for the runs.

    ``source`` names what trained them (``validation``, ``tune``).

    Returns:
        The batch id every run of this validation is stored under.
    """
    with store.transaction():
        store.add_task(
            dataset.name,
            modality=dataset.modality,
            problem_type=dataset.problem_type,
            source=source,
            fingerprint=dataset.fingerprint,
        )
        batch = store.add_batch(source=dataset.name, format=source, kind="runs")
    finite = {k: v for k, v in features.items() if v is not None and math.isfinite(v)}
    store.add_metafeatures(dataset.name, finite, source=source)
    return batch


def record_run(
    store: Store,
    *,
    run_key: str,
    task: str,
    space: str,
    params: Mapping[str, Any],
    result: TrainResult,
    batch: int,
    query_id: int | None,
    source: str = SOURCE,
) -> None:
    """Store one finished run and its curve; a rerun with the same key replaces the old one."""
    store.record_run(
        run_key=run_key, task=task, space=space, params=params, metrics=_metrics(result),
        fidelity=float(result.epochs),
        # The store's statuses are ok/failed/...: a diverged run failed, and says why.
        status="failed" if result.status == "diverged" else result.status,
        duration_s=result.duration_s, source=source, batch=batch, query_id=query_id,
        error=result.error,
        curve=[
            (name, float(row["epoch"]), _finite(value))
            for row in result.curve
            for name, value in row.items()
            if name != "epoch"
        ],
    )  # fmt: skip


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
