"""Where a parameter an objective asks for meets the space's parameter of that name.

An Optuna objective asks for each parameter with its own distribution (bounds, step, log
scale, choices); the space holds what the store knows. :func:`overlap` is the part of the
asked distribution that the store knows: a numeric range (the bounds intersected, on the
asked step grid) or a set of choices (the asked choices the space has; numeric choices
of a numeric parameter count where they lie inside its bounds, and a categorical
parameter of numbers asked as a range keeps its choices inside that range). ``None``
where they share nothing: a categorical parameter asked as a number, bounds entirely
outside the space's. :func:`into` maps a value of the space into the overlap (clipped,
snapped to the nearest numeric choice) or rejects it; :func:`fit` gives it the asked
distribution's type and grid; :func:`constrainer` does it for a whole configuration.

>>> from recommender.spaces.space import builtin_space
>>> lr = builtin_space("tabular_mlp").param("learning_rate")
>>> overlap(lr, FloatDistribution(1e-5, 1e-3, log=True))
Overlap(low=0.0001, high=0.001, choices=None, partial=True)
>>> overlap(lr, FloatDistribution(1.0, 10.0)) is None
True
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from recommender.spaces.params import Param
from recommender.spaces.space import Space

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

_NUMERIC = (FloatDistribution, IntDistribution)


@dataclass(frozen=True)
class Overlap:
    """The part of an asked distribution the store knows: a range or choices.

    ``partial``: the asked distribution holds values outside it (they are not suggested).
    """

    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None
    partial: bool = False


def is_number(x: Any) -> bool:
    """A real number that is not a bool (``True`` is not a learning rate)."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(float(x))


def overlap(p: Param, dist: BaseDistribution) -> Overlap | None:
    """The part of ``dist`` that parameter ``p`` of the space covers, or ``None``."""
    if isinstance(dist, CategoricalDistribution):
        if p.type == "categorical":
            known = tuple(c for c in dist.choices if c in p.choices)
        else:
            known = tuple(c for c in dist.choices if is_number(c) and p.low <= c <= p.high)  # type: ignore[operator]
        return Overlap(choices=known, partial=len(known) < len(dist.choices)) if known else None
    if not isinstance(dist, _NUMERIC):
        return None
    if p.type == "categorical":
        inside = tuple(c for c in p.choices if is_number(c) and dist.low <= c <= dist.high)
        return Overlap(choices=inside, partial=True) if inside else None
    low, high = max(dist.low, float(p.low)), min(dist.high, float(p.high))  # type: ignore[arg-type]
    if dist.step is not None:  # onto the asked grid, inwards
        low = dist.low + math.ceil((low - dist.low) / dist.step - 1e-9) * dist.step
        high = dist.low + math.floor((high - dist.low) / dist.step + 1e-9) * dist.step
    if isinstance(dist, IntDistribution):
        low, high = math.ceil(low), math.floor(high)
    if low > high or (low == high and dist.low < dist.high):
        return None  # nothing, or one point of a range: the store knows nothing of the rest
    return Overlap(low=low, high=high, partial=low > dist.low or high < dist.high)


def into(value: Any, ov: Overlap, p: Param, dist: BaseDistribution) -> Any:
    """``value`` (of the space's parameter ``p``) inside the overlap, or ``None``."""
    if ov.choices is not None:
        if value in ov.choices:
            return value
        if p.type == "categorical" or not is_number(value):
            return None
        x = p.to_unit(min(max(float(value), p.low), p.high))  # type: ignore[type-var]
        return min(ov.choices, key=lambda c: abs(p.to_unit(c) - x))
    if not is_number(value):
        return None
    return fit(min(max(float(value), ov.low), ov.high), dist)  # type: ignore[type-var]


def fit(value: Any, dist: BaseDistribution) -> Any:
    """``value`` inside ``dist``: clipped, on its step grid, of its type."""
    if isinstance(dist, CategoricalDistribution):
        return value if value in dist.choices else dist.choices[0]
    if isinstance(dist, _NUMERIC):
        x = min(max(float(value), dist.low), dist.high)
        if dist.step is not None:
            x = dist.low + round((x - dist.low) / dist.step) * dist.step
            x = min(x, dist.high)
        return int(round(x)) if isinstance(dist, IntDistribution) else float(x)
    return value


