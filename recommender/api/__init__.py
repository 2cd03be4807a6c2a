"""The Python API: each function does one job the way the ``recommender`` command does it.

Each opens the store (``db``; default: ``$RECOMMENDER_DB`` or the user data directory),
loads the shipped knowledge into a store that lacks it, takes the metric and direction
from the space's champion where not given, and returns the object the command prints.
Meta-features are computed before the store is opened, so a big file never holds the
store's lock. Notes (the shipped pack was loaded, fewer recommendations than asked) go to
``on_note``, by default the ``recommender`` logger.

>>> import pandas as pd
>>> import recommender
>>> frame = pd.DataFrame({"x": range(40), "y": [0, 1] * 20})
>>> result = recommender.recommend(frame, target="y", top_k=3)  # doctest: +SKIP
>>> print(result)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

from recommender.api.admin import (
    champion_defaults,
    ensure_shipped,
    import_space,
    model_params,
    models,
    promote,
    rollback,
    spaces,
    store_info,
)
from recommender.api.inputs import (
    DEFAULT_SPACE,
    Data,
    Target,
    check_validate_args,
    features_and_space,
    load_data,
    read_metafeatures,
)
from recommender.api.store import export_store, ingest, rejected, runs, tasks, upgrade_store
from recommender.api.tuning import tune
from recommender.arguments import check_int, check_top_k
from recommender.datasets.fingerprints import claim_task
from recommender.errors import InvalidArgumentError

if TYPE_CHECKING:
    from recommender.knowledge.evaluation import EvaluationResult
    from recommender.knowledge.query import Describe
    from recommender.knowledge.ranking import RecommendResult
    from recommender.knowledge.registry import RetrainReport
    from recommender.metafeatures import MetaFeatureResult
    from recommender.validation.runner import OnResult, ValidationReport

__all__ = [
    "describe",
    "describe_result",
    "evaluate",
    "export_store",
    "import_space",
    "ingest",
    "models",
    "promote",
    "read_metafeatures",
    "recommend",
    "rejected",
    "retrain",
    "rollback",
    "runs",
    "spaces",
    "store_info",
    "tasks",
    "tune",
    "upgrade_store",
    "validate",
]

Note: TypeAlias = Callable[[str], None]


class Description(NamedTuple):
    """What :func:`describe_result` returns."""

    task: str
    metafeatures: MetaFeatureResult


logger = logging.getLogger("recommender")


# -- recommend ------------------------------------------------------------------------------
def recommend(
    data: Data | Mapping[str, Any] | None = None,
    target: Target = None,
    *,
    space: str | None = None,
    top_k: int = 5,
    task: str | None = None,
    text_column: str | None = None,
    log: bool = True,
    db: str | Path | None = None,
    lock_timeout: float | None = None,
    on_note: Note | None = None,
) -> RecommendResult:
    """Recommend ``top_k`` configurations for a dataset, ranked, with predicted score and reasons.

    Args:
        data: a pandas DataFrame, a dataset file or folder, a bundled dataset such as
            ``"sklearn:iris"``, or a dict of meta-features ``{OpenML name: value}`` (as
            :func:`describe` returns). Leave it out to use ``task``, or, with neither,
            get the configs that do best across the known tasks of ``space``.
        target: target column of a table (default: target/label/class/y, else the last).
        space: search space (default: the built-in space of the data's modality; for a
            meta-feature dict, of its ``"modality"`` entry, else ``tabular_mlp``).
        top_k: how many configurations (fewer when the model knows fewer).
        task: a task already in the store, whose stored meta-features to use (needs ``space``).
        text_column: read the table as text, with this column as the document.
        log: record the query in the store.
        db: store file; ``lock_timeout``: seconds to wait for a busy store.
        on_note: receives notes, one line each.

    Returns:
        A :class:`~recommender.knowledge.ranking.RecommendResult`; ``print`` it for a table.

    Raises:
        InvalidArgumentError: a bad ``top_k``, both ``data`` and ``task``, or no ``space``
            without ``data``.
        DatasetError: the data cannot be read or described.
        ModelError: no trained model for the space (not even a shipped one).
    """
    from recommender.knowledge.query import answer
    from recommender.store import open_store

    check_top_k(top_k)
    note = on_note or logger.info
    if data is not None and task is not None:
        raise InvalidArgumentError(
            "data: expected a dataset, a meta-feature dict or task=NAME (at most one), got both"
        )
    features: dict[str, float] | Describe | None = None
    if data is not None:
        features, space_name = features_and_space(data, target, space, text_column)
    elif space is None:
        given = f"with task={task!r}" if task is not None else "without data"
        raise InvalidArgumentError(
            f"space: expected a space name {given}, got None; pass space=NAME"
        )
    else:
        space_name = space
    with open_store(db, lock_timeout=lock_timeout) as store:
        ensure_shipped(store, space_name, note)
        result = answer(store, features, space=space_name, top_k=top_k, task=task, log=log)
    n = len(result.recommendations)
    if n < top_k:
        note(
            f"note: {n} recommendation(s), not {top_k}: the model knows only "
            f"{n} distinct evaluated configuration(s); ingest more runs and retrain"
        )
    return result


# -- describe -------------------------------------------------------------------------------
def describe(
    data: Data,
    target: Target = None,
    *,
    problem: str | None = None,
    text_column: str | None = None,
    max_rows: int | None = None,
    seed: int = 0,
    time_budget: float | None = None,
) -> dict[str, float]:
    """Meta-features of a dataset by OpenML name (NaN where undefined or skipped).

    Args:
        data: a pandas DataFrame, a dataset file or folder, or a bundled dataset.
        target: target column (default: target/label/class/y, else the last).
        problem: ``"binary"``, ``"multiclass"`` or ``"regression"`` (default: inferred).
        text_column: read the table as text, with this column as the document.
        max_rows: describe a seeded, stratified sample of at most this many rows.
        seed: seed of every sample.
        time_budget: seconds after which the expensive groups are skipped.

    Returns:
        ``{name: value}``, e.g. ``NumberOfInstances``, ``ClassEntropy``.

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"a": [1.0, 2, 3, 4, 5, 6], "y": [0, 1, 0, 1, 0, 1]})
    >>> describe(frame, target="y")["NumberOfInstances"]
    6.0
    """
    return describe_result(
        data, target, problem=problem, text_column=text_column, max_rows=max_rows,
        seed=seed, time_budget=time_budget,
    ).metafeatures.features  # fmt: skip


def describe_result(
    data: Data,
    target: Target = None,
    *,
    problem: str | None = None,
    text_column: str | None = None,
    max_rows: int | None = None,
    seed: int = 0,
    time_budget: float | None = None,
    task: str | None = None,
    save: bool = False,
    db: str | Path | None = None,
    lock_timeout: float | None = None,
    on_note: Note | None = None,
) -> Description:
    """Like :func:`describe`, with problem type, modality and notes.

    ``save`` stores the meta-features and the task under ``task`` (default: the file stem;
    for a DataFrame, ``"dataframe"``; other data than the task's: ``fingerprints.claim_task``).

    Returns:
        A :class:`Description`: the task name and the
        :class:`~recommender.metafeatures.MetaFeatureResult`.
    """
    from recommender.metafeatures import compute_metafeatures

    if time_budget is not None and time_budget < 0:
        raise InvalidArgumentError(f"time_budget: expected seconds >= 0, got {time_budget}")
    dataset = load_data(
        data, target, problem=problem, text_column=text_column, max_rows=max_rows, seed=seed,
        name=task,
    )  # fmt: skip
    result = compute_metafeatures(dataset, seed=seed, time_budget_s=time_budget)
    if save:
        from recommender.store import open_store

        values = result.as_dict()
        features = {k: v for k, v in values.items() if k not in ("problem_type", "modality")}
        with open_store(db, lock_timeout=lock_timeout) as store, store.transaction():
            dataset = claim_task(store, dataset, data, explicit=task is not None, on_note=on_note)
            store.add_metafeatures(dataset.name, features, source="describe")  # type: ignore[arg-type]
            store.add_task(
                dataset.name, modality=result.modality, problem_type=result.problem_type,
                source="describe", fingerprint=dataset.fingerprint,
            )  # fmt: skip
    return Description(dataset.name, result)


# -- retrain and evaluate -------------------------------------------------------------------
def retrain(
    space: str = DEFAULT_SPACE,
    *,
    metric: str | None = None,
    maximize: bool | None = None,
    fidelity: float | None = None,
    min_new_runs: int = 0,
    force: bool = False,
    model: str = "xgboost",
    seed: int = 0,
    db: str | Path | None = None,
    lock_timeout: float | None = None,
    on_note: Note | None = None,
) -> RetrainReport:
    """Train a surrogate; promote it if it beats the champion on leave-task-out folds.

    Without ``metric``, retrains on the champion's metric and direction (for the shipped
    default: ``val_score``, maximised).

    Args:
        space: search space.
        metric: metric to model; ``maximize``: its direction; ``fidelity``: runs at
            this fidelity only (each default: the champion's).
        min_new_runs: skip unless this many runs were added since the champion.
        force: train and promote even if nothing is new or it is worse.
        model: ``"xgboost"`` (tuned by leave-task-out CV) or ``"forest"`` (extra-trees).
        seed: randomness.

    Returns:
        A :class:`~recommender.knowledge.registry.RetrainReport`.
    """
    from recommender.knowledge.registry import train_and_register
    from recommender.store import open_store

    params = model_params(model)
    min_new_runs = check_int("min_new_runs", min_new_runs, low=0)
    with open_store(db, lock_timeout=lock_timeout) as store:
        ensure_shipped(store, space, on_note or logger.info)
        metric, maximize, fidelity = champion_defaults(store, space, metric, maximize, fidelity)
        return train_and_register(
            store, space=space, metric=metric, maximize=maximize, fidelity=fidelity,
            force=force, min_new_runs=min_new_runs, seed=seed, params=params,
        )  # fmt: skip


def evaluate(
    space: str = DEFAULT_SPACE,
    *,
    metric: str | None = None,
    maximize: bool | None = None,
    fidelity: float | None = None,
    top_k: int = 5,
    holdout: Sequence[str] = (),
    model: str = "xgboost",
    seed: int = 0,
    db: str | Path | None = None,
    lock_timeout: float | None = None,
    on_note: Note | None = None,
) -> EvaluationResult:
    """Leave-one-task-out regret of recommendations against baselines, per task and mean.

    Arguments as for :func:`retrain`; ``top_k`` is the size of the recommended set and
    ``holdout`` the tasks to score (never trained on; default: every task in turn).
    """
    from recommender.knowledge.evaluation import evaluate_loto
    from recommender.store import open_store

    check_top_k(top_k)
    params = model_params(model)
    if isinstance(holdout, str):
        holdout = (holdout,)
    with open_store(db, lock_timeout=lock_timeout) as store:
        ensure_shipped(store, space, on_note or logger.info)
        metric, maximize, fidelity = champion_defaults(store, space, metric, maximize, fidelity)
        return evaluate_loto(
            store, space=space, metric=metric, maximize=bool(maximize), fidelity=fidelity,
            top_k=top_k, seed=seed, holdout=tuple(holdout), params=params,
        )  # fmt: skip


# -- validate -------------------------------------------------------------------------------
def validate(
    data: Data,
    target: Target = None,
    *,
    space: str | None = None,
    top_k: int = 5,
    baselines: str = "default",
    epochs: int | None = None,
    budget_s: float | None = None,
    device: str = "auto",
    seed: int = 0,
    executor: str = "local",
    parallel: int = 1,
    problem: str | None = None,
    text_column: str | None = None,
    max_rows: int | None = None,
    report: str | Path | None = None,
    db: str | Path | None = None,
    lock_timeout: float | None = None,
    on_result: OnResult | None = None,
    on_note: Note | None = None,
) -> ValidationReport:
    """Train the ``top_k`` recommended configs and the baselines briefly on ``data``.

    Every run, with its learning curve, is stored as soon as it finishes, with the
    dataset's meta-features, so the next :func:`retrain` learns from it.

    Args:
        data: a pandas DataFrame, a dataset file or folder, or a bundled dataset.
        target: target column; ``problem``, ``text_column``, ``max_rows`` as in
            :func:`describe`.
        space: search space (default: the built-in one of the data's modality).
        top_k: recommended configs to train (0: baselines only).
        baselines: ``"default"``, ``"random:N"``, both comma-separated, or ``"none"``.
        epochs: epochs per config, or ``budget_s``: seconds per config (not both).
        device: ``"auto"``, ``"cpu"`` or ``"cuda[:N]"``.
        seed: seed for everything.
        executor: ``"local"`` or ``"ray"``; ``parallel``: configs trained at once.
        report: write an HTML report with learning curves here.
        on_result: called with each outcome as it finishes.

    Returns:
        A :class:`~recommender.validation.runner.ValidationReport`.
    """
    from recommender.store import open_store
    from recommender.training.trainers import default_space_for
    from recommender.validation.runner import check_request, parse_baselines, run_validation

    note = on_note or logger.info
    seed = check_validate_args(top_k, epochs, budget_s, executor, parallel, seed)
    pairs = parse_baselines(baselines)
    dataset = load_data(
        data, target, problem=problem, text_column=text_column, max_rows=max_rows, seed=seed
    )
    check_request(dataset, device=device, seed=seed, executor=executor, parallel=parallel)
    with open_store(db, lock_timeout=lock_timeout) as store:
        dataset = claim_task(store, dataset, data, on_note=note)
        if top_k > 0:
            ensure_shipped(store, space or default_space_for(dataset.modality), note)
        result = run_validation(
            store, dataset, space=space, top_k=top_k, baselines=pairs, epochs=epochs,
            budget_s=budget_s, device=device, seed=seed, executor=executor, parallel=parallel,
            on_result=on_result, on_note=note,
        )  # fmt: skip
    if report is not None:
        from recommender.validation.report import write_report

        write_report(result, Path(report))
        note(f"Report written to {report}")
    return result
