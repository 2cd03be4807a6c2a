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
from recommender.knowledge.evaluation import evaluate_loto
from recommender.knowledge.query import answer as recommend
from recommender.knowledge.registry import train_and_register
from recommender.spaces.space import Space
from recommender.store import DuckDBStore
from recommender.surrogate.portfolio import choose_rule, task_weights, weighted_greedy
from tests.surrogate.baselines import greedy_portfolio as _greedy_portfolio
from tests.surrogate.synthetic import FAST, TOY_SPACE, best_log_lr, fill_store, toy_metafeatures


@pytest.fixture
def trained(store: DuckDBStore, tmp_path: Path) -> DuckDBStore:
    fill_store(store, n_tasks=12, shared=True)  # one config design run on every task
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
        similar = r.explanation["similar_tasks"]
        assert similar and all(0 < s["weight"] <= 1 for s in similar)
        surrogate_first = r.explanation["rule"].startswith("surrogate/")
        first = "best predicted" if surrogate_first else "best on known tasks"
        assert r.explanation["role"] == (first if r.rank == 1 else "hedge")
        assert all(h["gain"] > 0 for h in r.explanation["hedge_for"])
    assert result.recommendations[0].explanation["hedge_for"] == []
    assert any(r.explanation["hedge_for"] for r in result.recommendations[1:])
    # The first pick follows the task: its learning rate sits near the true optimum.
    top_lr = math.log10(result.recommendations[0].config["lr"])
    assert abs(top_lr - best_log_lr(n_instances)) < 0.75
    row = trained.con.execute(
        "SELECT task, model_id, results FROM queries WHERE query_id = ?", [result.query_id]
    ).fetchone()
    assert row[0] == "new" and row[1] == result.model_id
    assert len(json.loads(row[2])) == 4


def test_few_tasks_keep_the_plain_portfolio(store: DuckDBStore, tmp_path: Path) -> None:
    """Six tasks are too few for the cross-validated rule to trust the surrogate's profiles."""
    from recommender.knowledge.registry import champion

    fill_store(store, n_tasks=6, shared=True)
    train_and_register(
        store, space="toy", metric="acc", maximize=True, params=FAST, directory=tmp_path
    )
    fitted = champion(store, "toy").surrogate
    assert (fitted.profile_first, fitted.profile_beta) == ("weighted", 0.0)
    assert set(fitted.meta["profile_cv"]) == {
        f"{first}/{beta}" for first in ("weighted", "surrogate") for beta in (0, 2, 5, 10, 20, 50)
    }
    small = recommend(store, toy_metafeatures(300.0), space="toy", top_k=3, log=False)
    large = recommend(store, toy_metafeatures(3e4), space="toy", top_k=3, log=False)
    assert [r.config for r in small.recommendations] == [r.config for r in large.recommendations]


def test_configs_differ_and_not_logged(trained: DuckDBStore) -> None:
    result = recommend(trained, toy_metafeatures(1000.0), space="toy", top_k=5, log=False)
    assert result.query_id is None
    assert len({json.dumps(r.config, sort_keys=True) for r in result.recommendations}) == 5
    assert trained.info()["queries"] == 0


def test_printed_picks_say_which_rule_chose_them(trained: DuckDBStore) -> None:
    """Similar tasks are listed only when the rule weighs them; the plain portfolio says so."""
    from recommender.knowledge.ranking import RecommendResult, recommend_with
    from recommender.knowledge.registry import champion

    loaded = champion(trained, "toy")
    assert loaded is not None
    fitted, space = loaded.surrogate, Space.from_json(TOY_SPACE)
    assert (fitted.profile_first, fitted.profile_beta) == ("weighted", 5.0)

    def printed(first: str, beta: float) -> tuple[RecommendResult, str]:
        fitted.meta.update(profile_first=first, profile_beta=beta)
        recs = recommend_with(fitted, toy_metafeatures(1000.0), top_k=3)
        result = RecommendResult(None, space, loaded.model_id, recs)
        return result, str(result)

    fallback = "could not tell which configs suit which dataset"
    result, text = printed("weighted", 5.0)
    assert {r.explanation["rule"] for r in result.recommendations} == {"weighted/5"}
    assert result.rule == "weighted/5" and "sharpness 5" in text and fallback not in text
    assert text.count("similar tasks (weight, score there):") == 3
    result, text = printed("weighted", 0.0)
    assert result.rule == "portfolio" and fallback in " ".join(text.split())
    assert "similar tasks" not in text and "sharpness" not in text
    assert all(r.explanation["similar_tasks"] for r in result.recommendations)  # kept for --json
    result, text = printed("surrogate", 0.0)
    assert result.rule == "surrogate/0" and "weigh alike" in text and fallback not in text
    assert "similar tasks" not in text
    assert max(len(line) for line in text.splitlines()) <= 100


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
    k=st.integers(0, 8),
    weights=arrays(np.float64, 4, elements=st.floats(0.01, 1.0)),
)
def test_weighted_greedy_picks(
    values: npt.NDArray[np.float64], k: int, weights: npt.NDArray[np.float64]
) -> None:
    w = weights / weights.sum()
    picks = weighted_greedy(values, w, k)
    assert len(picks) == min(k, 6) and len(set(picks)) == len(picks)
    if picks:  # the first pick has the best weighted mean (ties: the lowest index)
        assert picks[0] == int(np.argmax(w @ values))
    # Equal weights give the greedy global portfolio baseline (up to exact ties): the
    # same mean of per-task maxima after every pick.
    uniform = weighted_greedy(values, np.full(4, 0.25), k)
    baseline = _greedy_portfolio(values, k)[: len(uniform)]
    for n in range(1, len(uniform) + 1):
        ours = values[:, uniform[:n]].max(axis=1).mean()
        assert ours == pytest.approx(values[:, baseline[:n]].max(axis=1).mean(), abs=1e-12)


