"""Options shared by every command."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import click

from recommender.tables import format_table

F = TypeVar("F", bound=Callable[..., Any])


def db_option(f: F) -> F:
    """``--db PATH`` and ``--lock-timeout S``."""
    f = click.option(
        "--lock-timeout",
        type=click.FloatRange(min=0),
        default=None,
        help="Seconds to wait while another process holds the store "
        "(default 30, or $RECOMMENDER_LOCK_TIMEOUT).",
    )(f)
    return click.option(
        "--db",
        "db",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="RECOMMENDER_DB",
        default=None,
        help="Store file (default: $RECOMMENDER_DB or the user data directory).",
    )(f)


class Registered(click.Choice):
    """The names of a registry, read when the option is parsed or shown, so that what is
    registered later (``register_kind``, ``register_reader``) can be chosen."""

    def __init__(self, names: Callable[[], Iterable[str]]) -> None:
        self._names = names
        super().__init__(())

    @property  # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        return tuple(self._names())

    @choices.setter
    def choices(self, value: object) -> None:
        """Ignored: the registry is the one list of names."""


def surrogate_kinds() -> Iterable[str]:
    from recommender.surrogate.kinds import KINDS

    return KINDS


def ingest_formats() -> Iterable[str]:
    from recommender.api.store import ingest_formats as formats

    return formats()


def model_option(f: F) -> F:
    """``--model KIND``: the surrogate to train (``xgboost``, ``forest`` or a registered kind)."""
    return click.option(
        "--model",
        "model_kind",
        type=Registered(surrogate_kinds),
        default="xgboost",
        show_default=True,
        help="Surrogate kind: xgboost (XGBoost), forest (extra-trees) or a registered one.",
    )(f)


def echo_note(message: str) -> None:
    """A note for the user, on stderr (stdout stays clean for ``--json``)."""
    click.echo(message, err=True)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(f)


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=_json_default, allow_nan=False))


def _json_default(value: Any) -> Any:
    try:
        import numpy as np

        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.floating):
            return None if not np.isfinite(value) else float(value)
        if isinstance(value, np.ndarray):
            return value.tolist()
    except ImportError:  # pragma: no cover
        pass
    return str(value)


def echo_table(rows: list[dict[str, Any]], columns: list[str] | None = None) -> None:
    """Print rows as an aligned plain-text table."""
    click.echo(format_table(rows, columns))
