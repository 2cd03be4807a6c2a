"""``recommender tasks``, ``runs`` and ``store``."""

from __future__ import annotations

from pathlib import Path

import click

from recommender.cli.options import db_option, echo_json, echo_table, json_option


@click.group()
def tasks() -> None:
    """List tasks in the store."""


@tasks.command("list")
@db_option
@json_option
def tasks_list(db: Path | None, lock_timeout: float | None, as_json: bool) -> None:
    """List tasks with their run and meta-feature counts."""
    from recommender.api import tasks as list_tasks

    rows = list_tasks(db=db, lock_timeout=lock_timeout)
    if as_json:
        echo_json(rows)
        return
    # A runs file names its tasks, not what they are: say so rather than print "-".
    said = [{**r, **{k: r[k] or "unknown" for k in ("modality", "problem_type")}} for r in rows]
    echo_table(said, ["name", "modality", "problem_type", "source", "n_runs", "n_metafeatures"])


@click.group()
def runs() -> None:
    """List runs in the store."""


@runs.command("list")
@click.option("--task", help="Only runs of this task.")
@click.option("--space", help="Only runs of this search space.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="At most this many runs (default: all with --json, 50 in the table).",
)
@db_option
@json_option
def runs_list(
    task: str | None,
    space: str | None,
    limit: int | None,
    db: Path | None,
    lock_timeout: float | None,
    as_json: bool,
) -> None:
    """List runs: parameters, metrics, fidelity and status."""
    from recommender.api import runs as list_runs

    shown = limit if limit is not None or as_json else 50
    limit_rows = None if shown is None else shown + 1
    rows = list_runs(task, space=space, limit=limit_rows, db=db, lock_timeout=lock_timeout)
    if as_json:
        echo_json(rows)
        return
    more = shown is not None and len(rows) > shown
    echo_table(rows[:shown], ["task", "space", "params", "metrics", "fidelity", "status"])
    if more and limit is None:
        click.echo(f"(first {shown} runs; --limit N shows more, --json shows all)")


@click.group()
def store() -> None:
    """Inspect, upgrade or export the store."""


@store.command("info")
@db_option
@json_option
def store_info(db: Path | None, lock_timeout: float | None, as_json: bool) -> None:
    """Counts, schema version and location of the store."""
    from recommender.api import store_info as read_info

    info = read_info(db=db, lock_timeout=lock_timeout)
    missing = info["path"] != ":memory:" and not Path(info["path"]).exists()
    if as_json:
        echo_json(info)
    else:
        for k, v in info.items():
            click.echo(f"{k:15} {v}")
        if missing:
            click.echo("(no store file at this path: an empty store is shown)")


@store.command("upgrade")
@db_option
def store_upgrade(db: Path | None, lock_timeout: float | None) -> None:
    """Apply pending schema migrations."""
    from recommender.api import upgrade_store

    done = upgrade_store(db=db, lock_timeout=lock_timeout)
    if done.applied:
        click.echo(f"{done.path}: upgraded schema v{done.before} -> v{done.after}")
    else:
        click.echo(f"{done.path}: already at schema v{done.after}")


@store.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@db_option
def store_export(directory: Path, db: Path | None, lock_timeout: float | None) -> None:
    """Write every table of the store as Parquet into DIRECTORY."""
    from recommender.api import export_store

    counts = export_store(directory, db=db, lock_timeout=lock_timeout)
    for table, n in counts.items():
        click.echo(f"{table:15} {n:>10} rows -> {directory / (table + '.parquet')}")


@store.command("rejected")
@click.option("--batch", type=int, help="Only rows of this ingest batch.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@db_option
@json_option
def store_rejected(
    batch: int | None, limit: int, db: Path | None, lock_timeout: float | None, as_json: bool
) -> None:
    """Show quarantined rows with their reasons."""
    from recommender.api import rejected as rejected_rows

    rows = rejected_rows(batch=batch, limit=limit, db=db, lock_timeout=lock_timeout)
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, ["batch", "line", "reason", "raw"])
