from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from recommender.errors import ModelError
from recommender.knowledge.registry import (
    champion,
    list_models,
    promote,
    rollback,
    train_and_register,
)
from recommender.store import DuckDBStore
from tests.surrogate.synthetic import FAST, fill_store


def _train(store: DuckDBStore, tmp_path: Path, **kw: object) -> object:
    return train_and_register(
        store, space="toy", metric="acc", maximize=True, params=FAST, directory=tmp_path, **kw
    )


def test_train_promote_nothing_new_and_force(store: DuckDBStore, tmp_path: Path) -> None:
    fill_store(store)
    first = _train(store, tmp_path)
    assert first.status == "promoted" and first.model_id == 1
    assert first.n_runs == 240 and first.n_tasks == 6
    assert 0 <= first.challenger_eval["top1_regret"] < 1
    assert "portfolio rule: plain global portfolio" in first.message  # 6 tasks: too few
    assert list_models(store, space="toy")[0]["evaluation"]["portfolio_rule"] == "weighted/0"
    again = _train(store, tmp_path)
    assert again.status == "nothing_new" and "nothing new" in again.message
    forced = _train(store, tmp_path, force=True)
    assert forced.status == "promoted" and forced.champion_eval
    rows = {r["model_id"]: r["status"] for r in list_models(store, space="toy")}
    assert rows == {1: "archived", 2: "champion"}
    loaded = champion(store, "toy")
    assert loaded is not None and loaded.model_id == 2


def test_min_new_runs(store: DuckDBStore, tmp_path: Path) -> None:
    fill_store(store)
    _train(store, tmp_path)
    assert _train(store, tmp_path, min_new_runs=10).status == "nothing_new"


def test_promote_and_rollback(store: DuckDBStore, tmp_path: Path) -> None:
    fill_store(store)
    _train(store, tmp_path)
    _train(store, tmp_path, force=True)
    assert rollback(store, "toy") == 1
    assert champion(store, "toy").model_id == 1  # type: ignore[union-attr]
    promote(store, 2)
    assert champion(store, "toy").model_id == 2  # type: ignore[union-attr]
    with pytest.raises(ModelError, match="no model 99"):
        promote(store, 99)


def test_rollback_without_history(store: DuckDBStore, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="has no champion"):
        rollback(store, "toy")
    fill_store(store)
    _train(store, tmp_path)
    with pytest.raises(ModelError, match="nothing to roll back to"):
        rollback(store, "toy")


def test_corrupt_artifact_falls_back_with_warning(store: DuckDBStore, tmp_path: Path) -> None:
    fill_store(store)
    _train(store, tmp_path)
    _train(store, tmp_path, force=True)
    assert champion(store, "toy").model_id == 2  # type: ignore[union-attr]  # warm and verified
    member = tmp_path / "2" / "member_0.ubj"
    member.write_bytes(member.read_bytes()[:-10] + b"corrupted!")
    with pytest.warns(UserWarning, match="model 2 artifact .* missing or corrupt"):
        loaded = champion(store, "toy")
    assert loaded is not None and loaded.model_id == 1
    (tmp_path / "1" / "model.json").unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert champion(store, "toy") is None


def test_no_runs_is_a_clear_error(store: DuckDBStore, tmp_path: Path) -> None:
    fill_store(store, n_runs=0)
    with pytest.raises(ModelError, match="no successful runs with metric 'acc' for space 'toy'"):
        _train(store, tmp_path)


def test_one_task_is_not_enough(store: DuckDBStore, tmp_path: Path) -> None:
    fill_store(store, n_tasks=1)
    with pytest.raises(ModelError, match="at least 2 tasks in space 'toy', got 1"):
        _train(store, tmp_path)


def test_clear_cache_loads_the_model_again(
    store: DuckDBStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recommender.knowledge import registry
    from recommender.store import artifacts

    fill_store(store)
    _train(store, tmp_path)
    assert champion(store, "toy") is not None  # loaded, verified and cached
    loads: list[object] = []
    real = registry.FittedSurrogate.load
    monkeypatch.setattr(registry.FittedSurrogate, "load", lambda p: loads.append(p) or real(p))
    assert champion(store, "toy") is not None and loads == []  # warm: from the cache
    registry.clear_cache()
    assert artifacts._VERIFIED == {}
    assert champion(store, "toy") is not None and len(loads) == 1
