"""``tune --parallel N [--executor local|ray]``: several trials at once, asynchronously."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest

from recommender.errors import InvalidArgumentError
from recommender.store import DuckDBStore
from recommender.validation import executors
from tests.tuning.test_tune import small_fewshot, table, tune, tune_runs  # noqa: F401
from tests.validation.helpers import signal_when

ROOT = Path(__file__).resolve().parents[2]


def stored_configs(db: Path, task: str) -> list[dict[str, Any]]:
    with DuckDBStore(db, read_only=True) as store:
        return [r["params"] for r in store.runs(task) if r["source"] == "tune"]


def test_parallel_trials_are_distinct_each_stored_and_the_budget_is_shared(
    trained_store: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    result = tune(trained_store, table(tmp_path, "toy_par"), "--budget", "6", "--parallel", "2",
                  "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    trials = json.loads(result.stdout)["trials"]
    assert [t["number"] for t in trials] == list(range(6))
    assert [t["status"] for t in trials] == ["ok"] * 6
    assert [t["source"] for t in trials] == ["recommended"] * 3 + ["adaptive"] * 3
    configs = {json.dumps(t["config"], sort_keys=True) for t in trials}
    assert len(configs) == 6
    assert tune_runs(trained_store, "toy_par") == 6
    progress = [line.split()[2] for line in result.stderr.splitlines() if "  trial " in line]
    assert progress == [f"[{i}/6]" for i in range(1, 7)]


class _Scripted(optuna.samplers.BaseSampler):
    """Proposes the space's lowest values to trials 0 and 1, random ones after."""

    def __init__(self) -> None:
        self.sources: dict[int, str] = {}
        self.random = optuna.samplers.RandomSampler(seed=0)

    def infer_relative_search_space(self, study: Any, trial: Any) -> dict[str, Any]:
        return {}

    def sample_relative(self, study: Any, trial: Any, space: Any) -> dict[str, Any]:
        return {}

    def sample_independent(self, study: Any, trial: Any, name: str, dist: Any) -> Any:
        if trial.number >= 2:
            return self.random.sample_independent(study, trial, name, dist)
        if isinstance(dist, optuna.distributions.CategoricalDistribution):
            return dist.choices[0]
        return dist.low


