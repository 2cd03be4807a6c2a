from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from recommender.errors import DatasetError, ModelError, SpaceError
from recommender.evaluate import evaluate_loto
from recommender.portfolio import _greedy
from recommender.recommend import recommend
from recommender.registry import train_and_register
from recommender.space import Space
from recommender.store import DuckDBStore
from tests.surrogate.synthetic import FAST, TOY_SPACE, best_log_lr, fill_store, toy_metafeatures


@pytest.fixture
def trained(store: DuckDBStore, tmp_path: Path) -> DuckDBStore:
    fill_store(store)
    train_and_register(
        store, space="toy", metric="acc", maximize=True, params=FAST, directory=tmp_path
    )
    return store


@pytest.mark.parametrize("n_instances", [300.0, 3e4])
def test_recommendations_are_in_space_logged_and_adapt(
    trained: DuckDBStore, n_instances: float
) -> None:
    result = recommend(trained, toy_metafeatures(n_instances), space="toy", top_k=4, task="new")
    space = Space.from_json(TOY_SPACE)
    assert [r.rank for r in result.recommendations] == [1, 2, 3, 4]
    for r in result.recommendations:
        assert space.validate_config(r.config) == r.config
        assert math.isfinite(r.predicted) and r.uncertainty >= 0
        assert r.explanation["nearest_tasks"]
    # The first pick follows the task: its learning rate sits near the true optimum.
    top_lr = math.log10(result.recommendations[0].config["lr"])
    assert abs(top_lr - best_log_lr(n_instances)) < 0.75
    row = trained.con.execute(
        "SELECT task, model_id, results FROM queries WHERE query_id = ?", [result.query_id]
    ).fetchone()
    assert row[0] == "new" and row[1] == result.model_id
    assert len(json.loads(row[2])) == 4


def test_configs_differ_and_not_logged(trained: DuckDBStore) -> None:
    result = recommend(trained, toy_metafeatures(1000.0), space="toy", top_k=5, log=False)
    assert result.query_id is None
    assert len({json.dumps(r.config, sort_keys=True) for r in result.recommendations}) == 5
    assert trained.info()["queries"] == 0


def test_errors(store: DuckDBStore, tmp_path: Path) -> None:
    with pytest.raises(SpaceError, match="unknown space 'nope'"):
        recommend(store, toy_metafeatures(100.0), space="nope")
    fill_store(store)
    with pytest.raises(ModelError, match="no trained model for space 'toy'.*recommender retrain"):
        recommend(store, toy_metafeatures(100.0), space="toy")
    train_and_register(
        store, space="toy", metric="acc", maximize=True, params=FAST, directory=tmp_path
    )
    with pytest.raises(DatasetError, match="meta-features missing"):
        recommend(store, {"Unrelated": 1.0}, space="toy")


def test_leave_one_task_out_beats_random(store: DuckDBStore) -> None:
    fill_store(store, n_tasks=5, n_runs=40)
    result = evaluate_loto(
        store, space="toy", metric="acc", maximize=True, params=FAST, n_random=20
    )
    assert [r["task"] for r in result.rows] == [f"task{i}" for i in range(5)]
    means = result.means()
    for key in (
        "recommender_top1",
        "recommender_top5",
        "default",
        "portfolio_top1",
        "nearest_task_top1",
        "random_1",
    ):
        assert means[key] >= 0
    # The synthetic optimum moves with the dataset size, which only a meta-learner can follow.
    assert means["recommender_top1"] < means["random_1"]
    assert means["recommender_top1"] < means["default"]


@settings(max_examples=50, deadline=None)
@given(
    values=arrays(np.float64, (4, 6), elements=st.floats(-2.0, 1.0)),
    n=st.integers(0, 6),
    n_taken=st.integers(0, 6),
)
def test_greedy_returns_every_pick_it_can(
    values: npt.NDArray[np.float64], n: int, n_taken: int
) -> None:
    taken = np.arange(6) < n_taken
    picks = _greedy(values, np.full(4, -np.inf), n, taken)
    assert len(picks) == min(n, 6 - n_taken)
    assert len(set(picks)) == len(picks) and not taken[picks].any()
    if picks:  # the first pick has the best mean (ties broken by the lowest index)
        free_means = np.where(taken, -np.inf, values.mean(axis=0))
        assert picks[0] == int(np.argmax(free_means))
