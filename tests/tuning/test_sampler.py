from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest

from recommender.errors import ModelError, SpaceError
from recommender.fewshot import FewShotSurrogate
from recommender.spaces.space import builtin_space
from recommender.tuning.sampler import RecommenderSampler
from tests.fewshot.conftest import metafeatures_for, task_response

optuna.logging.set_verbosity(optuna.logging.WARNING)
SIZE = 3e4
TOP = builtin_space("tabular_mlp").sample(5, seed=11)


def objective(trial: optuna.Trial) -> float:
    config: dict[str, Any] = {
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 0.1, log=True),
        "num_layers": trial.suggest_int("num_layers", 1, 5),
        "optimizer": trial.suggest_categorical("optimizer", ["adamw", "sgd"]),
    }
    if config["optimizer"] == "sgd":
        config["momentum"] = trial.suggest_float("momentum", 0.1, 0.99)
    return task_response(config, SIZE)


def sampler(surrogate: FewShotSurrogate, seed: int | None = 0) -> RecommenderSampler:
    return RecommenderSampler.from_surrogate(
        surrogate, metafeatures=metafeatures_for(SIZE), zero_shot=TOP, seed=seed
    )


def _params(study: optuna.Study) -> list[dict[str, Any]]:
    return [t.params for t in study.trials]


def test_optimize_starts_with_the_top_recommendation_then_adapts(
    surrogate: FewShotSurrogate,
) -> None:
    s = sampler(surrogate)
    study = optuna.create_study(direction="maximize", sampler=s)
    study.optimize(objective, n_trials=6)
    first = study.trials[0].params
    assert first["learning_rate"] == pytest.approx(TOP[0]["learning_rate"])
    assert first["optimizer"] == TOP[0]["optimizer"]
    assert s.sources[0] == "recommended" and s.sources[5] == "adaptive"
    keys = {tuple(sorted(p.items())) for p in _params(study)}
    assert len(keys) == 6  # never a duplicate


def test_seeded_runs_are_reproducible(surrogate: FewShotSurrogate) -> None:
    runs = []
    for _ in range(2):
        study = optuna.create_study(direction="maximize", sampler=sampler(surrogate, seed=3))
        study.optimize(objective, n_trials=5)
        runs.append(_params(study))
    assert runs[0] == runs[1]


def test_minimize_is_maximize_of_the_negation(surrogate: FewShotSurrogate) -> None:
    up = optuna.create_study(direction="maximize", sampler=sampler(surrogate, seed=1))
    up.optimize(objective, n_trials=5)
    down = optuna.create_study(direction="minimize", sampler=sampler(surrogate, seed=1))
    down.optimize(lambda t: -objective(t), n_trials=5)
    assert _params(up) == _params(down)


def test_ask_and_tell(surrogate: FewShotSurrogate) -> None:
    study = optuna.create_study(direction="maximize", sampler=sampler(surrogate))
    for _ in range(4):
        trial = study.ask()
        study.tell(trial, objective(trial))
    assert len(study.trials) == 4
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)


