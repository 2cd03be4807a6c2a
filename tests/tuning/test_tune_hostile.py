"""``recommender tune`` on hostile ground: a study belongs to one store and one dataset,
two tunes of one study, a data error in a trial, a damaged study file or few-shot model,
and arguments of the wrong type."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import Result

from recommender.errors import DatasetError, InvalidArgumentError
from recommender.store import DuckDBStore
from recommender.training import trainers
from recommender.tuning.studies import StudyLock, storage_url
from tests.factories import binary_table
from tests.tuning.test_tune import (  # noqa: F401  (small_fewshot: an autouse fixture)
    _store_state,
    small_fewshot,
    tune,
    tune_runs,
)


def copy_of(trained_store: Path, name: str) -> Path:
    """A copy of the fixture store beside it (where its models are), as ``name``."""
    path = trained_store.with_name(name)
    shutil.copy(trained_store, path)
    return path


def one_error(result: Result) -> str:
    """The one ``Error:`` line, last on stderr (after any notes), of a refused command."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    errors = [ln for ln in lines if ln.startswith("Error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0] and "Traceback" not in result.output
    return errors[0]


def study_file(db: Path) -> Path:
    return Path(str(storage_url(db)).removeprefix("sqlite:///"))


def metafeatures(db: Path, task: str) -> dict[str, float | None]:
    with DuckDBStore(db, read_only=True) as store:
        features = store.metafeatures(task).get(task, {})
    return {k: None if v != v else v for k, v in features.items()}  # NaN as None: comparable


# -- a study belongs to its store ---------------------------------------------------------
def test_two_stores_with_one_stem_each_tune_their_own_study(
    trained_store: Path, tmp_path: Path
) -> None:
    data = binary_table(tmp_path, "toy_stem", seed=1)
    a, b = copy_of(trained_store, "rA.duckdb"), copy_of(trained_store, "rA.db")
    assert tune(a, data, "--budget", "1").exit_code == 0
    second = tune(b, data, "--budget", "1", "--json")
    assert second.exit_code == 0, second.output
    assert len(json.loads(second.stdout)["trials"]) == 1
    assert (tune_runs(a, "toy_stem"), tune_runs(b, "toy_stem")) == (1, 1)
    assert study_file(a) != study_file(b) and study_file(b).name == "rA.db.optuna.db"


def test_a_study_of_a_store_made_again_is_refused(trained_store: Path, tmp_path: Path) -> None:
    data = binary_table(tmp_path, "toy_again", seed=2)
    db = copy_of(trained_store, "rC.duckdb")
    assert tune(db, data, "--budget", "1").exit_code == 0
    db.unlink()  # the store is deleted and a new one made at the same path
    copy_of(trained_store, "rC.duckdb")
    with DuckDBStore(db) as store:
        store.con.execute("UPDATE store_meta SET value = 'a-new-store' WHERE key = 'store_id'")
    before = _store_state(db)
    line = one_error(tune(db, data, "--budget", "2"))
    assert line == (
        "Error: study 'toy_again-tabular_mlp' in rC.duckdb.optuna.db: expected a study of "
        "rC.duckdb, got one of another store (its runs are not in this one); pass a new "
        "--study NAME, or move rC.duckdb.optuna.db away to start over"
    )
    assert _store_state(db) == before


def test_another_table_with_the_same_name_is_a_task_of_its_own(
    trained_store: Path, tmp_path: Path
) -> None:
    db = copy_of(trained_store, "rD.duckdb")
    d1 = binary_table(tmp_path / "d1", "train", seed=3)
    d2 = binary_table(tmp_path / "d2", "train", seed=4)
    assert tune(db, d1, "--budget", "1").exit_code == 0
    features = metafeatures(db, "train")
    second = tune(db, d2, "--budget", "1")
    assert second.exit_code == 0, second.output
    notes = [ln for ln in second.stderr.splitlines() if ln.startswith("note: task")]
    assert len(notes) == 1 and "this data is task 'train-" in notes[0], second.stderr
    task = notes[0].rsplit("'", 2)[-2]
    assert f"study {task}-tabular_mlp: 1 trial for task {task}" in second.stderr
    assert metafeatures(db, "train") == features  # d1's description kept with d1's runs
    assert metafeatures(db, task) and metafeatures(db, task) != features
    assert (tune_runs(db, "train"), tune_runs(db, task)) == (1, 1)
    again = tune(db, tmp_path / "d1" / "train.csv", "--budget", "2")  # d1 continues its study
    assert again.exit_code == 0 and "note: task" not in again.stderr, again.output
    assert tune_runs(db, "train") == 2


