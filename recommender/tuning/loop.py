"""Tune one task: train a configuration, learn from its result, propose the next.

The loop of ``recommender tune``. An Optuna study, kept in an RDB storage beside the
store, holds the trials, and :class:`~recommender.tuning.sampler.RecommenderSampler`
proposes each configuration (today's top recommendation first, then the few-shot
surrogate's pick given the task's results so far). Every trial trains on the user's data
with the space's trainer, and its run (with the learning curve) is stored in its own
transaction as soon as it finishes, as an ordinary run with source ``tune``, so the next
``retrain`` learns from it. The same study continues after Ctrl-C or a killed process:
trials left running are marked failed (and not proposed again), and the budget counts
the trials already trained. A trial stopped by an error outside its config (a damaged
file in the data) does not count, and its config is tried again first next time. Where
the study lives, whose it is and who may tune it: :mod:`recommender.tuning.studies`.

With a pruner (``tune --prune``: :func:`default_pruner`), each epoch's validation value is
reported to it, and a trial far behind the finished ones at the same epoch stops there:
it is stored with status ``pruned`` and its curve so far, counts against the budget and is
never proposed again.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from recommender.errors import RecommenderError
from recommender.tables import counted
from recommender.tuning.studies import (
    default_study_name,
    fail_stale_trials,
    load_study,
    open_study,
    storage_url,
    study_held,
)

if TYPE_CHECKING:
    import optuna

    from recommender.datasets.loading import Dataset
    from recommender.spaces.space import Space
    from recommender.store import DuckDBStore
    from recommender.training.common import TrainResult

SOURCE = "tune"
INTERRUPTED = "interrupted"  # status of a trial stopped before its run finished


class TuneInterrupted(RecommenderError, KeyboardInterrupt):
    """Ctrl-C stopped a tune; the trials that finished are stored and in the study."""


@dataclass
class TuneTrial:
    """One trial of a study: its configuration, result and where the configuration came from."""

    number: int
    config: dict[str, Any]
    value: float | None
    status: str  # ok | pruned | failed | diverged | interrupted
    source: str  # recommended | adaptive
    duration_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "config": self.config, "value": self.value,
                "status": self.status, "source": self.source}  # fmt: skip


@dataclass
class TuneProgress:
    """Where a tune stands after a trial: trials done of the budget, best, time left."""

    done: int
    budget: int
    best: TuneTrial | None
    eta_s: float


@dataclass
class TuneResult:
    """Every trial of the study (earlier calls included), in order."""

    task: str
    space: str
    study: str
    storage: str | None
    metric: str
    trials: list[TuneTrial] = field(default_factory=list)

    @property
    def best(self) -> TuneTrial | None:
        return best_of(self.trials)

    def as_dict(self) -> dict[str, Any]:
        best = self.best
        return {
            "task": self.task, "space": self.space, "study": self.study, "metric": self.metric,
            "best": None if best is None else {"config": best.config, "value": best.value},
            "trials": [t.as_dict() for t in self.trials],
        }  # fmt: skip


OnTrial = Callable[[TuneTrial, TuneProgress], None]
OnNote = Callable[[str], None]


def best_of(trials: list[TuneTrial]) -> TuneTrial | None:
    done = [t for t in trials if t.status == "ok" and t.value is not None]
    return max(done, key=lambda t: t.value or 0.0) if done else None


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
        on_trial: called after each trial is stored and told; ``on_note``: one-line notes.

    Raises:
        InvalidArgumentError: the study belongs to another task, space or epoch count.
        ModelError: no trained model for the space.
        TuneInterrupted: Ctrl-C; the trials finished before it are kept.
    """
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
        fail_stale_trials(study, on_note)
        if existing and on_note is not None:
            on_note(_resuming(study, name, budget))
        loop = _Loop(store, dataset, space, study, sampler, features, epochs, device, seed,
                     pruner)  # fmt: skip
        with store.released():  # other processes may use the store while trials train
            loop.run(budget, on_trial)
        return TuneResult(dataset.name, space.name, name, storage, loop.metric,
                          [_trial(t) for t in study.get_trials(deepcopy=False)
                           if _shown(t)])  # fmt: skip


def _resuming(study: optuna.Study, name: str, budget: int) -> str:
    """What a resumed tune says before its first new trial: trials done, and to go."""
    done = sum(_counts(t) for t in study.get_trials(deepcopy=False))
    left = max(budget - done, 0)
    to_go = f"{counted(left, 'more trial')} to train" if left else "nothing more to train"
    return f"resuming study {name!r}: {counted(done, 'trial')} done of budget {budget}, {to_go}"


