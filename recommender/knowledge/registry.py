"""Model registry: every trained surrogate is a ``models`` row plus a checksummed artifact.

Artifacts live in ``models/<store file name>/<model_id>/`` next to the store file (see
:mod:`recommender.store.artifacts`). ``retrain`` trains a challenger
(:mod:`recommender.knowledge.retraining`: it scores the challenger and the champion's
recipe on the same leave-task-out folds), and the promotion policy here promotes the
challenger only if its regret is no worse (ties go to the challenger, which has seen the
newer data); ``force`` promotes regardless.
"""

from __future__ import annotations

import shutil
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.errors import ModelError
from recommender.spaces.space import load_space
from recommender.store.artifacts import (
    artifact_path,
    artifact_problem,
    artifact_ref,
    checksum,
    forget,
    models_dir,
    write_model_dir,
)
from recommender.surrogate.kinds import model_kind
from recommender.surrogate.model import FittedSurrogate
from recommender.surrogate.tuning import cv_measure

if TYPE_CHECKING:
    from recommender.store.base import Store

__all__ = [
    "LoadedModel", "ModelFallbackWarning", "RetrainReport", "champion", "checksum",
    "clear_cache", "list_models", "models_dir", "promote", "rollback", "train_and_register",
]  # fmt: skip

_CACHE: dict[tuple[str, str], FittedSurrogate] = {}


def clear_cache() -> None:
    """Forget every loaded and verified model: the next query loads from disk again."""
    forget()
    _CACHE.clear()


class ModelFallbackWarning(UserWarning):
    """A promoted model could not be used; an earlier one answers instead."""


FEWSHOT_DIR = "fewshot"  # the few-shot model, inside a model's folder


@dataclass
class LoadedModel:
    """A registry row with its verified, loaded bundle."""

    model_id: int
    space: str
    metric: str
    maximize: bool
    fidelity: float | None
    surrogate: FittedSurrogate
    artifact: Path | None = None  # the model's verified folder


@dataclass
class RetrainReport:
    """What ``retrain`` did."""

    status: str  # promoted | kept_champion | nothing_new
    space: str
    metric: str
    model_id: int | None = None
    champion_id: int | None = None
    n_runs: int = 0
    n_tasks: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    challenger_eval: dict[str, Any] = field(default_factory=dict)
    champion_eval: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.challenger_eval:
            out["regret_measures"] = cv_measure(int(self.challenger_eval.get("n_folds", 0)))
        return out


def _snapshot(store: Store, space: str) -> tuple[int, int | None]:
    """Successful runs of ``space`` (of all spaces if it has none) and their newest batch."""
    n_runs, newest = store.snapshot(space)
    return (n_runs, newest) if n_runs else store.snapshot()


def _champion_row(store: Store, space: str) -> dict[str, Any] | None:
    rows = list_models(store, space=space, status="champion")
    return rows[0] if rows else None


def train_and_register(
    store: Store,
    *,
    space: str,
    metric: str,
    maximize: bool,
    fidelity: float | None = None,
    force: bool = False,
    min_new_runs: int = 0,
    params: dict[str, Any] | None = None,
    seed: int = 0,
    directory: str | Path | None = None,
    tune: bool = True,
    fewshot: bool = True,
) -> RetrainReport:
    """Train a challenger on the store's runs of ``space`` and promote it if it wins.

    Args:
        store: an open, writable store.
        space: space name (built-in, imported) or JSON path.
        metric: metric to model; ``maximize`` gives its direction.
        fidelity: use runs at this fidelity only (default: each run's highest).
        force: promote even if the champion scores better, and train even if nothing is new.
        min_new_runs: skip training unless this many runs arrived since the champion.
        params: fixed XGBoost settings (skips tuning).
        seed: randomness.
        directory: artifact directory (default: next to the store).
        tune: choose depth/rounds by leave-task-out CV on the training tasks.
        fewshot: also meta-train the few-shot model that ``tune`` and the Optuna sampler
            adapt to a new task's runs (saved in the model's folder, ``fewshot/``).

    Returns:
        A :class:`RetrainReport`.

    Raises:
        ModelError: no usable runs for the space and metric.
    """
    from recommender.knowledge.ranking import rule_note
    from recommender.knowledge.retraining import train_challenger, training_data

    start = time.perf_counter()
    sp = load_space(space, store)
    n_runs, newest = _snapshot(store, sp.name)
    champ = _champion_row(store, sp.name)
    report = RetrainReport("nothing_new", sp.name, metric, n_runs=n_runs)
    if (
        champ is not None
        and not force
        and _nothing_new(champ, metric, n_runs, newest, min_new_runs)
    ):
        return _nothing_new_report(report, champ, min_new_runs)
    data = training_data(store, sp, metric=metric, maximize=maximize, fidelity=fidelity)
    rival = _stored_params(champ) if champ is not None and champ["metric"] == metric else None
    new = train_challenger(data, params=params, tune=tune, rival=rival, seed=seed, fewshot=fewshot)
    report.challenger_eval, report.params = new.evaluation, new.params
    if champ is not None and new.champion_evaluation is not None:
        report.champion_id, report.champion_eval = champ["model_id"], new.champion_evaluation
    promote_it = _wins(report, force)
    report.model_id = _register(
        store, (new.fitted, new.fewshot), sp.name, data, newest, promote_it, directory, report
    )
    report.status = "promoted" if promote_it else "kept_champion"
    report.n_tasks = len(data.tasks)
    report.duration_s = time.perf_counter() - start
    report.message = f"{_message(report)}; {rule_note(new.fitted)}{new.data_note}{new.fewshot_note}"
    return report


