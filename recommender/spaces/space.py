"""Search spaces: typed hyperparameters, JSON round-trip, encoding to the unit cube.

A space is our native JSON (``{"name", "hyperparameters": [...], "fidelity"}``) or
ConfigSpace's JSON. Numeric parameters encode to one column in [0, 1] (log-scaled
when ``log``); a categorical one encodes one-hot. A conditional parameter that is
inactive encodes as NaN, which XGBoost treats as missing. One parameter, and reading it
from JSON, is :mod:`recommender.spaces.params`; :class:`Param` is importable from here too.
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

from recommender.errors import SpaceError, option
from recommender.spaces.params import Param, check_params, checked_value, parse_param

if TYPE_CHECKING:
    from recommender.store.base import Store

__all__ = [
    "Param",
    "Space",
    "builtin_space",
    "builtin_spaces",
    "import_space",
    "load_space",
    "stored_spaces",
]

_SPACES_DIR = Path(__file__).parent


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
        params = tuple(parse_param(h, conditions) for h in obj["hyperparameters"])
        space_name = name or str(obj.get("name") or "unnamed")
        check_params(space_name, params)
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
            out[p.name] = checked_value(self.name, p, config[p.name])
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
        raise SpaceError(f"space name {name!r} is built in; choose another {option('name')}")
    space = Space.from_json(_read_json(Path(path)), name=name)
    store.add_space(name, space.to_json(), source=str(path))
    return space


def stored_spaces(store: Store) -> list[tuple[str, str, int]]:
    """``(name, source, n_params)`` of spaces imported into the store."""
    return [
        (s["name"], s["source"], len(s["definition"].get("hyperparameters") or []))
        for s in store.spaces()
    ]
