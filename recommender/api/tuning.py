"""The Python API of ``recommender tune``: tune a new task, adapting to each result.

From Optuna, the sampler is the API
(:class:`~recommender.tuning.sampler.RecommenderSampler`); :func:`tune` runs the
whole loop with the built-in trainers, as the command does.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.api.inputs import Data, Target, load_data
from recommender.arguments import check_int
from recommender.datasets.fingerprints import claim_task
from recommender.errors import InvalidArgumentError, option

if TYPE_CHECKING:
    from recommender.datasets.loading import Dataset
    from recommender.tuning.loop import OnTrial, TuneResult

__all__ = ["tune"]

logger = logging.getLogger("recommender")

MAX_BUDGET = 10_000  # trials in one study


def tune(
    data: Data,
    target: Target = None,
    *,
    space: str | None = None,
    budget: int = 20,
    epochs: int | None = None,
    device: str = "auto",
    seed: int = 0,
    study: str | None = None,
    prune: bool = False,
    parallel: int = 1,
    executor: str = "local",
    problem: str | None = None,
    text_column: str | None = None,
    max_rows: int | None = None,
    db: str | Path | None = None,
    lock_timeout: float | None = None,
    on_trial: OnTrial | None = None,
    on_note: Callable[[str], None] | None = None,
) -> TuneResult:
    """Tune ``data``: train ``budget`` configs, each chosen from the results so far.

    The first is today's top recommendation; each next one is the few-shot surrogate's
    pick given the task's results. Every trial's run (with its learning curve) is stored
    as soon as it finishes, with source ``tune``, so the next :func:`retrain` learns from
    it. The Optuna study lives beside the store (``<store file>.optuna.db``); calling again
    with the same ``study`` continues it, and ``budget`` counts its trials already trained.
    Other data than a task's is its own task (:mod:`~recommender.datasets.fingerprints`).

    Args:
        data: a pandas DataFrame, a dataset file or folder, or a bundled dataset.
        target: target column; ``problem``, ``text_column``, ``max_rows`` as in
            :func:`~recommender.api.describe`.
        space: search space (default: the built-in one of the data's modality).
        budget: trained trials the study should hold.
        epochs: epochs per trial (default: the space's trainer's).
        device: ``"auto"`` (the GPU when there is one), ``"cpu"`` or ``"cuda[:N]"``.
        seed: seed of the suggestions and of every training run.
        study: the study's name (default: ``<task>-<space>``).
        prune: stop hopeless trials early (:func:`~recommender.tuning.loop.default_pruner`).
        parallel: trials trained at once, each next chosen as soon as one finishes (capped
            by the CPU cores and memory, or one per GPU, with a note).
        executor: ``"local"`` (worker processes) or ``"ray"`` (``recommender[ray]``).
        db: store file; ``lock_timeout``: seconds to wait for a busy store.
        on_trial: called with each finished trial and the progress; ``on_note``: notes.

    Returns:
        A :class:`~recommender.tuning.loop.TuneResult` with every trial of the study.

    Raises:
        InvalidArgumentError: bad ``budget``, ``epochs``, ``parallel``, ``executor`` or
            ``study``; a study of another store, task, space or epochs.
        RecommenderError: ``executor="ray"`` without Ray installed.
        StoreError: the study is busy or its file damaged.
        DatasetError: unreadable data or no such target. SpaceError: unknown space.
        TuneInterrupted: Ctrl-C; the trials finished before it are kept.
    """
    from recommender.metafeatures import compute_metafeatures
    from recommender.tuning.loop import trial_workers
    from recommender.validation.runner import check_request

    note = on_note or logger.info
    budget, epochs, seed = _check_arguments(budget, epochs, study, seed)
    dataset = load_data(
        data, target, problem=problem, text_column=text_column, max_rows=max_rows, seed=seed
    )
    dev = check_request(dataset, device=device, seed=seed, executor=executor, parallel=parallel)
    space_name = _space_for(space, dataset.modality)
    # Worker processes start first: their imports overlap the meta-features and the model.
    with trial_workers(executor, parallel, dev, space_name, dataset.modality, note) as workers:
        features = compute_metafeatures(dataset, seed=seed).features
        finite = {k: float(v) for k, v in features.items() if v is not None and math.isfinite(v)}
        return _tune_in_store(
            data, db, lock_timeout, dataset, finite, space_name, epochs, prune, note, budget=budget,
            device=dev, seed=seed, study_name=study, workers=workers, on_trial=on_trial,
        )  # fmt: skip


def _tune_in_store(
    data: Data, db: str | Path | None, lock_timeout: float | None, dataset: Dataset,
    features: dict[str, float], space_name: str, epochs: int | None, prune: bool,
    note: Callable[[str], None], **options: Any,
) -> TuneResult:  # fmt: skip
    """Open the store, load the shipped knowledge the space needs, and run the tune."""
    from recommender.knowledge.packs import ensure_shipped
    from recommender.spaces.space import load_space
    from recommender.store import open_store
    from recommender.training.trainers import trainer_for
    from recommender.tuning.loop import default_pruner, run_tune

    with open_store(db, lock_timeout=lock_timeout) as store:
        the_space = load_space(space_name, store)  # unknown: refused before any write
        dataset = claim_task(store, dataset, data, on_note=note)
        message = ensure_shipped(store, the_space.name)
        if message:
            note(message)
        epochs = epochs or trainer_for(the_space.name, dataset.modality).default_epochs
        return run_tune(
            store, dataset, features, space=the_space, epochs=epochs, on_note=note,
            pruner=default_pruner(epochs) if prune else None, **options,
        )  # fmt: skip


def _space_for(space: str | None, modality: str) -> str:
    """The space to tune in; a built-in one of another modality is refused before its
    pack is loaded into the store."""
    from recommender.training.trainers import check_space_modality, default_space_for

    name = space or default_space_for(modality)
    check_space_modality(name, modality)
    return name


def _check_arguments(
    budget: int, epochs: int | None, study: str | None, seed: int
) -> tuple[int, int | None, int]:
    """``budget``, ``epochs`` and ``seed`` as ints, checked with ``study`` before anything
    is read."""
    from recommender.datasets.loading import check_seed
    from recommender.validation.plan import MAX_EPOCHS  # validate's bound, per trial

    budget = check_int("budget", budget, high=MAX_BUDGET)
    if epochs is not None:
        epochs = check_int("epochs", epochs, high=MAX_EPOCHS)
    if study is not None and (not isinstance(study, str) or not study.strip()):
        raise InvalidArgumentError(
            f"study: expected a name, got {study!r}; pass {option('study', 'NAME')} or leave it out"
        )
    return budget, epochs, check_seed(seed)
