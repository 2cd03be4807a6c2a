"""Short, fast training of the ``tabular_mlp`` space: a funnel MLP on a preprocessed table.

The collection pipeline calls :func:`train_tabular` thousands of times, so the data
live in tensors (no DataLoader), one thread is used on CPU, and on GPU the loop never
syncs with the host inside an epoch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from recommender.errors import InvalidArgumentError
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
from recommender.training.tabular_encoding import TableEncoder
from recommender.training.trainers import TABULAR_MLP

if TYPE_CHECKING:
    import torch

    from recommender.datasets.loading import Dataset

_EVAL_CHUNK = 65536


@dataclass
class TabularTensors:
    """A split, encoded table: float features, targets (class codes or standardised)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    n_classes: int  # 0 for regression


def train_tabular(
    dataset: Dataset,
    config: Mapping[str, Any],
    *,
    epochs: int,
    seed: int = 0,
    device: str = "cpu",
    val_fraction: float = 0.2,
    max_rows: int | None = None,
    time_budget_s: float | None = None,
    num_threads: int | None = 1,
    compile_model: bool = False,
    on_epoch: OnEpoch | None = None,
) -> TrainResult:
    """Train a funnel MLP with ``config`` from the ``tabular_mlp`` space and report validation.

    Args:
        dataset: a tabular :class:`recommender.datasets.loading.Dataset`.
        config: values for (some of) the ``tabular_mlp`` parameters; the rest take defaults.
        epochs: epochs to train (fewer if ``time_budget_s`` runs out or the loss diverges).
        seed: seeds the split, the initialisation, dropout and batch order.
        device: ``cpu``, ``cuda[:N]`` or ``auto``.
        val_fraction: share of rows held out (stratified for classification).
        max_rows: subsample to at most this many rows first (stratified, seeded).
        time_budget_s: stop after the epoch during which this many seconds passed.
        num_threads: torch CPU threads during the run (restored afterwards); ``None`` leaves it.
        compile_model: wrap the model in ``torch.compile`` (worth it on GPU for long runs).
        on_epoch: called as ``on_epoch(epoch, value)`` after each epoch; False stops.

    Returns:
        A TrainResult; ``value`` is balanced accuracy (classification) or R^2 (regression)
        on the validation rows at the last epoch. Divergence gives status ``diverged``
        and any error during training status ``failed``; neither raises.

    Raises:
        DatasetError: fewer than 4 labelled rows, or one class only.
        SpaceError: unknown parameter names or optimizer.
        RecommenderError: an unusable device.
        ValueError: ``epochs`` below 1.

    >>> import pandas as pd
    >>> from recommender.datasets.loading import dataset_from_frame
    >>> frame = pd.DataFrame({"x": range(40), "y": [0, 1] * 20})
    >>> train_tabular(dataset_from_frame(frame, "y", name="toy"), {}, epochs=2).status
    'ok'
    """
    cfg = fill_config(config, TABULAR_MLP.defaults, TABULAR_MLP.space)
    if epochs < 1:
        raise InvalidArgumentError(f"epochs: expected >= 1, got {epochs}")
    dev = resolve_device(device)
    with torch_threads(num_threads if dev == "cpu" else None):
        data = prepare_tabular(
            dataset, seed=seed, val_fraction=val_fraction, max_rows=max_rows, device=dev
        )
        result = _train(data, cfg, epochs, seed, dev, time_budget_s, compile_model, on_epoch)
        return result.with_split(len(data.y_train), len(data.y_val))


def prepare_tabular(
    dataset: Dataset,
    *,
    seed: int = 0,
    val_fraction: float = 0.2,
    max_rows: int | None = None,
    device: str = "cpu",
) -> TabularTensors:
    """Split ``dataset`` (seeded), fit preprocessing on the train rows, move to ``device``."""
    import torch

    classification = dataset.problem_type != "regression"
    labelled = dataset.y.notna().to_numpy()
    x_frame, y = dataset.X.loc[labelled], dataset.y.loc[labelled]
    check_target(y, dataset.problem_type, dataset.target)
    codes, n_classes = _encode_target(y, classification)
    keep = subsample(codes, max_rows, classification=classification, seed=seed)
    if keep is not None:
        x_frame, codes = x_frame.iloc[keep], codes[keep]
    train, val = split_indices(
        codes, classification=classification, val_fraction=val_fraction, seed=seed
    )
    encoder = TableEncoder().fit(x_frame.iloc[train])
    x_train, x_val = encoder.transform(x_frame.iloc[train]), encoder.transform(x_frame.iloc[val])
    y_train, y_val = codes[train], codes[val]
    if not classification:
        mean, std = float(y_train.mean()), float(y_train.std()) or 1.0
        y_train, y_val = (y_train - mean) / std, (y_val - mean) / std

    y_dtype = np.int64 if classification else np.float32
    arrays = [x_train, y_train.astype(y_dtype), x_val, y_val.astype(y_dtype)]
    tensors = [torch.from_numpy(np.ascontiguousarray(a)) for a in arrays]
    if device != "cpu":
        if _fits_on_device(sum(a.nbytes for a in arrays), device):
            tensors = [t.pin_memory().to(device, non_blocking=True) for t in tensors]
        else:  # batches are copied over as they are used
            tensors = [t.pin_memory() for t in tensors]
    x_tr, y_tr, x_va, y_va = tensors
    return TabularTensors(x_tr, y_tr, x_va, y_va, n_classes)


