"""Pieces every validation trainer shares: results, devices, splits, schedules, metrics.

torch is imported inside functions so that importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from recommender.errors import (
    DatasetError,
    InvalidArgumentError,
    RecommenderError,
    SpaceError,
    option,
)

if TYPE_CHECKING:
    import pandas as pd
    import torch

STATUSES = ("ok", "failed", "diverged")
# Called after each finished epoch with the validation metric; False stops training.
OnEpoch = Callable[[int, float], "bool | None"]


@dataclass
class TrainResult:
    """What one short training run produced.

    ``value`` is the final validation metric (higher is better); ``curve`` holds one
    dict per finished epoch with ``epoch``, ``train_loss``, ``val_loss``, the metric
    under ``metric_name`` and ``time_s`` (seconds since the start of training).
    """

    status: str
    metric_name: str
    value: float | None
    best_epoch: int | None
    curve: list[dict[str, float]] = field(default_factory=list)
    duration_s: float = 0.0
    error: str | None = None
    n_params: int = 0
    n_train: int = 0  # rows trained on
    n_val: int = 0  # rows held out for validation (the same rows for every config)

    def with_split(self, n_train: int, n_val: int) -> TrainResult:
        """This result with the sizes of the split it was trained and validated on."""
        self.n_train, self.n_val = int(n_train), int(n_val)
        return self

    @property
    def epochs(self) -> int:
        """Number of epochs that finished."""
        return len(self.curve)

    @property
    def val_loss(self) -> float | None:
        """Validation loss of the last finished epoch."""
        return self.curve[-1]["val_loss"] if self.curve else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "metric": self.metric_name,
            "value": self.value,
            "best_epoch": self.best_epoch,
            "epochs": self.epochs,
            "duration_s": self.duration_s,
            "error": self.error,
            "n_params": self.n_params,
            "n_train": self.n_train,
            "n_val": self.n_val,
            "curve": self.curve,
        }


def metric_name_for(problem_type: str) -> str:
    """``val_r2`` for regression, ``val_balanced_accuracy`` otherwise."""
    return "val_r2" if problem_type == "regression" else "val_balanced_accuracy"


def resolve_device(device: str) -> str:
    """Map ``auto`` to ``cuda`` when available, else ``cpu``; check explicit choices.

    Raises:
        RecommenderError: an unknown device name, or ``cuda`` without a CUDA device.
    """
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RecommenderError(
                f"device {device!r} requested but no CUDA device is visible; "
                f"use {option('device', 'cpu')} or {option('device', 'auto')}"
            )
        return device
    if device == "cpu":
        return device
    raise InvalidArgumentError(f"device: expected auto, cpu or cuda[:N], got {device!r}")


def fill_config(
    config: Mapping[str, Any], defaults: Mapping[str, Any], space: str
) -> dict[str, Any]:
    """Complete ``config`` with ``defaults``; reject names the trainer does not know.

    Raises:
        SpaceError: ``config`` names a parameter outside ``defaults``.
    """
    unknown = sorted(set(config) - set(defaults))
    if unknown:
        raise SpaceError(
            f"config for {space}: unknown parameter(s) {', '.join(unknown)}; "
            f"expected some of {', '.join(sorted(defaults))}"
        )
    return {**defaults, **{k: v for k, v in config.items() if v is not None}}


# A classification target with more classes than this is refused (group rare classes).
MAX_CLASSES = 1000
# ... and so is one with fewer labelled rows per class than this, on average.
MIN_ROWS_PER_CLASS = 2


def check_target(y: pd.Series, problem_type: str, target: str) -> None:
    """Reject targets no trainer can learn from.

    Raises:
        DatasetError: empty data, a classification target with one class, with more
            than ``MAX_CLASSES`` classes, or with fewer than ``MIN_ROWS_PER_CLASS``
            labelled rows per class on average.
    """
    labels = y.dropna()
    n_classes = int(labels.nunique()) if problem_type != "regression" else 0
    check_labels(len(labels), n_classes, labels.iloc[0] if len(labels) else None, target)


def check_labels(n_rows: int, n_classes: int, first: Any, target: str) -> None:
    """:func:`check_target` from counts: labelled rows, classes (0: regression) and the
    first label."""
    if n_rows < 4:
        raise DatasetError(
            f"target {target!r}: expected at least 4 labelled rows, got {n_rows}; provide more data"
        )
    if n_classes == 0:
        return
    if n_classes < 2:
        raise DatasetError(
            f"target {target!r} has one class ('{first}'); classification needs "
            f"at least 2 classes; check {option('target')} or the data"
        )
    if n_classes > MAX_CLASSES or n_classes * MIN_ROWS_PER_CLASS > n_rows:
        raise DatasetError(
            f"target {target!r}: expected at most {MAX_CLASSES} classes and at least "
            f"{MIN_ROWS_PER_CLASS} rows per class on average, got {n_classes} classes in "
            f"{n_rows} rows; check {option('target')} (an id column?), group rare classes, "
            f"or use {option('problem', 'regression')} for a numeric target"
        )


def check_features(X: pd.DataFrame, modality: str, name: str) -> None:
    """Reject data without inputs: no feature column, only constant or identifier-like
    columns (nothing reaches the network), or text that is empty everywhere.

    Raises:
        DatasetError: nothing to learn from.
    """
    if X.shape[1] == 0:
        raise DatasetError(
            f"{name}: expected at least one feature column besides the target, got none; "
            f"add feature columns or check {option('target')}"
        )
    if modality == "tabular":
        from recommender.training.tabular_encoding import informative_columns

        if not informative_columns(X):
            names = ", ".join(map(str, X.columns[:10])) + (" ..." if X.shape[1] > 10 else "")
            raise DatasetError(
                f"{name}: expected a feature column that varies, got only constant or "
                f"identifier-like columns ({names}); add informative feature columns"
            )
    if modality == "text" and not X.iloc[:, 0].astype(str).str.strip().astype(bool).any():
        raise DatasetError(
            f"{name}: expected text in the text column, got only empty strings; "
            f"check {option('text_column')}"
        )


def split_indices(
    y: npt.NDArray[Any], *, classification: bool, val_fraction: float, seed: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Seeded train/validation split, stratified by class when classifying.

    Every class with at least two rows puts at least one row in each part.
    """
    rng = np.random.default_rng(seed)
    n = len(y)
    if not classification:
        perm = rng.permutation(n)
        n_val = min(max(1, round(n * val_fraction)), n - 1)
        return np.sort(perm[n_val:]), np.sort(perm[:n_val])
    train: list[npt.NDArray[np.int64]] = []
    val: list[npt.NDArray[np.int64]] = []
    # Rows grouped by class in one sort (ascending row order within a class), not one
    # scan of y per class: many classes stay fast.
    by_class = np.argsort(y, kind="stable")
    _, starts, counts = np.unique(y[by_class], return_index=True, return_counts=True)
    for start, count in zip(starts, counts, strict=True):
        idx = rng.permutation(by_class[start : start + count])
        n_val = 0 if len(idx) < 2 else min(max(1, round(len(idx) * val_fraction)), len(idx) - 1)
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def subsample(
    y: npt.NDArray[Any], max_rows: int | None, *, classification: bool, seed: int
) -> npt.NDArray[np.int64] | None:
    """Row indices to keep so at most ``max_rows`` remain (stratified); ``None`` keeps all."""
    if max_rows is None or len(y) <= max_rows:
        return None
    keep, _ = split_indices(
        y, classification=classification, val_fraction=1 - max_rows / len(y), seed=seed + 7919
    )
    return keep