# -- one tune of a study at a time ---------------------------------------------------------
def test_a_second_tune_of_a_busy_study_waits_then_fails_leaving_its_trial_alone(
    trained_store: Path, tmp_path: Path
) -> None:
    import optuna

    data = binary_table(tmp_path, "toy_busy", seed=5)
    db = copy_of(trained_store, "rE.duckdb")
    assert tune(db, data, "--budget", "1", "--study", "busy").exit_code == 0
    lock = StudyLock(study_file(db), "busy")  # another process tuning the study
    assert lock.acquire(0.0)
    study = optuna.load_study(study_name="busy", storage=storage_url(db))
    running = study.ask()  # the trial it is training
    running.suggest_float("learning_rate", 1e-4, 0.1, log=True)
    before = _store_state(db)
    line = one_error(tune(db, data, "--budget", "2", "--study", "busy", "--lock-timeout", "0.2"))
    assert line == (
        "Error: study 'busy' is being tuned by another process; waited 0.2 s; rerun when it "
        "finishes, raise --lock-timeout, or pass another --study NAME"
    )
    assert _store_state(db) == before
    states = [t.state for t in optuna.load_study(study_name="busy", storage=storage_url(db)).trials]
    assert states[-1] == optuna.trial.TrialState.RUNNING  # not taken for a dead process's
    lock.release()  # the other process is gone: its trial is stale now
    after = tune(db, data, "--budget", "2", "--study", "busy")
    assert after.exit_code == 0, after.output
    assert "1 trial(s) left running by an earlier call marked failed" in after.stderr


# -- a data error in a trial --------------------------------------------------------------
class _DataError:
    """The tabular trainer, failing as a damaged file in the data does."""

    def __init__(self, inner: Any) -> None:
        self.space, self.modality = inner.space, inner.modality
        self.default_epochs, self.defaults = inner.default_epochs, inner.defaults

    def train(self, dataset: Any, config: Mapping[str, Any], **kwargs: Any) -> Any:
        raise DatasetError("cat/7.jpg: image file is truncated; remove or replace it")


