"""``recommender describe``: meta-features of a dataset file or image folder."""

from __future__ import annotations

from pathlib import Path

import click

from recommender.cli.options import db_option, echo_json, echo_table, json_option


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
    from recommender.datasets import load_dataset
    from recommender.metafeatures import compute_metafeatures

    dataset = load_dataset(
        path,
        target,
        problem=problem,
        text_column=text_column,
        max_rows=max_rows,
        seed=seed,
        name=task,
    )
    result = compute_metafeatures(dataset, seed=seed, time_budget_s=time_budget)
    values = result.as_dict()
    if save:
        _save(dataset.name, values, result.modality, result.problem_type, db, lock_timeout)
    if as_json:
        echo_json(values)
    else:
        echo_table([{"feature": k, "value": v} for k, v in values.items()], ["feature", "value"])
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    if save:
        click.echo(
            f"saved {len(result.features)} meta-features for task {dataset.name!r}", err=True
        )


def _save(
    task: str,
    values: dict[str, float | str | None],
    modality: str,
    problem_type: str,
    db: Path | None,
    lock_timeout: float | None,
) -> None:
    from recommender.store import open_store

    features = {k: v for k, v in values.items() if k not in ("problem_type", "modality")}
    with open_store(db, read_only=False, lock_timeout=lock_timeout) as store:
        store.add_metafeatures(task, features, source="describe")  # type: ignore[arg-type]
        store.add_task(task, modality=modality, problem_type=problem_type, source="describe")
