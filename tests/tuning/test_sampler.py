from __future__ import annotations

import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest

from recommender.errors import DatasetError, InvalidArgumentError, ModelError, SpaceError
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

    study, caught = _optimize_warned(sampler(surrogate), extra, 4)
    ours = [w for w in caught if "not_in_space" in str(w.message)]
    assert len(ours) == 1


def test_multi_objective_is_refused(surrogate: FewShotSurrogate) -> None:
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler(surrogate))
    with pytest.raises(ValueError):
        study.optimize(lambda t: (objective(t), 0.0), n_trials=2)


def _distinct(study: optuna.Study) -> int:
    return len({tuple(sorted(p.items())) for p in _params(study)})


def _optimize_warned(
    s: RecommenderSampler, objective: Any, n_trials: int
) -> tuple[optuna.Study, list[warnings.WarningMessage]]:
    """A new study of ``n_trials`` with ``s``, and the warnings it gave."""
    study = optuna.create_study(direction="maximize", sampler=s)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study.optimize(objective, n_trials=n_trials)
    return study, caught


def _warnings_naming(caught: list[warnings.WarningMessage], name: str) -> list[str]:
    return [str(w.message) for w in caught if repr(name) in str(w.message)]


def test_a_sampler_reused_for_a_second_study_starts_it_afresh(
    surrogate: FewShotSurrogate,
) -> None:
    def elsewhere(trial: optuna.Trial) -> float:  # another task: its best is elsewhere
        config: dict[str, Any] = {
            "learning_rate": trial.suggest_float("learning_rate", 1e-4, 0.1, log=True),
            "num_layers": trial.suggest_int("num_layers", 1, 5),
        }
        return task_response(config, 200.0)

    reused = sampler(surrogate, seed=2)
    optuna.create_study(direction="maximize", sampler=reused).optimize(objective, n_trials=6)
    second = optuna.create_study(direction="maximize", sampler=reused)
    second.optimize(elsewhere, n_trials=6)
    fresh = sampler(surrogate, seed=2)
    alone = optuna.create_study(direction="maximize", sampler=fresh)
    alone.optimize(elsewhere, n_trials=6)
    assert _params(second) == _params(alone)
    assert reused.sources == fresh.sources


@pytest.mark.parametrize(
    ("name", "ask"),
    [
        ("optimizer", lambda t: t.suggest_float("optimizer", 0.0, 1.0)),
        ("optimizer", lambda t: t.suggest_int("optimizer", 0, 3)),
        ("learning_rate", lambda t: t.suggest_categorical("learning_rate", ["low", "high"])),
        ("learning_rate", lambda t: t.suggest_float("learning_rate", 1.0, 10.0, log=True)),
        ("num_layers", lambda t: t.suggest_int("num_layers", 20, 40)),
    ],
    ids=[
        "categorical-as-float",
        "categorical-as-int",
        "float-as-categorical",
        "bounds-outside",
        "int-bounds-outside",
    ],  # fmt: skip
)
def test_a_parameter_asked_as_something_the_space_does_not_know_is_sampled_with_one_warning(
    surrogate: FewShotSurrogate, name: str, ask: Any
) -> None:
    asked: list[Any] = []

    def mismatched(trial: optuna.Trial) -> float:
        asked.append(ask(trial))
        known = {"learning_rate": 1e-3, "num_layers": 2, "optimizer": "adamw"}
        known.update({k: ask_known(trial) for k, ask_known in KNOWN.items() if k != name})
        return task_response(known, SIZE)

    study, caught = _optimize_warned(sampler(surrogate), mismatched, 8)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    dist = study.trials[0].distributions[name]
    assert all(dist._contains(dist.to_internal_repr(v)) for v in asked)
    assert len(set(asked)) > 1  # not one value every trial
    (note,) = _warnings_naming(caught, name)
    assert "space tabular_mlp" in note and "sampled at random" in note
    assert _distinct(study) == 8


KNOWN: dict[str, Any] = {
    "learning_rate": lambda t: t.suggest_float("learning_rate", 1e-4, 0.1, log=True),
    "num_layers": lambda t: t.suggest_int("num_layers", 1, 5),
    "optimizer": lambda t: t.suggest_categorical("optimizer", ["adamw", "sgd"]),
}


