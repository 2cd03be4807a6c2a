"""``recommender tune``: tune a new task, each trial adapting to the results so far."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from recommender.cli.options import db_option, echo_json, echo_note, json_option
from recommender.tables import config_lines, counted, format_table


@click.command("tune")
@click.option("--dataset", "dataset_path", required=True,
              help="Dataset file or folder, or a bundled one such as sklearn:iris.")  # fmt: skip
@click.option("--target", default=None,
              help="Target column (default: target/label/class/y, else the last).")  # fmt: skip
@click.option("--space", default=None, help="Search space (default: built-in for the modality).")
@click.option("--budget", type=int, required=True,
              help="Trials to train, counting those a resumed study already has.")  # fmt: skip
@click.option("--epochs", type=int, required=True, help="Epochs per trial.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda[:N].")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for everything.")
@click.option("--study", default=None,
              help="Study to create or continue (default: <dataset>-<space>).")  # fmt: skip
@click.option("--prune/--no-prune", default=False, show_default=True,
              help="Stop trials far behind the finished ones at the same epoch.")  # fmt: skip
@click.option("--text-column", default=None, help="Text column of a text table.")
@json_option
@db_option
def tune(
    dataset_path: str,
    target: str | None,
    space: str | None,
    budget: int,
    epochs: int,
    device: str,
    seed: int,
    study: str | None,
    prune: bool,
    text_column: str | None,
    as_json: bool,
    db: Path | None,
    lock_timeout: float | None,
) -> None:
    """Tune hyperparameters on your data: each trial learns from the ones before.

    The first 3 trials train the top 3 recommendations; each next config is chosen by a
    few-shot model from the results so far. Every trial is stored with its learning
    curve as soon as it finishes (so `recommender retrain` learns from it) and kept in
    an Optuna study beside the store: after Ctrl-C, the same command (same --study)
    continues, and --budget counts the trials already trained. With --prune, once 5
    trials have finished, a trial whose best validation score so far is in the bottom
    quarter of theirs at the same epoch (from the middle epoch on) stops there: status
    pruned, curve kept. Measured on the shipped packs it saves some time but finds no
    better configs in the same time, so it is off by default.

    Example: recommender tune --dataset train.csv --target label --budget 20 --epochs 10
    """
    import optuna

    from recommender.api.tuning import tune as run_tune

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    result = run_tune(
        dataset_path, target, space=space, budget=budget, epochs=epochs, device=device,
        seed=seed, study=study, prune=prune, text_column=text_column, db=db,
        lock_timeout=lock_timeout, on_trial=_progress, on_note=echo_note,
    )  # fmt: skip
    if as_json:
        echo_json(result.as_dict())
        return
    dicts = [t.as_dict() for t in result.trials]
    details = [config_lines(d["config"]) for d in dicts]
    click.echo(format_table([_row(d, result.metric) for d in dicts], details=details))
    best = result.best
    click.echo(
        f"study {result.study}: {counted(len(result.trials), 'trial')} for task {result.task} "
        f"(space {result.space}); best {result.metric}="
        + ("-" if best is None else f"{best.value:.4f} (trial {best.number})"),
        err=True,
    )


def _progress(trial: Any, progress: Any) -> None:
    value = "-" if trial.value is None else f"{trial.value:.4f}"
    best = progress.best
    best_text = "-" if best is None else f"{best.value:.4f} (trial {best.number})"
    click.echo(
        f"  trial {trial.number} [{progress.done}/{progress.budget}] {trial.source:<11} "
        f"{trial.status:<8} value={value}  best={best_text}  "
        f"{trial.duration_s or 0.0:.1f} s, about {_duration(progress.eta_s)} left",
        err=True,
    )


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 60:
        return f"{max(seconds, 0.0):.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _row(d: dict[str, Any], metric: str) -> dict[str, Any]:
    return {
        "trial": d["number"],
        "source": d["source"],
        "status": d["status"],
        metric: d["value"],
    }