def test_resume_from_rdb_storage(surrogate: FewShotSurrogate, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(
        study_name="s", storage=storage, direction="maximize", sampler=sampler(surrogate)
    )
    study.optimize(objective, n_trials=3)
    again = optuna.load_study(study_name="s", storage=storage, sampler=sampler(surrogate, 7))
    again.optimize(objective, n_trials=3)
    params = _params(optuna.load_study(study_name="s", storage=storage))
    assert len(params) == 6
    assert len({tuple(sorted(p.items())) for p in params}) == 6
    assert again.sampler.sources[3] == "adaptive"  # type: ignore[attr-defined]


def test_user_bounds_win_and_types_hold(surrogate: FewShotSurrogate) -> None:
    def narrow(trial: optuna.Trial) -> float:
        config: dict[str, Any] = {
            "learning_rate": trial.suggest_float("learning_rate", 1e-3, 1e-2, log=True),
            "batch_size": trial.suggest_int("batch_size", 32, 64, log=True),
            "num_layers": trial.suggest_int("num_layers", 2, 4),
            "optimizer": trial.suggest_categorical("optimizer", ["sgd"]),
        }
        config["momentum"] = trial.suggest_float("momentum", 0.5, 0.9, step=0.1)
        return task_response(config, SIZE)

    study = optuna.create_study(direction="maximize", sampler=sampler(surrogate))
    study.optimize(narrow, n_trials=6)
    for p in _params(study):
        assert 1e-3 <= p["learning_rate"] <= 1e-2
        assert 32 <= p["batch_size"] <= 64 and isinstance(p["batch_size"], int)
        assert 2 <= p["num_layers"] <= 4 and p["optimizer"] == "sgd"
        assert round(p["momentum"] * 10) == pytest.approx(p["momentum"] * 10)


def test_failed_and_pruned_trials_are_skipped_not_repeated(
    surrogate: FewShotSurrogate,
) -> None:
    calls = {"n": 0}

    def flaky(trial: optuna.Trial) -> float:
        value = objective(trial)
        calls["n"] += 1
        if calls["n"] == 2:
            raise ValueError("diverged")
        if calls["n"] == 3:
            raise optuna.TrialPruned()
        if calls["n"] == 4:
            return float("nan")
        return value

    study = optuna.create_study(direction="maximize", sampler=sampler(surrogate))
    study.optimize(flaky, n_trials=7, catch=(ValueError,))
    states = [t.state for t in study.trials]
    assert optuna.trial.TrialState.FAIL in states and optuna.trial.TrialState.PRUNED in states
    assert len({tuple(sorted(p.items())) for p in _params(study)}) == 7


def test_unknown_parameter_is_sampled_at_random_with_one_warning(
    surrogate: FewShotSurrogate,
) -> None:
    def extra(trial: optuna.Trial) -> float:
        x = trial.suggest_float("not_in_space", 0.0, 1.0)
        assert 0.0 <= x <= 1.0
        return objective(trial) + 0.001 * x

    study = optuna.create_study(direction="maximize", sampler=sampler(surrogate))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study.optimize(extra, n_trials=4)
    ours = [w for w in caught if "not_in_space" in str(w.message)]
    assert len(ours) == 1


def test_multi_objective_is_refused(surrogate: FewShotSurrogate) -> None:
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler(surrogate))
    with pytest.raises(ValueError):
        study.optimize(lambda t: (objective(t), 0.0), n_trials=2)


# -- construction from a store -------------------------------------------------------
def test_construct_from_store(trained_store: Path) -> None:
    s = RecommenderSampler(
        space="tabular_mlp", metafeatures=metafeatures_for(SIZE), db=trained_store, seed=0
    )
    study = optuna.create_study(direction="maximize", sampler=s)
    study.optimize(objective, n_trials=3)
    assert s.sources[0] == "recommended"
    assert list((trained_store.parent / "models").rglob("fewshot.json"))  # kept for next time
    assert np.isfinite(study.best_value)


def test_construct_refuses_unknown_space_and_untrained_store(tmp_path: Path) -> None:
    import json

    from recommender.spaces.space import import_space
    from recommender.store import DuckDBStore

    with pytest.raises(SpaceError, match="unknown space"):
        RecommenderSampler(space="no_such_space", db=tmp_path / "a.duckdb")
    spec = tmp_path / "mine.json"
    spec.write_text(json.dumps(builtin_space("tabular_mlp").to_json()))
    with DuckDBStore(tmp_path / "b.duckdb") as store:
        import_space(store, spec, "mine")
    with pytest.raises(ModelError, match="no trained model"):
        RecommenderSampler(space="mine", db=tmp_path / "b.duckdb")


def test_a_new_store_loads_the_shipped_pack_and_its_fewshot_model(tmp_path: Path) -> None:
    import pandas as pd

    from recommender.knowledge.packs import shipped_dir

    row = pd.read_parquet(shipped_dir() / "image" / "holdout_metafeatures.parquet").iloc[0]
    mf = {k: float(v) for k, v in row.items() if isinstance(v, float) and np.isfinite(v)}
    db = tmp_path / "new.duckdb"
    with pytest.warns(UserWarning, match="loaded the shipped knowledge"):
        s = RecommenderSampler(space="image_finetune", metafeatures=mf, db=db, seed=0)
    assert not list((tmp_path / "models").glob("*/fewshot/*-*"))  # shipped, not trained here
    study = optuna.create_study(direction="maximize", sampler=s)
    trial = study.ask()
    assert 0 < trial.suggest_float("learning_rate", 1e-5, 1e-1, log=True) <= 0.1
    assert s.sources[0] == "recommended"
