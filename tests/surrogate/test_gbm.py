from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender.errors import DatasetError, NotFittedError
from recommender.surrogate.features import MetaFeatureScaler
from recommender.surrogate.gbm import GBMSurrogate
from recommender.surrogate.normalize import normalize_values, regret


def test_fit_predict_save_load(tmp_path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    X = rng.random((300, 4))
    y = np.sin(3 * X[:, 0]) + X[:, 1]
    groups = np.repeat(np.arange(6), 50)
    model = GBMSurrogate(n_estimators=50, max_depth=3, n_members=3, seed=seed).fit(X, y, groups)
    members = model.predict_members(X)
    assert members.shape == (3, 300)
    assert np.corrcoef(model.predict(X), y)[0, 1] > 0.9
    assert members.std(axis=0).max() > 0  # bootstrap of tasks makes members differ
    model.save(tmp_path)
    loaded = GBMSurrogate.load(tmp_path, 4, model.get_params())
    np.testing.assert_allclose(loaded.predict(X), model.predict(X))
    # Loaded members keep the fit-time thread count (1) instead of taking every core.
    for booster in loaded.members_:
        config = json.loads(booster.save_config())
        assert int(config["learner"]["generic_param"]["nthread"]) == 1


def test_predict_before_fit_raises() -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        GBMSurrogate().predict(np.zeros((1, 2)))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-(10**6), 10**6), min_size=2, max_size=50, unique=True))
def test_normalisation_preserves_order(values: list[int]) -> None:
    v = np.array(values, dtype=float) / 7.0
    for method in ("copula", "rank", "regret"):
        up = normalize_values(v, method=method)
        down = normalize_values(v, maximize=False, method=method)
        assert np.argmax(up) == np.argmax(v)
        assert np.argmax(down) == np.argmin(v)


def test_regret_definition() -> None:
    values = [0.1, 0.5, 0.9]
    assert regret(0.9, values) == 0.0
    assert regret(0.5, values) == 1.0
    assert regret(0.1, values) == 2.0
    assert regret(0.1, values, maximize=False) == 0.0


def test_scaler_keeps_shared_features_and_imputes() -> None:
    mf = {
        "a": {
            "NumberOfInstances": 100,
            "NumberOfFeatures": 5,
            "NumberOfClasses": 2,
            "Dimensionality": 0.05,
        },
        "b": {
            "NumberOfInstances": 1e4,
            "NumberOfFeatures": 50,
            "NumberOfClasses": 3,
            "Dimensionality": float("nan"),
        },
    }
    scaler = MetaFeatureScaler.fit(mf)
    assert scaler.names == ["NumberOfInstances", "NumberOfFeatures", "NumberOfClasses"]
    vec, missing = scaler.transform({"NumberOfInstances": 1000, "NumberOfFeatures": 10})
    assert missing == ["NumberOfClasses"] and vec[2] == 0.0
    with pytest.raises(DatasetError, match="meta-features missing"):
        scaler.transform({"NumberOfClasses": 2})
    with pytest.raises(DatasetError, match="share none of the basic meta-features"):
        MetaFeatureScaler.fit({"a": {"x": 1.0}})
