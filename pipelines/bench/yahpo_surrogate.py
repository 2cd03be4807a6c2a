"""YAHPO Gym surrogates (ONNX) as objectives: a configuration of one task in, its metric out.

Each YAHPO Gym scenario ships a neural surrogate as ``model.onnx`` with two inputs:
``x_cat`` (int32 codes of the categorical parameters, the task first) and ``x_cont``
(float32 raw values of the numeric parameters, fidelities included). The model applies
its own input and output transformations, so raw values go in and metric values come
out, one column per metric. ``encoding.json`` maps each categorical level to its code
(``#na#`` is 0). An inactive conditional parameter goes in as 0 (numeric) or ``#na#``
(categorical), as the training data had it: the models' first layers show 0 as the
smallest value of every conditional numeric column, below the parameters' lower bounds.

:data:`LAYOUTS` gives each scenario's column orders, read off the models' graphs (the
embedding sizes of ``x_cat``; the transformation of each ``x_cont`` column, whose log
or scale constants name the parameter's range) and checked against the data: the LCBench
layout reproduces the public LCBench table (values from the same surrogate) to float
precision (``python -m pipelines.bench.yahpo_build --check``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from pipelines.bench.lcbench_to_table import PARAMS as LCBENCH_PARAMS
from recommender.spaces.space import Space

RBV2_OUTPUTS = (
    "acc", "bac", "auc", "brier", "f1", "logloss", "timetrain", "timepredict", "memory",
)  # fmt: skip
IAML_OUTPUTS = (
    "mmce", "f1", "auc", "logloss", "ramtrain", "rammodel", "rampredict", "timetrain",
    "timepredict", "mec", "ias", "nf",
)  # fmt: skip
LCBENCH_OUTPUTS = (
    "time", "val_accuracy", "val_cross_entropy", "val_balanced_accuracy",
    "test_cross_entropy", "test_balanced_accuracy",
)  # fmt: skip
RBV2_FIDELITY = {"trainsize": 1.0, "repl": 10}
IMPUTE = "num.impute.selected.cpo"


@dataclass(frozen=True)
class Layout:
    """How one scenario's model reads a configuration and which metric the benchmark uses.

    Attributes:
        task: the parameter naming the task (the first ``x_cat`` column).
        cont: ``x_cont`` columns in order (fidelities included).
        cat: ``x_cat`` columns in order (the task first).
        outputs: the model's output columns in order.
        fidelity: the fixed value of each fidelity parameter (the full budget).
        metric: the benchmark's metric (one of ``outputs``); ``maximize``: its direction.
    """

    task: str
    cont: tuple[str, ...]
    cat: tuple[str, ...]
    outputs: tuple[str, ...]
    fidelity: Mapping[str, float]
    metric: str
    maximize: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task, "cont": list(self.cont), "cat": list(self.cat),
            "outputs": list(self.outputs), "fidelity": dict(self.fidelity),
            "metric": self.metric, "maximize": self.maximize,
        }  # fmt: skip

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Layout:
        return cls(
            str(obj["task"]), tuple(obj["cont"]), tuple(obj["cat"]), tuple(obj["outputs"]),
            dict(obj["fidelity"]), str(obj["metric"]), bool(obj["maximize"]),
        )  # fmt: skip

    @property
    def params(self) -> tuple[str, ...]:
        """The tunable parameters: every column but the task and the fidelities."""
        return tuple(
            n for n in (*self.cat, *self.cont) if n != self.task and n not in self.fidelity
        )


LAYOUTS: dict[str, Layout] = {
    "rbv2_rpart": Layout(
        "task_id",
        ("cp", "maxdepth", "minbucket", "minsplit", "trainsize", "repl"),
        ("task_id", IMPUTE),
        RBV2_OUTPUTS,
        RBV2_FIDELITY,
        "acc",
        True,
    ),  # fmt: skip
    "rbv2_xgboost": Layout(
        "task_id",
        (
            "nrounds",
            "eta",
            "gamma",
            "lambda",
            "alpha",
            "subsample",
            "max_depth",
            "min_child_weight",
            "colsample_bytree",
            "colsample_bylevel",
            "rate_drop",
            "skip_drop",
            "trainsize",
            "repl",
        ),
        ("task_id", "booster", IMPUTE),
        RBV2_OUTPUTS,
        RBV2_FIDELITY,
        "acc",
        True,
    ),  # fmt: skip
    "iaml_glmnet": Layout(
        "task_id",
        ("alpha", "s", "trainsize"),
        ("task_id",),
        IAML_OUTPUTS,
        {"trainsize": 1.0},
        "mmce",
        False,
    ),  # fmt: skip
    "lcbench": Layout(
        "OpenML_task_id",
        ("epoch", *LCBENCH_PARAMS),
        ("OpenML_task_id",),
        LCBENCH_OUTPUTS,
        {"epoch": 52},
        "val_balanced_accuracy",
        True,
    ),  # fmt: skip
}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def encode_inputs(
    layout: Layout,
    encoding: Mapping[str, Mapping[str, int]],
    task: str,
    configs: Sequence[Mapping[str, Any]],
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """The model's ``(x_cat, x_cont)`` for ``configs`` of ``task``.

    A parameter missing from a config (or None/NaN: inactive) goes in as 0 / ``#na#``;
    fidelities take the layout's fixed values.

    Raises:
        ValueError: an unknown task or categorical level (the message names it).
    """
    x_cat = np.zeros((len(configs), len(layout.cat)), dtype=np.int32)
    x_cont = np.zeros((len(configs), len(layout.cont)), dtype=np.float32)
    codes = encoding[layout.task]
    if str(task) not in codes:
        raise ValueError(f"task: expected one of the model's {len(codes) - 1} tasks, got {task!r}")
    for i, config in enumerate(configs):
        for j, name in enumerate(layout.cat):
            value = task if name == layout.task else config.get(name)
            if _missing(value):
                continue
            level = encoding[name].get(str(value))
            if level is None:
                raise ValueError(f"{name}: expected one of {sorted(encoding[name])}, got {value!r}")
            x_cat[i, j] = level
        for j, name in enumerate(layout.cont):
            value = layout.fidelity.get(name, config.get(name))
            x_cont[i, j] = 0.0 if value is None or _missing(value) else float(value)
    return x_cat, x_cont


@dataclass
class SurrogateObjective:
    """One scenario's surrogate: :meth:`evaluate` gives the metric of configs of a task.

    >>> objective = SurrogateObjective.load(Path("data/yahpo/rbv2_rpart"))  # doctest: +SKIP
    >>> objective.evaluate("3", [{"cp": 0.01, "maxdepth": 30, ...}])  # doctest: +SKIP
    """

    layout: Layout
    encoding: dict[str, dict[str, int]]
    model: Path
    space: Any = None
    _session: Any = field(default=None, repr=False)

    @classmethod
    def load(cls, folder: Path) -> SurrogateObjective:
        """From a scenario folder written by ``pipelines.bench.yahpo_build``."""
        meta = json.loads((folder / "scenario.json").read_text())
        encoding = json.loads((folder / "encoding.json").read_text())
        space = Space.from_json(json.loads((folder / "space.json").read_text()), meta["name"])
        return cls(Layout.from_json(meta["layout"]), encoding, folder / "model.onnx", space)

    def active(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """``config`` without the parameters its conditions switch off (the model reads
        an inactive parameter as 0; a value there is outside what it was trained on)."""
        if self.space is None:
            return dict(config)
        return {
            p.name: config[p.name]
            for p in self.space.params
            if p.name in config and self.space.is_active(p, config)
        }

    def outputs(self, task: str, configs: Sequence[Mapping[str, Any]]) -> npt.NDArray[np.float64]:
        """Every output column of the model, ``(len(configs), len(layout.outputs))``."""
        if self._session is None:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = options.inter_op_num_threads = 1
            self._session = ort.InferenceSession(str(self.model), options)
        configs = [self.active(c) for c in configs]
        x_cat, x_cont = encode_inputs(self.layout, self.encoding, task, configs)
        (out,) = self._session.run(None, {"x_cat": x_cat, "x_cont": x_cont})
        return np.asarray(out, dtype=np.float64)

    def evaluate(self, task: str, configs: Sequence[Mapping[str, Any]]) -> npt.NDArray[np.float64]:
        """The benchmark metric of each config (in batches of 4,096)."""
        column = self.layout.outputs.index(self.layout.metric)
        parts = [
            self.outputs(task, configs[i : i + 4096])[:, column]
            for i in range(0, len(configs), 4096)
        ]
        return np.concatenate(parts) if parts else np.zeros(0)
