"""Every surrogate kind follows the base class's contract, scikit-learn's clone included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

from recommender.errors import ModelError, NotFittedError
from recommender.surrogate.base import BaseSurrogate
from recommender.surrogate.kinds import KINDS, make_model, model_class, model_kind

SMALL = {"xgboost": {"n_estimators": 20, "max_depth": 3}, "forest": {"n_estimators": 8}}


def _data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(240, 5))
    return X, X[:, 0] * 2 + X[:, 1] ** 2, np.repeat(np.arange(6), 40)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_clone_copies_settings_and_refits(kind: str, seed: int, tmp_path: Path) -> None:
    X, y, groups = _data(seed)
    model = make_model({"kind": kind, **SMALL[kind]}, seed)
    assert isinstance(model, BaseSurrogate) and model.kind == kind
    model.fit(X, y, groups)
    twin = clone(model)
    assert type(twin) is type(model) and twin.get_params() == model.get_params()
    with pytest.raises(NotFittedError):
        twin.predict(X)  # a clone carries the settings, not the fitted state
    twin.fit(X, y, groups)
    np.testing.assert_allclose(twin.predict_members(X), model.predict_members(X))
    assert model.predict_members(X).shape == (model.n_members, len(X))
    np.testing.assert_allclose(model.predict(X), model.predict_members(X).mean(axis=0))
    model.save(tmp_path)
    loaded = model_class(kind).load(tmp_path, X.shape[1], model.get_params())
    np.testing.assert_array_equal(loaded.predict_members(X), model.predict_members(X))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_params_come_from_the_constructor(kind: str) -> None:
    cls = model_class(kind)
    model = cls()
    assert set(model.get_params()) >= {"n_members", "seed", "n_jobs"}
    assert model.set_params(seed=7, n_members=2) is model
    assert model.get_params()["seed"] == 7 and model.n_members == 2
    with pytest.raises(ModelError, match="expected settings among"):
        model.set_params(no_such_setting=1)
    assert "n_features_in_" not in model.get_params()


def test_kinds_registry() -> None:
    assert model_kind(None) == "xgboost" and model_kind({"kind": "forest"}) == "forest"
    with pytest.raises(ModelError, match="expected one of"):
        model_kind({"kind": "svm"})
    with pytest.raises(ModelError, match="expected settings among"):
        make_model({"kind": "forest", "learning_rate": 0.1}, 0)
