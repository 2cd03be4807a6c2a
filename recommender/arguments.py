"""Checks of the arguments every entry point shares; each raises :class:`InvalidArgumentError`."""

from __future__ import annotations

import numbers

from recommender.errors import InvalidArgumentError


def check_top_k(top_k: int, *, low: int = 1) -> None:
    """Raise :class:`InvalidArgumentError` unless ``top_k`` is an integer >= ``low``."""
    if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < low:
        raise InvalidArgumentError(
            f"top_k: expected an integer >= {low}, got {top_k!r}; ask for at least {low}"
        )
