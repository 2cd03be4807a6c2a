"""Plan validation configs, train them on an executor, and record every run.

Each finished run is written in its own transaction (runs row + curve points), so an
interrupted validation keeps what finished. The store file is released while configs
train and re-opened for each write, so other processes can use it meanwhile. Runs are
shaped like ingested ones (``space`` column, every parameter of the space as a key in
``params``), so the next ``retrain`` of that space learns from them.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from recommender.errors import InvalidArgumentError, RecommenderError, option
from recommender.training.common import TrainResult, metric_name_for
from recommender.training.trainers import trainer_for
from recommender.validation.executors import cap_parallel, check_executor, open_executor, run_each
from recommender.validation.plan import (
    MAX_EPOCHS_WITH_BUDGET,
    SOURCE,
    Budget,
    PlannedConfig,
    full_params,
    parse_baselines,
    plan_configs,
    resolve_budget,
    run_key,
)

if TYPE_CHECKING:
    from recommender.datasets.loading import Dataset
    from recommender.spaces.space import Space
    from recommender.store import DuckDBStore

__all__ = [
    "MAX_EPOCHS_WITH_BUDGET", "SOURCE", "Budget", "PlannedConfig", "ValidationOutcome",
    "ValidationReport", "full_params", "parse_baselines", "plan_configs", "resolve_budget",
    "ValidationInterrupted", "check_request", "run_key", "run_validation", "train_config",
]  # fmt: skip


class ValidationInterrupted(RecommenderError, KeyboardInterrupt):
    """Ctrl-C stopped a validation; the runs that finished before it are stored.

    A KeyboardInterrupt still (callers that catch one keep working), and a
    RecommenderError, so the command line prints its one line.
    """


@dataclass
class ValidationOutcome:
    """A planned configuration with its training result and store key."""

    planned: PlannedConfig
    result: TrainResult
    run_key: str

    def as_dict(self) -> dict[str, Any]:
        r = self.result
        return {
            "source": self.planned.source,
            "rank": self.planned.rank,
            "config": self.planned.config,
            "predicted": self.planned.predicted,
            "status": r.status,
            "metric": r.metric_name,
            "value": r.value,
            "best_epoch": r.best_epoch,
            "epochs": r.epochs,
            "duration_s": r.duration_s,
            "error": r.error,
            "n_train": r.n_train,
            "n_val": r.n_val,
            "run_key": self.run_key,
        }


@dataclass
class ValidationReport:
    """Everything one validation produced."""

    task: str
    space: str
    metric: str
    query_id: int | None
    model_id: int | None
    outcomes: list[ValidationOutcome] = field(default_factory=list)


def train_config(
    dataset: Dataset,
    config: Mapping[str, Any],
    *,
    budget: Budget,
    seed: int,
    device: str,
    trainer_options: Mapping[str, Any] | None = None,
    space: str | None = None,
) -> TrainResult:
    """Train one config with the trainer of ``space`` (default: of the dataset's modality)."""
    trainer = trainer_for(space or "", dataset.modality)
    active = {k: v for k, v in config.items() if v is not None}
    return trainer.train(
        dataset, active, epochs=budget.epochs, seed=seed, device=device,
        time_budget_s=budget.time_budget_s, **dict(trainer_options or {}),
    )  # fmt: skip


OnResult = Callable[[ValidationOutcome], None]
OnNote = Callable[[str], None]


def _note_to_stderr(note: str) -> None:
    print(note, file=sys.stderr)


def run_validation(
    store: DuckDBStore,
    dataset: Dataset,
    *,
    space: str | None = None,
    top_k: int = 5,
    baselines: str | list[tuple[str, int]] = "default",
    epochs: int | None = None,
    budget_s: float | None = None,
    device: str = "auto",
    seed: int = 0,
    executor: str = "local",
    parallel: int = 1,
    metafeatures: Mapping[str, float] | None = None,
    trainer_options: Mapping[str, Any] | None = None,
    on_result: OnResult | None = None,
    on_note: OnNote = _note_to_stderr,
) -> ValidationReport:
    """Recommend ``top_k`` configs for ``dataset``, train them and the baselines, record all.

    Args:
        store: an open, writable store.
        dataset: the data to validate on; its name is the task name in the store.
        space: search space name (default: the built-in space of the dataset's modality);
            its trainer is ``TRAINERS[space]``, else the one of the dataset's modality.
        top_k: recommended configs to train; 0 trains the baselines only (no model needed).
        baselines: ``"default,random:N"`` or parsed pairs.
        epochs: epochs per config (default: the trainer's ``default_epochs``).
        budget_s: seconds per config instead of a fixed epoch count.
        device: ``auto``, ``cpu`` or ``cuda``.
        seed: seeds recommendations, random baselines and every training run.
        executor: ``local`` (this machine) or ``ray`` (configs as Ray tasks).
        parallel: configs trained at once: locally each in its own process (sharing a GPU
            or the CPU cores), capped by the CPU cores and available memory (with a note);
            on Ray each task asks for ``1 / parallel`` of a GPU.
        metafeatures: precomputed meta-features; computed from ``dataset`` when ``None``.
        trainer_options: extra keyword arguments for the trainer (e.g. ``max_rows``).
        on_result: called after each run is stored (progress output).
        on_note: called with one-line notes, such as a capped ``parallel`` (default:
            printed to stderr).

    Returns:
        The report, outcomes in plan order.

    Raises:
        RecommenderError: bad options, no model for the space, Ray missing, bad data
            (no feature column, too many classes for the rows); all checked before
            anything is written to the store.
        ValidationInterrupted: Ctrl-C; runs finished before it are stored.

    >>> import pandas as pd; from recommender.store import DuckDBStore
    >>> from recommender.datasets.loading import dataset_from_frame
    >>> frame = pd.DataFrame({"x": range(40), "y": [0, 1] * 20})
    >>> report = run_validation(DuckDBStore(), dataset_from_frame(frame, "y", name="toy"),
    ...                         top_k=0, epochs=1, metafeatures={"NumberOfInstances": 40.0})
    >>> [o.result.status for o in report.outcomes]
    ['ok']
    """
    from recommender.validation.recording import start_batch

    dev = check_request(dataset, device=device, seed=seed, executor=executor, parallel=parallel)
    the_space = _space(store, space, dataset.modality)
    budget = resolve_budget(dataset.modality, epochs, budget_s, the_space)
    planned, query_id, model_id, features = _plan(
        store, dataset, the_space, top_k=top_k, baselines=baselines, seed=seed,
        metafeatures=metafeatures,
    )  # fmt: skip
    batch = start_batch(store, dataset, features)
    report = ValidationReport(
        dataset.name, the_space.name, metric_name_for(dataset.problem_type), query_id, model_id
    )
    record = _recorder(store, report, planned, batch, budget=budget, seed=seed, on_result=on_result)
    options = {"budget": budget, "seed": seed, "device": dev, "space": the_space.name,
               "trainer_options": trainer_options}  # fmt: skip
    _train_all(
        store, dataset, report, planned, record, options=options, executor=executor,
        parallel=parallel, on_note=on_note,
    )  # fmt: skip
    return report


def _train_all(
    store: DuckDBStore,
    dataset: Dataset,
    report: ValidationReport,
    planned: list[PlannedConfig],
    record: Callable[[int, TrainResult], None],
    *,
    options: dict[str, Any],
    executor: str,
    parallel: int,
    on_note: OnNote,
) -> None:
    """Train every planned config on the executor; ``record`` adds each to ``report``,
    whose outcomes end in plan order.

    The store is released meanwhile, so other processes may use it while configs train.
    """
    parallel, note = cap_parallel(executor, parallel)
    if note:
        on_note(note)
    device = options["device"]
    try:
        with store.released():
            with open_executor(
                executor, parallel=parallel, n_calls=len(planned), device=device
            ) as ex:
                data = ex.share(dataset)
                run_each(ex, train_config, [((data, p.config), options) for p in planned], record)
    except KeyboardInterrupt:
        raise ValidationInterrupted(
            f"interrupted: {len(report.outcomes)} of {len(planned)} configs recorded; "
            "rerun the same command to train the rest"
        ) from None
    order = {id(p): i for i, p in enumerate(planned)}
    report.outcomes.sort(key=lambda o: order[id(o.planned)])


def check_request(
    dataset: Dataset,
    *,
    device: str = "auto",
    seed: int = 0,
    executor: str = "local",
    parallel: int = 1,
) -> str:
    """Check a validation request without touching a store; return the device to use.

    :func:`run_validation` calls it first; a caller may call it before opening the store.

    Raises:
        RecommenderError: an unknown executor or device, CUDA asked but absent, a seed out
            of range, no usable feature, or a target that cannot be learned (one class,
            too many classes for the rows).
    """
    from recommender.datasets.loading import check_seed
    from recommender.training.common import check_features, check_target, resolve_device

    check_executor(executor, parallel)
    check_seed(seed)
    check_features(dataset.X, dataset.modality, dataset.name)
    check_target(dataset.y, dataset.problem_type, dataset.target)
    return resolve_device(device)


def _plan(
    store: DuckDBStore,
    dataset: Dataset,
    space: Space,
    *,
    top_k: int,
    baselines: str | list[tuple[str, int]],
    seed: int,
    metafeatures: Mapping[str, float] | None,
) -> tuple[list[PlannedConfig], int | None, int | None, dict[str, float]]:
    """The configs to train, the query and model ids, and the meta-features used."""
    pairs = parse_baselines(baselines) if isinstance(baselines, str) else list(baselines)
    if top_k < 0:
        raise InvalidArgumentError(f"top-k: expected >= 0, got {top_k}")
    features = dict(metafeatures) if metafeatures is not None else _metafeatures(dataset, seed)
    planned, query_id, model_id = plan_configs(
        store, features, space, task=dataset.name, top_k=top_k, baselines=pairs, seed=seed
    )
    if not planned:
        raise InvalidArgumentError(
            "nothing to validate: top-k is 0 and no baselines; "
            f"add {option('baselines', 'default')}"
        )
    return planned, query_id, model_id, features


def _recorder(
    store: DuckDBStore,
    report: ValidationReport,
    planned: list[PlannedConfig],
    batch: int,
    *,
    budget: Budget,
    seed: int,
    on_result: OnResult | None,
) -> Callable[[int, TrainResult], None]:
    """Store the run of ``planned[i]`` in its own transaction; add it to ``report``."""
    from recommender.validation.recording import record_run

    def record(index: int, result: TrainResult) -> None:
        p = planned[index]
        key = run_key(report.task, report.space, p.config, seed, budget)
        with store.attached():
            record_run(
                store, run_key=key, task=report.task, space=report.space, params=p.config,
                result=result, batch=batch, query_id=report.query_id,
            )  # fmt: skip
        report.outcomes.append(ValidationOutcome(p, result, key))
        if on_result is not None:
            on_result(report.outcomes[-1])

    return record


def _space(store: DuckDBStore, name: str | None, modality: str) -> Space:
    from recommender.spaces.space import load_space
    from recommender.training.trainers import default_space_for

    return load_space(name or default_space_for(modality), store)


def _metafeatures(dataset: Dataset, seed: int) -> dict[str, float]:
    from recommender.metafeatures import compute_metafeatures

    features = compute_metafeatures(dataset, seed=seed).features
    return {k: float(v) for k, v in features.items() if v is not None and math.isfinite(v)}
