"""Per-task target normalisation, so that runs of different tasks pool.

Raw metrics are not comparable across tasks (70 % accuracy is great on one dataset and
poor on another). Each task's values are replaced by a Gaussian-copula transform of
their within-task ranks (Salinas et al. 2020): ``Phi^-1(rank / (n + 1))``. Higher is
always better; a minimised metric is negated first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # pandas and scipy are imported when training, not to answer a query
    import pandas as pd

METHODS = ("copula", "rank", "regret")
# The one scale every regret figure (retrain, evaluate, the benchmarks) is reported on.
REGRET_SCALE = "0 = the task's best run, 1 = its median run"


def normalize_values(
    values: npt.ArrayLike, *, maximize: bool = True, method: str = "copula"
) -> npt.NDArray[np.float64]:
    """Normalise one task's metric values (higher = better after the transform).

    Args:
        values: raw metric values of one task.
        maximize: whether larger raw values are better.
        method: ``copula`` (normal scores), ``rank`` (ranks in (0, 1)) or ``regret``
            (``(v - median) / (best - median)``, clipped at -2: the benchmark's scale).

    Returns:
        Array of the same length.

    >>> normalize_values([1.0, 3.0, 2.0], method="rank").tolist()
    [0.25, 0.75, 0.5]
    """
    if method == "regret":
        return np.clip(regret_scale(values, values, maximize=maximize), -2.0, 1.0)
    from scipy.stats import norm, rankdata

    v = np.asarray(values, dtype=float)
    v = v if maximize else -v
    u = rankdata(v) / (len(v) + 1)
    if method == "rank":
        return u
    if method == "copula":
        return np.asarray(norm.ppf(u), dtype=float)
    raise ValueError(f"unknown normalisation {method!r}; expected one of {METHODS}")


def regret_scale(
    values: npt.ArrayLike, reference: npt.ArrayLike, *, maximize: bool = True
) -> npt.NDArray[np.float64]:
    """``(v - median) / (best - median)`` on the scale of a task's ``reference`` values:
    1 = the task's best, 0 = its median (not clipped)."""
    sign = 1.0 if maximize else -1.0
    ref = sign * np.asarray(reference, dtype=float)
    best, med = float(np.max(ref)), float(np.median(ref))
    return (sign * np.asarray(values, dtype=float) - med) / max(best - med, 1e-12)


def normalize_per_task(
    frame: pd.DataFrame, *, maximize: bool = True, method: str = "copula"
) -> pd.Series:
    """Normalise ``frame["value"]`` within each ``frame["task"]``; index kept."""
    import pandas as pd

    return frame.groupby("task", sort=False)["value"].transform(
        lambda v: pd.Series(
            normalize_values(v.to_numpy(), maximize=maximize, method=method), v.index
        )
    )


def regret(achieved: float, values: npt.ArrayLike, *, maximize: bool = True) -> float:
    """Normalised regret ``max(0, (best - achieved) / (best - median))`` of one task."""
    v = np.asarray(values, dtype=float)
    sign = 1.0 if maximize else -1.0
    best, med, a = sign * np.max(sign * v), float(np.median(v)), float(achieved)
    span = sign * (best - med)
    if span <= 0:
        return 0.0
    return float(max(0.0, sign * (best - a) / span))
