"""``recommender ingest``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from recommender.cli.options import (
    Registered,
    db_option,
    echo_json,
    echo_note,
    echo_table,
    ingest_formats,
    json_option,
)

if TYPE_CHECKING:
    from recommender.types import IngestReport


@click.command()
@click.argument("source")
@click.option(
    "--format",
    "fmt",
    type=Registered(ingest_formats),
    help="Force the format (default: from the suffix, URL or contents).",
)
@click.option(
    "--kind",
    type=click.Choice(["runs", "metafeatures"]),
    default="runs",
    show_default=True,
    help="Runs, or a table of task meta-features (one row per task).",
)
@click.option("--space", help="Search-space name for these runs (default: from parameter names).")
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON/TOML file mapping your column names (see README).",
)
@click.option("--task", help="Task name for every row (one task per file).")
@click.option("--task-column", help="Column holding the task name.")
@click.option("--task-tag", help="MLflow tag or Optuna study attribute holding the task.")
@click.option(
    "--encoding",
    help="Text encoding of a CSV/TSV/JSON Lines file, e.g. latin-1 or cp1252 "
    "(default: from its byte-order mark, else UTF-8).",
)
@click.option("--strict", is_flag=True, help="Refuse the whole source if any row is bad.")
@click.option("--dry-run", is_flag=True, help="Check and report; write nothing.")
@db_option
@json_option
def ingest(
    source: str,
    fmt: str | None,
    kind: str,
    space: str | None,
    mapping: Path | None,
    task: str | None,
    task_column: str | None,
    task_tag: str | None,
    encoding: str | None,
    strict: bool,
    dry_run: bool,
    db: Path | None,
    lock_timeout: float | None,
    as_json: bool,
) -> None:
    """Ingest experiment logs from SOURCE into the store.

    SOURCE is a CSV/TSV, JSON Lines (each optionally gzip-compressed, as .csv.gz)
    or Parquet table, an MLflow tracking store
    (sqlite:///mlflow.db or an mlruns folder) or an Optuna storage
    (sqlite:///optuna.db). Ingesting the same source twice adds nothing; bad rows
    are kept in the store's quarantine with their reason.
    """
    from recommender.api import ingest as run_ingest

    show = not as_json and sys.stderr.isatty()

    def progress(stage: str) -> None:
        if show:
            click.echo(f"  {stage} ...", err=True)

    report = run_ingest(
        source, format=fmt, kind=kind, space=space, mapping=mapping, task=task,
        task_column=task_column, task_tag=task_tag, strict=strict, dry_run=dry_run,
        progress=progress, encoding=encoding, db=db, lock_timeout=lock_timeout,
    )  # fmt: skip
    for line in report.notes:
        echo_note(line)
    if as_json:
        echo_json(report.as_dict())
        return
    _echo_report(report, kind)


def _echo_report(report: IngestReport, kind: str) -> None:
    dry_run = report.dry_run
    verb = "would ingest" if dry_run else "ingested"
    unit = "task rows" if kind == "metafeatures" else "runs"
    click.echo(
        f"{report.source}: {verb} {report.accepted} {unit} "
        f"({report.duplicates} already stored, {report.rejected} rejected) "
        f"across {report.tasks} task(s)"
        + (f" into space {report.space}" if report.space else "")
        + (f"; batch {report.batch}" if report.batch is not None else "")
    )
    if report.curve_points:
        click.echo(f"learning-curve points: {report.curve_points}")
    for old, n in report.moved:
        click.echo(f"{'would move' if dry_run else 'moved'} {n} runs from space {old} "
                   f"to space {report.space}")  # fmt: skip
    for other, n in report.elsewhere:
        click.echo(f"{n} runs of this source are already stored in space {other} and stay there")
    if report.accepted == 0 and report.batch is None and not dry_run and not report.moved:
        where = [s for s, _ in report.elsewhere] or [str(report.space)]
        click.echo(
            "nothing new: everything in this source is already in the store "
            f"(space {', '.join(where)})"
        )
    if (report.space or "").startswith("auto-") and kind == "runs":
        click.echo(
            f"space {report.space} is named after the runs' parameters; to name it, ingest "
            "again with --space NAME (the runs move there)"
        )
    if report.inferred is not None:
        _echo_inferred(report.inferred, str(report.space))
    if report.reasons:
        click.echo("rejected rows (first reasons):")
        echo_table([{"count": n, "reason": r} for r, n in report.reasons[:5]], ["count", "reason"])
        if not dry_run:
            click.echo("see them with: recommender store rejected")


def _echo_inferred(inferred: dict[str, Any], name: str) -> None:
    from recommender.spaces.infer import describe_param
    from recommender.spaces.space import Space

    space = Space.from_json(inferred["definition"], name=name)
    click.echo(
        f"{inferred['action']} space {name}, inferred from {inferred['runs']} runs "
        f"(replace it with your own: recommender space import FILE --name {name}):"
    )
    width = max(len(p.name) for p in space.params)
    for p in space.params:
        click.echo(f"  {p.name:{width}}  {describe_param(p)}")
