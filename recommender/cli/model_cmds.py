"""``recommender retrain`` and ``recommender models``: train, list, promote, roll back."""

from __future__ import annotations

from pathlib import Path

import click

from recommender.cli.options import (
    db_option,
    echo_json,
    echo_note,
    echo_table,
    json_option,
    model_option,
)


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
@model_option
@click.option("--seed", type=int, default=0, show_default=True)
@db_option
@json_option
def retrain(
    space_name: str,
    metric: str | None,
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
    from recommender.api import retrain as run_retrain

    report = run_retrain(
        space_name, metric=metric, maximize=maximize, fidelity=fidelity,
        min_new_runs=min_new_runs, force=force, model=model_kind, seed=seed, db=db,
        lock_timeout=lock_timeout, on_note=echo_note,
    )  # fmt: skip
    if as_json:
        echo_json(report.as_dict())
    else:
        click.echo(report.message + (f" ({report.duration_s:.1f} s)" if report.duration_s else ""))


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
    from recommender.api import models as list_models

    rows = list_models(space_name, db=db, lock_timeout=lock_timeout)
    if as_json:
        echo_json(rows)
        return
    cols = ["model_id", "space", "metric", "status", "n_runs", "n_tasks", "cv_top1_regret"]
    echo_table(rows, [*cols, "created_at"])


@models.command("promote")
@click.argument("model_id", type=int)
@db_option
def models_promote(model_id: int, db: Path | None, lock_timeout: float | None) -> None:
    """Make MODEL_ID the champion of its space."""
    from recommender.api import promote

    row = promote(model_id, db=db, lock_timeout=lock_timeout)
    click.echo(f"model {model_id} is now the champion of space {row['space']}")


@models.command("rollback")
@click.option("--space", "space_name", required=True, help="Space whose champion to roll back.")
@db_option
def models_rollback(space_name: str, db: Path | None, lock_timeout: float | None) -> None:
    """Retire the champion and restore the previously promoted model."""
    from recommender.api import rollback

    restored = rollback(space_name, db=db, lock_timeout=lock_timeout)
    click.echo(f"rolled back space {space_name}: model {restored} is the champion again")
