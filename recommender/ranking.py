"""Rank configurations for a task from a loaded surrogate and the task's meta-features.

No store access: :mod:`recommender.query` finds the champion and logs the query, and
:mod:`recommender.api` is the entry point for users.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recommender.errors import DatasetError
from recommender.portfolio import explain, hedges, recommend_encoded
from recommender.space import Space
from recommender.surrogate.model import FittedSurrogate
from recommender.tables import format_table
from recommender.types import Recommendation


@dataclass
class RecommendResult:
    """Ranked recommendations and the query that produced them.

    ``print(result)`` shows the table ``recommender recommend`` prints.
    """

    query_id: int | None
    space: Space
    model_id: int | None
    recommendations: list[Recommendation]

    def as_dicts(self) -> list[dict[str, Any]]:
        """The recommendations as ``recommender recommend --json`` prints them."""
        return [r.as_dict() for r in self.recommendations]

    def header(self) -> str:
        return f"space {self.space.name}, model {self.model_id}, query {self.query_id}"

    def table_rows(self) -> list[dict[str, Any]]:
        """One row per recommendation: rank, role, predicted score, config, reasons."""
        return [_table_row(r) for r in self.as_dicts()]

    def __str__(self) -> str:
        return f"{self.header()}\n{format_table(self.table_rows())}"

    def __repr__(self) -> str:
        return (
            f"RecommendResult(space={self.space.name!r}, model_id={self.model_id}, "
            f"query_id={self.query_id}, {len(self.recommendations)} recommendations)"
        )


def recommend_with(
    fitted: FittedSurrogate, metafeatures: dict[str, float], *, top_k: int = 5
) -> list[Recommendation]:
    """Recommendations from a fitted surrogate (no store access).

    The set comes from :mod:`recommender.portfolio`; ``predicted`` and ``uncertainty``
    are the ensemble's mean and spread for the new task, and ``explanation`` names the
    known tasks that weigh most and how each config did on them.
    """
    check_metafeatures(metafeatures)
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


def check_metafeatures(metafeatures: dict[str, float]) -> None:
    """Raise :class:`DatasetError` when there are no meta-features at all."""
    if not metafeatures:
        raise DatasetError(
            "meta-features missing: expected a JSON object of OpenML meta-features, got none; "
            "compute them with recommender describe DATASET"
        )


def _table_row(r: dict[str, Any]) -> dict[str, Any]:
    similar = r["explanation"].get("similar_tasks") or []
    why = "; ".join(f"{n['task']} (w {n['weight']:.2f}): {n['score_there']:+.2f}" for n in similar)
    role = r["explanation"].get("role", "")
    covers = [c["task"] for c in r["explanation"].get("hedge_for") or []][:2]
    return {
        "rank": r["rank"],
        "role": f"{role}: {', '.join(covers)}" if covers else role,
        "predicted": f"{r['predicted']:+.2f} ± {r['uncertainty']:.2f}",
        "config": r["config"],
        "similar tasks (weight): score there": why,
    }