def test_bounds_partly_outside_the_space_get_the_part_the_store_knows(
    surrogate: FewShotSurrogate,
) -> None:
    def wide(trial: optuna.Trial) -> float:
        config: dict[str, Any] = {
            "learning_rate": trial.suggest_float("learning_rate", 1e-6, 1e-3, log=True),
            "num_layers": trial.suggest_int("num_layers", 1, 5),
        }
        return task_response(config, SIZE)

    study, caught = _optimize_warned(sampler(surrogate), wide, 6)
    assert all(1e-4 <= p["learning_rate"] <= 1e-3 for p in _params(study))
    (note,) = _warnings_naming(caught, "learning_rate")
    assert "in [0.0001, 0.001]" in note
    assert _distinct(study) == 6


def test_numeric_choices_of_a_numeric_parameter_are_suggested_by_the_store(
    surrogate: FewShotSurrogate,
) -> None:
    def stepped(trial: optuna.Trial) -> float:
        config: dict[str, Any] = {
            "learning_rate": trial.suggest_categorical("learning_rate", [1e-4, 1e-3, 1e-2]),
            "num_layers": trial.suggest_categorical("num_layers", [1, 3, 5]),
        }
        return task_response(config, SIZE)

    study, caught = _optimize_warned(sampler(surrogate), stepped, 9)
    assert not _warnings_naming(caught, "learning_rate") + _warnings_naming(caught, "num_layers")
    assert _distinct(study) == 9  # all 3 x 3, each once
    nearest = min([1, 3, 5], key=lambda n: abs(n - TOP[0]["num_layers"]))
    assert study.trials[0].params["num_layers"] == nearest


@pytest.mark.parametrize(
    ("name", "ask", "knows"),
    [
        (
            "optimizer",
            lambda t: t.suggest_categorical("optimizer", ["adam", "sgd"]),
            "one of 'adamw', 'sgd'",
        ),
        (
            "impute",
            lambda t: t.suggest_categorical("impute", ["mean", "median"]),
            "it knows learning_rate, batch_size",
        ),
        ("layers", lambda t: t.suggest_categorical("layers", [1, 2]), "did you mean 'num_layers'"),
        (
            "lr",
            lambda t: t.suggest_float("lr", 1e-4, 0.1, log=True),
            "did you mean 'learning_rate'",
        ),
    ],
    ids=["unknown-choice", "unknown-parameter", "renamed-parameter", "abbreviated-parameter"],
)
def test_choices_or_names_the_store_does_not_know_warn_once_and_never_repeat_a_config(
    surrogate: FewShotSurrogate, name: str, ask: Any, knows: str
) -> None:
    def discrete(trial: optuna.Trial) -> float:  # 5 x 2 configs, of which the store knows 5
        config: dict[str, Any] = {"learning_rate": 1e-3}
        config["num_layers"] = trial.suggest_int("num_layers", 1, 5)
        config[name] = ask(trial)
        return task_response(config, SIZE)

    s = sampler(surrogate)
    for _ in range(2):  # once per study
        study, caught = _optimize_warned(s, discrete, 10)
        (note,) = _warnings_naming(caught, name)
        assert knows in note
        assert _distinct(study) == 10


def test_the_store_knows_part_of_the_choices_and_proposes_within_them(
    surrogate: FewShotSurrogate,
) -> None:
    def renamed(trial: optuna.Trial) -> float:
        config: dict[str, Any] = {
            "learning_rate": trial.suggest_float("learning_rate", 1e-4, 0.1, log=True),
            "num_layers": trial.suggest_int("num_layers", 1, 5),
            "optimizer": trial.suggest_categorical("optimizer", ["adam", "sgd"]),
        }
        return task_response(config, SIZE)

    s = sampler(surrogate)
    study, caught = _optimize_warned(s, renamed, 10)
    assert len(_warnings_naming(caught, "optimizer")) == 1
    assert _distinct(study) == 10
    proposed = [t for t in study.trials[1:] if s.sources.get(t.number)]
    assert proposed and all(t.params["optimizer"] == "sgd" for t in proposed)


# -- several workers on one study -----------------------------------------------------
def slow_objective(trial: optuna.Trial) -> float:
    value = objective(trial)
    time.sleep(0.02)  # several trials run at once
    return value


def test_threads_get_distinct_configs_the_first_the_top_recommendation(
    surrogate: FewShotSurrogate,
) -> None:
    s = sampler(surrogate)
    study = optuna.create_study(direction="maximize", sampler=s)
    study.optimize(slow_objective, n_trials=16, n_jobs=4)
    assert _distinct(study) == 16
    first = min(study.trials, key=lambda t: t.number)
    assert first.params["learning_rate"] == pytest.approx(TOP[0]["learning_rate"])
    assert s.sources[0] == "recommended"


