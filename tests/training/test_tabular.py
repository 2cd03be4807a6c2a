from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender.datasets.loading import dataset_from_frame
from recommender.errors import DatasetError, SpaceError
from recommender.training import tabular
from recommender.training.common import split_indices, warmup_cosine
from recommender.training.tabular import build_mlp, train_tabular
from recommender.training.tabular_encoding import TableEncoder
from tests.validation.helpers import blobs, linear_regression, mixed_frame

SGD_BLOWUP = {"optimizer": "sgd", "learning_rate": 1e4, "momentum": 0.99, "warmup_frac": 0.0}


def _without_time(curve: list[dict[str, float]]) -> list[dict[str, float]]:
    return [{k: v for k, v in row.items() if k != "time_s"} for row in curve]


def test_classification_learns_and_reports_a_full_curve(seed: int) -> None:
    result = train_tabular(blobs(seed=seed), {}, epochs=8, seed=seed)
    assert result.status == "ok" and result.error is None
    assert result.metric_name == "val_balanced_accuracy"
    assert result.value is not None and result.value > 0.85
    assert [row["epoch"] for row in result.curve] == [float(e) for e in range(1, 9)]
    assert set(result.curve[0]) == {
        "epoch",
        "train_loss",
        "val_loss",
        "val_balanced_accuracy",
        "time_s",
    }
    assert result.curve[-1]["train_loss"] < result.curve[0]["train_loss"]
    assert 1 <= (result.best_epoch or 0) <= 8
    assert result.n_params > 0 and result.duration_s > 0


def test_regression_reports_r2(seed: int) -> None:
    result = train_tabular(
        linear_regression(seed=seed), {"learning_rate": 1e-2}, epochs=15, seed=seed
    )
    assert result.status == "ok"
    assert result.metric_name == "val_r2"
    assert result.value is not None and result.value > 0.8


def test_same_seed_same_curve_other_seed_other_curve(seed: int) -> None:
    data = blobs(seed=seed)
    config = {"max_dropout": 0.3, "batch_size": 32}
    first = train_tabular(data, config, epochs=3, seed=seed)
    again = train_tabular(data, config, epochs=3, seed=seed)
    other = train_tabular(data, config, epochs=3, seed=seed + 1)
    assert _without_time(first.curve) == _without_time(again.curve)
    assert _without_time(first.curve) != _without_time(other.curve)


def test_diverging_config_stops_early_with_status_diverged() -> None:
    result = train_tabular(blobs(), SGD_BLOWUP, epochs=10)
    assert result.status == "diverged"
    assert result.value is None
    assert 1 <= result.epochs < 10
    last = result.curve[-1]
    assert not (math.isfinite(last["train_loss"]) and math.isfinite(last["val_loss"]))


def test_an_error_during_training_is_recorded_as_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: object, index: int) -> tuple[float, float, float]:
        raise RuntimeError("CUDA out of memory\nmore detail")

    monkeypatch.setattr(tabular._Loop, "epoch", broken)
    result = train_tabular(blobs(), {}, epochs=2)
    assert result.status == "failed"
    assert result.error == "RuntimeError: CUDA out of memory"
    assert result.value is None and result.curve == []


def test_mixed_table_with_gaps_categories_and_ids_trains() -> None:
    data = dataset_from_frame(mixed_frame(), "label", name="mixed")
    result = train_tabular(data, {"learning_rate": 1e-2}, epochs=10)
    assert result.status == "ok"
    assert result.value is not None and result.value > 0.7


def test_time_budget_stops_after_the_first_epoch() -> None:
    result = train_tabular(blobs(), {}, epochs=50, time_budget_s=1e-9)
    assert result.status == "ok"
    assert result.epochs == 1


def test_max_rows_subsamples_before_the_split() -> None:
    small = tabular.prepare_tabular(blobs(n=400), max_rows=100)
    assert small.x_train.shape[0] + small.x_val.shape[0] == 100


def test_one_class_and_unknown_parameters_are_user_errors() -> None:
    frame = pd.DataFrame({"x": range(20), "y": ["a"] * 20})
    one_class = dataset_from_frame(frame, "y", name="one", problem="binary")
    with pytest.raises(DatasetError, match="one class"):
        train_tabular(one_class, {}, epochs=1)
    with pytest.raises(SpaceError, match="unknown parameter.*lr"):
        train_tabular(blobs(), {"lr": 0.1}, epochs=1)


def test_encoder_is_fitted_on_training_rows_only() -> None:
    train = pd.DataFrame({"a": [1.0, 2.0, np.nan, 4.0], "c": ["x", "y", "x", "x"]})
    enc = TableEncoder().fit(train)
    # a (scaled), a-missing indicator, one-hot of c ("x", "y")
    assert enc.n_features == 4
    test = pd.DataFrame({"a": [np.nan], "c": ["never seen"]})
    row = enc.transform(test)[0]
    raw = enc._raw(test)[0]
    assert raw[0] == 2.0  # training median
    assert raw[1] == 1.0  # missing indicator
    assert raw[2:].tolist() == [0.0, 0.0]  # unseen level: no one-hot bit
    assert np.isfinite(row).all()


def test_funnel_mlp_shrinks_width_and_dropout() -> None:
    from torch import nn

    model = build_mlp(10, 3, num_layers=3, max_units=300, max_dropout=0.6)
    widths = [m.out_features for m in model if isinstance(m, nn.Linear)]
    drops = [m.p for m in model if isinstance(m, nn.Dropout)]
    assert widths == [300, 201, 102, 3]
    assert drops == pytest.approx([0.6, 0.4, 0.2])


@settings(max_examples=40, deadline=None)
@given(
    labels=st.lists(st.integers(0, 3), min_size=4, max_size=60),
    fraction=st.floats(0.1, 0.5),
    seed=st.integers(0, 1000),
)
def test_split_is_a_stratified_partition(labels: list[int], fraction: float, seed: int) -> None:
    y = np.asarray(labels)
    train, val = split_indices(y, classification=True, val_fraction=fraction, seed=seed)
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(len(y)))
    for cls in np.unique(y):
        if (y == cls).sum() >= 2:
            assert (y[train] == cls).any() and (y[val] == cls).any()


@given(total=st.integers(1, 500), data=st.data())
def test_schedule_warms_up_then_decays_within_unit_range(total: int, data: st.DataObject) -> None:
    warmup = data.draw(st.integers(0, total))
    factors = [warmup_cosine(s, total, warmup) for s in range(total)]
    assert all(0.0 <= f <= 1.0 for f in factors)
    if warmup:
        assert factors[warmup - 1] == 1.0
    assert factors == sorted(factors[:warmup]) + sorted(factors[warmup:], reverse=True)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_encoder_ignores_the_order_of_training_rows(seed: int) -> None:
    frame = mixed_frame(n=60, seed=1).drop(columns="label")
    shuffled = frame.sample(frac=1.0, random_state=seed)
    a = TableEncoder().fit(frame).transform(frame)
    b = TableEncoder().fit(shuffled).transform(frame)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
