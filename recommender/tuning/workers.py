"""Where a tune's trials train, and the loop that keeps them training.

:class:`TrialLoop` asks the study for a trial, hands it to a worker, and as soon as one
finishes stores its run (with the curve), tells the study and asks for the next, so each
suggestion sees every result so far and the trials still running (they are RUNNING trials
in the study). :func:`trial_workers` provides the workers: this process for one trial at
a time, else the worker processes or Ray tasks of :mod:`recommender.validation.executors`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from recommender.tuning.trials import (
    DUPLICATE,
    SOURCE,
    OnNote,
    OnTrial,
    TuneInterrupted,
    TuneProgress,
    TuneTrial,
    best_of,
    counts,
    tune_trial,
)

if TYPE_CHECKING:
    import optuna

    from recommender.datasets.loading import Dataset
    from recommender.spaces.space import Space
    from recommender.store import DuckDBStore
    from recommender.training.common import TrainResult


@dataclass
class Workers:
    """Where trials train: an executor, and the device of each of its slots."""

    executor: Any
    devices: list[str]


@contextlib.contextmanager
def trial_workers(
    executor: str, parallel: int, device: str, space: str, modality: str,
    on_note: OnNote | None = None,
) -> Iterator[Workers]:  # fmt: skip
    """Workers for ``parallel`` trials at once, started now: worker processes import the
    trainer of ``space`` while the caller goes on (meta-features, the model, the study).

    ``parallel`` is capped by the CPU cores and memory, or the GPUs (with a note); one
    trial at a time trains in this process.

    Raises:
        InvalidArgumentError: an unknown executor or ``parallel`` below 1.
        RecommenderError: ``ray`` without Ray installed.
    """
    from recommender.validation.executors import (
        Processes,
        check_executor,
        device_slots,
        open_executor,
    )

    check_executor(executor, parallel)
    devices, note = device_slots(executor, parallel, device)
    if note and on_note is not None:
        on_note(note)
    gpus = 1.0 if devices[0].startswith("cuda") else None  # Ray: a whole GPU per trial
    with open_executor(executor, parallel=len(devices), n_calls=len(devices),
                       device=devices[0], gpus_per_call=gpus) as ex:  # fmt: skip
        if isinstance(ex, Processes):
            ex.start(functools.partial(warm_worker, space, modality))
        yield Workers(ex, devices)


def warm_worker(space: str, modality: str) -> None:
    """A worker's first call: import the trainer and torch's optimizers (seconds each)."""
    import importlib

    import torch

    from recommender.training.trainers import trainer_for

    target = getattr(trainer_for(space, modality), "target", "")
    if target:
        importlib.import_module(target.partition(":")[0])
    torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))])  # the first imports torch's compiler


@dataclass
class _InFlight:
    """A trial asked of the study and handed to a worker, not yet told."""

    trial: optuna.trial.Trial
    config: dict[str, Any]
    source: str
    device: str


class TrialLoop:
    """Ask, train, store, tell: up to ``parallel`` trials at once, each next one asked as
    soon as one finishes (so its suggestion sees every result and the trials running)."""

    def __init__(
        self,
        store: DuckDBStore,
        dataset: Dataset,
        space: Space,
        study: optuna.Study,
        sampler: Any,
        features: Mapping[str, float],
        epochs: int,
        seed: int,
        pruner: Any = None,
    ) -> None:
        from recommender.training.common import metric_name_for

        self.store, self.dataset, self.space, self.study = store, dataset, space, study
        self.sampler, self.features, self.epochs, self.seed = sampler, features, epochs, seed
        self.batch: int | None = None  # the task and its batch are stored with the first run
        self.metric = metric_name_for(dataset.problem_type)
        self.pruner = pruner  # when set, each trial's epochs are judged by the study's pruner
        self.running: dict[int, _InFlight] = {}
        self.free: list[str] = []  # devices of the idle workers
        self.done = self.trained = 0
        self.budget = 0
        self.started = time.monotonic()

    def run(self, budget: int, on_trial: OnTrial | None, workers: Workers) -> None:
        """Train trials until the study holds ``budget``; one at a time per worker slot."""
        from recommender.validation.executors import run_async

        self.budget, self.free = budget, list(reversed(workers.devices))
        self.started = time.monotonic()
        self.done = sum(counts(t) for t in self.study.get_trials(deepcopy=False))
        if self.done >= budget:
            return
        ex = workers.executor
        try:
            data = ex.share(self.dataset)
            run_async(ex, train_trial, lambda: self._next(data),
                      lambda n, out: self._finish(n, out, on_trial),
                      at_once=min(len(workers.devices), budget - self.done))  # fmt: skip
        except KeyboardInterrupt:
            raise TuneInterrupted(
                f"interrupted: {self.trained} trial(s) trained in this call; rerun the same "
                "command to continue the study"
            ) from None
        except Exception:  # not a kill: the trials running are tried again next time
            self._retry_running()
            raise
        finally:
            self._fail_running()

    def _next(self, data: Any) -> tuple[int, tuple[Any, ...], dict[str, Any]] | None:
        """Ask the study for the next trial to start, or ``None`` (budget met, or wait)."""
        from optuna.trial import TrialState

        from recommender.tuning.sampler import suggest_config

        if self.done + len(self.running) >= self.budget or not self.free:
            return None
        trial = self.study.ask()  # RUNNING in the study: the sampler sees it from now on
        config = suggest_config(trial, self.space)
        if any(f.config == config for f in self.running.values()):
            # Never train one config twice at once: drop this trial, ask again once one ends.
            trial.set_user_attr("status", DUPLICATE)
            self.study.tell(trial, state=TrialState.FAIL)
            return None
        source = trial.user_attrs.get("source") or self.sampler.sources.get(
            trial.number, "adaptive"
        )
        trial.set_user_attr("source", source)
        trial.set_user_attr("run_key", self._key(config))
        flight = _InFlight(trial, config, source, self.free.pop())
        self.running[trial.number] = flight
        pruning = None if self.pruner is None else TrialPruning(
            self.pruner, _judged(self.study), self.epochs)  # fmt: skip
        options = {"space": self.space.name, "epochs": self.epochs, "seed": self.seed,
                   "device": flight.device, "pruning": pruning}  # fmt: skip
        return trial.number, (data, config), options

    def _finish(
        self, number: int, outcome: tuple[TrainResult, int | None], on_trial: OnTrial | None
    ) -> None:
        """Store trial ``number``'s run (first: a kill in between loses nothing), then tell."""
        flight = self.running[number]
        result, pruned_at = outcome
        if pruned_at is not None and result.status == "ok":
            result = dataclasses.replace(result, status="pruned")
        self._record(flight.config, result)
        trial = _tell(self.study, flight, result, self.metric,
                      self.epochs if self.pruner is not None else 0)  # fmt: skip
        del self.running[number]
        self.free.append(flight.device)
        self.done += 1
        self.trained += 1
        if on_trial is not None:
            trials = [tune_trial(t) for t in self.study.get_trials(deepcopy=False)]
            per_trial = (time.monotonic() - self.started) / self.trained
            eta = (self.budget - self.done) * per_trial
            on_trial(trial, TuneProgress(self.done, self.budget, best_of(trials), eta))

    def _retry_running(self) -> None:
        """An error outside the configs (the data, the device) stopped the loop: the trials
        running do not count, and their configs are queued to be the next trials, so a later
        call starts with the recommendations this one did not get to train."""
        from optuna.trial import TrialState

        for flight in self.running.values():
            flight.trial.set_user_attr("retry", True)
            self.study.tell(flight.trial, state=TrialState.FAIL)
            self.study.enqueue_trial(dict(flight.trial.params),
                                     user_attrs={"source": flight.source})  # fmt: skip
        self.running.clear()

    def _fail_running(self) -> None:
        """Trials still running when the loop stops: failed, so never proposed again."""
        from optuna.trial import TrialState

        for flight in self.running.values():
            self.study.tell(flight.trial, state=TrialState.FAIL)
        self.running.clear()

    def _key(self, config: dict[str, Any]) -> str:
        from recommender.validation.plan import Budget, full_params, run_key

        params = full_params(config, self.space)
        return run_key(self.dataset.name, self.space.name, params, self.seed,
                       Budget(self.epochs), source=SOURCE)  # fmt: skip

    def _record(self, config: dict[str, Any], result: TrainResult) -> None:
        from recommender.validation.plan import full_params
        from recommender.validation.recording import record_run, start_batch

        with self.store.attached(), self.store.transaction():
            if self.batch is None:
                self.batch = start_batch(self.store, self.dataset, self.features, source=SOURCE)
            record_run(
                self.store, run_key=self._key(config), task=self.dataset.name,
                space=self.space.name, params=full_params(config, self.space), result=result,
                batch=self.batch, query_id=None, source=SOURCE,
            )  # fmt: skip


