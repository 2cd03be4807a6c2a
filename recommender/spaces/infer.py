"""A search space inferred from the runs stored under it.

``recommender ingest --space NAME`` of runs whose space is not known registers one
read from the data: each parameter's type as the store typed its column (a bool becomes
a categorical of ``False``/``True``), numeric ranges from the smallest to the largest
value, a log scale where positive values spread as a log-uniform sample does (over at
least ``LOG_MIN_RATIO``), and a condition where a parameter is present exactly when a
categorical parameter takes some of its values (``max_depth`` only with ``booster =
gbtree``). Bounds are rounded outward to two significant digits: the values seen lie
inside the range that was searched. ``recommender space import FILE --name NAME``
replaces an inferred space with the user's own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.errors import SpaceError
from recommender.spaces.params import check_params
from recommender.spaces.space import Param, Space

if TYPE_CHECKING:
    from recommender.store.base import Store

LOG_MIN_RATIO = 10.0  # max / min at which a log scale is considered
ROUND_DIGITS = 2  # significant digits of the inferred bounds
INFERRED_SOURCE = "inferred from runs"  # the spaces table's source of an inferred space


def infer_space(name: str, types: Mapping[str, str], frame: Any) -> Space:
    """The space of runs: ``types`` maps each parameter to its stored type (int, float,
    bool, categorical); ``frame`` has a column per parameter (missing where not set).
    Numeric ranges run from the smallest to the largest value, rounded outward.

    Raises:
        SpaceError: no parameter has a value.
    """
    present = {p: frame[p].notna().to_numpy() for p in types if p in frame}
    names = [p for p in sorted(present) if present[p].any()]
    if not names:
        raise SpaceError(
            f"space {name}: expected runs with parameter values to infer it from, got "
            "no parameter with a value; add param.<name> columns or import the space"
        )
    choosers = [p for p in names if types[p] in ("categorical", "bool")]
    params = []
    for p in names:
        values = frame[p][present[p]]
        condition = _condition(p, frame, present, choosers)
        params.append(_param(p, types[p], values, condition))
    # A parent is present wherever its child is, and somewhere else too: more often.
    params.sort(key=lambda q: -int(present[q.name].sum()))
    checked = tuple(params)
    check_params(name, checked)
    return Space(name, checked)


def _param(
    name: str, kind: str, values: Any, condition: tuple[str, tuple[Any, ...]] | None
) -> Param:
    if kind in ("categorical", "bool"):
        counts = values.value_counts(sort=True)
        choices = tuple(sorted((_plain(c) for c in counts.index), key=str))
        return Param(name, "categorical", default=_plain(counts.index[0]), choices=choices,
                     condition=condition)  # fmt: skip
    x = values.to_numpy(dtype=float)
    log = _log_scaled(x, float(x.min()), float(x.max()))
    # The observed extremes fall inside the range that was searched: round them outward.
    low, high = _rounded(float(x.min()), up=False), _rounded(float(x.max()), up=True)
    default = float(np.median(x))
    if kind == "int":
        low, high, default = float(math.floor(low)), float(math.ceil(high)), round(default)
    return Param(name, kind, low, high, log, default, (), condition)


def _rounded(x: float, *, up: bool) -> float:
    """``x`` rounded away from the data to ``ROUND_DIGITS`` significant digits (0.0010286
    down to 0.001, 0.3153 up to 0.32, 299 up to 300), never past zero."""
    if x == 0 or not math.isfinite(x):
        return x
    exp = math.floor(math.log10(abs(x))) - (ROUND_DIGITS - 1)
    step = math.ceil if up else math.floor
    value = float(f"{step(x / 10.0**exp)}e{exp}")
    if (value < x) if up else (value > x):  # the division rounded the wrong way
        value = float(f"{step(x / 10.0**exp) + (1 if up else -1)}e{exp}")
    return value if value * x > 0 else x


def _log_scaled(x: Any, low: float, high: float) -> bool:
    """Positive, over at least ``LOG_MIN_RATIO``, and the median nearer the middle on a log
    scale than on a linear one (a log-uniform sample's median is the geometric middle)."""
    if low <= 0 or high < LOG_MIN_RATIO * low:
        return False
    median = float(np.median(x))
    linear = (median - low) / (high - low)
    logged = math.log(median / low) / math.log(high / low)
    return abs(logged - 0.5) < abs(linear - 0.5)


def _condition(
    name: str, frame: Any, present: Mapping[str, Any], choosers: list[str]
) -> tuple[str, tuple[Any, ...]] | None:
    """``(parent, values)`` when a categorical parent explains where ``name`` is set."""
    mine = present[name]
    if mine.all():
        return None
    for parent in choosers:
        theirs = present[parent]
        if parent == name or not theirs[mine].all():
            continue
        with_me = set(frame[parent][mine])
        without = set(frame[parent][theirs & ~mine])
        if without and not with_me & without:
            return parent, tuple(sorted((_plain(v) for v in with_me), key=str))
    return None


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value JSON stores."""
    return value.item() if isinstance(value, np.generic) else value


def describe_param(p: Param) -> str:
    """One line of what was inferred, e.g. ``int, 2 to 12, when booster is gbtree``."""
    if p.type == "categorical":
        text = f"categorical, {', '.join(str(c) for c in p.choices)}"
    else:
        text = f"{p.type}, {'log scale, ' if p.log else ''}{_num(p.low)} to {_num(p.high)}"
    if p.condition is not None:
        parent, values = p.condition
        text += f", when {parent} is {' or '.join(str(v) for v in values)}"
    return text


def _num(x: float | None) -> str:
    return f"{x:g}" if x is not None else "?"


def refresh_inferred(store: Store, name: str, *, changed: bool) -> dict[str, Any] | None:
    """Register space ``name`` inferred from its runs, or update one inferred before
    (when its runs ``changed``).

    A built-in or imported space is left as it is (``None``). Returns ``{"action":
    "registered" | "updated", "runs": n, "definition": {...}}``.
    """
    from recommender.spaces.space import builtin_spaces

    if name in builtin_spaces():
        return None
    before = store.space_source(name)
    if before is not None and (before != INFERRED_SOURCE or not changed):
        return None
    types = store.param_types(name)
    if not types:
        return None
    frame = store.params_frame(name, list(types))
    space = infer_space(name, types, frame)
    store.add_space(name, space.to_json(), source=INFERRED_SOURCE)
    action = "registered" if before is None else "updated"
    return {"action": action, "runs": len(frame), "definition": space.to_json()}
