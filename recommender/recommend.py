"""Recommend configurations for a task from its meta-features, using the champion surrogate."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from recommender.errors import DatasetError, ModelError
from recommender.portfolio import explain, hedges, recommend_encoded
from recommender.registry import champion
from recommender.space import Space, load_space
from recommender.surrogate.model import FittedSurrogate
from recommender.types import Recommendation


@dataclass
class RecommendResult:
    """Ranked recommendations and the query that produced them."""

    query_id: int | None
    space: Space
    model_id: int | None
    recommendations: list[Recommendation]


def recommend(
    store: Any,
    metafeatures: dict[str, float],
    *,
    space: str,
    top_k: int = 5,
    task: str | None = None,
    log: bool = True,
) -> RecommendResult:
    """Rank ``top_k`` configurations of ``space`` for a task described by ``metafeatures``.

    Args:
        store: an open store (writable if ``log``).
        metafeatures: OpenML-named meta-features of the task.
        space: space name, as given to ``retrain``.
        top_k: how many configurations to return (fewer when the model knows fewer
            distinct evaluated configurations).
        task: name of the task, if known (logged with the query).
        log: record the query in the store's ``queries`` table.

    Returns:
        A :class:`RecommendResult`, best first.

    Raises:
        SpaceError: unknown space.
        ModelError: no trained model for the space.
        DatasetError: the meta-features lack most of what the model uses.
    """
    sp = load_space(space, store)
    _check_metafeatures(metafeatures)
    if top_k < 1:
        raise ModelError(f"top_k: expected a positive integer, got {top_k}")
    loaded = champion(store, sp.name)
    if loaded is None:
        n = store.info()["runs"]
        hint = "ingest runs, then " if n == 0 else ""
        raise ModelError(
            f"no trained model for space {sp.name!r} (store has {n} runs); {hint}run: "
            f"recommender retrain --space {sp.name} --metric METRIC --maximize"
        )
    recs = recommend_with(loaded.surrogate, metafeatures, top_k=top_k)
    query_id = (
        _log_query(store, sp.name, task, loaded.model_id, metafeatures, top_k, recs)
        if log
        else None
    )
    return RecommendResult(query_id, sp, loaded.model_id, recs)


def recommend_with(
    fitted: FittedSurrogate, metafeatures: dict[str, float], *, top_k: int = 5
) -> list[Recommendation]:
    """Recommendations from a fitted surrogate (no store access).

    The set comes from :mod:`recommender.portfolio`; ``predicted`` and ``uncertainty``
    are the ensemble's mean and spread for the new task, and ``explanation`` names the
    known tasks that weigh most and how each config did on them.
    """
    _check_metafeatures(metafeatures)
    vec, missing = fitted.task_vector(metafeatures)
    X, weights, picks = recommend_encoded(fitted, vec, top_k)
    covers = hedges(fitted, picks, weights)
    members = fitted.predict_members(X, vec)
    configs = fitted.space.decode(X)
    out = []
    for rank, config in enumerate(configs, start=1):
        why: dict[str, Any] = {
            "similar_tasks": explain(fitted, picks[rank - 1], weights, vec),
            "role": "best expected" if rank == 1 else "hedge",
            "hedge_for": covers[rank - 1],
        }
        if missing:
            why["imputed_metafeatures"] = missing
        out.append(
            Recommendation(
                config=fitted.space.clip(config),
                predicted=round(float(members[:, rank - 1].mean()), 4),
                uncertainty=round(float(members[:, rank - 1].std()), 4),
                rank=rank,
                source="portfolio",
                explanation=why,
            )
        )
    return out


def _check_metafeatures(metafeatures: dict[str, float]) -> None:
    if not metafeatures:
        raise DatasetError(
            "meta-features missing: expected a JSON object of OpenML meta-features, got none; "
            "compute them with recommender describe DATASET"
        )


def _log_query(
    store: Any,
    space: str,
    task: str | None,
    model_id: int,
    metafeatures: dict[str, float],
    top_k: int,
    recs: list[Recommendation],
) -> int:
    mf = {k: _finite_or_none(v) for k, v in metafeatures.items()}
    row = store.con.execute(
        "INSERT INTO queries (query_id, space, task, model_id, metafeatures, request, results) "
        "VALUES (nextval('query_id_seq'), ?, ?, ?, ?, ?, ?) RETURNING query_id",
        [
            space, task, model_id, json.dumps(mf),
            json.dumps({"top_k": top_k}),
            json.dumps([r.as_dict() for r in recs], default=_jsonable),
        ],
    ).fetchone()  # fmt: skip
    return int(row[0])


def _finite_or_none(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
