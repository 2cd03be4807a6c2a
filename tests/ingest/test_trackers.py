"""Real MLflow and Optuna stores, written with their own clients, then ingested."""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender.ingest import detect_format, ingest
from recommender.store import DuckDBStore


def _optuna_study(path: Path) -> str:
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = f"sqlite:///{path}"
    study = optuna.create_study(study_name="wine", storage=url, direction="maximize")
    study.set_user_attr("dataset", "wine-v2")

    def objective(trial: optuna.Trial) -> float:
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        layers = trial.suggest_int("layers", 1, 4)
        opt = trial.suggest_categorical("opt", ["adam", "sgd"])
        for step in range(3):
            trial.report(lr * (step + 1), step)
        if trial.number == 4:
            raise optuna.TrialPruned()
        return lr * layers + (opt == "adam")

    study.optimize(objective, n_trials=6, catch=())
    return url


def test_optuna_study_is_ingested(store: DuckDBStore, tmp_path: Path) -> None:
    url = _optuna_study(tmp_path / "optuna.db")
    assert detect_format(url) == "optuna"
    report = ingest(store, url)
    assert (report.accepted, report.rejected) == (6, 0)
    assert report.curve_points == 18
    runs = store.runs("wine")
    statuses = sorted(r["status"] for r in runs)
    assert statuses == ["ok"] * 5 + ["pruned"]
    ok = [r for r in runs if r["status"] == "ok"][0]
    assert set(ok["params"]) == {"lr", "layers", "opt"}
    assert isinstance(ok["params"]["layers"], int) and "value" in ok["metrics"]
    space = store.con.execute("SELECT definition FROM spaces WHERE name = 'wine'").fetchall()
    assert space and '"log": true' in space[0][0]
    assert ingest(store, url).accepted == 0


def test_optuna_task_from_user_attribute(store: DuckDBStore, tmp_path: Path) -> None:
    url = _optuna_study(tmp_path / "optuna.db")
    ingest(store, url, task_tag="dataset")
    assert [t.name for t in store.tasks()] == ["wine-v2"]


def _mlflow_runs(uri: str) -> None:
    mlflow = pytest.importorskip("mlflow")
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("iris")
    for i in range(3):
        with mlflow.start_run():
            mlflow.set_tag("dataset", "iris-tagged")
            mlflow.log_params({"lr": 0.1 * (i + 1), "layers": i + 1, "opt": "adam"})
            for step in range(4):
                mlflow.log_metric("val_acc", 0.5 + 0.1 * step + 0.01 * i, step=step)


def test_mlflow_sqlite_store_is_ingested(store: DuckDBStore, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    _mlflow_runs(uri)
    assert detect_format(uri) == "mlflow"
    report = ingest(store, uri)
    assert (report.accepted, report.rejected, report.curve_points) == (3, 0, 12)
    runs = store.runs("iris")
    assert sorted(r["params"]["layers"] for r in runs) == [1, 2, 3]
    assert all(r["status"] == "ok" for r in runs)
    assert sorted(round(r["metrics"]["val_acc"], 2) for r in runs) == [0.8, 0.81, 0.82]
    assert ingest(store, uri).duplicates == 3


def test_mlflow_file_store_and_task_tag(
    store: DuckDBStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    folder = tmp_path / "mlruns"
    _mlflow_runs(folder.as_uri())
    report = ingest(store, str(folder), task_tag="dataset")
    assert report.accepted == 3
    assert [t.name for t in store.tasks()] == ["iris-tagged"]
