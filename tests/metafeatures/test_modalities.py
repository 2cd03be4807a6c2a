"""Image, text and regression datasets get their full, documented feature sets."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommender.datasets.loading import dataset_from_frame, load_dataset
from recommender.metafeatures import FEATURES, compute_metafeatures, feature_names

DOCS = Path(__file__).resolve().parents[2] / "docs" / "metafeatures.md"


def _image_folder(root: Path) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for label, size, mode in (("cat", (16, 8), "RGB"), ("dog", (10, 10), "L")):
        (root / label).mkdir(parents=True)
        for i in range(3):
            shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
            pixels = rng.integers(0, 256, size=shape, dtype=np.uint8)
            Image.fromarray(pixels, mode=mode).save(root / label / f"{i}.png")
    (root / "dog" / "notes.txt").write_text("not an image")
    return root


def test_image_features(tmp_path: Path) -> None:
    pytest.importorskip("PIL")
    ds = load_dataset(_image_folder(tmp_path / "pets"))
    assert (ds.modality, ds.problem_type, len(ds.X)) == ("image", "binary", 6)
    result = compute_metafeatures(ds)
    f = result.features
    assert list(f) == feature_names("image", regression=False)
    assert f["NumberOfInstances"] == 6
    assert f["NumberOfClasses"] == 2
    assert f["ImageMaxWidth"] == 16
    assert f["ImageMinHeight"] == 8
    assert f["ImageMeanAspectRatio"] == pytest.approx((3 * 2.0 + 3 * 1.0) / 6)
    assert f["ImageGrayscaleFraction"] == pytest.approx(0.5)
    assert 0.3 < f["ImagePixelMean"] < 0.7  # uniform random pixels


def test_text_features() -> None:
    docs = ["the cat sat on the mat today", "a dog ran far away from home", "", "cat dog"]
    frame = pd.DataFrame({"review": docs, "target": ["pos", "neg", "neg", "pos"]})
    ds = dataset_from_frame(frame, "target", name="reviews")
    ds.X = ds.X.rename(columns={"review": "text"})
    ds.modality = "text"
    f = compute_metafeatures(ds).features
    assert list(f) == feature_names("text", regression=False)
    assert f["TextMaxTokens"] == 7
    assert f["TextEmptyFraction"] == 0.25
    tokens = 7 + 7 + 0 + 2
    vocab = len(set(" ".join(docs).split()))
    assert f["TextVocabularySize"] == vocab
    assert f["TextTypeTokenRatio"] == pytest.approx(vocab / tokens)
    assert f["ClassEntropy"] == pytest.approx(1.0)


def test_regression_feature_set() -> None:
    from sklearn.datasets import load_diabetes

    ds = dataset_from_frame(load_diabetes(as_frame=True).frame, "target")
    f = compute_metafeatures(ds).features
    assert list(f) == feature_names("tabular", regression=True)
    assert f["TargetMin"] == 25.0
    assert 0.3 < f["LinearRegressionR2"] < 0.7
    assert math.isnan(f["ClassEntropy"])


def test_docs_table_lists_every_feature() -> None:
    if not DOCS.exists():
        pytest.skip("docs/metafeatures.md is not part of this checkout")
    documented = set(re.findall(r"^\| `([A-Za-z0-9]+)` \|", DOCS.read_text(), re.MULTILINE))
    catalogued = {name for table in FEATURES.values() for name in table}
    assert documented == catalogued
