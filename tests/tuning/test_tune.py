"""``recommender tune`` through the command line: the loop, resume, interruption, bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result

from recommender.cli import cli
from recommender.store import DuckDBStore
from recommender.training import trainers
from recommender.tuning.studies import storage_url
from tests.fewshot.conftest import write_store


@pytest.fixture(autouse=True)
def small_fewshot(monkeypatch: pytest.MonkeyPatch) -> None:
    from recommender.fewshot import surrogate as fewshot_surrogate

    monkeypatch.setattr(fewshot_surrogate, "FEWSHOT_PARAMS", {"n_steps": 30, "batch_points": 24})


def table(tmp_path: Path, name: str) -> Path:
    """A tiny binary table; its file stem is the task's name."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(label=(x[:, 0] > 0).astype(int))
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def tune(db: Path, data: Path, *args: str) -> Result:
    return CliRunner().invoke(
        cli,
        ["tune", "--dataset", str(data), "--target", "label", "--epochs", "2",
         "--device", "cpu", "--db", str(db), *args],
    )  # fmt: skip


def tune_runs(db: Path, task: str) -> int:
    with DuckDBStore(db, read_only=True) as store:
        row = store.con.execute(
            "SELECT count(*) FROM runs WHERE task = ? AND source = 'tune'", [task]
        ).fetchone()
    return int(row[0]) if row else 0


def test_tune_prints_a_table_with_each_config_under_its_trial(
    trained_store: Path, tmp_path: Path
) -> None:
    result = tune(trained_store, table(tmp_path, "toy_table"), "--budget", "4")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["trial", "source", "status", "val_balanced_accuracy"]
    rows = [line for line in lines[2:] if not line.startswith(" ")]
    assert [r.split()[:2] for r in rows] == [[str(i), s] for i, s in enumerate(
        ["recommended"] * 3 + ["adaptive"])]  # fmt: skip
    assert lines[3].startswith("      learning_rate=")  # trial 0's config, under its row
    assert max(len(line) for line in lines) <= 100
    assert ": 4 trials for task toy_table (space tabular_mlp); best val_balanced_accuracy=" in (
        result.stderr
    )


def test_tune_prints_best_and_trials_as_json(trained_store: Path, tmp_path: Path) -> None:
    result = tune(trained_store, table(tmp_path, "toy_json"), "--budget", "6", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out["best"]) == {"config", "value"}
    assert [t["number"] for t in out["trials"]] == list(range(6))
    for t in out["trials"]:
        assert set(t) >= {"number", "config", "value", "status", "source"}
        assert t["status"] == "ok" and 0.0 <= t["value"] <= 1.0
        assert 0.0 < t["config"]["learning_rate"] <= 0.1
    assert [t["source"] for t in out["trials"]] == ["recommended"] * 3 + ["adaptive"] * 3
    assert out["best"]["value"] == max(t["value"] for t in out["trials"])
    configs = [json.dumps(t["config"], sort_keys=True) for t in out["trials"]]
    assert len(set(configs)) == 6
    assert tune_runs(trained_store, "toy_json") == 6
    assert "best=" in result.stderr and "left" in result.stderr


def test_same_study_resumes_and_the_budget_counts_done_trials(
    trained_store: Path, tmp_path: Path
) -> None:
    data = table(tmp_path, "toy_resume")
    first = tune(trained_store, data, "--budget", "2", "--study", "s", "--json")
    assert first.exit_code == 0, first.output
    second = tune(trained_store, data, "--budget", "4", "--study", "s", "--json")
    assert second.exit_code == 0, second.output
    trials = json.loads(second.stdout)["trials"]
    assert [t["number"] for t in trials] == [0, 1, 2, 3]
    said = second.stderr.splitlines()
    resuming = "resuming study 's': 2 trials done of budget 4, 2 more trials to train"
    assert resuming in said
    assert said.index(resuming) < next(i for i, ln in enumerate(said) if "trial 2 [3/4]" in ln)
    assert trials[:2] == json.loads(first.stdout)["trials"]
    assert tune_runs(trained_store, "toy_resume") == 4
    again = tune(trained_store, data, "--budget", "4", "--study", "s", "--json")
    assert again.exit_code == 0 and len(json.loads(again.stdout)["trials"]) == 4
    assert "resuming study 's': 4 trials done of budget 4, nothing more to train" in again.stderr


