"""``recommender evaluate``: leave-one-task-out regret against baselines."""

from __future__ import annotations

import textwrap
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
@model_option
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
    from recommender.api import evaluate as run_evaluate

    result = run_evaluate(
        space_name, metric=metric, maximize=maximize, fidelity=fidelity, top_k=top_k,
        holdout=holdout, model=model_kind, seed=seed, db=db, lock_timeout=lock_timeout,
        on_note=echo_note,
    )  # fmt: skip
    if as_json:
        echo_json(result.as_dict())
        return
    echo_table(result.rows + [{"task": "MEAN", **result.means()}])
    click.echo("\n" + textwrap.fill(result.what_it_measures(), width=100))
