"""Encoded configurations as the few-shot model sees them: inactive cells filled, and a key."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FILL = -1.0  # an inactive (NaN) encoded cell; valid cells are in [0, 1]


def fill(x: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Encoded configs with inactive cells set to ``FILL``."""
    return np.nan_to_num(np.asarray(x, dtype=float), nan=FILL)


def config_key(x: npt.NDArray[np.float64]) -> bytes:
    """Hashable identity of one encoded configuration."""
    return np.round(fill(x), 9).tobytes()


def config_keys(x: npt.NDArray[np.float64]) -> list[bytes]:
    """:func:`config_key` of each row of ``x``."""
    rows = np.ascontiguousarray(np.round(fill(np.atleast_2d(x)), 9))
    return [r.tobytes() for r in rows]
