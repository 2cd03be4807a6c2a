"""``recommender space``, ``retrain``, ``models``, ``recommend`` and ``evaluate``.

xgboost and the surrogate modules are imported inside the commands, so that
``recommender --help`` stays fast.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

from recommender.cli.options import db_option, echo_json, echo_table, json_option


# -- space ------------------------------------------------------------------------------
@click.group()
def space() -> None:
    """Import and list search spaces."""


@space.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="Name to store the space under.")
@db_option
def space_import(file: Path, name: str, db: Path | None, lock_timeout: float | None) -> None:
    """Import a space from our JSON format or ConfigSpace's JSON."""
    from recommender.space import import_space
    from recommender.store import open_store

    with open_store(db, lock_timeout=lock_timeout) as store:
        sp = import_space(store, file, name)
    click.echo(
        f"imported space {sp.name}: {len(sp.params)} hyperparameters ({', '.join(sp.names)})"
    )


@space.command("list")
@db_option
@json_option
def space_list(db: Path | None, lock_timeout: float | None, as_json: bool) -> None:
    """List built-in and imported spaces."""
    from recommender.space import builtin_space, builtin_spaces, stored_spaces
    from recommender.store import open_store

    rows = [
        {"name": n, "source": "built-in", "n_params": len(builtin_space(n).params)}
        for n in builtin_spaces()
    ]
    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        rows += [{"name": n, "source": s, "n_params": k} for n, s, k in stored_spaces(store)]
    echo_json(rows) if as_json else echo_table(rows)


_model_option = click.option(
    "--model",
    "model_kind",
    type=click.Choice(["xgboost", "forest"]),
    default="xgboost",
    show_default=True,
    help="Surrogate: XGBoost ensemble, or scikit-learn extra-trees.",
)


def _model_params(model_kind: str) -> dict[str, Any] | None:
    """Surrogate settings for ``--model`` (None: XGBoost, tuned by leave-task-out CV)."""
    return {"kind": model_kind} if model_kind != "xgboost" else None


# -- retrain ------------------------------------------------------------------------------
@click.command()
@click.option(
    "--space", "space_name", default="tabular_mlp", show_default=True, help="Search space."
)
@click.option("--metric", default=None, help="Metric to model (default: the champion's).")
@click.option("--maximize/--minimize", default=None, help="Direction (default: the champion's).")
@click.option("--fidelity", type=float, default=None, help="Use runs at this fidelity only.")
@click.option(
    "--min-new-runs", type=click.IntRange(min=0), default=0, help="Skip unless this many new runs."
)
@click.option(
    "--force", is_flag=True, help="Train and promote even if nothing is new or it is worse."
)
@_model_option
@click.option("--seed", type=int, default=0, show_default=True)
@db_option
@json_option
def retrain(
    space_name: str,
    metric: str,
    maximize: bool | None,
    fidelity: float | None,
    min_new_runs: int,
    force: bool,
    model_kind: str,
    seed: int,
    db: Path | None,
    lock_timeout: float | None,
    as_json: bool,
) -> None:
    """Train a surrogate; promote it if it beats the champion on leave-task-out folds.

    Without --metric, retrains on the champion's metric and direction (for the shipped
    default: val_score, maximised), so `recommender retrain` alone refreshes the default
    model with the runs added since.
    """
    from recommender.registry import train_and_register
    from recommender.store import open_store

    with open_store(db, lock_timeout=lock_timeout) as store:
        _note_shipped(store, space_name)
        metric, maximize, fidelity = _champion_defaults(
            store, space_name, metric, maximize, fidelity
        )
        report = train_and_register(
            store, space=space_name, metric=metric, maximize=maximize, fidelity=fidelity,
            force=force, min_new_runs=min_new_runs, seed=seed,
            params=_model_params(model_kind),
        )  # fmt: skip
    if as_json:
        echo_json(report.as_dict())
    else:
        click.echo(report.message + (f" ({report.duration_s:.1f} s)" if report.duration_s else ""))


# -- models ---------------------------------------------------------------------------------
@click.group()
def models() -> None:
    """List, promote or roll back surrogates."""


