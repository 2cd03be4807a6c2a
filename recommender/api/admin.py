"""Models and spaces: list, promote, roll back, import; the champion's defaults.

Part of the Python API (re-exported by :mod:`recommender.api`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.errors import InvalidArgumentError, ModelError

if TYPE_CHECKING:
    from recommender.spaces.space import Space
    from recommender.store import DuckDBStore


def models(
    space: str | None = None, *, db: str | Path | None = None, lock_timeout: float | None = None
) -> list[dict[str, Any]]:
    """Trained models with their status and leave-task-out regret (``cv_top1_regret``)."""
    from recommender.knowledge.registry import list_models
    from recommender.store import open_store

    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        rows = list_models(store, space=space)
    for r in rows:
        r["cv_top1_regret"] = (r["evaluation"].get("challenger") or {}).get("top1_regret")
    return rows


def promote(
    model_id: int, *, db: str | Path | None = None, lock_timeout: float | None = None
) -> dict[str, Any]:
    """Make ``model_id`` the champion of its space; returns its registry row."""
    from recommender.knowledge import registry
    from recommender.store import open_store

    with open_store(db, lock_timeout=lock_timeout) as store:
        return registry.promote(store, model_id)


def rollback(space: str, *, db: str | Path | None = None, lock_timeout: float | None = None) -> int:
    """Retire the champion of ``space`` and restore the previously promoted model's id."""
    from recommender.knowledge import registry
    from recommender.store import open_store

    with open_store(db, lock_timeout=lock_timeout) as store:
        return registry.rollback(store, space)


def spaces(
    *, db: str | Path | None = None, lock_timeout: float | None = None
) -> list[dict[str, Any]]:
    """Built-in and imported spaces: ``name``, ``source`` and ``n_params``."""
    from recommender.spaces.space import builtin_space, builtin_spaces, stored_spaces
    from recommender.store import open_store

    rows = [
        {"name": n, "source": "built-in", "n_params": len(builtin_space(n).params)}
        for n in builtin_spaces()
    ]
    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        rows += [{"name": n, "source": s, "n_params": k} for n, s, k in stored_spaces(store)]
    return rows


def import_space(
    path: str | Path,
    name: str,
    *,
    db: str | Path | None = None,
    lock_timeout: float | None = None,
) -> Space:
    """Import a space from our JSON format or ConfigSpace's JSON under ``name``."""
    from recommender.spaces import space as spaces_module
    from recommender.store import open_store

    with open_store(db, lock_timeout=lock_timeout) as store:
        return spaces_module.import_space(store, path, name)


def model_params(model: str) -> dict[str, Any] | None:
    """Surrogate settings for ``model``, a registered kind (None: the default kind, XGBoost,
    tuned by leave-task-out CV)."""
    from recommender.surrogate.kinds import DEFAULT_KIND, KINDS

    if model not in KINDS:
        raise InvalidArgumentError(f"model: expected one of {', '.join(KINDS)}, got {model!r}")
    return {"kind": model} if model != DEFAULT_KIND else None


def champion_defaults(
    store: DuckDBStore,
    space: str,
    metric: str | None,
    maximize: bool | None,
    fidelity: float | None,
) -> tuple[str, bool, float | None]:
    """Fill metric, direction and fidelity from the space's champion where not given."""
    from recommender.knowledge.registry import list_models
    from recommender.spaces.space import load_space

    load_space(space, store)  # an unknown space is its own clear error
    if metric is not None and maximize is not None:
        return metric, maximize, fidelity
    champ = list_models(store, space=space, status="champion")
    if not champ or (metric is not None and champ[0]["metric"] != metric):
        raise ModelError(
            f"space {space!r} has no trained model for this metric to take defaults from; "
            "give --metric M and --maximize or --minimize"
        )
    metric = metric or champ[0]["metric"]
    maximize = bool(champ[0]["maximize"]) if maximize is None else maximize
    fidelity = champ[0]["fidelity"] if fidelity is None else fidelity
    return str(metric), maximize, fidelity
