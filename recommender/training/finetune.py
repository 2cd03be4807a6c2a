"""What the fine-tuning trainers (text, image) share: checks, the split and the loop."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from recommender.errors import DatasetError
from recommender.training.common import (
    OnEpoch,
    TrainResult,
    balanced_accuracy,
    check_target,
    fill_config,
    metric_name_for,
    r2_score,
    resolve_device,
    run_epochs,
    split_indices,
    subsample,
    torch_threads,
    warmup_cosine,
)

if TYPE_CHECKING:
    from recommender.datasets.loading import Dataset
    from recommender.training.trainers import BuiltinTrainer

# (split, filled config, device) -> (model on the device, batches; see FineTuneLoop)
Build = Callable[[dict[str, Any], dict[str, Any], str], tuple[Any, Any]]


def fine_tune(
    trainer: BuiltinTrainer,
    dataset: Dataset,
    config: Mapping[str, Any],
    *,
    column: str,
    hint: str,
    build: Build,
    epochs: int,
    seed: int,
    device: str,
    val_fraction: float,
    max_rows: int | None,
    max_steps: int | None,
    time_budget_s: float | None,
    num_threads: int | None,
    on_epoch: OnEpoch | None,
) -> TrainResult:
    """Check the config and the input ``column``, split the rows, build, then train.

    Raises:
        DatasetError: ``dataset`` has no ``column`` (``hint`` says what to do).
        SpaceError: unknown parameter names.
    """
    cfg = fill_config(config, trainer.defaults, trainer.space)
    dev = resolve_device(device)
    if column not in dataset.X.columns:
        raise DatasetError(
            f"{dataset.name}: expected {'an' if trainer.modality[0] in 'aeiou' else 'a'} "
            f"{trainer.modality} dataset with a '{column}' column, got columns "
            f"{', '.join(map(str, dataset.X.columns))}; {hint}"
        )
    with torch_threads(num_threads if dev == "cpu" else None):
        torch.manual_seed(seed)
        split = split_rows(dataset, column, seed=seed, val_fraction=val_fraction, max_rows=max_rows)
        model, data = build(split, cfg, dev)
        loop = FineTuneLoop(model, data, cfg, epochs, seed, dev, max_steps)
        return loop.run(time_budget_s, on_epoch).with_split(len(split["train"]), len(split["val"]))


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

    def run(self, time_budget_s: float | None, on_epoch: OnEpoch | None = None) -> TrainResult:
        metric = metric_name_for("regression" if self.data.n_classes == 0 else "classification")
        return run_epochs(
            self._epoch, epochs=self.epochs, metric=metric, n_params=self.n_params,
            time_budget_s=time_budget_s, on_epoch=on_epoch,
            diverged=lambda _: f"loss diverged (not finite) at step {self.step}",
            exhausted=lambda: self.step >= self.total,
        )  # fmt: skip

    def _epoch(self, _: int) -> tuple[float, float, float]:
        train_loss = self._train_epoch()
        val_loss, value = self._evaluate()
        return train_loss, val_loss, value

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
