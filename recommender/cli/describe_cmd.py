"""``recommender describe``: meta-features of a dataset file or image folder."""

from __future__ import annotations

from pathlib import Path

import click

from recommender.cli.options import db_option, echo_json, echo_note, echo_table, json_option


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--target", help="Target column (default: target/label/class/y, else the last).")
@click.option("--task", help="Task name used by --save (default: the file stem).")
@click.option(
    "--problem",
    type=click.Choice(["binary", "multiclass", "regression"]),
    default=None,
    help="Learning problem (default: inferred from the target).",
)
@click.option("--text-column", help="Treat the table as text with this document column.")
@click.option(
    "--max-rows",
    type=click.IntRange(min=2),
    default=None,
    help="Describe a seeded, stratified sample of at most this many rows "
    "(default: all rows; table files over 1 GiB: at most 100 million cells).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every sample.")
@click.option(
    "--time-budget",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds after which expensive groups (information, landmarkers) are skipped.",
)
@click.option("--save", is_flag=True, help="Store the meta-features for the task.")
@db_option
@json_option
def describe(
    path: Path,
    target: str | None,
    task: str | None,
    problem: str | None,
    text_column: str | None,
    max_rows: int | None,
    seed: int,
    time_budget: float | None,
    save: bool,
    db: Path | None,
    lock_timeout: float | None,
    as_json: bool,
) -> None:
    """Compute meta-features of the dataset at PATH.

    PATH is a CSV/TSV/Parquet/JSON-lines table, a NumPy .npz with X and y, or a folder
    of images with one sub-folder per class. Prints a feature/value table, or with
    --json one object of features plus "problem_type" and "modality" (NaN as null).
    """
    from recommender.api import describe_result

    task_name, result = describe_result(
        path, target, problem=problem, text_column=text_column, max_rows=max_rows, seed=seed,
        time_budget=time_budget, task=task, save=save, db=db, lock_timeout=lock_timeout,
        on_note=echo_note,
    )  # fmt: skip
    values = result.as_dict()
    if as_json:
        echo_json(values)
    else:
        echo_table([{"feature": k, "value": v} for k, v in values.items()], ["feature", "value"])
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    if save:
        click.echo(f"saved {len(result.features)} meta-features for task {task_name!r}", err=True)