def test_running_trials_count_a_batch_of_asks_gets_distinct_configs(
    surrogate: FewShotSurrogate,
) -> None:
    s = sampler(surrogate)
    study = optuna.create_study(direction="maximize", sampler=s)
    for _ in range(3):
        batch = [study.ask() for _ in range(4)]
        for trial in batch:  # each asks its parameters while the others run
            study.tell(trial, objective(trial))
    assert _distinct(study) == 12
    recommended = {n for n, source in s.sources.items() if source == "recommended"}
    assert {0, 1} <= recommended  # the batch opens with the top recommendations


def test_two_samplers_on_one_rdb_storage_get_distinct_configs(
    surrogate: FewShotSurrogate, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    optuna.create_study(study_name="s", storage=url, direction="maximize")

    def worker(seed: int) -> None:  # as a second process would: its own sampler and storage
        study = optuna.load_study(study_name="s", storage=url, sampler=sampler(surrogate, seed))
        study.optimize(slow_objective, n_trials=6)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    study = optuna.load_study(study_name="s", storage=url)
    assert len(study.trials) == 12
    assert _distinct(study) == 12


WORKER = """
import sys, time, optuna
from recommender.fewshot import FewShotSurrogate
from recommender.tuning.sampler import RecommenderSampler
from tests.tuning.test_sampler import SIZE, TOP, objective
from tests.fewshot.conftest import metafeatures_for

optuna.logging.set_verbosity(optuna.logging.WARNING)
surrogate = FewShotSurrogate.load(sys.argv[1])
sampler = RecommenderSampler.from_surrogate(
    surrogate, metafeatures=metafeatures_for(SIZE), zero_shot=TOP, seed=int(sys.argv[3])
)
study = optuna.load_study(study_name="s", storage=sys.argv[2], sampler=sampler)
while time.time() < float(sys.argv[4]):  # start together
    time.sleep(0.01)
study.optimize(lambda t: (objective(t), time.sleep(0.05))[0], n_trials=8)
"""


@pytest.mark.slow
def test_two_processes_on_one_rdb_storage_get_distinct_configs(
    surrogate: FewShotSurrogate, tmp_path: Path
) -> None:
    import subprocess
    import sys

    surrogate.save(tmp_path / "model")
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    optuna.create_study(study_name="s", storage=url, direction="maximize")
    start = str(time.time() + 20)
    root = Path(__file__).resolve().parents[2]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(tmp_path / "model"), url, seed, start], cwd=root
        )  # fmt: skip
        for seed in ("0", "1")
    ]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    study = optuna.load_study(study_name="s", storage=url)
    assert len(study.trials) == 16
    assert _distinct(study) == 16
    assert study.trials[0].params["learning_rate"] == pytest.approx(TOP[0]["learning_rate"])


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


def test_construct_from_a_dataframe(trained_store: Path) -> None:
    import pandas as pd

    from recommender.api import describe

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60),
                          "y": [0, 1, 2] * 20})  # fmt: skip
    by_frame = RecommenderSampler(space="tabular_mlp", dataset=frame, target="y",
                                  db=trained_store, seed=0)  # fmt: skip
    by_features = RecommenderSampler(space="tabular_mlp", metafeatures=describe(frame, "y"),
                                     db=trained_store, seed=0)  # fmt: skip
    runs = []
    for s in (by_frame, by_features):
        study = optuna.create_study(direction="maximize", sampler=s)
        study.optimize(objective, n_trials=2)
        runs.append(_params(study))
    assert runs[0] == runs[1]
    assert by_frame.sources[0] == "recommended"  # the frame's own recommendation


@pytest.mark.parametrize(
    ("dataset", "error", "message"),
    [
        (
            [[1.0, 2.0], [3.0, 4.0]],
            InvalidArgumentError,
            "dataset: expected a pandas DataFrame, a dataset file or a bundled dataset .* got list",
        ),
        (
            pd.DataFrame({"a": [], "y": []}),
            DatasetError,
            "dataset: expected a DataFrame of at least 2 labelled rows, got 0",
        ),
    ],
    ids=["list", "empty-frame"],
)
def test_a_bad_dataset_gets_one_clear_error(
    trained_store: Path, dataset: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message) as caught:
        RecommenderSampler(space="tabular_mlp", dataset=dataset, db=trained_store)
    assert "\n" not in str(caught.value)