def train_trial(
    dataset: Dataset,
    config: dict[str, Any],
    *,
    space: str,
    epochs: int,
    seed: int,
    device: str,
    pruning: TrialPruning | None = None,
) -> tuple[TrainResult, int | None]:
    """Train one trial where the executor runs it (this process, a worker, a Ray task).

    Returns:
        The training result, and the epoch the pruner stopped it at (``None``: not pruned).
    """
    from recommender.training.trainers import trainer_for

    trainer = trainer_for(space, dataset.modality)
    result = trainer.train(dataset, config, epochs=epochs, seed=seed, device=device,
                           on_epoch=pruning)  # fmt: skip
    return result, None if pruning is None else pruning.stopped


class TrialPruning:
    """Whether a trial stops early, judged where it trains by the study's pruner against
    the trials that had finished when it started (a snapshot: workers need no access to
    the study)."""

    def __init__(self, pruner: Any, finished: list[Any], epochs: int) -> None:
        self.pruner, self.finished, self.epochs = pruner, finished, epochs
        self.stopped: int | None = None
        self._trial: Any = None

    def __call__(self, epoch: int, value: float) -> bool:
        if epoch >= self.epochs or not math.isfinite(value):
            return True  # the last epoch costs nothing more to finish
        if self._trial is None:
            self._trial = self._start()
        self._trial.report(float(value), epoch)
        if self._trial.should_prune():
            self.stopped = epoch
            return False
        return True

    def _start(self) -> Any:
        import logging

        import optuna

        logger = logging.getLogger("optuna")
        level = logger.level
        logger.setLevel(max(level, logging.WARNING))  # not news: "A new study created ..."
        try:
            study = optuna.create_study(direction="maximize", pruner=self.pruner)
        finally:
            logger.setLevel(level)
        study.add_trials(self.finished)
        return study.ask()


def _judged(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The trials a pruner compares a running one with: finished, with their curves."""
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))


def _tell(
    study: optuna.Study, flight: _InFlight, result: TrainResult, metric: str, epochs: int
) -> TuneTrial:
    """Tell the study how a trial ended (with its curve up to ``epochs`` for the pruner)."""
    from optuna.trial import TrialState

    trial = flight.trial
    for row in result.curve:
        if row["epoch"] < epochs and math.isfinite(row[metric]):
            trial.report(float(row[metric]), int(row["epoch"]))
    ok = result.status == "ok" and result.value is not None and math.isfinite(result.value)
    status = "ok" if ok else ("failed" if result.status == "ok" else result.status)
    trial.set_user_attr("status", status)
    trial.set_user_attr("duration_s", result.duration_s)
    if ok:
        study.tell(trial, float(result.value))  # type: ignore[arg-type]
    else:
        study.tell(trial, state=TrialState.PRUNED if status == "pruned" else TrialState.FAIL)
    value = float(result.value) if ok else None  # type: ignore[arg-type]
    return TuneTrial(trial.number, dict(flight.config), value, status, flight.source,
                     result.duration_s)  # fmt: skip