def _wins(report: RetrainReport, force: bool) -> bool:
    """The promotion policy: forced, the first model, or a regret no worse than the
    champion's on the same folds."""
    return (
        force
        or not report.champion_eval
        or report.challenger_eval["top1_regret"] <= report.champion_eval["top1_regret"]
    )


def _nothing_new_report(
    report: RetrainReport, champ: dict[str, Any], min_new: int
) -> RetrainReport:
    report.champion_id = champ["model_id"]
    report.message = (
        f"nothing new: {report.n_runs - (champ['n_runs'] or 0)} new run(s) since model "
        f"{champ['model_id']} (need {max(min_new, 1)})"
    )
    return report


def _nothing_new(
    champ: dict[str, Any], metric: str, n_runs: int, newest: int | None, min_new: int
) -> bool:
    if champ["metric"] != metric:
        return False
    new = n_runs - int(champ["n_runs"] or 0)
    if min_new > 0:
        return new < min_new
    return new <= 0 and newest == champ["newest_batch"]


def _stored_params(row: dict[str, Any]) -> dict[str, Any]:
    evaluation = row.get("evaluation") or {}
    return dict(evaluation.get("params") or {})


def _message(r: RetrainReport) -> str:
    ours = r.challenger_eval.get("top1_regret", float("nan"))
    what = cv_measure(int(r.challenger_eval.get("n_folds", 0)))
    if r.champion_eval:
        theirs = r.champion_eval.get("top1_regret", float("nan"))
        verdict = "promoted" if r.status == "promoted" else "kept the champion"
        return (
            f"model {r.model_id}: surrogate top-1 regret {ours:.3f} vs champion "
            f"{r.champion_id} {theirs:.3f} ({what}); {verdict}"
        )
    return f"model {r.model_id}: surrogate top-1 regret {ours:.3f} ({what}); promoted (first model)"


def _register(
    store: Store,
    models: tuple[FittedSurrogate, Any],
    space: str,
    data: Any,
    newest: int | None,
    promote_it: bool,
    directory: str | Path | None,
    report: RetrainReport,
) -> int:
    fitted, few = models
    model_id = store.next_model_id()
    target = write_model_dir(store, model_id, lambda d: _save(fitted, few, d), directory)
    evaluation = {
        "params": report.params or fitted.meta.get("params", {}),
        "challenger": report.challenger_eval,
        "champion": report.champion_eval,
        "champion_id": report.champion_id,
        "n_train_rows": int(len(data.frame)),
        "portfolio_rule": f"{fitted.profile_first}/{fitted.profile_beta:g}",
    }
    try:
        store.add_model(
            model_id, space=space, metric=data.metric, maximize=data.maximize,
            fidelity=data.fidelity, kind=model_kind(report.params or fitted.meta.get("params")),
            artifact=artifact_ref(store, target), checksum=checksum(target), n_runs=report.n_runs,
            n_tasks=len(data.tasks), newest_batch=newest, evaluation=evaluation,
            champion=promote_it,
        )  # fmt: skip
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return model_id


def _save(fitted: FittedSurrogate, few: Any, directory: Path) -> None:
    directory.mkdir(parents=True)
    fitted.save(directory)
    if few is not None:
        few.save(directory / FEWSHOT_DIR)


