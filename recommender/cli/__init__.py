"""The ``recommender`` command line: a thin shell over the Python API.

Commands are loaded lazily so that ``recommender --help`` imports neither torch
nor xgboost. Errors a user caused (``RecommenderError``) become one line on
stderr and exit code 1; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from typing import Any

import click

_STATE = {"interrupted": False}  # set when a command ends on Ctrl-C (see main)

# name -> (module, attribute, one-line help shown by `recommender --help`)
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "ingest": ("recommender.cli.ingest_cmd", "ingest", "Ingest experiment logs into the store."),
    "tasks": ("recommender.cli.store_cmds", "tasks", "List tasks in the store."),
    "runs": ("recommender.cli.store_cmds", "runs", "List runs in the store."),
    "store": ("recommender.cli.store_cmds", "store", "Inspect, upgrade or export the store."),
    "describe": (
        "recommender.cli.describe_cmd",
        "describe",
        "Compute meta-features of a dataset.",
    ),
    "space": ("recommender.cli.space_cmds", "space", "Import and list search spaces."),
    "retrain": (
        "recommender.cli.model_cmds",
        "retrain",
        "Train a surrogate; promote it if it beats the champion.",
    ),
    "models": ("recommender.cli.model_cmds", "models", "List, promote or roll back surrogates."),
    "recommend": (
        "recommender.cli.recommend_cmd",
        "recommend",
        "Recommend configurations for a dataset.",
    ),
    "evaluate": (
        "recommender.cli.evaluate_cmd",
        "evaluate",
        "Leave-one-task-out regret against baselines.",
    ),
    "validate": (
        "recommender.cli.validate_cmd",
        "validate",
        "Train recommended and baseline configs on your data.",
    ),
    "tune": (
        "recommender.cli.tune_cmd",
        "tune",
        "Tune on your data, each trial adapting to the results so far.",
    ),
}


class LazyGroup(click.Group):
    """A group whose commands import on first use and turn user errors into one line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attr, _ = entry
        module = importlib.import_module(module_name)
        cmd: click.Command = getattr(module, attr)
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # List commands from the table above, without importing their modules.
        rows = [(name, short) for name, (_, _, short) in sorted(_COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        from recommender.errors import RecommenderError

        debug = bool(ctx.params.get("debug"))  # parsed before the group's callback runs
        try:
            with warnings.catch_warnings():
                if not debug:
                    warnings.showwarning = _one_line_note
                return super().invoke(ctx)
        except RecommenderError as err:
            if debug:
                raise
            _STATE["interrupted"] = isinstance(err, KeyboardInterrupt)
            raise click.ClickException(err.command_line()) from err
        except OSError as err:  # a path the user gave cannot be read or written
            if debug:
                raise
            raise click.ClickException(
                f"{err.filename or 'a file'}: {err.strerror or err}; check the path and its "
                "permissions (--debug shows where)"
            ) from err
        except KeyboardInterrupt:
            click.echo("Interrupted; finished work was kept, the rest rolled back.", err=True)
            _STATE["interrupted"] = True
            ctx.exit(130)


def _one_line_note(
    message: Warning | str, category: type[Warning], *_args: Any, **_kwargs: Any
) -> None:
    """Show a warning as one plain line (``--debug`` shows Python's form with file and line)."""
    click.echo(f"note: {str(message).strip()}", err=True)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
@click.version_option(package_name="recommender")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Recommend training hyperparameters for a new dataset from past experiments.

    Every command takes --db PATH (or $RECOMMENDER_DB); the default store lives in
    your data directory.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main() -> None:
    """The ``recommender`` command. After Ctrl-C it leaves as soon as its message is out:
    what finished is stored and the store is closed by then, and nothing is gained by
    waiting on interpreter shutdown (stopped worker pools, library threads)."""
    try:
        cli(prog_name="recommender")
    except SystemExit as done:
        if not _STATE["interrupted"]:
            raise
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(done.code if isinstance(done.code, int) else 1)
