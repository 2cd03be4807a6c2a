"""Search spaces: typed hyperparameters, JSON round-trip, encoding to the unit cube.

A space is our native JSON (``{"name", "hyperparameters": [...], "fidelity"}``) or
ConfigSpace's JSON. Numeric parameters encode to one column in [0, 1] (log-scaled
when ``log``); a categorical one encodes one-hot. A conditional parameter that is
inactive encodes as NaN, which XGBoost treats as missing.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from recommender.errors import SpaceError

if TYPE_CHECKING:
    from recommender.store.base import Store

_NUMERIC = ("float", "int")
_SPACES_DIR = Path(__file__).parent / "spaces"


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


@dataclass(frozen=True)
class Space:
    """A named search space.

    >>> s = builtin_space("text_finetune")
    >>> s.decode(s.encode([s.default_config()]))[0] == s.default_config()
    True
    """

    name: str
    params: tuple[Param, ...]
    fidelity: dict[str, Any] | None = None
    description: str = ""
    _index: dict[str, Param] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._index.update({p.name: p for p in self.params})

    # -- JSON -----------------------------------------------------------------------
    @classmethod
    def from_json(cls, obj: dict[str, Any], name: str | None = None) -> Space:
        """Build a space from our JSON or ConfigSpace's; ``name`` overrides the file's.

        Raises:
            SpaceError: the definition is malformed (one line says which field).
        """
        if not isinstance(obj, dict) or not isinstance(obj.get("hyperparameters"), list):
            raise SpaceError(
                'space: expected a JSON object with a "hyperparameters" list; '
                "see the README for the format"
            )
        conditions = {c.get("child"): c for c in obj.get("conditions") or [] if isinstance(c, dict)}
        params = tuple(_parse_param(h, conditions) for h in obj["hyperparameters"])
        space_name = name or str(obj.get("name") or "unnamed")
        _check_params(space_name, params)
        fidelity = obj.get("fidelity")
        if fidelity is not None:
            fidelity = {k: fidelity[k] for k in ("name", "low", "high") if k in fidelity}
        return cls(space_name, params, fidelity, str(obj.get("description") or ""))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        out["hyperparameters"] = [p.to_json() for p in self.params]
        if self.fidelity is not None:
            out["fidelity"] = dict(self.fidelity)
        return out

    # -- basics ---------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    @property
    def feature_names(self) -> list[str]:
        """Names of the encoded columns (``param`` or ``param=choice``)."""
        out: list[str] = []
        for p in self.params:
            out += [f"{p.name}={c}" for c in p.choices] if p.type == "categorical" else [p.name]
        return out

    def param(self, name: str) -> Param:
        return self._index[name]

    def is_active(self, p: Param, config: dict[str, Any]) -> bool:
        if p.condition is None:
            return True
        parent, values = p.condition
        return parent in config and config[parent] in values

    def default_config(self) -> dict[str, Any]:
        """The default of every active parameter."""
        config: dict[str, Any] = {}
        for p in self.params:
            if self.is_active(p, config):
                config[p.name] = p.default
        return config

    # -- encoding -------------------------------------------------------------------
    def encode(self, configs: list[dict[str, Any]]) -> npt.NDArray[np.float64]:
        """Configurations -> ``(n, len(feature_names))`` array; inactive -> NaN."""
        out = np.full((len(configs), len(self.feature_names)), np.nan)
        for i, config in enumerate(configs):
            col = 0
            for p in self.params:
                value = config.get(p.name)
                if value is not None and self.is_active(p, config):
                    if p.type == "categorical":
                        out[i, col : col + p.width] = 0.0
                        if value in p.choices:
                            out[i, col + p.choices.index(value)] = 1.0
                    else:
                        out[i, col] = p.to_unit(value)
                col += p.width
        return out

    def encode_frame(self, frame: Any) -> npt.NDArray[np.float64]:
        """Like :meth:`encode`, column by column, for a DataFrame with a column per parameter.

        Missing cells (NaN/None) count as unset; the result equals ``encode`` of the rows
        as dicts without their missing entries.
        """
        import pandas as pd

        n = len(frame)
        out = np.full((n, len(self.feature_names)), np.nan)
        present = {
            p.name: (frame[p.name].notna().to_numpy() if p.name in frame else np.zeros(n, bool))
            for p in self.params
        }
        col = 0
        for p in self.params:
            active = present[p.name].copy()
            if p.condition is not None:
                parent, values = p.condition
                parent_values = frame[parent] if parent in frame else pd.Series([None] * n)
                active &= present.get(parent, np.zeros(n, bool))
                active &= parent_values.isin(list(values)).to_numpy()
            if active.any():
                values_p = frame[p.name][active]
                if p.type == "categorical":
                    block = np.zeros((int(active.sum()), p.width))
                    for k, choice in enumerate(p.choices):
                        block[:, k] = (values_p == choice).to_numpy(dtype=bool)
                    out[active, col : col + p.width] = block
                else:
                    x = values_p.to_numpy(dtype=float)
                    lo, hi = float(p.low), float(p.high)  # type: ignore[arg-type]
                    if p.log:
                        lo, hi, x = math.log(lo), math.log(hi), np.log(x)
                    out[active, col] = 0.0 if hi == lo else (x - lo) / (hi - lo)
            col += p.width
        return out

    def decode(self, array: npt.ArrayLike) -> list[dict[str, Any]]:
        """Encoded rows -> configurations (argmax for one-hot, clipped, conditions applied)."""
        arr = np.atleast_2d(np.asarray(array, dtype=float))
        if arr.shape[1] != len(self.feature_names):
            raise SpaceError(
                f"space {self.name}: expected {len(self.feature_names)} encoded columns, "
                f"got {arr.shape[1]}; encode with the same space"
            )
        arr = np.nan_to_num(arr, nan=0.5)  # an unset cell decodes to the middle
        configs = []
        for row in arr:
            config: dict[str, Any] = {}
            col = 0
            for p in self.params:
                cells = row[col : col + p.width]
                col += p.width
                if not self.is_active(p, config):
                    continue
                if p.type == "categorical":
                    config[p.name] = p.choices[int(np.argmax(cells))]
                else:
                    config[p.name] = p.from_unit(cells[0])
            configs.append(config)
        return configs

    def sample(self, n: int, seed: int | None = 0) -> list[dict[str, Any]]:
        """``n`` quasi-random configurations (scrambled Sobol over the encoded cube)."""
        from scipy.stats import qmc

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Sobol prefers powers of two; any n is fine here.
            u = qmc.Sobol(d=len(self.feature_names), scramble=True, seed=seed).random(n)
        return self.decode(u)

    # -- checking -------------------------------------------------------------------
    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """Return ``config`` with typed values, or raise if it is not in the space.

        Raises:
            SpaceError: an unknown, missing or out-of-range parameter.
        """
        unknown = sorted(set(config) - set(self.names))
        if unknown:
            raise SpaceError(
                f"space {self.name}: unknown parameter(s) {', '.join(unknown)}; "
                f"expected some of {', '.join(self.names)}"
            )
        out: dict[str, Any] = {}
        for p in self.params:
            if not self.is_active(p, out):
                continue
            if p.name not in config:
                raise SpaceError(f"space {self.name}: missing parameter {p.name}; give a value")
            out[p.name] = _checked_value(self.name, p, config[p.name])
        return out

    def clip(self, config: dict[str, Any]) -> dict[str, Any]:
        """Nearest valid configuration: clip, round ints, defaults for missing/unknown."""
        out: dict[str, Any] = {}
        for p in self.params:
            if not self.is_active(p, out):
                continue
            value = config.get(p.name, p.default)
            if p.type == "categorical":
                out[p.name] = value if value in p.choices else p.default
            else:
                try:
                    out[p.name] = p.from_unit(p.to_unit(min(max(float(value), p.low), p.high)))  # type: ignore[type-var]
                except (TypeError, ValueError):
                    out[p.name] = p.default
        return out


_CS_TYPES = {
    "uniform_float": "float",
    "uniform_int": "int",
    "normal_float": "float",
    "normal_int": "int",
    "ordinal": "categorical",
    "constant": "categorical",
}


def _parse_param(h: Any, conditions: dict[Any, dict[str, Any]]) -> Param:
    if not isinstance(h, dict) or "name" not in h:
        raise SpaceError(
            f"space: expected each hyperparameter to be an object with a name, got {h!r}"
        )
    name = str(h["name"])
    kind = _CS_TYPES.get(h.get("type", ""), h.get("type"))
    if kind not in (*_NUMERIC, "categorical"):
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


def _check_params(space: str, params: tuple[Param, ...]) -> None:
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


def _checked_value(space: str, p: Param, value: Any) -> Any:
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


# -- built-in and stored spaces ------------------------------------------------------
def builtin_spaces() -> list[str]:
    """Names of the spaces shipped with the package."""
    return sorted(f.stem for f in _SPACES_DIR.glob("*.json"))


def builtin_space(name: str) -> Space:
    """Load a built-in space by name."""
    text = (_SPACES_DIR / f"{name}.json").read_text()
    return Space.from_json(json.loads(text))


def load_space(name_or_path: str | Path, store: Store | None = None) -> Space:
    """A space by built-in name, name in the store's ``spaces`` table, or JSON file path.

    Raises:
        SpaceError: nothing matches, or the definition is invalid.
    """
    key = str(name_or_path)
    if key in builtin_spaces():
        return builtin_space(key)
    if store is not None:
        definition = store.space(key)
        if definition is not None:
            return Space.from_json(definition, name=key)
    path = Path(key)
    if path.suffix == ".json" or path.is_file():
        return Space.from_json(_read_json(path))
    known = builtin_spaces() + ([n for n, _, _ in stored_spaces(store)] if store else [])
    raise SpaceError(
        f"unknown space {key!r}; expected one of {', '.join(known)} or a JSON file; "
        "import one with: recommender space import FILE --name NAME"
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        obj = json.loads(path.read_text())
    except FileNotFoundError:
        raise SpaceError(f"space file {path} not found; check the path") from None
    except (OSError, ValueError) as err:
        raise SpaceError(f"space file {path}: expected JSON, got: {err}") from err
    if not isinstance(obj, dict):
        raise SpaceError(f"space file {path}: expected a JSON object, got {type(obj).__name__}")
    return obj


def import_space(store: Store, path: str | Path, name: str) -> Space:
    """Read a space JSON file and save it in the store under ``name``.

    Raises:
        SpaceError: the file is invalid or ``name`` is a built-in space.
    """
    if name in builtin_spaces():
        raise SpaceError(f"space name {name!r} is built in; choose another --name")
    space = Space.from_json(_read_json(Path(path)), name=name)
    store.add_space(name, space.to_json(), source=str(path))
    return space


def stored_spaces(store: Store) -> list[tuple[str, str, int]]:
    """``(name, source, n_params)`` of spaces imported into the store."""
    return [
        (s["name"], s["source"], len(s["definition"].get("hyperparameters") or []))
        for s in store.spaces()
    ]