def list_models(
    store: Store, *, space: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    """Registry rows, newest promotion first, then newest model; ``artifact`` as a full path."""
    rows = store.models(space=space, status=status)
    for r in rows:
        r["artifact"] = str(artifact_path(store, r["artifact"]))
    return rows


def promote(store: Store, model_id: int) -> dict[str, Any]:
    """Make ``model_id`` the champion of its space.

    Raises:
        ModelError: no such model.
    """
    rows = [r for r in list_models(store) if r["model_id"] == model_id]
    if not rows:
        raise ModelError(f"no model {model_id}; see: recommender models list")
    problem = artifact_problem(rows[0])
    if problem is not None:
        raise ModelError(
            f"model {model_id} cannot be promoted: {problem}; promote another model "
            f"(see: recommender models list) or retrain: recommender retrain "
            f"--space {rows[0]['space']} --force"
        )
    store.promote(model_id, rows[0]["space"])
    return rows[0]


def rollback(store: Store, space: str) -> int:
    """Retire the champion of ``space`` and restore the previously promoted model.

    Returns:
        The restored model id.

    Raises:
        ModelError: there is no champion, or none promoted before it.
    """
    champ = _champion_row(store, space)
    if champ is None:
        raise ModelError(
            f"space {space!r} has no champion model; train one: recommender retrain --space {space}"
        )
    previous = [
        r
        for r in list_models(store, space=space, status="archived")
        if r["promoted_at"] is not None
    ]
    if not previous:
        raise ModelError(
            f"model {champ['model_id']} is the only one ever promoted for {space!r}; "
            "nothing to roll back to"
        )
    usable = [r for r in previous if artifact_problem(r) is None]
    if not usable:
        raise ModelError(
            f"every model promoted before {champ['model_id']} for {space!r} has missing or "
            f"corrupt files (model {previous[0]['model_id']}: {artifact_problem(previous[0])}); "
            f"retrain instead: recommender retrain --space {space} --force"
        )
    store.rollback(champ["model_id"], to=usable[0]["model_id"])
    return int(usable[0]["model_id"])


def champion(store: Store, space: str) -> LoadedModel | None:
    """The champion of ``space``, verified by checksum; falls back to earlier promoted models.

    A model whose files are missing, fail their checksum or do not load is skipped with a
    :class:`ModelFallbackWarning` (one line naming ``models rollback``), and the model
    promoted before it answers instead.
    """
    candidates = [r for r in list_models(store, space=space) if r["promoted_at"] is not None]
    candidates.sort(key=lambda r: (r["status"] != "champion",))
    failures: list[str] = []
    for row in candidates:
        if row["status"] == "rolled_back":
            continue
        fitted, problem = _load_verified(row)
        if fitted is None:
            failures.append(f"model {row['model_id']} artifact {problem}")
            continue
        if failures:
            _warn_fallback(space, failures, int(row["model_id"]))
        return LoadedModel(
            row["model_id"], space, row["metric"], bool(row["maximize"]), row["fidelity"], fitted,
            Path(row["artifact"]),
        )  # fmt: skip
    if failures:
        _warn_fallback(space, failures, None)
    return None


def _warn_fallback(space: str, failures: list[str], used: int | None) -> None:
    if used is None:
        then = f"no earlier model to use; retrain: recommender retrain --space {space} --force"
    else:
        then = (
            f"using model {used}, promoted before it; make that permanent with: "
            f"recommender models rollback --space {space}, or retrain to replace it"
        )
    warnings.warn(f"{'; '.join(failures)}; {then}", ModelFallbackWarning, stacklevel=3)


def _load_verified(row: dict[str, Any]) -> tuple[FittedSurrogate | None, str | None]:
    """The model of ``row``, verified then loaded; or ``None`` and why not."""
    path = Path(row["artifact"])
    key = (str(path), row["checksum"])
    problem = artifact_problem(row)
    if problem is not None:
        _CACHE.pop(key, None)
        return None, problem
    if key not in _CACHE:
        try:
            _CACHE[key] = FittedSurrogate.load(path)
        except Exception as err:  # any failure to load: the next model answers instead
            forget(path)
            first = (str(err).strip().splitlines() or [""])[0]
            return None, f"{path} is missing or corrupt ({type(err).__name__}: {first})"
    return _CACHE[key], None
