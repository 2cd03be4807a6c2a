from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import ExtraTreesRegressor

from recommender.errors import ModelError, NotFittedError
from recommender.surrogate.forest import ForestSurrogate


def _data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(400, 6))
    X[rng.uniform(size=400) < 0.2, 2] = np.nan  # an inactive conditional parameter
    y = np.sin(3 * X[:, 0]) + X[:, 1] ** 2 + np.nan_to_num(X[:, 2]) * 0.5
    return X, y


def test_exported_trees_predict_exactly_like_sklearn(seed: int) -> None:
    X, y = _data(seed)
    model = ForestSurrogate(n_estimators=20, seed=seed).fit(X, y)
    reference = ExtraTreesRegressor(
        n_estimators=20, max_depth=12, min_samples_leaf=3, max_features=0.8, random_state=seed
    ).fit(np.nan_to_num(X, nan=-1.0), y)
    np.testing.assert_allclose(model.predict(X), reference.predict(np.nan_to_num(X, nan=-1.0)))
    members = model.predict_members(X)
    assert members.shape == (4, len(X))
    np.testing.assert_allclose(members.mean(axis=0), model.predict(X), rtol=1e-12)


def test_save_and_load_round_trip_without_pickle(tmp_path: Path, seed: int) -> None:
    X, y = _data(seed)
    model = ForestSurrogate(n_estimators=10, seed=seed).fit(X, y)
    files = model.save(tmp_path)
    assert [f.name for f in files] == ["forest.safetensors"]
    loaded = ForestSurrogate.load(tmp_path, X.shape[1], model.get_params())
    np.testing.assert_array_equal(loaded.predict_members(X), model.predict_members(X))
    (tmp_path / "forest.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelError, match="unreadable"):
        ForestSurrogate.load(tmp_path, X.shape[1], model.get_params())


def test_errors() -> None:
    with pytest.raises(NotFittedError):
        ForestSurrogate().predict(np.zeros((1, 3)))
    with pytest.raises(ModelError, match="non-empty"):
        ForestSurrogate().fit(np.zeros((0, 3)), np.zeros(0))
    model = ForestSurrogate(n_estimators=3).fit(np.random.rand(20, 3), np.random.rand(20))
    with pytest.raises(ModelError, match="expected 3 columns"):
        model.predict(np.zeros((2, 4)))
