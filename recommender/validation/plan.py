"""Which configs a validation trains: recommended ones, baselines, the budget, run keys."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from recommender.errors import InvalidArgumentError, option
from recommender.training.trainers import trainer_for

if TYPE_CHECKING:
    from recommender.spaces.space import Space
    from recommender.store import DuckDBStore

SOURCE = "validation"
MAX_EPOCHS_WITH_BUDGET = 50
# Bounds on what one validation may ask for: each random config is a full training run.
MAX_RANDOM_BASELINES = 1000
MAX_EPOCHS = 10_000


@dataclass
class PlannedConfig:
    """One configuration to train and where it came from."""

    source: str  # "recommended" | "default" | "random"
    config: dict[str, Any]
    predicted: float | None = None
    rank: int | None = None


@dataclass(frozen=True)
class Budget:
    """Epochs per config, and an optional wall-clock cap per config."""

    epochs: int
    time_budget_s: float | None = None


def parse_baselines(text: str | None) -> list[tuple[str, int]]:
    """``"default,random:4"`` -> ``[("default", 1), ("random", 4)]``; ``""`` -> ``[]``.

    Raises:
        InvalidArgumentError: an unknown baseline or a bad count.
    """
    out: list[tuple[str, int]] = []
    for part in (text or "").split(","):
        name, _, count = part.strip().partition(":")
        if not name or name == "none":
            continue
        if name not in ("default", "random") or (name == "default" and count):
            raise InvalidArgumentError(
                f"baselines: expected 'default' and/or 'random:N', got {part.strip()!r}; "
                f"e.g. {option('baselines', 'default,random:4')}"
            )
        try:
            n = int(count) if count else 1
        except ValueError:
            n = -1
        if n < 0:
            raise InvalidArgumentError(
                f"baselines: expected random:N with N >= 0, got {part.strip()!r}"
            )
        if n > MAX_RANDOM_BASELINES:
            raise InvalidArgumentError(
                f"baselines: expected random:N with N <= {MAX_RANDOM_BASELINES} (each is a "
                f"training run), got {part.strip()!r}; ask for fewer random configs"
            )
        out.append((name, n))
    return out


def resolve_budget(
    modality: str, epochs: int | None, budget_s: float | None, space: Space
) -> Budget:
    """Turn ``--epochs``/``--budget-s`` into a Budget (default: the trainer's epochs)."""
    if epochs is not None and not 1 <= epochs <= MAX_EPOCHS:
        raise InvalidArgumentError(
            f"epochs: expected 1 to {MAX_EPOCHS} per config, got {epochs}; "
            f"use fewer {option('epochs')}, or {option('budget_s')} for a time limit"
        )
    if budget_s is not None:
        if not math.isfinite(budget_s) or budget_s <= 0:
            raise InvalidArgumentError(
                f"budget: expected a finite number of seconds > 0, got {budget_s:g}"
            )
        high = (space.fidelity or {}).get("high") or MAX_EPOCHS_WITH_BUDGET
        return Budget(epochs or int(high), float(budget_s))
    return Budget(epochs or trainer_for(space.name, modality).default_epochs)


def plan_configs(
    store: DuckDBStore,
    features: Mapping[str, float],
    space: Space,
    *,
    task: str,
    top_k: int,
    baselines: list[tuple[str, int]],
    seed: int,
) -> tuple[list[PlannedConfig], int | None, int | None]:
    """Recommended configs (logged as a query) plus baselines, without duplicates.

    Returns:
        ``(planned, query_id, model_id)``; ids are ``None`` when ``top_k`` is 0.
    """
    planned: list[PlannedConfig] = []
    query_id = model_id = None
    if top_k > 0:
        from recommender.knowledge.query import answer

        result = answer(store, dict(features), space=space.name, top_k=top_k, task=task)
        query_id, model_id = result.query_id, result.model_id
        for i, rec in enumerate(result.recommendations):
            rank = rec.rank or i + 1
            config = space.clip(dict(rec.config))  # guard against float round-off at bounds
            planned.append(PlannedConfig("recommended", config, rec.predicted, rank))
    for name, n in baselines:
        if name == "default":
            planned.append(PlannedConfig("default", space.default_config()))
        elif n:
            planned += [PlannedConfig("random", c) for c in space.sample(n, seed=seed + 1)]
    return _dedupe(planned, space), query_id, model_id


def _dedupe(planned: list[PlannedConfig], space: Space) -> list[PlannedConfig]:
    seen: set[str] = set()
    out = []
    for p in planned:
        p.config = full_params(p.config, space)
        key = json.dumps(p.config, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def full_params(config: Mapping[str, Any], space: Space) -> dict[str, Any]:
    """Every parameter of ``space`` as a key (inactive conditional ones ``None``), checked.

    Raises:
        SpaceError: the config has unknown or out-of-range values.
    """
    checked = space.validate_config(dict(config))
    return {name: checked.get(name) for name in space.names}


def run_key(
    task: str,
    space: str,
    config: Mapping[str, Any],
    seed: int,
    budget: Budget,
    source: str = SOURCE,
) -> str:
    """Stable key of one run (of a validation, or of ``source``): the same request maps to
    the same key."""
    blob = json.dumps(
        {"task": task, "space": space, "config": dict(config), "seed": seed,
         "epochs": budget.epochs, "budget_s": budget.time_budget_s},
        sort_keys=True, default=str,
    )  # fmt: skip
    return f"{source}:{hashlib.sha256(blob.encode()).hexdigest()[:20]}"