class _Interrupting:
    """The tabular trainer, raising KeyboardInterrupt on its ``at``-th call."""

    def __init__(self, inner: Any, at: int) -> None:
        self.inner, self.at, self.calls = inner, at, 0
        self.space, self.modality = inner.space, inner.modality
        self.default_epochs, self.defaults = inner.default_epochs, inner.defaults

    def train(self, dataset: Any, config: Mapping[str, Any], **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return self.inner.train(dataset, config, **kwargs)


@pytest.fixture
def interrupt_second(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    inner = trainers.TRAINERS["tabular_mlp"]
    monkeypatch.setitem(trainers.TRAINERS, "tabular_mlp", _Interrupting(inner, at=2))
    yield


def test_interrupted_tune_keeps_finished_trials_and_continues(
    trained_store: Path, tmp_path: Path, interrupt_second: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = table(tmp_path, "toy_interrupt")
    stopped = tune(trained_store, data, "--budget", "3", "--study", "i")
    assert stopped.exit_code != 0
    assert stopped.stderr.strip().splitlines()[-1].startswith("Error: interrupted: 1 trial")
    assert tune_runs(trained_store, "toy_interrupt") == 1
    monkeypatch.setitem(trainers.TRAINERS, "tabular_mlp", trainers.TABULAR_MLP)
    resumed = tune(trained_store, data, "--budget", "3", "--study", "i", "--json")
    assert resumed.exit_code == 0, resumed.output
    trials = json.loads(resumed.stdout)["trials"]
    assert [t["status"] for t in trials] == ["ok", "interrupted", "ok", "ok"]
    assert trials[1]["config"] not in (trials[2]["config"], trials[3]["config"])
    assert tune_runs(trained_store, "toy_interrupt") == 3


def _spaces(db: Path) -> list[Any]:
    with DuckDBStore(db, read_only=True) as store:
        return store.con.execute("SELECT name FROM spaces ORDER BY name").fetchall()


def _store_state(db: Path) -> tuple[Any, ...]:
    with DuckDBStore(db, read_only=True) as store:
        runs = store.con.execute("SELECT count(*) FROM runs").fetchone()
        batches = store.con.execute("SELECT count(*) FROM batches").fetchone()
        tasks = store.con.execute("SELECT count(*) FROM tasks").fetchone()
    return runs, batches, tasks


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--space", "no_such_space", "--budget", "2"], "unknown space 'no_such_space'"),
        (["--budget", "0"], "budget: expected an integer >= 1, got 0"),
        (["--budget", "-3"], "budget: expected an integer >= 1, got -3"),
        (["--budget", "2", "--epochs", "0"], "epochs: expected an integer >= 1, got 0"),
        (["--budget", "2", "--target", "nope"], "nope"),
        (["--budget", "2", "--study", " "], "study: expected a name, got ' '"),
        (
            ["--budget", "2", "--epochs", "100000"],
            "epochs: expected an integer from 1 to 10,000, got 100,000; pass at most 10,000",
        ),
        (
            ["--budget", "100000"],
            "budget: expected an integer from 1 to 10,000, got 100,000; pass at most 10,000",
        ),
        (
            ["--budget", "2", "--space", "image_finetune"],
            "space 'image_finetune': expected an image dataset, got a tabular one; pass --space "
            "tabular_mlp or leave --space out",
        ),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    trained_store: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    before = _store_state(trained_store)
    spaces = _spaces(trained_store)
    result = tune(trained_store, table(tmp_path, "toy_bad"), *args)
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], lines
    assert _store_state(trained_store) == before
    assert _spaces(trained_store) == spaces  # no pack loaded before the refusal
    optuna_db = Path(str(storage_url(trained_store)).removeprefix("sqlite:///"))
    assert not optuna_db.exists() or "toy_bad" not in optuna_db.read_bytes().decode("latin-1")


def test_missing_dataset_path_is_one_line(trained_store: Path, tmp_path: Path) -> None:
    result = tune(trained_store, tmp_path / "absent.csv", "--budget", "2")
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "absent.csv" in lines[0], lines


def test_trials_a_killed_process_left_running_are_failed_not_repeated(
    trained_store: Path, tmp_path: Path
) -> None:
    import optuna

    data = table(tmp_path, "toy_killed")
    first = tune(trained_store, data, "--budget", "1", "--study", "k")
    assert first.exit_code == 0, first.output
    storage = storage_url(trained_store)
    study = optuna.load_study(study_name="k", storage=storage)
    orphan = study.ask()  # what a process killed mid-training leaves behind
    orphan.suggest_float("learning_rate", 1e-4, 0.1, log=True)
    resumed = tune(trained_store, data, "--budget", "2", "--study", "k", "--json")
    assert resumed.exit_code == 0, resumed.output
    assert "1 trial(s) left running by an earlier call marked failed" in resumed.stderr
    trials = json.loads(resumed.stdout)["trials"]
    assert [t["status"] for t in trials] == ["ok", "interrupted", "ok"]
    assert tune_runs(trained_store, "toy_killed") == 2


def test_a_study_of_another_task_is_refused(trained_store: Path, tmp_path: Path) -> None:
    first = tune(trained_store, table(tmp_path, "toy_owner"), "--budget", "1", "--study", "o")
    assert first.exit_code == 0, first.output
    assert "study o: 1 trial for task toy_owner" in first.stderr
    before = _store_state(trained_store)
    other = tune(trained_store, table(tmp_path, "toy_other"), "--budget", "2", "--study", "o")
    assert other.exit_code != 0
    assert "study 'o': expected task 'toy_owner'" in other.stderr
    assert _store_state(trained_store) == before


@pytest.mark.parametrize("flag", ["--prune", "--no-prune", "--json"])  # --json: the default
def test_pruned_trials_stop_early_are_stored_and_count(
    trained_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flag: str
) -> None:
    import optuna

    from recommender.tuning import loop as tune_module

    # A pruner that stops every trial after its first epoch (no score reaches 2).
    monkeypatch.setattr(
        tune_module, "default_pruner", lambda e: optuna.pruners.ThresholdPruner(2.0)
    )
    task = f"toy_prune{flag.replace('-', '_')}"
    result = CliRunner().invoke(
        cli,
        ["tune", "--dataset", str(table(tmp_path, task)), "--target", "label", "--epochs", "3",
         "--device", "cpu", "--db", str(trained_store), "--budget", "3", flag, "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    trials = json.loads(result.stdout)["trials"]
    want = "pruned" if flag == "--prune" else "ok"
    assert [t["status"] for t in trials] == [want] * 3
    with DuckDBStore(trained_store, read_only=True) as store:
        rows = store.con.execute(
            "SELECT r.status, max(c.step) FROM runs r JOIN curves c USING (run_key) "
            "WHERE r.task = ? GROUP BY r.run_key, r.status",
            [task],
        ).fetchall()
    assert sorted(rows) == [(want, 1.0 if want == "pruned" else 3.0)] * 3


def test_help_says_how_many_trials_train_the_recommendations() -> None:
    from recommender.fewshot.tuner import N_SEED

    result = CliRunner().invoke(cli, ["tune", "--help"])
    assert result.exit_code == 0
    said = " ".join(result.output.split())
    assert f"The first {N_SEED} trials train the top {N_SEED} recommendations;" in said


def test_tune_on_a_store_whose_tasks_have_no_metafeatures(tmp_path: Path) -> None:
    from recommender.knowledge import registry

    path = tmp_path / "plain.duckdb"
    store = write_store(path)
    store.con.execute("DELETE FROM metafeatures")  # logs that name tasks, not describe them
    report = registry.train_and_register(
        store, space="tabular_mlp", metric="acc", maximize=True, force=True, tune=False
    )
    store.close()
    assert "the tasks have no meta-features" in report.message
    top = CliRunner().invoke(
        cli, ["recommend", "--space", "tabular_mlp", "--top-k", "1", "--json", "--db", str(path)]
    )
    assert top.exit_code == 0, top.output
    first = json.loads(top.stdout)["recommendations"][0]["config"]
    result = tune(path, table(tmp_path, "plain_table"), "--budget", "4", "--json")
    assert result.exit_code == 0, result.output
    trials = json.loads(result.stdout)["trials"]
    assert [t["source"] for t in trials] == ["recommended"] * 3 + ["adaptive"]
    assert trials[0]["config"] == pytest.approx(first)
    assert all(t["status"] == "ok" for t in trials)
