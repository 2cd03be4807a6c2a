"""Plan validation configs, train them locally or on Ray, and record every run.

Each finished run is written in its own transaction (runs row + curve points), so an
interrupted validation keeps what finished. The store file is released while configs
train and re-opened for each write, so other processes can use it meanwhile. Runs are
shaped like ingested ones (``space`` column, every parameter of the space as a key in
``params``), so the next ``retrain`` of that space learns from them.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from recommender.errors import RecommenderError, SpaceError
from recommender.validate.training import TrainResult, metric_name_for

if TYPE_CHECKING:
    from recommender.datasets import Dataset
    from recommender.space import Space
    from recommender.store import DuckDBStore

SOURCE = "validation"
DEFAULT_EPOCHS = {"tabular": 10, "text": 2, "image": 3}
MAX_EPOCHS_WITH_BUDGET = 50


@dataclass
class PlannedConfig:
    """One configuration to train and where it came from."""

    source: str  # "recommended" | "default" | "random"
    config: dict[str, Any]
    predicted: float | None = None
    rank: int | None = None


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


@dataclass(frozen=True)
class Budget:
    """Epochs per config, and an optional wall-clock cap per config."""

    epochs: int
    time_budget_s: float | None = None


def parse_baselines(text: str | None) -> list[tuple[str, int]]:
    """``"default,random:4"`` -> ``[("default", 1), ("random", 4)]``; ``""`` -> ``[]``.

    Raises:
        SpaceError: an unknown baseline or a bad count.
    """
    out: list[tuple[str, int]] = []
    for part in (text or "").split(","):
        name, _, count = part.strip().partition(":")
        if not name or name == "none":
            continue
        if name not in ("default", "random") or (name == "default" and count):
            raise SpaceError(
                f"baselines: expected 'default' and/or 'random:N', got {part.strip()!r}; "
                "e.g. --baselines default,random:4"
            )
        try:
            n = int(count) if count else 1
        except ValueError:
            n = -1
        if n < 0:
            raise SpaceError(f"baselines: expected random:N with N >= 0, got {part.strip()!r}")
        out.append((name, n))
    return out


def resolve_budget(
    modality: str, epochs: int | None, budget_s: float | None, space: Space
) -> Budget:
    """Turn ``--epochs``/``--budget-s`` into a Budget (defaults depend on the modality)."""
    if epochs is not None and epochs < 1:
        raise SpaceError(f"epochs: expected >= 1, got {epochs}")
    if budget_s is not None:
        if budget_s <= 0:
            raise SpaceError(f"budget: expected seconds > 0, got {budget_s:g}")
        high = (space.fidelity or {}).get("high") or MAX_EPOCHS_WITH_BUDGET
        return Budget(epochs or int(high), float(budget_s))
    return Budget(epochs or DEFAULT_EPOCHS.get(modality, 5))


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
        from recommender.query import answer

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


def run_key(task: str, space: str, config: Mapping[str, Any], seed: int, budget: Budget) -> str:
    """Stable key of one validation run: the same request maps to the same key."""
    blob = json.dumps(
        {"task": task, "space": space, "config": dict(config), "seed": seed,
         "epochs": budget.epochs, "budget_s": budget.time_budget_s},
        sort_keys=True, default=str,
    )  # fmt: skip
    return f"{SOURCE}:{hashlib.sha256(blob.encode()).hexdigest()[:20]}"


def train_config(
    dataset: Dataset,
    config: Mapping[str, Any],
    *,
    budget: Budget,
    seed: int,
    device: str,
    trainer_options: Mapping[str, Any] | None = None,
) -> TrainResult:
    """Train one config with the trainer for the dataset's modality."""
    options = dict(trainer_options or {})
    common = {"epochs": budget.epochs, "seed": seed, "device": device, **options}
    active = {k: v for k, v in config.items() if v is not None}
    if dataset.modality == "tabular":
        from recommender.validate.tabular import train_tabular

        return train_tabular(dataset, active, time_budget_s=budget.time_budget_s, **common)
    if dataset.modality == "text":
        from recommender.validate.text import train_text

        return train_text(dataset, active, time_budget_s=budget.time_budget_s, **common)
    if dataset.modality == "image":
        from recommender.validate.image import train_image

        return train_image(dataset, active, time_budget_s=budget.time_budget_s, **common)
    raise RecommenderError(
        f"validation: expected a tabular, text or image dataset, got {dataset.modality!r}"
    )