def finite_values(dist: BaseDistribution, most: int = 1024) -> list[Any] | None:
    """Every value of a categorical or stepped distribution (``None``: over ``most``)."""
    if isinstance(dist, CategoricalDistribution):
        return list(dist.choices)
    if isinstance(dist, _NUMERIC) and dist.step is not None:
        n = int(round((dist.high - dist.low) / dist.step)) + 1
        if n <= most:
            return [fit(dist.low + i * dist.step, dist) for i in range(n)]
    return None


def study_distributions(
    trials: Sequence[FrozenTrial], known: set[str]
) -> dict[str, BaseDistribution]:
    """The latest distribution the study used for each known parameter."""
    out: dict[str, BaseDistribution] = {}
    for t in trials:
        out.update({k: v for k, v in t.distributions.items() if k in known})
    return out


def constrainer(
    space: Space,
    asked: dict[str, tuple[Overlap, BaseDistribution]],
    fixed: dict[str, Any],
    project: dict[str, Any] | None,
) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
    """Map a config into what the study asks: fixed values win, asked values go into the
    part of the asked distribution the store knows (or the config is rejected), and (with
    ``project``) parameters the study never asks for take their default."""

    def constrain(config: dict[str, Any]) -> dict[str, Any] | None:
        out = dict(config)
        for name, value in config.items():
            if name in fixed:
                out[name] = fixed[name]
            elif name in asked:
                ov, dist = asked[name]
                out[name] = into(value, ov, space.param(name), dist)
                if out[name] is None:
                    return None
            elif project is not None:
                out[name] = project.get(name, value)
        return out

    return constrain


# -- what the user is told, once per study and parameter ------------------------------------
def mismatch_note(space: str, p: Param, dist: BaseDistribution, ov: Overlap | None) -> str:
    """One line: the parameter, what the store knows of it, what was asked and what follows."""
    head = (
        f"RecommenderSampler: {p.name!r} is {_described(p)} in space {space}; "
        f"asked as {_asked(dist)}"
    )
    if ov is None:
        return f"{head}, which shares nothing with it, it is sampled at random"
    if ov.choices is not None:
        part = ", ".join(repr(c) for c in ov.choices)
    else:
        part = f"values {_range(ov.low, ov.high, False)}"
    return (
        f"{head}, it gets only {part} (what the store knows); to use all the store "
        f"knows, ask for {_described(p)}"
    )


def unknown_note(space: str, name: str, names: Sequence[str]) -> str:
    """One line: the space has no such parameter; the names it has, closest first."""
    close = [n for n in names if _abbreviates(name, n)]
    close += [n for n in difflib.get_close_matches(name, names, n=3) if n not in close]
    hint = f" (did you mean {', '.join(repr(n) for n in close[:3])}?)" if close else ""
    return (
        f"RecommenderSampler: space {space} has no parameter {name!r}{hint}; it knows "
        f"{', '.join(names)}; sampling {name!r} at random"
    )


def _abbreviates(short: str, name: str) -> bool:
    """``impute`` of ``num.impute.selected.cpo``, ``lr`` of ``learning_rate``."""
    short, name = short.lower(), name.lower()
    words = [w for w in re.split(r"[._\-]+", name) if w]
    return short in words or short == "".join(w[0] for w in words) or name in short


def _described(p: Param) -> str:
    if p.type == "categorical":
        return _choices(p.choices)
    return f"{'an int' if p.type == 'int' else 'a float'} {_range(p.low, p.high, p.log)}"


def _asked(dist: BaseDistribution) -> str:
    if isinstance(dist, CategoricalDistribution):
        return _choices(dist.choices)
    if isinstance(dist, _NUMERIC):
        kind = "an int" if isinstance(dist, IntDistribution) else "a float"
        return f"{kind} {_range(dist.low, dist.high, dist.log)}"
    return type(dist).__name__


def _range(low: Any, high: Any, log: bool) -> str:
    return f"in [{low:g}, {high:g}]{' (log)' if log else ''}"


def _choices(choices: Sequence[Any] | None) -> str:
    return f"one of {', '.join(repr(c) for c in choices or ())}"
