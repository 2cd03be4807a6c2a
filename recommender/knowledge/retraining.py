"""Training a challenger: the pipeline ``retrain`` runs before the registry decides.

The space's runs joined with their tasks' meta-features become the training data; the
surrogate's settings are chosen by leave-task-out cross-validation (the champion's
settings are scored on the same folds, for the registry's comparison); the surrogate is
fitted on every task and the few-shot model meta-trained beside it. Promotion (whether
the challenger replaces the champion) is :mod:`recommender.knowledge.registry`'s policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from recommender.errors import ModelError
from recommender.surrogate.model import (
    FittedSurrogate,
    TrainingData,
    fit_surrogate,
    load_training_data,
)

if TYPE_CHECKING:
    from recommender.spaces.space import Space
    from recommender.store.base import Store


@dataclass
class Challenger:
    """A trained challenger and its leave-task-out scores.

    Attributes:
        fitted: the surrogate, fitted on every training task.
        fewshot: the few-shot model meta-trained on the same tasks (None when skipped).
        fewshot_note: a note on the few-shot model (empty when there is none to give).
        params: the surrogate settings chosen.
        evaluation: the challenger's leave-task-out scores (``top1_regret``, ...).
        champion_evaluation: the champion's settings scored on the same folds, if given.
        data_note: a note on the training tasks without meta-features, when only some
            have them (empty otherwise).
    """

    fitted: FittedSurrogate
    fewshot: Any
    fewshot_note: str
    params: dict[str, Any]
    evaluation: dict[str, Any]
    champion_evaluation: dict[str, Any] | None
    data_note: str = ""


def training_data(store: Store, space: Space, **kwargs: Any) -> TrainingData:
    """The runs of ``space`` with their tasks' meta-features (``kwargs``: metric,
    maximize, fidelity).

    Raises:
        ModelError: fewer than 2 tasks to learn across.
    """
    data = load_training_data(store, space, **kwargs)
    if len(data.tasks) < 2:
        raise ModelError(
            f"retrain learns across tasks: expected runs for at least 2 "
            f"tasks in space {space.name!r}, got {len(data.tasks)}; ingest runs of more tasks"
        )
    return data


def train_challenger(
    data: TrainingData,
    *,
    params: dict[str, Any] | None = None,
    tune: bool = True,
    rival: dict[str, Any] | None = None,
    seed: int = 0,
    fewshot: bool = True,
) -> Challenger:
    """Choose settings, fit the surrogate and meta-train the few-shot model on ``data``.

    Args:
        data: the training data (see :func:`training_data`).
        params: fixed surrogate settings (skips tuning).
        tune: choose the settings by leave-task-out CV on the training tasks.
        rival: the champion's settings, scored on the same folds.
        seed: randomness.
        fewshot: also meta-train the few-shot model.
    """
    from recommender.fewshot.surrogate import meta_train_noted
    from recommender.surrogate.tuning import choose_settings

    chosen, evaluation, champion_evaluation = choose_settings(
        data, params=params, tune=tune, champion=rival, seed=seed
    )
    fitted = fit_surrogate(data, params=chosen, seed=seed)
    fitted.meta.update(cv=evaluation, params=chosen)
    few, note = meta_train_noted(data, seed=seed) if fewshot else (None, "")
    return Challenger(
        fitted, few, note, chosen, evaluation, champion_evaluation, _undescribed(data)
    )


def _undescribed(data: TrainingData) -> str:
    """A note on the training tasks without meta-features, when only some have them."""
    n = sum(1 for t in data.tasks if not data.metafeatures.get(t))
    if n == 0 or n == len(data.tasks):
        return ""
    return f"; {n} of {len(data.tasks)} tasks have no meta-features (they count as average tasks)"