class _Loop:
    """Ask, train, store, tell: one trial at a time."""

    def __init__(
        self,
        store: DuckDBStore,
        dataset: Dataset,
        space: Space,
        study: optuna.Study,
        sampler: Any,
        features: Mapping[str, float],
        epochs: int,
        device: str,
        seed: int,
        pruner: Any = None,
    ) -> None:
        from recommender.training.common import metric_name_for
        from recommender.training.trainers import trainer_for

        self.store, self.dataset, self.space, self.study = store, dataset, space, study
        self.sampler, self.features, self.epochs = sampler, features, epochs
        self.batch: int | None = None  # the task and its batch are stored with the first run
        self.device, self.seed = device, seed
        self.trainer = trainer_for(space.name, dataset.modality)
        self.metric = metric_name_for(dataset.problem_type)
        self.times: list[float] = []
        self.pruner = pruner  # when set, each epoch is reported to the study's pruner

    def run(self, budget: int, on_trial: OnTrial | None) -> None:
        done = sum(_counts(t) for t in self.study.get_trials(deepcopy=False))
        while done < budget:
            start = time.monotonic()
            trial = self._one()
            done += 1
            self.times.append(time.monotonic() - start)
            if on_trial is not None:
                trials = [_trial(t) for t in self.study.get_trials(deepcopy=False)]
                eta = (budget - done) * sum(self.times) / len(self.times)
                on_trial(trial, TuneProgress(done, budget, best_of(trials), eta))

    def _one(self) -> TuneTrial:
        from optuna.trial import TrialState

        from recommender.tuning.sampler import suggest_config

        trial = self.study.ask()
        config = suggest_config(trial, self.space)
        source = trial.user_attrs.get("source") or self.sampler.sources.get(
            trial.number, "adaptive"
        )
        trial.set_user_attr("source", source)
        pruned: list[int] = []

        def on_epoch(epoch: int, value: float) -> bool:
            if self.pruner is None or epoch >= self.epochs or not math.isfinite(value):
                return True  # the last epoch costs nothing more to finish
            trial.report(float(value), epoch)
            if trial.should_prune():
                pruned.append(epoch)
                return False
            return True

        try:
            result = self.trainer.train(self.dataset, config, epochs=self.epochs,
                                        seed=self.seed, device=self.device,
                                        on_epoch=on_epoch)  # fmt: skip
        except KeyboardInterrupt:
            # Not a trained trial (it does not count against the budget) and never proposed again.
            self.study.tell(trial, state=TrialState.FAIL)
            raise TuneInterrupted(
                f"interrupted: {len(self.times)} trial(s) trained in this call; rerun the "
                "same command to continue the study"
            ) from None
        except BaseException:
            self._retry_later(trial, source)
            raise
        if pruned and result.status == "ok":
            result = dataclasses.replace(result, status="pruned")
        self._record(config, result)
        ok = result.status == "ok" and result.value is not None and math.isfinite(result.value)
        status = "ok" if ok else ("failed" if result.status == "ok" else result.status)
        trial.set_user_attr("status", status)
        trial.set_user_attr("duration_s", result.duration_s)
        if ok:
            self.study.tell(trial, float(result.value))  # type: ignore[arg-type]
        else:
            state = TrialState.PRUNED if status == "pruned" else TrialState.FAIL
            self.study.tell(trial, state=state)
        value = float(result.value) if ok else None  # type: ignore[arg-type]
        return TuneTrial(trial.number, dict(trial.params), value, status, source,
                         result.duration_s)  # fmt: skip

    def _retry_later(self, trial: optuna.Trial, source: str) -> None:
        """An error outside the config (the data, the device) stopped ``trial``: it does not
        count, and its config is queued to be the next trial, so a later call starts with
        the recommendations this one did not get to train."""
        from optuna.trial import TrialState

        trial.set_user_attr("retry", True)
        self.study.tell(trial, state=TrialState.FAIL)
        self.study.enqueue_trial(dict(trial.params), user_attrs={"source": source})

    def _record(self, config: dict[str, Any], result: TrainResult) -> None:
        from recommender.validation.plan import Budget, full_params, run_key
        from recommender.validation.recording import record_run, start_batch

        params = full_params(config, self.space)
        key = run_key(self.dataset.name, self.space.name, params, self.seed,
                      Budget(self.epochs), source=SOURCE)  # fmt: skip
        with self.store.attached(), self.store.transaction():
            if self.batch is None:
                self.batch = start_batch(self.store, self.dataset, self.features, source=SOURCE)
            record_run(
                self.store, run_key=key, task=self.dataset.name, space=self.space.name,
                params=params, result=result, batch=self.batch, query_id=None, source=SOURCE,
            )  # fmt: skip


def _counts(t: optuna.trial.FrozenTrial) -> bool:
    """A trial counts against the budget once trained (ok, pruned or failed, not interrupted)."""
    from optuna.trial import TrialState

    done = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)
    return t.state in done and "status" in t.user_attrs


def _shown(t: optuna.trial.FrozenTrial) -> bool:
    """Every trial but those stopped by an error outside their config (retried instead)."""
    return not t.user_attrs.get("retry")


def _trial(t: optuna.trial.FrozenTrial) -> TuneTrial:
    from optuna.trial import TrialState

    if t.state == TrialState.COMPLETE:
        status = "ok"
    elif t.state == TrialState.FAIL:
        status = str(t.user_attrs.get("status", INTERRUPTED))
    else:
        status = t.state.name.lower()
    return TuneTrial(
        number=t.number, config=dict(t.params), value=t.value, status=status,
        source=str(t.user_attrs.get("source", "adaptive")),
        duration_s=t.user_attrs.get("duration_s"),
    )  # fmt: skip