def test_a_config_already_training_is_never_trained_twice_at_once(
    trained_store: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from recommender.tuning.sampler import RecommenderSampler

    monkeypatch.setattr(RecommenderSampler, "from_surrogate", lambda *a, **k: _Scripted())
    result = tune(trained_store, table(tmp_path, "toy_dup"), "--budget", "2", "--parallel", "2",
                  "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    trials = json.loads(result.stdout)["trials"]
    # Trial 1 asked while trial 0 trained the same config: dropped untrained, not counted.
    assert [t["status"] for t in trials] == ["ok", "duplicate", "ok"]
    assert trials[0]["config"] == trials[1]["config"] != trials[2]["config"]
    assert tune_runs(trained_store, "toy_dup") == 2


def test_pruning_works_in_each_worker(
    trained_store: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from recommender.tuning import loop as tune_module

    # A pruner that stops every trial after its first epoch (no score reaches 2); it
    # travels to the worker processes with each trial.
    monkeypatch.setattr(
        tune_module, "default_pruner", lambda e: optuna.pruners.ThresholdPruner(2.0)
    )
    data = table(tmp_path, "toy_ppar")
    result = tune(trained_store, data, "--budget", "4", "--epochs", "3", "--prune",
                  "--parallel", "2", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [t["status"] for t in json.loads(result.stdout)["trials"]] == ["pruned"] * 4
    with DuckDBStore(trained_store, read_only=True) as store:
        rows = store.con.execute(
            "SELECT r.status, max(c.step) FROM runs r JOIN curves c USING (run_key) "
            "WHERE r.task = ? GROUP BY r.run_key, r.status",
            ["toy_ppar"],
        ).fetchall()
    assert sorted(rows) == [("pruned", 1.0)] * 4


def test_parallel_is_capped_by_the_cores_with_a_note(
    trained_store: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(executors, "_cores", lambda: 1)
    result = tune(trained_store, table(tmp_path, "toy_cap"), "--budget", "2", "--parallel", "8")
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if line.startswith("parallel:")]
    assert notes == [notes[0]] and "8 configs at once asked, capped at 1 (1 CPU cores" in notes[0]
    assert tune_runs(trained_store, "toy_cap") == 2


def test_on_cuda_each_trial_gets_a_gpu_and_parallel_is_capped_by_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(executors, "_gpu_count", lambda: 2)
    devices, note = executors.device_slots("local", 8, "cuda")
    assert devices == ["cuda:0", "cuda:1"]
    assert note == "parallel: 8 at once asked, capped at 2 (2 GPUs (cuda), one per trial)"
    assert executors.device_slots("local", 2, "cuda") == (["cuda:0", "cuda:1"], None)
    assert executors.device_slots("local", 2, "cuda:1")[0] == ["cuda:1"]
    assert executors.device_slots("ray", 8, "cuda") == (["cuda"] * 8, None)  # Ray's to place
    monkeypatch.setattr(executors, "_cores", lambda: 2)
    monkeypatch.setattr(executors, "_available_memory", lambda: None)
    assert executors.device_slots("local", 4, "cpu")[0] == ["cpu", "cpu"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--executor", "dask"], "Invalid value for '--executor'"),
        (["--parallel", "0"], "Invalid value for '--parallel'"),
        (["--executor", "ray"], "needs Ray, which is not installed; run: pip install "
                                "'recommender[ray]' (or use --executor local)"),
    ],
)  # fmt: skip
def test_bad_executor_options_are_one_line_and_write_nothing(
    trained_store: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # Ray hidden, installed or not
    optuna_db = trained_store.with_name(trained_store.stem + ".optuna.db")
    before = optuna_db.read_bytes() if optuna_db.exists() else b""
    result = tune(trained_store, table(tmp_path, "toy_noray"), "--budget", "2", *args)
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert message in lines[-1], lines
    assert "Traceback" not in result.output
    assert tune_runs(trained_store, "toy_noray") == 0
    assert b"toy_noray" not in (optuna_db.read_bytes() if optuna_db.exists() else before)


def test_the_python_api_takes_the_same_options(trained_store: Path, tmp_path: Path) -> None:  # noqa: F811
    from recommender.api.tuning import tune as api_tune

    data = table(tmp_path, "toy_api")
    with pytest.raises(InvalidArgumentError, match=r"parallel: expected an integer >= 1, got 0"):
        api_tune(data, "label", budget=2, epochs=1, device="cpu", parallel=0, db=trained_store)
    with pytest.raises(InvalidArgumentError, match=r"executor: expected local or ray"):
        api_tune(data, "label", budget=2, epochs=1, device="cpu", executor="x", db=trained_store)
    result = api_tune(data, "label", budget=3, epochs=1, device="cpu", parallel=2,
                      db=trained_store)  # fmt: skip
    assert [t.status for t in result.trials] == ["ok"] * 3
    assert len({json.dumps(t.config, sort_keys=True) for t in result.trials}) == 3


def _command(db: Path, data: Path, executor: str) -> list[str]:
    return [sys.executable, "-m", "recommender.cli", "tune", "--dataset", str(data),
            "--target", "label", "--epochs", "20", "--device", "cpu", "--db", str(db),
            "--budget", "6", "--parallel", "2", "--executor", executor, "--study", data.stem,
            "--json"]  # fmt: skip


@pytest.mark.parametrize(
    ("executor", "signum"),
    [
        ("local", signal.SIGINT),
        ("local", signal.SIGKILL),
        pytest.param("ray", signal.SIGINT, marks=pytest.mark.slow),
        pytest.param("ray", signal.SIGKILL, marks=pytest.mark.slow),
    ],
)
def test_a_stopped_parallel_tune_resumes_with_no_duplicate_and_nothing_lost(
    trained_store: Path,  # noqa: F811
    tmp_path: Path,
    executor: str,
    signum: int,
) -> None:
    if executor == "ray":
        pytest.importorskip("ray")
    task = f"toy_stop_{executor}_{signum}"
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(label=(x[:, 0] > 0).astype(int))
    frame.to_csv(data := tmp_path / f"{task}.csv", index=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    code, seen, rest = signal_when(_command(trained_store, data, executor), env, "[2/6]", signum)
    stderr = seen + rest
    if signum == signal.SIGINT:
        assert code == 1, stderr
        assert stderr.strip().splitlines()[-1].startswith("Error: interrupted: "), stderr
        assert "Traceback" not in stderr
    else:
        assert code == -signal.SIGKILL, stderr
    stored = len(stored_configs(trained_store, task))
    assert 2 <= stored < 6
    resumed = subprocess.run(_command(trained_store, data, executor), capture_output=True,
                             text=True, env=env, timeout=600)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    if signum == signal.SIGKILL:  # its running trials were left RUNNING in the study
        assert "trial(s) left running by an earlier call" in resumed.stderr
    trials = json.loads(resumed.stdout)["trials"]
    ok = [t for t in trials if t["status"] == "ok"]
    assert len(ok) == 6
    assert {t["status"] for t in trials} <= {"ok", "interrupted"}
    assert len({json.dumps(t["config"], sort_keys=True) for t in ok}) == 6  # no duplicate
    runs = stored_configs(trained_store, task)
    assert len(runs) == 6  # nothing lost, nothing extra: one stored run per trained trial
    for t in ok:
        assert sum(all(r.get(k) == v for k, v in t["config"].items()) for r in runs) == 1


@pytest.mark.slow
def test_ray_executor_tunes_on_a_local_instance(trained_store: Path, tmp_path: Path) -> None:  # noqa: F811
    ray = pytest.importorskip("ray")
    from recommender.api.tuning import tune as api_tune

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        result = api_tune(table(tmp_path, "toy_ray"), "label", budget=4, epochs=1,
                          device="cpu", parallel=2, executor="ray", db=trained_store)  # fmt: skip
    finally:
        ray.shutdown()
    assert [t.status for t in result.trials] == ["ok"] * 4
    assert len({json.dumps(t.config, sort_keys=True) for t in result.trials}) == 4
    assert tune_runs(trained_store, "toy_ray") == 4


def test_a_trial_stored_just_before_a_kill_is_kept_not_trained_again(
    trained_store: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from recommender.tuning import workers

    told = workers._tell

    def killed_on_second(study: Any, flight: Any, *args: Any) -> Any:
        if flight.trial.number == 1:  # its run is stored; the process dies before the tell
            raise SystemExit(137)
        return told(study, flight, *args)

    data = table(tmp_path, "toy_kept")
    with monkeypatch.context() as patch:
        patch.setattr(workers, "_tell", killed_on_second)
        patch.setattr(workers.TrialLoop, "_fail_running", lambda self: None)  # no cleanup
        killed = tune(trained_store, data, "--budget", "3", "--study", "kept")
    assert killed.exit_code == 137
    assert tune_runs(trained_store, "toy_kept") == 2
    resumed = tune(trained_store, data, "--budget", "3", "--study", "kept", "--json")
    assert resumed.exit_code == 0, resumed.output
    assert ("1 trial(s) left running by an earlier call: 1 stored before it stopped and kept, "
            "0 marked failed") in resumed.stderr  # fmt: skip
    trials = json.loads(resumed.stdout)["trials"]
    assert [t["status"] for t in trials] == ["ok"] * 3
    assert len({json.dumps(t["config"], sort_keys=True) for t in trials}) == 3
    assert tune_runs(trained_store, "toy_kept") == 3
