"""Tune one task: train a configuration, learn from its result, propose the next.

The loop of ``recommender tune``. An Optuna study, kept in an RDB storage beside the
store, holds the trials, and :class:`~recommender.tuning.sampler.RecommenderSampler`
proposes each configuration (today's top recommendation first, then the few-shot
surrogate's pick given the task's results so far). Every trial trains on the user's data
with the space's trainer, and its run (with the learning curve) is stored in its own
transaction as soon as it finishes, as an ordinary run with source ``tune``, so the next
``retrain`` learns from it. With ``parallel`` above 1, that many trials train at once on
worker processes or Ray (:mod:`~recommender.tuning.workers`), the next one asked as soon
as one finishes. The same study continues after Ctrl-C or a killed process: a trial left
running whose run reached the store is kept as stored, the others are marked failed (and
not proposed again), and the budget counts the trials already trained. A trial stopped by
an error outside its config (a damaged file in the data) does not count, and its config
is tried again first next time. Where the study lives, whose it is and who may tune it:
:mod:`recommender.tuning.studies`.

With a pruner (``tune --prune``: :func:`default_pruner`), each epoch's validation value is
reported to it, and a trial far behind the finished ones at the same epoch stops there:
it is stored with status ``pruned`` and its curve so far, counts against the budget and is
never proposed again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from recommender.tables import counted
from recommender.tuning.studies import (
    default_study_name,
    load_study,
    open_study,
    storage_url,
    study_held,
)
from recommender.tuning.trials import (
    DUPLICATE,
    INTERRUPTED,
    SOURCE,
    OnNote,
    OnTrial,
    TuneInterrupted,
    TuneProgress,
    TuneResult,
    TuneTrial,
    best_of,
    counts,
    shown,
    tune_trial,
)
from recommender.tuning.workers import TrialLoop, Workers, trial_workers

__all__ = [
    "DUPLICATE", "INTERRUPTED", "SOURCE", "OnNote", "OnTrial", "TuneInterrupted",
    "TuneProgress", "TuneResult", "TuneTrial", "Workers", "best_of", "default_pruner",
    "default_study_name", "run_tune", "storage_url", "trial_workers",
]  # fmt: skip

if TYPE_CHECKING:
    import optuna

    from recommender.datasets.loading import Dataset
    from recommender.spaces.space import Space
    from recommender.store import DuckDBStore


def default_pruner(epochs: int) -> Any:
    """The pruner of ``tune --prune``: stop a trial whose best value so far is in the
    bottom quarter of the finished trials' values at that epoch, from the middle epoch on,
    once 5 trials have finished.

    Off by default: replayed on the shipped packs
    (``python -m pipelines.bench.bench_pruning``), it saved 9 % of the training time of 20
    tabular trials and 29 % of 20 image trials, but found no better configurations in the
    same time than training every trial fully, and worse ones on the image pack.
    """
    import optuna

    return optuna.pruners.PercentilePruner(
        75.0, n_startup_trials=5, n_warmup_steps=max(epochs // 2, 1)
    )


def run_tune(
    store: DuckDBStore,
    dataset: Dataset,
    features: Mapping[str, float],
    *,
    space: Space,
    budget: int,
    epochs: int,
    device: str,
    seed: int = 0,
    study_name: str | None = None,
    pruner: Any = None,
    parallel: int = 1,
    executor: str = "local",
    workers: Workers | None = None,
    on_trial: OnTrial | None = None,
    on_note: OnNote | None = None,
) -> TuneResult:
    """Tune ``dataset`` in ``space`` until the study holds ``budget`` trained trials.

    Args:
        store: an open, writable store with a champion for ``space``.
        dataset: the data; its name is the task's name in the store.
        features: its meta-features.
        space: the search space; its trainer is ``TRAINERS[space.name]``, else the one of
            the dataset's modality.
        budget: trained trials the study should hold (earlier calls' included).
        epochs: epochs per trial; ``device``: ``cpu`` or ``cuda``; ``seed``: everything's.
        study_name: the study to create or continue (default: ``<task>-<space>``).
        pruner: an Optuna pruner for this call (``None``: every trial trains to the end).
        parallel: trials trained at once, each next one asked as soon as one finishes,
            with the running ones in the study (so the sampler proposes other configs).
            Locally each trains in a worker process, on its own GPU on CUDA; capped by
            the CPU cores and memory, or the GPUs (with a note).
        executor: ``local`` (this machine) or ``ray`` (each trial a Ray task).
        workers: workers :func:`trial_workers` started earlier (then ``parallel`` and
            ``executor`` are theirs); ``None``: started here.
        on_trial: called after each trial is stored and told; ``on_note``: one-line notes.

    Raises:
        InvalidArgumentError: the study belongs to another task, space or epoch count.
        ModelError: no trained model for the space.
        TuneInterrupted: Ctrl-C; the trials finished before it are kept.
    """
    if workers is None:
        with trial_workers(executor, parallel, device, space.name, dataset.modality,
                           on_note) as started:  # fmt: skip
            return run_tune(
                store, dataset, features, space=space, budget=budget, epochs=epochs,
                device=device, seed=seed, study_name=study_name, pruner=pruner,
                workers=started, on_trial=on_trial, on_note=on_note,
            )  # fmt: skip
    from recommender.fewshot.store_model import tuner_parts
    from recommender.tuning.sampler import RecommenderSampler

    name = study_name or default_study_name(dataset.name, space.name)
    attrs = {"store_id": store.store_id(), "task": dataset.name, "space": space.name,
             "epochs": epochs, "fingerprint": dataset.fingerprint}  # fmt: skip
    storage = storage_url(store.path)
    with study_held(store, storage, name):
        existing = load_study(name, storage, attrs, store.path)
        parts = tuner_parts(store, space.name, metafeatures=dict(features), on_note=on_note)
        sampler = RecommenderSampler.from_surrogate(
            parts.surrogate, metafeatures=parts.metafeatures, zero_shot=parts.zero_shot,
            seed=seed, prior=parts.prior,
        )  # fmt: skip
        import optuna

        study = open_study(name, storage, sampler, pruner or optuna.pruners.NopPruner(),
                           attrs, existing)  # fmt: skip
        loop = TrialLoop(store, dataset, space, study, sampler, features, epochs, seed, pruner)
        _settle_stale_trials(loop, on_note)
        if existing and on_note is not None:
            on_note(_resuming(study, name, budget))
        with store.released():  # other processes may use the store while trials train
            loop.run(budget, on_trial, workers)
        return TuneResult(dataset.name, space.name, name, storage, loop.metric,
                          [tune_trial(t) for t in study.get_trials(deepcopy=False)
                           if shown(t)])  # fmt: skip


def _settle_stale_trials(loop: TrialLoop, on_note: OnNote | None) -> None:
    """Trials a killed process left running: told as stored when their run reached the
    store before the kill, else failed (interrupted), so never proposed again. Waiting
    trials (a config queued to be tried again after an error outside it) are kept for the
    next ask."""
    from optuna.trial import TrialState

    study = loop.study
    stale = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    if not stale:
        return
    runs = {r["run_key"]: r for r in loop.store.runs(loop.dataset.name, space=loop.space.name)
            if r["source"] == SOURCE}  # fmt: skip
    kept = 0
    for t in stale:
        run = runs.get(t.user_attrs.get("run_key"))
        value = None if run is None else run["metrics"].get(loop.metric)
        status = None if run is None else run["status"]
        if status is None or (status == "ok" and value is None):
            study.tell(t.number, state=TrialState.FAIL)
            continue
        kept += 1
        study._storage.set_trial_user_attr(t._trial_id, "status", status)  # noqa: SLF001
        if status == "ok":
            study.tell(t.number, float(value))  # type: ignore[arg-type]
        else:
            study.tell(t.number, state=TrialState.PRUNED if status == "pruned" else TrialState.FAIL)
    if on_note is not None:
        kept_text = (
            f": {kept} stored before it stopped and kept, {len(stale) - kept}" if kept else ""
        )
        on_note(f"note: {len(stale)} trial(s) left running by an earlier call{kept_text} "
                "marked failed")  # fmt: skip


def _resuming(study: optuna.Study, name: str, budget: int) -> str:
    """What a resumed tune says before its first new trial: trials done, and to go."""
    done = sum(counts(t) for t in study.get_trials(deepcopy=False))
    left = max(budget - done, 0)
    to_go = f"{counted(left, 'more trial')} to train" if left else "nothing more to train"
    return f"resuming study {name!r}: {counted(done, 'trial')} done of budget {budget}, {to_go}"
