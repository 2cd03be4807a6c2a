"""The training loop shared by the fine-tuning trainers (text, image)."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from recommender.validate.training import (
    TrainResult,
    balanced_accuracy,
    check_target,
    finish,
    metric_name_for,
    r2_score,
    split_indices,
    subsample,
    warmup_cosine,
)

if TYPE_CHECKING:
    from recommender.datasets import Dataset


def split_rows(
    dataset: Dataset, column: str, *, seed: int, val_fraction: float, max_rows: int | None
) -> dict[str, Any]:
    """Labelled rows of ``column`` and encoded targets, subsampled and split (seeded).

    Returns:
        ``{"inputs", "target", "train", "val", "n_classes"}``; regression targets are
        standardised with the training rows' mean and deviation.
    """
    classification = dataset.problem_type != "regression"
    labelled = dataset.y.notna().to_numpy()
    inputs = dataset.X[column].loc[labelled].astype("string").fillna("").to_numpy(dtype=object)
    y = dataset.y.loc[labelled]
    check_target(y, dataset.problem_type, dataset.target)
    if classification:
        codes, uniques = pd.factorize(y, sort=True)
        target, n_classes = codes.astype(np.int64), len(uniques)
    else:
        target, n_classes = pd.to_numeric(y).to_numpy(dtype=np.float64), 0
    keep = subsample(target, max_rows, classification=classification, seed=seed)
    if keep is not None:
        inputs, target = inputs[keep], target[keep]
    train, val = split_indices(
        target, classification=classification, val_fraction=val_fraction, seed=seed
    )
    if not classification:
        mean, std = float(target[train].mean()), float(target[train].std()) or 1.0
        target = ((target - mean) / std).astype(np.float32)
    return {
        "inputs": inputs,
        "target": target,
        "train": train,
        "val": val,
        "n_classes": n_classes,
    }


class FineTuneLoop:
    """Minibatch AdamW with warm-up + cosine; one host sync per epoch.

    ``data`` provides ``train`` and ``val`` (row indices), ``n_classes`` and
    ``batch(rows, train) -> (inputs, target)`` already on the device.
    """

    def __init__(
        self,
        model: Any,
        data: Any,
        cfg: Mapping[str, Any],
        epochs: int,
        seed: int,
        device: str,
        max_steps: int | None,
    ) -> None:
        self.model, self.data, self.epochs, self.device = model, data, epochs, device
        self.batch_size = max(1, min(int(cfg["batch_size"]), len(data.train)))
        self.steps = math.ceil(len(data.train) / self.batch_size)
        self.total = self.steps * epochs
        if max_steps is not None:
            self.total = min(max_steps, self.total)
        self.warmup = round(float(cfg.get("warmup_frac", 0.0)) * self.total)
        self.lr = float(cfg["learning_rate"])
        params = [p for p in model.parameters() if p.requires_grad]
        wd = float(cfg["weight_decay"])
        self.optimizer = torch.optim.AdamW(params, lr=self.lr, weight_decay=wd)
        self.rng = np.random.default_rng(seed)
        self.cuda = device.startswith("cuda")
        self.loss = (
            torch.nn.functional.cross_entropy if data.n_classes else torch.nn.functional.mse_loss
        )
        self.n_params = sum(p.numel() for p in model.parameters())
        self.step = 0

    def _forward(self, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.cuda):
            return self.model(*inputs).float()

    def run(self, time_budget_s: float | None) -> TrainResult:
        metric = metric_name_for("regression" if self.data.n_classes == 0 else "classification")
        curve: list[dict[str, float]] = []
        start = time.perf_counter()
        status, error = "ok", None
        try:
            for epoch in range(1, self.epochs + 1):
                train_loss = self._train_epoch()
                val_loss, value = self._evaluate()
                elapsed = time.perf_counter() - start
                curve.append(
                    {
                        "epoch": float(epoch),
                        "train_loss": train_loss,
                        "val_loss": val_loss,
                        metric: value,
                        "time_s": elapsed,
                    }  # fmt: skip
                )
                if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
                    status = "diverged"
                    error = f"loss diverged (not finite) at step {self.step}"
                    break
                if self.step >= self.total or (time_budget_s and elapsed >= time_budget_s):
                    break
        except Exception as err:  # noqa: BLE001 - a failed run is recorded, not raised
            status, error = "failed", f"{type(err).__name__}: {str(err).splitlines()[0][:300]}"
        return finish(
            curve, metric, status=status, duration_s=time.perf_counter() - start,
            n_params=self.n_params, error=error,
        )  # fmt: skip

    def _train_epoch(self) -> float:
        self.model.train()
        order = self.rng.permutation(self.data.train)
        total, seen = torch.zeros((), device=self.device), 0
        for s in range(self.steps):
            if self.step >= self.total:
                break
            rows = order[s * self.batch_size : (s + 1) * self.batch_size]
            inputs, target = self.data.batch(rows, train=True)
            for group in self.optimizer.param_groups:
                group["lr"] = self.lr * warmup_cosine(self.step, self.total, self.warmup)
            loss = self.loss(self._forward(inputs), target)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total += loss.detach() * len(rows)
            seen += len(rows)
            self.step += 1
        return float(total / max(seen, 1))

    def _evaluate(self) -> tuple[float, float]:
        self.model.eval()
        outs, targets = [], []
        with torch.no_grad():
            for start in range(0, len(self.data.val), 64):
                inputs, target = self.data.batch(self.data.val[start : start + 64], train=False)
                outs.append(self._forward(inputs))
                targets.append(target)
        out, target = torch.cat(outs), torch.cat(targets)
        val_loss = self.loss(out, target)
        if self.data.n_classes:
            value = balanced_accuracy(out.argmax(-1), target, self.data.n_classes)
        else:
            value = r2_score(out, target)
        val_loss_f, value_f = torch.stack([val_loss, value]).tolist()
        return val_loss_f, value_f
