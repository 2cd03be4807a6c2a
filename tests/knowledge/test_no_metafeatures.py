"""Meta-features are optional: stores whose tasks have none, or only some, and queries
without them."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from recommender.errors import DatasetError
from recommender.fewshot.store_model import tuner_parts
from recommender.knowledge.evaluation import evaluate_loto
from recommender.knowledge.query import answer as recommend
from recommender.knowledge.ranking import PLAIN_RULE
from recommender.knowledge.registry import champion, train_and_register
from recommender.store import DuckDBStore
from recommender.surrogate.features import MetaFeatureScaler
from tests.surrogate.synthetic import FAST, fill_store, toy_metafeatures


def _train(store: DuckDBStore, tmp_path: Path, metafeatures: bool | int) -> str:
    fill_store(store, n_tasks=8, shared=True, metafeatures=metafeatures)
    report = train_and_register(
        store, space="toy", metric="acc", maximize=True, params=FAST, directory=tmp_path
    )
    assert report.status == "promoted" and report.n_tasks == 8
    return report.message


def test_retrain_without_any_metafeatures_gives_a_portfolio(
    store: DuckDBStore, tmp_path: Path
) -> None:
    message = _train(store, tmp_path, metafeatures=False)
    assert "the tasks have no meta-features" in message
    loaded = champion(store, "toy")
    assert loaded is not None and loaded.surrogate.scaler.names == []
    plain = recommend(store, None, space="toy", top_k=3, log=False)
    assert plain.rule == PLAIN_RULE and len(plain.recommendations) == 3
    assert plain.recommendations[0].explanation["portfolio_because"] == "model"
    text = " ".join(str(plain).split())
    assert "uses no meta-features" in text and "best across its known tasks" in text
    # A dataset's meta-features change nothing: the model uses none.
    given = recommend(store, toy_metafeatures(3e4), space="toy", top_k=3, log=False)
    assert [r.config for r in given.recommendations] == [r.config for r in plain.recommendations]
    # The portfolio is the greedy best-of-3 across the known tasks: it beats their median.
    values = loaded.surrogate.pool_values
    picked = loaded.surrogate.space.encode([r.config for r in plain.recommendations])
    rows = [int(np.argmin(np.abs(loaded.surrogate.pool_x - x).sum(axis=1))) for x in picked]
    assert values[:, rows].max(axis=1).mean() > np.median(values)


def test_retrain_when_only_some_tasks_have_metafeatures(store: DuckDBStore, tmp_path: Path) -> None:
    message = _train(store, tmp_path, metafeatures=5)
    assert "3 of 8 tasks have no meta-features" in message
    loaded = champion(store, "toy")
    assert loaded is not None and loaded.surrogate.scaler.names
    result = recommend(store, toy_metafeatures(3e4), space="toy", top_k=3, log=False)
    assert len(result.recommendations) == 3


def test_a_query_without_metafeatures_gets_the_plain_portfolio(
    store: DuckDBStore, tmp_path: Path
) -> None:
    _train(store, tmp_path, metafeatures=True)
    result = recommend(store, None, space="toy", top_k=3, log=False)
    assert result.rule == PLAIN_RULE
    assert result.recommendations[0].explanation["portfolio_because"] == "query"
    assert "No meta-features were given" in " ".join(str(result).split())
    assert recommend(store, {}, space="toy", top_k=3, log=False).rule == PLAIN_RULE
    # meta-features given but none the model uses: a mistake worth a clear error
    with pytest.raises(DatasetError, match="meta-features missing"):
        recommend(store, {"Unrelated": 1.0}, space="toy", log=False)


def test_the_tuner_opens_with_the_portfolio_without_metafeatures(
    store: DuckDBStore, tmp_path: Path
) -> None:
    _train(store, tmp_path, metafeatures=False)
    parts = tuner_parts(store, "toy")
    plain = recommend(store, None, space="toy", top_k=5, log=False)
    assert parts.zero_shot == [r.config for r in plain.recommendations]
    assert parts.prior is None and parts.metafeatures is None


def test_evaluate_has_no_nearest_task_without_metafeatures(store: DuckDBStore) -> None:
    fill_store(store, n_tasks=4, n_runs=20, shared=True, metafeatures=False)
    result = evaluate_loto(
        store, space="toy", metric="acc", maximize=True, params=FAST, top_k=3, n_random=5
    )
    means = result.means()
    assert means["nearest_task_top1"] is None and means["nearest_task_top3"] is None
    assert all(math.isfinite(means[k] or math.nan) for k in ("recommender_top1", "portfolio_top3"))
    json.dumps(result.as_dict(), allow_nan=False)  # what evaluate --json prints


def test_scaler_of_tasks_without_metafeatures() -> None:
    none = MetaFeatureScaler.fit({"a": {}, "b": {}})
    assert none.names == []
    vec, missing = none.transform(toy_metafeatures(100.0))
    assert vec.shape == (0,) and missing == []
    some = MetaFeatureScaler.fit(
        {"a": toy_metafeatures(100.0), "b": {}, "c": toy_metafeatures(1e4)}
    )
    assert some.names == ["NumberOfInstances", "NumberOfFeatures", "NumberOfClasses"]
    vec, missing = some.transform({})  # a task without any: the training mean
    assert (vec == 0).all() and missing == some.names
