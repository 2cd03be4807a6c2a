"""``recommender recommend``: ranked configurations for a dataset, meta-features or task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from recommender.cli.options import db_option, echo_json, echo_note, json_option


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
    """Recommend configurations for a dataset, ranked, with predicted score and reasons.

    With --space alone (no dataset, meta-features or task), the configs that do best
    across the space's known tasks.
    """
    from recommender.api import read_metafeatures
    from recommender.api import recommend as run_recommend

    given = [x for x in (dataset, mf_file, task) if x is not None]
    if len(given) > 1:
        raise click.UsageError("give at most one of --dataset, --metafeatures or --task")
    if dataset is None and space_name is None:
        raise click.UsageError(
            "give --dataset, or --space with --metafeatures, --task or alone (the configs "
            "that do best across the space's known tasks)"
        )
    data: Any = dataset
    if mf_file is not None:
        data, target, text_column = read_metafeatures(mf_file), None, None
    result = run_recommend(
        data, target, space=space_name, top_k=top_k, task=task, text_column=text_column,
        db=db, lock_timeout=lock_timeout, on_note=echo_note,
    )  # fmt: skip
    if as_json:
        echo_json(result.as_dict())
        return
    click.echo(str(result))