@models.command("list")
@click.option("--space", "space_name", default=None, help="Only models of this space.")
@db_option
@json_option
def models_list(
    space_name: str | None, db: Path | None, lock_timeout: float | None, as_json: bool
) -> None:
    """List trained models with their status and leave-task-out regret."""
    from recommender.registry import list_models
    from recommender.store import open_store

    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        rows = list_models(store, space=space_name)
    for r in rows:
        r["cv_top1_regret"] = (r["evaluation"].get("challenger") or {}).get("top1_regret")
    if as_json:
        echo_json(rows)
    else:
        cols = [
            "model_id",
            "space",
            "metric",
            "status",
            "n_runs",
            "n_tasks",
            "cv_top1_regret",
            "created_at",
        ]
        echo_table(rows, cols)


@models.command("promote")
@click.argument("model_id", type=int)
@db_option
def models_promote(model_id: int, db: Path | None, lock_timeout: float | None) -> None:
    """Make MODEL_ID the champion of its space."""
    from recommender.registry import promote
    from recommender.store import open_store

    with open_store(db, lock_timeout=lock_timeout) as store:
        row = promote(store, model_id)
    click.echo(f"model {model_id} is now the champion of space {row['space']}")


@models.command("rollback")
@click.option("--space", "space_name", required=True, help="Space whose champion to roll back.")
@db_option
def models_rollback(space_name: str, db: Path | None, lock_timeout: float | None) -> None:
    """Retire the champion and restore the previously promoted model."""
    from recommender.registry import rollback
    from recommender.store import open_store

    with open_store(db, lock_timeout=lock_timeout) as store:
        restored = rollback(store, space_name)
    click.echo(f"rolled back space {space_name}: model {restored} is the champion again")


