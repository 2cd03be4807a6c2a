"""Datasets shared by the meta-feature tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_iris, load_wine

from recommender.datasets.loading import Dataset, dataset_from_frame


def mixed_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Numeric, nominal, binary and constant columns, a few missing cells, a 3-class target."""
    rng = np.random.default_rng(seed)
    y = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    shift = pd.Series(y).map({"a": 0.0, "b": 1.0, "c": 2.0}).to_numpy()
    frame = pd.DataFrame(
        {
            "x_normal": rng.normal(size=n) + shift,
            "x_skewed": rng.exponential(size=n),
            "x_int": rng.integers(0, 20, size=n),
            "x_const": np.full(n, 3.0),
            "colour": rng.choice(["red", "green", "blue", "grey"], size=n),
            "flag": rng.choice(["yes", "no"], size=n),
            "size": pd.Series(y).map({"a": "S", "b": "M", "c": "L"}).to_numpy(),
        }
    )
    frame.loc[rng.choice(n, 7, replace=False), "x_skewed"] = np.nan
    frame["target"] = y
    return frame


SKLEARN = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer}


def sklearn_dataset(name: str) -> Dataset:
    """An sklearn toy dataset as a Dataset with integer class labels."""
    frame = SKLEARN[name](as_frame=True).frame
    return dataset_from_frame(frame, "target", name=name)


@pytest.fixture
def mixed() -> Dataset:
    return dataset_from_frame(mixed_frame(), "target", name="mixed")
