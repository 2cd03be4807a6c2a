"""Which regressor a surrogate uses: ``params["kind"]`` names it (XGBoost by default)."""

from __future__ import annotations

from typing import Any

from recommender.errors import ModelError

MODEL_KINDS = ("xgboost", "forest")


def model_kind(params: dict[str, Any] | None) -> str:
    kind = str((params or {}).get("kind", "xgboost"))
    if kind not in MODEL_KINDS:
        raise ModelError(f"surrogate kind: expected one of {', '.join(MODEL_KINDS)}, got {kind!r}")
    return kind


def model_class(kind: str) -> Any:
    """The estimator class of ``kind``: GBMSurrogate (XGBoost) or ForestSurrogate (sklearn)."""
    if kind == "forest":
        from recommender.surrogate.forest import ForestSurrogate

        return ForestSurrogate
    from recommender.surrogate.gbm import GBMSurrogate

    return GBMSurrogate


def make_model(params: dict[str, Any] | None, seed: int | None) -> Any:
    """An unfitted surrogate regressor built from ``params`` (``kind`` plus its settings)."""
    settings = {k: v for k, v in (params or {}).items() if k != "kind"}
    return model_class(model_kind(params))(seed=seed, **settings)
