from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from recommender.errors import InvalidArgumentError, RecommenderError
from recommender.spaces.space import Space, import_space, load_space
from recommender.store import DuckDBStore
from recommender.validation import runner
from recommender.validation.runner import parse_baselines, run_validation
from tests.validation.helpers import blobs


def _has_cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


FEATURES = {"NumberOfInstances": 300.0, "NumberOfFeatures": 5.0, "NumberOfClasses": 2.0}


def _validate(store: DuckDBStore, **kwargs: Any) -> runner.ValidationReport:
    options: dict[str, Any] = {
        "top_k": 0, "baselines": "default,random:2", "epochs": 2, "device": "cpu",
        "metafeatures": FEATURES,
    }  # fmt: skip
    options.update(kwargs)
    return run_validation(store, kwargs.pop("dataset", blobs()), **options)


def test_baselines_are_trained_and_stored_with_curves(store: DuckDBStore, seed: int) -> None:
    report = _validate(store, seed=seed)
    assert [o.planned.source for o in report.outcomes] == ["default", "random", "random"]
    assert all(o.result.status == "ok" for o in report.outcomes)
    runs = store.runs(task="blobs")
    assert len(runs) == 3
    space = load_space("tabular_mlp")
    for run in runs:
        assert run["space"] == "tabular_mlp" and run["source"] == "validation"
        assert sorted(run["params"]) == sorted(space.names)
        assert run["fidelity"] == 2.0 and run["status"] == "ok"
        assert 0.0 <= run["metrics"]["val_balanced_accuracy"] <= 1.0
    points = store.con.execute(
        "SELECT name, count(*) FROM curves GROUP BY name ORDER BY name"
    ).fetchall()
    assert points == [
        ("time_s", 6),
        ("train_loss", 6),
        ("val_balanced_accuracy", 6),
        ("val_loss", 6),
    ]
    assert store.metafeatures("blobs") == {"blobs": FEATURES}
    task = {t.name: t for t in store.tasks()}["blobs"]
    assert (task.modality, task.problem_type) == ("tabular", "binary")


def test_runs_are_shaped_for_retraining(store: DuckDBStore) -> None:
    _validate(store)
    space = load_space("tabular_mlp")
    by_space = store.runs_frame(
        space="tabular_mlp", params=space.names, metric="val_balanced_accuracy"
    )
    exact = store.runs_frame(
        space=None, params=space.names, metric="val_balanced_accuracy", param_names_exact=True
    )
    assert len(by_space) == len(exact) == 3


def test_rerunning_replaces_runs_instead_of_duplicating(store: DuckDBStore) -> None:
    first = _validate(store)
    second = _validate(store)
    assert [o.run_key for o in first.outcomes] == [o.run_key for o in second.outcomes]
    assert store.info()["runs"] == 3
    assert store.info()["curve_points"] == 24


def test_diverging_config_is_recorded_not_dropped(store: DuckDBStore, tmp_path: Path) -> None:
    wide = load_space("tabular_mlp").to_json()
    for p in wide["hyperparameters"]:
        if p["name"] == "learning_rate":
            p.update(high=1e5, default=1e4)
        if p["name"] == "optimizer":
            p["default"] = "sgd"
        if p["name"] == "warmup_frac":
            p["default"] = 0.0
        if p["name"] == "momentum":
            p["default"] = 0.99
    path = tmp_path / "wide.json"
    path.write_text(json.dumps(wide))
    import_space(store, path, "wide_mlp")
    report = _validate(store, space="wide_mlp", baselines="default", epochs=10)
    assert [o.result.status for o in report.outcomes] == ["diverged"]
    (run,) = store.runs(space="wide_mlp")
    assert run["status"] == "failed" and run["fidelity"] < 10
    assert run["error"].startswith("loss diverged (not finite) in epoch")
    assert "val_balanced_accuracy" not in run["metrics"]


def test_interrupt_keeps_finished_runs(store: DuckDBStore, monkeypatch: pytest.MonkeyPatch) -> None:
    real = runner.train_config
    calls = []

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "train_config", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _validate(store)
    assert store.info()["runs"] == 1
    assert store.info()["curve_points"] == 8


def test_duplicates_are_trained_once(store: DuckDBStore) -> None:
    report = _validate(store, baselines=[("default", 1), ("default", 1)])
    assert len(report.outcomes) == 1