# -- recommend --------------------------------------------------------------------------------
@click.command()
@click.option("--dataset", help="Dataset file or folder, or a bundled one such as sklearn:iris.")
@click.option("--target", help="Target column of --dataset.")
@click.option("--text-column", help="Read --dataset as text, with this column as the document.")
@click.option("--metafeatures", "mf_file", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON file of meta-features ({name: value}).")  # fmt: skip
@click.option("--task", help="A task already in the store (uses its meta-features).")
@click.option(
    "--space", "space_name", default=None, help="Search space (default: by dataset modality)."
)
@click.option("--top-k", type=click.IntRange(min=1, max=100), default=5, show_default=True)
@db_option
@json_option
def recommend(
    dataset: str | None,
    target: str | None,
    text_column: str | None,
    mf_file: Path | None,
    task: str | None,
    space_name: str | None,
    top_k: int,
    db: Path | None,
    lock_timeout: float | None,
    as_json: bool,
) -> None:
    """Recommend configurations for a dataset, ranked, with predicted score and reasons."""
    from recommender.recommend import recommend as run_recommend
    from recommender.shipped import ensure_shipped
    from recommender.store import open_store

    given = [x for x in (dataset, mf_file, task) if x is not None]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --dataset, --metafeatures or --task")
    with open_store(db, lock_timeout=lock_timeout) as store:
        mf, space_name, task = _describe(
            store, dataset, target, text_column, mf_file, task, space_name
        )
        note = ensure_shipped(store, space_name)
        if note:
            click.echo(note, err=True)
        result = run_recommend(store, mf, space=space_name, top_k=top_k, task=task)
    rows = [r.as_dict() for r in result.recommendations]
    if len(rows) < top_k:
        click.echo(
            f"note: {len(rows)} recommendation(s), not {top_k}: the model knows only "
            f"{len(rows)} distinct evaluated configuration(s); ingest more runs and retrain",
            err=True,
        )
    if as_json:
        echo_json(rows)
        return
    click.echo(f"space {result.space.name}, model {result.model_id}, query {result.query_id}")
    echo_table([_table_row(r) for r in rows])


def _describe(
    store: Any, dataset: str | None, target: str | None, text_column: str | None,
    mf_file: Path | None, task: str | None, space_name: str | None,
) -> tuple[dict[str, float], str, str | None]:  # fmt: skip
    from recommender.errors import DatasetError

    if task is not None:
        mf = store.metafeatures(task).get(task)
        if not mf:
            raise DatasetError(
                f"task {task!r} has no meta-features in the store; see: recommender tasks list"
            )
        return mf, _need_space(space_name), task
    if mf_file is not None:
        return _read_mf(mf_file), _need_space(space_name), None
    from recommender.datasets import load_dataset
    from recommender.metafeatures import compute_metafeatures
    from recommender.validate.trainers import default_space_for

    ds = load_dataset(str(dataset), target, text_column=text_column)
    features = compute_metafeatures(ds).features
    return features, space_name or default_space_for(ds.modality), None


def _need_space(space_name: str | None) -> str:
    if space_name is None:
        raise click.UsageError("--space is required with --metafeatures or --task")
    return space_name


def _read_mf(path: Path) -> dict[str, float]:
    from recommender.errors import DatasetError

    try:
        obj = json.loads(path.read_text())
    except FileNotFoundError:
        raise DatasetError(f"meta-features file {path} not found; check the path") from None
    except (OSError, ValueError) as err:
        raise DatasetError(f"meta-features file {path}: expected JSON, got: {err}") from err
    if isinstance(obj, dict) and isinstance(obj.get("features"), dict):
        obj = obj["features"]
    if not isinstance(obj, dict):
        raise DatasetError(
            f"meta-features file {path}: expected a JSON object {{name: value}}, "
            f"got {type(obj).__name__}"
        )
    out = {}
    for k, v in obj.items():
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
            out[str(k)] = float(v)
    return out


def _table_row(r: dict[str, Any]) -> dict[str, Any]:
    similar = r["explanation"].get("similar_tasks") or []
    why = "; ".join(f"{n['task']} (w {n['weight']:.2f}): {n['score_there']:+.2f}" for n in similar)
    role = r["explanation"].get("role", "")
    covers = [c["task"] for c in r["explanation"].get("hedge_for") or []][:2]
    return {
        "rank": r["rank"],
        "role": f"{role}: {', '.join(covers)}" if covers else role,
        "predicted": f"{r['predicted']:+.2f} ± {r['uncertainty']:.2f}",
        "config": r["config"],
        "similar tasks (weight): score there": why,
    }


# -- evaluate ----------------------------------------------------------------------------------
@click.command()
@click.option("--space", "space_name", required=True, help="Search space to evaluate.")
@click.option("--metric", default=None, help="Metric (default: the champion model's).")
@click.option("--maximize/--minimize", default=None, help="Direction (default: the champion's).")
@click.option(
    "--fidelity", type=float, default=None, help="Runs at this fidelity (default: the champion's)."
)
@click.option("--top-k", type=click.IntRange(min=1, max=50), default=5, show_default=True)
@click.option(
    "--holdout",
    multiple=True,
    help="Score only this task, never training on it (repeatable; default: every task in turn).",
)
@_model_option
@click.option("--seed", type=int, default=0, show_default=True)
@db_option
@json_option
def evaluate(
    space_name: str,
    metric: str | None,
    maximize: bool | None,
    fidelity: float | None,
    top_k: int,
    holdout: tuple[str, ...],
    model_kind: str,
    seed: int,
    db: Path | None,
    lock_timeout: float | None,
    as_json: bool,
) -> None:
    """Leave-one-task-out regret of recommendations against baselines, per task and mean."""
    from recommender.evaluate import evaluate_loto
    from recommender.store import open_store

    with open_store(db, lock_timeout=lock_timeout) as store:
        _note_shipped(store, space_name)
        metric, maximize, fidelity = _champion_defaults(
            store, space_name, metric, maximize, fidelity
        )
        result = evaluate_loto(
            store, space=space_name, metric=metric, maximize=bool(maximize),
            fidelity=fidelity, top_k=top_k, seed=seed, holdout=holdout,
            params=_model_params(model_kind),
        )  # fmt: skip
    if as_json:
        echo_json(result.as_dict())
        return
    rows = result.rows + [{"task": "MEAN", **result.means()}]
    echo_table(rows)


def _note_shipped(store: Any, space_name: str) -> None:
    from recommender.shipped import ensure_shipped

    note = ensure_shipped(store, space_name)
    if note:
        click.echo(note, err=True)


def _champion_defaults(
    store: Any,
    space_name: str,
    metric: str | None,
    maximize: bool | None,
    fidelity: float | None,
) -> tuple[str, bool, float | None]:
    """Fill metric, direction and fidelity from the space's champion where not given."""
    from recommender.errors import ModelError
    from recommender.registry import list_models
    from recommender.space import load_space

    load_space(space_name, store)  # an unknown space is its own clear error
    if metric is not None and maximize is not None:
        return metric, maximize, fidelity
    champ = list_models(store, space=space_name, status="champion")
    if not champ or (metric is not None and champ[0]["metric"] != metric):
        raise ModelError(
            f"space {space_name!r} has no trained model for this metric to take defaults from; "
            "give --metric M and --maximize or --minimize"
        )
    metric = metric or champ[0]["metric"]
    maximize = bool(champ[0]["maximize"]) if maximize is None else maximize
    fidelity = champ[0]["fidelity"] if fidelity is None else fidelity
    return str(metric), maximize, fidelity
