"""Models and spaces: list, promote, roll back, import; the champion's defaults.

Part of the Python API (re-exported by :mod:`recommender.api`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.errors import InvalidArgumentError, ModelError, option, said

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
    """Every space: built in, imported or inferred, or only named by its runs (``name``,
    ``source``, ``n_params``, ``runs``)."""
    from recommender.store import open_store

    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        return space_rows(store)


def space_rows(store: DuckDBStore) -> list[dict[str, Any]]:
    """The rows of :func:`spaces`, from an open store."""
    from recommender.spaces.space import builtin_space, builtin_spaces, stored_spaces

    held = {name: (n_runs, n_params) for name, n_runs, n_params in store.run_spaces()}
    rows = [
        {"name": n, "source": "built-in", "n_params": len(builtin_space(n).params)}
        for n in builtin_spaces()
    ]
    rows += [{"name": n, "source": s, "n_params": k} for n, s, k in stored_spaces(store)]
    known = {r["name"] for r in rows}
    rows += [
        {"name": n, "source": _runs_only(n), "n_params": k}
        for n, (_, k) in held.items()
        if n not in known
    ]
    for r in rows:
        r["runs"] = held.get(str(r["name"]), (0, 0))[0]
    return rows


def _runs_only(name: str) -> str:
    if name.startswith("auto-"):
        return "runs ingested without --space"
    return "runs only (no definition)"


def store_info(
    *, db: str | Path | None = None, lock_timeout: float | None = None
) -> dict[str, Any]:
    """Counts, schema version and path of the store; ``spaces`` counts what
    :func:`spaces` lists."""
    from recommender.store import open_store

    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        return {**store.info(), "spaces": len(space_rows(store))}


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


def ensure_shipped(store: DuckDBStore, space: str, note: Callable[[str], None]) -> None:
    """Load the shipped pack into ``store`` when ``space`` needs it; ``note`` says so."""
    from recommender.knowledge.packs import ensure_shipped as load_if_needed

    message = load_if_needed(store, space)
    if message:
        note(message)


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
            f"give {option('metric', 'M')} and "
            + said("--maximize or --minimize", "maximize=True or False")
        )
    metric = metric or champ[0]["metric"]
    maximize = bool(champ[0]["maximize"]) if maximize is None else maximize
    fidelity = champ[0]["fidelity"] if fidelity is None else fidelity
    return str(metric), maximize, fidelity