def test_bad_requests_are_one_line_errors(store: DuckDBStore) -> None:
    with pytest.raises(InvalidArgumentError, match="nothing to validate"):
        _validate(store, baselines="")
    with pytest.raises(RecommenderError, match="executor"):
        _validate(store, executor="dask")
    assert store.info()["runs"] == 0


@pytest.mark.skipif(_has_cuda(), reason="checks the message shown without CUDA")
def test_cuda_without_a_gpu_is_a_one_line_error(store: DuckDBStore) -> None:
    with pytest.raises(RecommenderError, match="no CUDA device is visible; use device=.cpu."):
        _validate(store, device="cuda")


def test_ray_missing_says_how_to_install(
    store: DuckDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(RecommenderError, match=r"pip install 'recommender\[ray\]'"):
        _validate(store, executor="ray")


@pytest.mark.slow  # starting Ray takes 8-20 s on a loaded machine
def test_ray_executor_runs_configs_as_tasks(store: DuckDBStore) -> None:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        report = _validate(store, executor="ray")
    finally:
        ray.shutdown()
    assert sorted(o.planned.source for o in report.outcomes) == ["default", "random", "random"]
    assert store.info()["runs"] == 3 and store.info()["curve_points"] == 24


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("default", [("default", 1)]),
        ("default,random:4", [("default", 1), ("random", 4)]),
        (" random:0 ", [("random", 0)]),
        ("none", []),
        ("", []),
    ],
)
def test_parse_baselines(text: str, expected: list[tuple[str, int]]) -> None:
    assert parse_baselines(text) == expected


@pytest.mark.parametrize("text", ["best", "random:x", "random:-1", "default:2"])
def test_parse_baselines_rejects(text: str) -> None:
    with pytest.raises(InvalidArgumentError, match="baselines"):
        parse_baselines(text)


def test_budget_uses_the_space_fidelity_as_epoch_cap() -> None:
    space = Space.from_json(
        {"name": "s", "hyperparameters": [{"name": "learning_rate", "type": "float", "low": 0.1,
          "high": 1.0, "default": 0.5}], "fidelity": {"name": "epoch", "low": 1, "high": 7}}
    )  # fmt: skip
    assert runner.resolve_budget("tabular", None, 3.0, space) == runner.Budget(7, 3.0)
    assert runner.resolve_budget("text", None, None, space) == runner.Budget(2)


def test_parallel_processes_give_the_same_runs(store: DuckDBStore) -> None:
    serial = _validate(store)
    other = DuckDBStore(":memory:")
    parallel = _validate(other, parallel=2)
    assert [o.planned.source for o in parallel.outcomes] == ["default", "random", "random"]
    assert [o.result.value for o in parallel.outcomes] == [o.result.value for o in serial.outcomes]
    assert len(other.runs(task="blobs")) == 3
    with pytest.raises(RecommenderError, match="parallel"):
        _validate(other, parallel=0)


def _write_from_another_process(path: Path, task: str) -> int:
    """Open the store writable in a fresh process without waiting for the lock."""
    import subprocess

    code = (
        "import sys; from recommender.store import DuckDBStore\n"
        "with DuckDBStore(sys.argv[1], lock_timeout=0) as s:\n"
        "    s.add_metafeatures(sys.argv[2], {'NumberOfInstances': 1.0}, source='other')\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(path), task], capture_output=True)
    return done.returncode


def test_store_is_free_for_other_processes_while_configs_train(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.duckdb"
    codes: list[int] = []
    real_train = runner.train_config

    def train_while_another_process_writes(*args: Any, **kwargs: Any) -> Any:
        codes.append(_write_from_another_process(path, f"other{len(codes)}"))
        return real_train(*args, **kwargs)

    monkeypatch.setattr(runner, "train_config", train_while_another_process_writes)
    with DuckDBStore(path) as store:
        assert _write_from_another_process(path, "blocked") != 0  # held while open
        report = _validate(store, baselines="default,random:1", epochs=1)
        assert codes == [0, 0]  # each config trained while another process wrote
        assert len(store.runs(task="blobs")) == 2  # and every finished run was stored
        assert {"other0", "other1"} <= set(store.metafeatures())
        assert [o.result.status for o in report.outcomes] == ["ok", "ok"]