OnResult = Callable[[ValidationOutcome], None]


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
) -> ValidationReport:
    """Recommend ``top_k`` configs for ``dataset``, train them and the baselines, record all.

    Args:
        store: an open, writable store.
        dataset: the data to validate on; its name is the task name in the store.
        space: search space name (default: the built-in space of the dataset's modality).
        top_k: recommended configs to train; 0 trains the baselines only (no model needed).
        baselines: ``"default,random:N"`` or parsed pairs.
        epochs: epochs per config (default by modality: tabular 10, text 2, image 3).
        budget_s: seconds per config instead of a fixed epoch count.
        device: ``auto``, ``cpu`` or ``cuda``.
        seed: seeds recommendations, random baselines and every training run.
        executor: ``local`` (this machine) or ``ray`` (configs as Ray tasks).
        parallel: configs trained at once. Locally, each in its own process (several
            small configs share one GPU, or the CPU cores); on Ray, each task asks for
            ``1 / parallel`` of a GPU.
        metafeatures: precomputed meta-features; computed from ``dataset`` when ``None``.
        trainer_options: extra keyword arguments for the trainer (e.g. ``max_rows``).
        on_result: called after each run is stored (progress output).

    Returns:
        The report, outcomes in plan order.

    Raises:
        RecommenderError: bad options, no model for the space, Ray missing, bad data.

    >>> from recommender.store import DuckDBStore
    >>> import pandas as pd
    >>> from recommender.datasets import dataset_from_frame
    >>> frame = pd.DataFrame({"x": range(40), "y": [0, 1] * 20})
    >>> report = run_validation(DuckDBStore(), dataset_from_frame(frame, "y", name="toy"),
    ...                         top_k=0, epochs=1, metafeatures={"NumberOfInstances": 40.0})
    >>> [o.result.status for o in report.outcomes]
    ['ok']
    """
    from recommender.space import default_space_for, load_space
    from recommender.validate.recording import record_run, start_batch
    from recommender.validate.training import check_target, resolve_device

    if executor not in ("local", "ray"):
        raise RecommenderError(f"executor: expected local or ray, got {executor!r}")
    if parallel < 1:
        raise RecommenderError(f"parallel: expected >= 1 configs at once, got {parallel}")
    check_target(dataset.y, dataset.problem_type, dataset.target)
    dev = resolve_device(device)
    the_space = load_space(space or default_space_for(dataset.modality), store)
    budget = resolve_budget(dataset.modality, epochs, budget_s, the_space)
    pairs = parse_baselines(baselines) if isinstance(baselines, str) else list(baselines)
    if top_k < 0:
        raise SpaceError(f"top-k: expected >= 0, got {top_k}")
    features = dict(metafeatures) if metafeatures is not None else _metafeatures(dataset, seed)
    planned, query_id, model_id = plan_configs(
        store, features, the_space, task=dataset.name, top_k=top_k, baselines=pairs, seed=seed
    )
    if not planned:
        raise SpaceError(
            "nothing to validate: top-k is 0 and no baselines; add --baselines default"
        )
    batch = start_batch(store, dataset, features)
    report = ValidationReport(
        dataset.name, the_space.name, metric_name_for(dataset.problem_type), query_id, model_id
    )

    def done(p: PlannedConfig, result: TrainResult) -> None:
        key = run_key(dataset.name, the_space.name, p.config, seed, budget)
        with store.attached():
            record_run(
                store, run_key=key, task=dataset.name, space=the_space.name, params=p.config,
                result=result, batch=batch, query_id=query_id,
            )  # fmt: skip
        outcome = ValidationOutcome(p, result, key)
        report.outcomes.append(outcome)
        if on_result is not None:
            on_result(outcome)

    run = _run_ray if executor == "ray" else _run_local
    with store.released():  # other processes may use the store while configs train
        run(
            dataset, planned, budget=budget, seed=seed, device=dev, options=trainer_options,
            done=done, parallel=parallel,
        )  # fmt: skip
    order = {id(p): i for i, p in enumerate(planned)}
    report.outcomes.sort(key=lambda o: order[id(o.planned)])
    return report


def _metafeatures(dataset: Dataset, seed: int) -> dict[str, float]:
    from recommender.metafeatures import compute_metafeatures

    features = compute_metafeatures(dataset, seed=seed).features
    return {k: float(v) for k, v in features.items() if v is not None and math.isfinite(v)}


Done = Callable[[PlannedConfig, TrainResult], None]


def _run_local(
    dataset: Dataset,
    planned: list[PlannedConfig],
    *,
    budget: Budget,
    seed: int,
    device: str,
    options: Mapping[str, Any] | None,
    done: Done,
    parallel: int = 1,
) -> None:
    if parallel == 1 or len(planned) == 1:
        for p in planned:
            result = train_config(
                dataset, p.config, budget=budget, seed=seed, device=device, trainer_options=options
            )
            done(p, result)
        return
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

    # Fresh interpreters ("spawn"): CUDA cannot be used in forked children.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(parallel, len(planned)), mp_context=context) as pool:
        pending: dict[Future[TrainResult], PlannedConfig] = {
            pool.submit(train_config, dataset, p.config, budget=budget, seed=seed,
                        device=device, trainer_options=options): p
            for p in planned
        }  # fmt: skip
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    done(pending.pop(fut), fut.result())
        finally:
            for fut in pending:
                fut.cancel()


def _run_ray(
    dataset: Dataset,
    planned: list[PlannedConfig],
    *,
    budget: Budget,
    seed: int,
    device: str,
    options: Mapping[str, Any] | None,
    done: Done,
    parallel: int = 1,
) -> None:
    """Each config is a Ray task (one CPU; on CUDA ``1 / parallel`` GPU); stored here."""
    try:
        import ray
    except ImportError:
        raise RecommenderError(
            "--executor ray needs Ray, which is not installed; "
            "run: pip install 'recommender[ray]' (or use --executor local)"
        ) from None
    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    gpus = 1.0 / parallel if device.startswith("cuda") else 0
    remote: Any = ray.remote(num_cpus=1, num_gpus=gpus)(train_config)  # type: ignore[arg-type]
    data_ref = ray.put(dataset)
    pending = {
        remote.remote(data_ref, p.config, budget=budget, seed=seed, device=device,
                      trainer_options=options): p
        for p in planned
    }  # fmt: skip
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                done(pending.pop(ref), ray.get(ref))
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