def warmup_cosine(step: int, total: int, warmup: int) -> float:
    """Learning-rate multiplier: linear warm-up over ``warmup`` steps, then cosine to 0."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def balanced_accuracy(pred: torch.Tensor, target: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Mean per-class recall over the classes present in ``target`` (stays on device)."""
    import torch

    hits = torch.zeros(n_classes, device=target.device)
    counts = torch.zeros(n_classes, device=target.device)
    counts.index_add_(0, target, torch.ones_like(target, dtype=torch.float32))
    hits.index_add_(0, target, (pred == target).float())
    present = counts > 0
    return (hits[present] / counts[present]).mean()


def r2_score(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Coefficient of determination; 0 when the target is constant."""
    import torch

    ss_res = ((target - pred) ** 2).sum()
    ss_tot = ((target - target.mean()) ** 2).sum()
    return torch.where(ss_tot > 0, 1 - ss_res / ss_tot.clamp_min(1e-12), torch.zeros_like(ss_res))


def finish(
    curve: list[dict[str, float]],
    metric_name: str,
    *,
    status: str,
    duration_s: float,
    n_params: int,
    error: str | None = None,
) -> TrainResult:
    """Build a TrainResult: final value from the last epoch, best epoch by the metric.

    A diverged run has no value: its last metric came from a broken model.
    """
    finite = [r for r in curve if math.isfinite(r[metric_name]) and math.isfinite(r["val_loss"])]
    best = max(finite, key=lambda r: r[metric_name]) if finite else None
    last = curve[-1][metric_name] if curve and status != "diverged" else None
    value = last if last is not None and math.isfinite(last) else None
    return TrainResult(
        status=status,
        metric_name=metric_name,
        value=value,
        best_epoch=int(best["epoch"]) if best else None,
        curve=curve,
        duration_s=duration_s,
        error=error,
        n_params=n_params,
    )


def run_epochs(
    epoch: Callable[[int], tuple[float, float, float]],
    *,
    epochs: int,
    metric: str,
    n_params: int,
    time_budget_s: float | None = None,
    on_epoch: OnEpoch | None = None,
    diverged: Callable[[int], str] = lambda e: f"loss diverged (not finite) in epoch {e}",
    exhausted: Callable[[], bool] = lambda: False,
) -> TrainResult:
    """Run ``epoch(i) -> (train_loss, val_loss, value)`` for i = 1.. and build the result.

    Stops early when a loss is not finite (status ``diverged``, message ``diverged(i)``),
    when ``epoch`` raises (status ``failed``), when ``on_epoch(i, value)`` returns False,
    when ``exhausted()`` says the step budget is spent, or after the epoch during which
    ``time_budget_s`` seconds passed.
    """
    curve: list[dict[str, float]] = []
    start = time.perf_counter()
    status, error = "ok", None
    for index in range(1, epochs + 1):
        try:
            train_loss, val_loss, value = epoch(index)
        except Exception as err:  # noqa: BLE001 - a failed run is recorded, not raised
            status, error = "failed", f"{type(err).__name__}: {str(err).splitlines()[0][:300]}"
            break
        elapsed = time.perf_counter() - start
        curve.append(
            {"epoch": float(index), "train_loss": train_loss, "val_loss": val_loss,
             metric: value, "time_s": elapsed}
        )  # fmt: skip
        if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
            status, error = "diverged", diverged(index)
            break
        if on_epoch is not None and on_epoch(index, value) is False:
            break
        if exhausted() or (time_budget_s is not None and elapsed >= time_budget_s):
            break
    return finish(
        curve, metric, status=status, duration_s=time.perf_counter() - start,
        n_params=n_params, error=error,
    )  # fmt: skip


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Use ``n`` torch CPU threads inside the block (``None``: leave as is)."""
    import torch

    if n is None:
        yield
        return
    before = torch.get_num_threads()
    if before != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if before != n:
            torch.set_num_threads(before)
