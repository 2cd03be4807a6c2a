"""Hyperparameters of a search space: the :class:`Param` type, reading one from our JSON or
ConfigSpace's, and checking a space's parameters and a value against them.

:mod:`recommender.spaces.space` builds spaces from these and re-exports :class:`Param`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from recommender.errors import SpaceError

NUMERIC = ("float", "int")


@dataclass(frozen=True)
class Param:
    """One hyperparameter: numeric range or categorical choices, maybe conditional."""

    name: str
    type: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    default: Any = None
    choices: tuple[Any, ...] = ()
    condition: tuple[str, tuple[Any, ...]] | None = None

    @property
    def width(self) -> int:
        """Number of encoded columns."""
        return len(self.choices) if self.type == "categorical" else 1

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.type == "categorical":
            out["choices"] = list(self.choices)
        else:
            out.update(low=self.low, high=self.high, log=self.log)
        out["default"] = self.default
        if self.condition is not None:
            out["condition"] = {"parent": self.condition[0], "values": list(self.condition[1])}
        return out

    def to_unit(self, value: Any) -> float:
        """Numeric value -> [0, 1]."""
        lo, hi, x = float(self.low), float(self.high), float(value)  # type: ignore[arg-type]
        if self.log:
            lo, hi, x = math.log(lo), math.log(hi), math.log(x)
        return 0.0 if hi == lo else (x - lo) / (hi - lo)

    def from_unit(self, u: float) -> float | int:
        """[0, 1] -> numeric value (rounded for ints, always inside the bounds)."""
        lo, hi = float(self.low), float(self.high)  # type: ignore[arg-type]
        u = min(max(float(u), 0.0), 1.0)
        x = (
            math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
            if self.log
            else lo + u * (hi - lo)
        )
        x = min(max(x, lo), hi)
        return int(min(max(round(x), math.ceil(lo)), math.floor(hi))) if self.type == "int" else x


_CS_TYPES = {
    "uniform_float": "float",
    "uniform_int": "int",
    "normal_float": "float",
    "normal_int": "int",
    "ordinal": "categorical",
    "constant": "categorical",
}


def parse_param(h: Any, conditions: dict[Any, dict[str, Any]]) -> Param:
    if not isinstance(h, dict) or "name" not in h:
        raise SpaceError(
            f"space: expected each hyperparameter to be an object with a name, got {h!r}"
        )
    name = str(h["name"])
    kind = _CS_TYPES.get(h.get("type", ""), h.get("type"))
    if kind not in (*NUMERIC, "categorical"):
        raise SpaceError(
            f"space: hyperparameter {name}: expected type float, int or categorical, "
            f"got {h.get('type')!r}"
        )
    cond = h.get("condition") or conditions.get(name)
    condition = _parse_condition(name, cond) if cond else None
    default = h.get("default", h.get("default_value"))
    if kind == "categorical":
        choices = h.get("choices", h.get("sequence"))
        if h.get("type") == "constant":
            choices = [h.get("value", default)]
        if not isinstance(choices, list) or not choices:
            raise SpaceError(
                f"space: categorical {name}: expected a non-empty choices list, got {choices!r}"
            )
        default = choices[0] if default is None else default
        return Param(
            name, "categorical", default=default, choices=tuple(choices), condition=condition
        )
    try:
        low = float(h.get("low", h.get("lower")))  # type: ignore[arg-type]
        high = float(h.get("high", h.get("upper")))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SpaceError(f"space: {name}: expected numeric low and high, got {h!r}") from None
    p = Param(name, kind, low, high, bool(h.get("log", False)), None, (), condition)
    mid = p.from_unit(0.5) if low <= high and (low > 0 or not p.log) else low
    default = mid if default is None else (int(default) if kind == "int" else float(default))
    return Param(name, kind, low, high, p.log, default, (), condition)


def _parse_condition(name: str, cond: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    parent = cond.get("parent")
    values = cond.get("values", [cond["value"]] if "value" in cond else None)
    if not parent or not isinstance(values, list):
        raise SpaceError(
            f"space: condition of {name}: expected {{parent, values: [...]}}, got {cond!r}"
        )
    return str(parent), tuple(values)


def check_params(space: str, params: tuple[Param, ...]) -> None:
    names = [p.name for p in params]
    if not params:
        raise SpaceError(f"space {space}: expected at least one hyperparameter, got none")
    if len(set(names)) != len(names):
        raise SpaceError(f"space {space}: hyperparameter names must be unique, got {names}")
    for i, p in enumerate(params):
        if p.condition is not None and p.condition[0] not in names[:i]:
            raise SpaceError(
                f"space {space}: {p.name} depends on {p.condition[0]!r}, which must be an "
                "earlier hyperparameter; reorder or fix the condition"
            )
        if p.type == "categorical":
            if p.default not in p.choices:
                raise SpaceError(f"space {space}: {p.name} default {p.default!r} is not a choice")
            continue
        if not p.low <= p.high:  # type: ignore[operator]
            raise SpaceError(
                f'space {space}: "{p.name}": expected low <= high, '
                f"got low={p.low:g} high={p.high:g}"
            )
        if p.log and p.low <= 0:  # type: ignore[operator]
            raise SpaceError(
                f"space {space}: {p.name} is log-scaled, so low must be > 0, got {p.low:g}"
            )
        if not p.low <= p.default <= p.high:  # type: ignore[operator]
            raise SpaceError(
                f"space {space}: {p.name} default {p.default} is outside [{p.low:g}, {p.high:g}]"
            )


def checked_value(space: str, p: Param, value: Any) -> Any:
    if p.type == "categorical":
        if value not in p.choices:
            raise SpaceError(
                f"space {space}: {p.name}={value!r} is not one of {list(p.choices)}; pick one"
            )
        return value
    try:
        x = float(value)
    except (TypeError, ValueError) as err:
        raise SpaceError(f"space {space}: {p.name} expects a number, got {value!r}") from err
    if not (p.low <= x <= p.high):  # type: ignore[operator]
        raise SpaceError(
            f"space {space}: {p.name}={value!r} is outside [{p.low:g}, {p.high:g}]; "
            "use a value inside the range"
        )
    if p.type == "int":
        if x != round(x):
            raise SpaceError(f"space {space}: {p.name} expects an integer, got {value!r}")
        return int(round(x))
    return x
