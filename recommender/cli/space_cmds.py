"""``recommender space``: import and list search spaces."""

from __future__ import annotations

from pathlib import Path

import click

from recommender.cli.options import db_option, echo_json, echo_table, json_option


@click.group()
def space() -> None:
    """Import and list search spaces."""


@space.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="Name to store the space under.")
@db_option
def space_import(file: Path, name: str, db: Path | None, lock_timeout: float | None) -> None:
    """Import a space from our JSON format or ConfigSpace's JSON."""
    from recommender.api import import_space

    sp = import_space(file, name, db=db, lock_timeout=lock_timeout)
    click.echo(
        f"imported space {sp.name}: {len(sp.params)} hyperparameters ({', '.join(sp.names)})"
    )


@space.command("list")
@db_option
@json_option
def space_list(db: Path | None, lock_timeout: float | None, as_json: bool) -> None:
    """List built-in and imported spaces."""
    from recommender.api import spaces

    rows = spaces(db=db, lock_timeout=lock_timeout)
    echo_json(rows) if as_json else echo_table(rows)
