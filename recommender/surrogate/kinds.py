"""The kinds registry: which surrogate class ``params["kind"]`` names (XGBoost by default).

A new surrogate subclasses :class:`~recommender.surrogate.base.BaseSurrogate` and is
added with :func:`register_kind`; the CLI's ``--model`` choices and the saved
``model.json`` (``model_kind``) refer to it by its ``kind``.
"""

from __future__ import annotations

from typing import Any

from recommender.errors import ModelError
from recommender.surrogate.base import BaseSurrogate
from recommender.surrogate.forest import ForestSurrogate
from recommender.surrogate.gbm import GBMSurrogate

DEFAULT_KIND = GBMSurrogate.kind
KINDS: dict[str, type[BaseSurrogate]] = {cls.kind: cls for cls in (GBMSurrogate, ForestSurrogate)}


def register_kind(cls: type[BaseSurrogate]) -> type[BaseSurrogate]:
    """Add a surrogate class under its ``kind`` (usable as a class decorator)."""
    if not cls.kind:
        raise ModelError(f"{cls.__name__}: a surrogate needs a non-empty kind")
    KINDS[cls.kind] = cls
    return cls


def model_kind(params: dict[str, Any] | None) -> str:
    """The kind named by ``params`` (the default when it names none).

    Raises:
        ModelError: an unknown kind.
    """
    kind = str((params or {}).get("kind", DEFAULT_KIND))
    if kind not in KINDS:
        raise ModelError(f"surrogate kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    return kind


def model_class(kind: str) -> type[BaseSurrogate]:
    """The surrogate class registered as ``kind``."""
    return KINDS[model_kind({"kind": kind})]


def make_model(params: dict[str, Any] | None, seed: int | None) -> BaseSurrogate:
    """An unfitted surrogate built from ``params`` (``kind`` plus its settings).

    Raises:
        ModelError: an unknown kind, or a setting the kind does not have.
    """
    settings = {k: v for k, v in (params or {}).items() if k != "kind"}
    return model_class(model_kind(params))(seed=seed).set_params(**settings)