def test_task_weights_follow_the_predicted_profile() -> None:
    from recommender.surrogate.portfolio import standardised_ranks

    rng = np.random.default_rng(0)
    values = rng.normal(size=(6, 50))
    ranks = standardised_ranks(values)
    profile = values[2] + 0.1 * rng.normal(size=50)  # the new task responds like task 2
    w0 = task_weights(profile, ranks, 0.0)
    np.testing.assert_allclose(w0, np.full(6, 1 / 6))
    w = task_weights(profile, ranks, 10.0)
    assert w.sum() == pytest.approx(1.0) and int(np.argmax(w)) == 2 and w[2] > 0.9
    flat = task_weights(np.ones(50), ranks, 10.0)  # a flat prediction says nothing
    np.testing.assert_allclose(flat, np.full(6, 1 / 6))


def test_choose_rule_sharpens_only_when_profiles_carry_signal() -> None:
    rng = np.random.default_rng(1)
    # Two kinds of task with opposite optima over 40 configs; each config also has a
    # task-independent bonus, so the plain portfolio's first pick is mediocre everywhere.
    x = np.linspace(0.0, 1.0, 40)
    kinds = np.arange(12) % 2
    values = np.stack([1 - 4 * (x - (0.2 if k else 0.8)) ** 2 for k in kinds])
    values += 0.05 * rng.normal(size=values.shape)
    informative = values + 0.05 * rng.normal(size=values.shape)
    beta, first, scores = choose_rule(informative, values)
    assert beta > 0 or first == "surrogate"
    assert scores[f"{first}/{beta:g}"] < scores["weighted/0"]
    # Profiles that agree with every task alike say nothing: the plain portfolio stays.
    beta, first, scores = choose_rule(np.ones((12, 40)), values)
    assert (beta, first) == (0.0, "weighted")
    assert len({v for k, v in scores.items() if k.startswith("weighted/")}) == 1


def test_hedges_name_the_tasks_a_pick_covers() -> None:
    from types import SimpleNamespace

    from recommender.surrogate.portfolio import hedges

    fitted = SimpleNamespace(
        pool_values=np.array([[1.0, 0.2, 0.0], [0.5, 0.9, 0.0], [0.1, 0.4, 0.0]]),
        task_names=["a", "b", "c"],
    )
    out = hedges(fitted, [0, 1, 2], np.full(3, 1 / 3))  # type: ignore[arg-type]
    assert out[0] == []
    assert out[1] == [{"task": "b", "gain": 0.4}, {"task": "c", "gain": 0.3}]
    assert out[2] == []  # the third pick improves nowhere
    # A heavier weight on c puts it first.
    out = hedges(fitted, [0, 1], np.array([0.1, 0.1, 0.8]))  # type: ignore[arg-type]
    assert [h["task"] for h in out[1]] == ["c", "b"]


def test_task_prior_is_the_weighting_recommend_explains(trained: DuckDBStore) -> None:
    from recommender.knowledge.ranking import task_prior
    from recommender.knowledge.registry import champion

    fitted = champion(trained, "toy").surrogate  # type: ignore[union-attr]
    mf = toy_metafeatures(3e4)
    prior = task_prior(fitted, mf)
    assert set(prior) == set(fitted.task_names) and sum(prior.values()) == pytest.approx(1.0)
    result = recommend(trained, mf, space="toy", top_k=2, task="new")
    for s in result.recommendations[0].explanation["similar_tasks"]:
        assert prior[s["task"]] == pytest.approx(s["weight"], abs=1e-3)
