"""Small synthetic datasets for the validation tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from recommender.datasets.loading import Dataset, dataset_from_frame


def blobs_frame(n: int = 300, n_features: int = 5, seed: int = 0) -> pd.DataFrame:
    """A binary task a small MLP learns in a few epochs (label = sign of a linear score)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, n_features))
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(n_features)])
    frame["label"] = np.where(x[:, 0] + 0.5 * x[:, 1] > 0, "yes", "no")
    return frame


def blobs(n: int = 300, n_features: int = 5, seed: int = 0, name: str = "blobs") -> Dataset:
    return dataset_from_frame(blobs_frame(n, n_features, seed), "label", name=name)


def linear_regression(n: int = 300, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    frame["y"] = 50 + 20 * x[:, 0] - 10 * x[:, 1] + rng.normal(scale=2.0, size=n)
    return dataset_from_frame(frame, "y", name="linear", problem="regression")


def mixed_frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """Numeric with gaps and infinities, a few-level and a many-level categorical, an id."""
    rng = np.random.default_rng(seed)
    num = rng.normal(size=n)
    num[::7] = np.nan
    num[3] = np.inf
    colour = rng.choice(["red", "green", "blue", None], size=n)
    city = rng.choice([f"city{i}" for i in range(40)], size=n)
    label = np.where((np.nan_to_num(num, posinf=0) > 0) | (colour == "red"), 1, 0)
    return pd.DataFrame(
        {"num": num, "colour": colour, "city": city, "id": [f"row{i}" for i in range(n)],
         "label": label}
    )  # fmt: skip


SENTENCES = {
    "pos": [
        "I loved this film",
        "great acting and a wonderful story",
        "what a delight to watch",
        "brilliant and moving",
        "superb, I would watch it again",
        "a joy from start to end",
    ],
    "neg": [
        "a terrible plot",
        "I hated every minute",
        "boring and far too long",
        "awful acting throughout",
        "a complete waste of time",
        "dull and predictable",
    ],
}


def reviews(copies: int = 3) -> Dataset:
    """A few dozen labelled sentences."""
    rows = [(t, label) for label, texts in SENTENCES.items() for t in texts] * copies
    frame = pd.DataFrame(rows, columns=["text", "sentiment"])
    return dataset_from_frame(frame, "sentiment", name="reviews", modality="text")


def colour_images(folder: Path, per_class: int = 8, size: int = 16, seed: int = 0) -> Path:
    """A folder of red and blue noisy PNGs, one sub-folder per class."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for cls, rgb in (("red", (200, 30, 30)), ("blue", (30, 30, 200))):
        (folder / cls).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = np.asarray(rgb)[None, None, :] + rng.normal(0, 20, (size, size, 3))
            Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(
                folder / cls / f"{i}.png"
            )
    return folder
