"""``recommender validate``: train recommended and baseline configs on the user's data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from recommender.cli.options import db_option, echo_json, echo_note, json_option
from recommender.tables import config_lines, counted, format_table


@click.command("validate")
@click.option(
    "--dataset",
    "dataset_path",
    required=True,
    help="Table (CSV/Parquet/...), .npz, text table or image folder to train on.",
)
@click.option(
    "--target",
    default=None,
    help="Target column (default: one named like target/label/class, else the last).",
)
@click.option("--space", default=None, help="Search space (default: built-in for the modality).")
@click.option("--top-k", type=click.IntRange(min=0), default=5, show_default=True,
              help="Recommended configs to train (0: baselines only, no model).")  # fmt: skip
@click.option("--baselines", default="default", show_default=True,
              help="'default', 'random:N', both (comma-separated) or 'none'.")  # fmt: skip
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Epochs per config (default: tabular 10, text 2, image 3).")  # fmt: skip
@click.option("--budget-s", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds per config instead of a fixed number of epochs.")  # fmt: skip
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda[:N].")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for everything.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local",
              show_default=True, help="Run configs on this machine, or as Ray tasks.")  # fmt: skip
@click.option("--parallel", type=click.IntRange(min=1), default=1, show_default=True,
              help="Configs trained at once (processes sharing the GPU or CPU cores).")  # fmt: skip
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write an HTML report with learning curves here.")  # fmt: skip
@click.option("--problem", type=click.Choice(["binary", "multiclass", "regression"]),
              default=None, help="Problem type (default: inferred from the target).")  # fmt: skip
@click.option("--text-column", default=None, help="Text column of a text table.")
@click.option("--max-rows", type=click.IntRange(min=10), default=None,
              help="Subsample the dataset to at most this many rows (seeded).")  # fmt: skip
@json_option
@db_option
def validate(
    dataset_path: str,
    target: str | None,
    space: str | None,
    top_k: int,
    baselines: str,
    epochs: int | None,
    budget_s: float | None,
    device: str,
    seed: int,
    executor: str,
    parallel: int,
    report_path: Path | None,
    problem: str | None,
    text_column: str | None,
    max_rows: int | None,
    as_json: bool,
    db: Path | None,
    lock_timeout: float | None,
) -> None:
    """Train the top-k recommended configs and baselines briefly on your data.

    Every run (with its learning curve) is stored as soon as it finishes, together
    with the dataset's meta-features, so the next `recommender retrain` learns from it.

    Example: recommender validate --dataset data.csv --target label --top-k 3
    --baselines default,random:2 --epochs 10 --report validation.html
    """
    if epochs is not None and budget_s is not None:
        raise click.BadParameter("use --epochs or --budget-s, not both", param_hint="--budget-s")
    from recommender.api import validate as run_validate

    report = run_validate(
        dataset_path, target, space=space, top_k=top_k, baselines=baselines, epochs=epochs,
        budget_s=budget_s, device=device, seed=seed, executor=executor, parallel=parallel,
        problem=problem, text_column=text_column, max_rows=max_rows, report=report_path,
        db=db, lock_timeout=lock_timeout, on_result=_progress, on_note=echo_note,
    )  # fmt: skip
    rows = [o.as_dict() for o in report.outcomes]
    if as_json:
        echo_json(rows)
        return
    details = [config_lines(r["config"]) for r in rows]
    click.echo(format_table([_row(r) for r in rows], details=details))
    click.echo(
        f"{counted(len(rows), 'run')} stored for task {report.task} (space {report.space}, "
        f"metric {report.metric}).",
        err=True,
    )


def _progress(outcome: Any) -> None:
    d = outcome.as_dict()
    value = "-" if d["value"] is None else f"{d['value']:.4f}"
    click.echo(
        f"  {d['source']:<11} {d['status']:<8} {d['metric']}={value} "
        f"({counted(d['epochs'], 'epoch')}, {d['duration_s']:.1f} s)",
        err=True,
    )


def _row(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "source": d["source"],
        "status": d["status"],
        d["metric"]: d["value"],
        "best_epoch": d["best_epoch"],
        "time_s": d["duration_s"],
    }
