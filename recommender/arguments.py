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


def check_int(name: str, value: int, *, low: int = 1, high: int | None = None) -> int:
    """``value`` as an int (NumPy integers count) if ``low <= value <= high``.

    Raises:
        InvalidArgumentError: not an integer (a bool, a float, a string), or out of range.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidArgumentError(f"{name}: expected an integer >= {low}, got {value!r}")
    if value < low:
        raise InvalidArgumentError(f"{name}: expected an integer >= {low}, got {int(value)}")
    if high is not None and value > high:
        raise InvalidArgumentError(
            f"{name}: expected an integer from {low} to {high:,}, got {int(value):,}; "
            f"pass at most {high:,}"
        )
    return int(value)
