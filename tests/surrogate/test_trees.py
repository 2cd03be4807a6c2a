"""The compact inference format predicts exactly what the libraries that grew the trees do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from recommender.surrogate import trees
from recommender.surrogate.gbm import INFERENCE_ENV, TREES_FILE, GBMSurrogate


def _data(seed: int, n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    X[rng.uniform(size=X.shape) < 0.15] = np.nan  # missing values in every column
    y = np.nansum(X[:, :3], axis=1) + np.sin(np.nan_to_num(X[:, 3])) + rng.normal(0, 0.1, n)
    return X, y


@pytest.mark.parametrize("depth", [1, 3, 6, 9])
@pytest.mark.parametrize("base_score", [None, 0.5, -3.25])
def test_exported_booster_equals_xgboost(depth: int, base_score: float | None, seed: int) -> None:
    X, y = _data(seed + depth)
    params = {"max_depth": depth, "eta": 0.1, "subsample": 0.8, "nthread": 1}
    if base_score is not None:
        params["base_score"] = base_score
    booster = xgb.train(params, xgb.DMatrix(X, label=y), num_boost_round=80)
    arrays, base = trees.export_booster(booster)
    assert arrays.n_trees == 80 and arrays.depth <= depth
    if base_score is not None:
        assert base == pytest.approx(base_score)
    test_X, _ = _data(seed + 100, 300)
    ours = trees.boosted_sum(arrays.leaf_values(test_X), base)
    theirs = booster.inplace_predict(test_X)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)
    # The same operations in the same order: equal bit for bit, NaN routing included.
    np.testing.assert_array_equal(ours, theirs)


def test_loaded_model_predicts_from_arrays_like_the_boosters(
    tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    X, y = _data(seed)
    groups = np.repeat(np.arange(6), 100)
    model = GBMSurrogate(n_estimators=40, max_depth=4, n_members=3, seed=seed).fit(X, y, groups)
    files = model.save(tmp_path)
    assert tmp_path / TREES_FILE in files
    loaded = GBMSurrogate.load(tmp_path, X.shape[1], model.get_params())
    monkeypatch.setenv(INFERENCE_ENV, "numpy")
    np.testing.assert_array_equal(loaded.predict_members(X), model.predict_members(X))
    assert loaded._boosters is None  # nothing read from the UBJ files
    monkeypatch.setenv(INFERENCE_ENV, "xgboost")  # the boosters answer: same numbers
    np.testing.assert_array_equal(loaded.predict_members(X), model.predict_members(X))
    assert loaded._boosters is not None


def test_model_saved_without_arrays_still_loads(tmp_path: Path, seed: int) -> None:
    X, y = _data(seed)
    model = GBMSurrogate(n_estimators=20, max_depth=3, n_members=2, seed=seed).fit(X, y)
    model.save(tmp_path)
    (tmp_path / TREES_FILE).unlink()  # as written before the compact format
    loaded = GBMSurrogate.load(tmp_path, X.shape[1], model.get_params())
    assert loaded._trees is None and loaded._boosters is not None
    np.testing.assert_array_equal(loaded.predict_members(X), model.predict_members(X))


def test_prediction_from_a_saved_model_imports_neither_library(tmp_path: Path) -> None:
    X, y = _data(0)
    GBMSurrogate(n_estimators=10, max_depth=3).fit(X, y).save(tmp_path / "gbm")
    from recommender.surrogate.forest import ForestSurrogate

    ForestSurrogate(n_estimators=5).fit(X, y).save(tmp_path / "forest")  # default settings
    code = (
        "import sys, numpy as np\n"
        "from pathlib import Path\n"
        "from recommender.surrogate.kinds import model_class\n"
        f"X = np.zeros((4, {X.shape[1]}))\n"
        f"for kind, d in (('xgboost', 'gbm'), ('forest', 'forest')):\n"
        f"    cls = model_class(kind)\n"
        f"    m = cls.load(Path({str(tmp_path)!r}) / d, {X.shape[1]}, {{}})\n"
        "    assert m.predict_members(X).shape[1] == 4\n"
        "heavy = sorted({'xgboost', 'sklearn', 'torch', 'pandas', 'scipy'} & set(sys.modules))\n"
        "print(heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_env()
    )
    assert out.stdout.strip() == "[]"


def _env() -> dict[str, str]:
    import os

    root = str(Path(__file__).resolve().parents[2])
    return {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