def test_a_data_error_in_a_trial_leaves_the_recommendations_for_later(
    trained_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = binary_table(tmp_path, "toy_data_error", seed=6)
    control = tune(copy_of(trained_store, "rF0.duckdb"), data, "--budget", "2", "--json")
    assert control.exit_code == 0, control.output
    db = copy_of(trained_store, "rF.duckdb")
    before = _store_state(db)
    monkeypatch.setitem(trainers.TRAINERS, "tabular_mlp", _DataError(trainers.TABULAR_MLP))
    for _ in range(3):
        line = one_error(tune(db, data, "--budget", "2"))
        assert line == "Error: cat/7.jpg: image file is truncated; remove or replace it"
        assert _store_state(db) == before  # no task, batch or run for a trial that never ran
    monkeypatch.setitem(trainers.TRAINERS, "tabular_mlp", trainers.TABULAR_MLP)
    fixed = tune(db, data, "--budget", "2", "--json")
    assert fixed.exit_code == 0, fixed.output
    got, want = json.loads(fixed.stdout)["trials"], json.loads(control.stdout)["trials"]
    assert [(t["source"], t["config"], t["status"]) for t in got] == [
        (t["source"], t["config"], t["status"]) for t in want
    ]
    assert tune_runs(db, "toy_data_error") == 2


# -- damaged files -------------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["random bytes", "truncated", "a folder"])
def test_a_damaged_study_file_is_one_line(trained_store: Path, tmp_path: Path, damage: str) -> None:
    data = binary_table(tmp_path, "toy_damaged", seed=7)
    db = copy_of(trained_store, f"rG-{damage.replace(' ', '_')}.duckdb")
    file = study_file(db)
    if damage == "truncated":
        assert tune(db, data, "--budget", "1").exit_code == 0
        file.write_bytes(file.read_bytes()[: file.stat().st_size // 3])
    elif damage == "random bytes":
        file.write_bytes(np.random.default_rng(0).bytes(8192))
    else:
        file.mkdir()
    before = _store_state(db)
    line = one_error(tune(db, data, "--budget", "2"))
    assert line.startswith(f"Error: study file {file}: expected an Optuna storage, got a damaged")
    assert line.endswith("move it away to start its studies over (their runs stay in the store)")
    assert _store_state(db) == before


def test_a_few_shot_model_that_passes_its_checksum_but_does_not_load_is_meta_trained_again(
    trained_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recommender.fewshot import store_model
    from recommender.store import artifacts

    db = tmp_path / "rH.duckdb"  # a store of its own, with a copy of the fixture's models
    shutil.copy(trained_store, db)
    shutil.copytree(trained_store.parent / "models" / trained_store.name, tmp_path / "models" /
                    trained_store.name)  # fmt: skip
    with DuckDBStore(db) as store:
        (model_id, artifact), *_ = store.con.execute(
            "SELECT model_id, artifact FROM models WHERE status = 'champion'"
        ).fetchall()
        folder = tmp_path / artifact
        sidecar = folder / "fewshot" / "fewshot.json"
        meta = json.loads(sidecar.read_text())
        meta["dims"]["hidden"] = meta["dims"]["hidden"] + 3  # the weights no longer fit
        sidecar.write_text(json.dumps(meta))
        store.con.execute(  # as a model whose files and checksum were written together
            "UPDATE models SET checksum = ? WHERE model_id = ?",
            [artifacts.checksum(folder), model_id],
        )
    monkeypatch.setattr(store_model, "_CACHE", {})  # as a new process would
    artifacts.forget()
    data = binary_table(tmp_path, "toy_fewshot", seed=8)
    result = tune(db, data, "--budget", "1")
    assert result.exit_code == 0, result.output
    notes = [ln for ln in result.stderr.splitlines() if ln.startswith("note: the few-shot")]
    assert len(notes) == 1 and notes[0].startswith(
        f"note: the few-shot model in {folder / 'fewshot'} does not load ("
    ), result.stderr
    assert notes[0].endswith("); meta-training it again from the store's runs")
    assert "Traceback" not in result.output
    assert tune_runs(db, "toy_fewshot") == 1


# -- the API's argument types -------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"study": 123}, "study: expected a name, got 123"),
        ({"budget": 2.0}, "budget: expected an integer >= 1, got 2.0"),
        ({"epochs": "3"}, "epochs: expected an integer >= 1, got '3'"),
        ({"budget": np.int64(20_000)}, "budget: expected an integer from 1 to 10,000"),
    ],
)
def test_api_tune_refuses_wrong_types_in_one_line(
    tmp_path: Path, kwargs: dict[str, Any], message: str
) -> None:
    from recommender.api import tune as api_tune

    with pytest.raises(InvalidArgumentError) as err:
        api_tune(tmp_path / "absent.csv", db=tmp_path / "s.duckdb", **kwargs)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "s.duckdb").exists()


def test_api_tune_takes_numpy_integers(trained_store: Path, tmp_path: Path) -> None:
    from recommender.api import tune as api_tune

    db = copy_of(trained_store, "rI.duckdb")
    result = api_tune(
        binary_table(tmp_path, "toy_numpy", seed=9), "label", budget=np.int64(1),
        epochs=np.int32(2), seed=np.int64(0), device="cpu", db=db,
    )  # fmt: skip
    assert len(result.trials) == 1 and result.trials[0].status == "ok"