def _fits_on_device(n_bytes: int, device: str) -> bool:
    """Keep the data on the GPU when it takes under half of the free memory."""
    import torch

    free, _ = torch.cuda.mem_get_info(torch.device(device))
    return n_bytes < free // 2


def _encode_target(y: pd.Series, classification: bool) -> tuple[npt.NDArray[Any], int]:
    if not classification:
        return pd.to_numeric(y, errors="coerce").to_numpy(dtype=np.float64), 0
    codes, uniques = pd.factorize(y, sort=True)
    return codes.astype(np.int64), len(uniques)


def build_mlp(
    n_in: int, n_out: int, *, num_layers: int, max_units: int, max_dropout: float
) -> torch.nn.Sequential:
    """LCBench's funnel MLP: widths shrink linearly from ``max_units`` towards ``n_out``.

    Dropout shrinks the same way, from ``max_dropout`` in the first hidden layer.
    """
    from torch import nn

    layers: list[nn.Module] = []
    width = n_in
    for i in range(int(num_layers)):
        units = max(n_out, round(max_units - i * (max_units - n_out) / num_layers))
        layers += [nn.Linear(width, units), nn.ReLU()]
        dropout = max_dropout * (num_layers - i) / num_layers
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = units
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


def _make_optimizer(params: Any, cfg: Mapping[str, Any]) -> torch.optim.Optimizer:
    import torch

    lr, wd = float(cfg["learning_rate"]), float(cfg["weight_decay"])
    if cfg["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=float(cfg["momentum"]), weight_decay=wd)
    if cfg["optimizer"] == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    from recommender.errors import SpaceError

    raise SpaceError(f"optimizer: expected adamw or sgd, got {cfg['optimizer']!r}")


def _train(
    data: TabularTensors,
    cfg: Mapping[str, Any],
    epochs: int,
    seed: int,
    device: str,
    time_budget_s: float | None,
    compile_model: bool,
    on_epoch: OnEpoch | None,
) -> TrainResult:
    import torch

    torch.manual_seed(seed)
    n_out = data.n_classes or 1
    model = build_mlp(
        data.x_train.shape[1],
        n_out,
        num_layers=int(cfg["num_layers"]),
        max_units=int(cfg["max_units"]),
        max_dropout=float(cfg["max_dropout"]),
    ).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    optimizer = _make_optimizer(model.parameters(), cfg)
    step_fn = torch.compile(model) if compile_model else model
    loop = _Loop(step_fn, optimizer, data, cfg, epochs, seed, device)
    metric = metric_name_for("regression" if data.n_classes == 0 else "classification")
    return run_epochs(
        lambda epoch: loop.epoch(epoch - 1), epochs=epochs, metric=metric, n_params=n_params,
        time_budget_s=time_budget_s, on_epoch=on_epoch,
    )  # fmt: skip


class _Loop:
    """One epoch of minibatch training plus a validation pass; one host sync per epoch."""

    def __init__(
        self,
        model: Any,
        optimizer: torch.optim.Optimizer,
        data: TabularTensors,
        cfg: Mapping[str, Any],
        epochs: int,
        seed: int,
        device: str,
    ) -> None:
        import torch

        self.model, self.optimizer, self.data, self.device = model, optimizer, data, device
        self.n = int(data.x_train.shape[0])
        self.batch = max(1, min(int(cfg["batch_size"]), self.n))
        self.steps = math.ceil(self.n / self.batch)
        self.total_steps = self.steps * epochs
        self.warmup = round(float(cfg["warmup_frac"]) * self.total_steps)
        self.lr = float(cfg["learning_rate"])
        self.generator = torch.Generator().manual_seed(seed)
        self.cuda = device.startswith("cuda")
        self.loss: Any = (
            torch.nn.functional.cross_entropy if data.n_classes else torch.nn.functional.mse_loss
        )

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.cuda):
            out = self.model(x)
        out = out.float()
        return out if self.data.n_classes else out.squeeze(-1)

    def epoch(self, index: int) -> tuple[float, float, float]:
        import torch

        d = self.data
        self.model.train()
        perm = torch.randperm(self.n, generator=self.generator).to(d.x_train.device)
        total = torch.zeros((), device=self.device)
        for s in range(self.steps):
            idx = perm[s * self.batch : (s + 1) * self.batch]
            factor = warmup_cosine(index * self.steps + s, self.total_steps, self.warmup)
            for group in self.optimizer.param_groups:
                group["lr"] = self.lr * factor
            x, y = self._to_device(d.x_train[idx]), self._to_device(d.y_train[idx])
            loss = self.loss(self._forward(x), y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total += loss.detach() * idx.shape[0]
        val_loss, value = self._evaluate()
        # The only host sync of the epoch.
        train_loss, val_loss_f, value_f = torch.stack([total / self.n, val_loss, value]).tolist()
        return train_loss, val_loss_f, value_f

    def _to_device(self, t: torch.Tensor) -> torch.Tensor:
        if t.device.type == self.device.split(":")[0]:
            return t
        return t.pin_memory().to(self.device, non_blocking=True)

    def _evaluate(self) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        d = self.data
        self.model.eval()
        with torch.no_grad():
            chunks = torch.split(d.x_val, _EVAL_CHUNK)
            out = torch.cat([self._forward(self._to_device(c)) for c in chunks])
            y_val = self._to_device(d.y_val)
            val_loss = self.loss(out, y_val)
            if d.n_classes:
                value = balanced_accuracy(out.argmax(-1), y_val, d.n_classes)
            else:
                value = r2_score(out, y_val)
        return val_loss, value
