from __future__ import annotations

import base64
import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result

from recommender.cli import cli
from recommender.spaces.space import load_space
from recommender.store import DuckDBStore
from tests.validation.helpers import blobs_frame

FAST = ["--epochs", "2", "--device", "cpu"]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def table(tmp_path: Path) -> Path:
    path = tmp_path / "blobs.csv"
    blobs_frame(n=200).to_csv(path, index=False)
    return path


def _seed_model(path: Path) -> None:
    """A store with past runs of tabular_mlp on four tasks and a trained champion."""
    from recommender.knowledge.registry import train_and_register

    space = load_space("tabular_mlp")
    rng = np.random.default_rng(0)
    with DuckDBStore(path) as store:
        for t in range(4):
            task = f"past{t}"
            features = {"NumberOfInstances": 200.0 * (t + 1), "NumberOfFeatures": 5.0 + t,
                        "NumberOfClasses": 2.0}  # fmt: skip
            store.add_metafeatures(task, features, source="test")
            for i, cfg in enumerate(space.sample(12, seed=t)):
                score = 0.9 - 0.1 * abs(np.log10(cfg["learning_rate"]) + 2.5) + 0.01 * rng.normal()
                store.con.execute(
                    "INSERT INTO runs (run_key, task, space, params, metrics, fidelity, status, "
                    "source) VALUES (?, ?, 'tabular_mlp', ?, ?, 10, 'ok', 'test')",
                    [f"{task}-{i}", task, json.dumps(cfg),
                     json.dumps({"val_balanced_accuracy": score})],
                )  # fmt: skip
        train_and_register(
            store, space="tabular_mlp", metric="val_balanced_accuracy", maximize=True,
            tune=False, params={"n_estimators": 20, "max_depth": 3, "n_members": 2},
        )  # fmt: skip


@pytest.fixture(scope="module")
def model_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "store.duckdb"
    _seed_model(path)
    return path


def test_end_to_end_recommended_and_baselines(
    model_store: Path, table: Path, tmp_path: Path, db_path: Path
) -> None:
    shutil.copytree(model_store.parent, db_path.parent, dirs_exist_ok=True)
    report = tmp_path / "report.html"
    result = invoke(
        "validate", "--dataset", str(table), "--target", "label", "--top-k", "2",
        "--baselines", "default,random:1", "--report", str(report), "--json", *FAST,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["source"] for r in rows] == ["recommended", "recommended", "default", "random"]
    for r in rows:
        assert r["status"] == "ok" and r["metric"] == "val_balanced_accuracy"
        assert 0.0 <= r["value"] <= 1.0 and r["best_epoch"] in (1, 2) and r["duration_s"] > 0
    html = report.read_text()
    images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html)
    assert len(images) == 2 and all(base64.b64decode(i)[:4] == b"\x89PNG" for i in images)
    assert "recommended" in html and "<script" not in html
    # Each recommended curve is named by its rank; the split's size is said.
    assert "alt='learning curves: recommended #1, recommended #2, default, random'" in html
    (n_train, n_val), *others = {(r["n_train"], r["n_val"]) for r in rows}
    assert not others and n_val > 0
    assert f"Validation split: {n_val} of {n_train + n_val} rows" in html

    with DuckDBStore(db_path, read_only=True) as store:
        runs = store.runs(task="blobs")
        (query_id,) = store.con.execute(
            "SELECT query_id FROM queries WHERE task = 'blobs'"
        ).fetchone()
        assert len(runs) == 4 and {r["query_id"] for r in runs} == {query_id}
        assert "NumberOfInstances" in store.metafeatures("blobs")["blobs"]
        from recommender.surrogate.model import load_training_data

        data = load_training_data(
            store, load_space("tabular_mlp"), metric="val_balanced_accuracy", maximize=True
        )
        assert "blobs" in data.tasks  # the next retrain learns from these runs


def test_table_output_baselines_only(table: Path, db_path: Path) -> None:
    result = invoke("validate", "--dataset", str(table), "--target", "label", "--top-k", "0", *FAST)
    assert result.exit_code == 0, result.output
    header = result.stdout.splitlines()[0].split()
    assert header == ["source", "status", "val_balanced_accuracy", "best_epoch", "time_s"]
    assert result.stdout.splitlines()[2].startswith("default  ok")
    assert result.stdout.splitlines()[3].startswith("      learning_rate=")  # config below
    assert max(len(line) for line in result.stdout.splitlines()) <= 100
    assert "1 run stored for task blobs" in result.stderr


def test_empty_store_uses_the_shipped_model(table: Path, db_path: Path) -> None:
    result = invoke("validate", "--dataset", str(table), "--target", "label", "--top-k", "1",
                    "--baselines", "none", *FAST)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "loaded the shipped knowledge" in result.stderr
    assert "1 run stored for task blobs" in result.stderr


def test_no_model_is_a_one_line_error(table: Path, db_path: Path, tmp_path: Path) -> None:
    # The user's own runs of the space are in the store, but no model was trained on them.
    runs = tmp_path / "mine.csv"
    runs.write_text("task,param.learning_rate,metric.val_score\nmine,0.01,0.5\n")
    assert invoke("ingest", str(runs), "--space", "tabular_mlp").exit_code == 0
    result = invoke("validate", "--dataset", str(table), "--target", "label", *FAST)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("Error: no trained model for space 'tabular_mlp'")


def test_bad_target_lists_the_columns(table: Path, db_path: Path) -> None:
    result = invoke("validate", "--dataset", str(table), "--target", "nope", "--top-k", "0")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "nope" in result.stderr and "f0, f1, f2, f3, f4, label" in result.stderr


def test_one_class_data_is_a_one_line_error(tmp_path: Path, db_path: Path) -> None:
    path = tmp_path / "one.csv"
    pd.DataFrame({"x": range(30), "y": ["a"] * 30}).to_csv(path, index=False)
    result = invoke("validate", "--dataset", str(path), "--target", "y", "--top-k", "0",
                    "--problem", "binary")  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: target 'y' has one class ('a'); classification needs at least 2 classes; "
        "check --target or the data\n"
    )
    assert not db_path.exists() or DuckDBStore(db_path, read_only=True).info()["runs"] == 0


def test_epochs_and_budget_are_exclusive(table: Path, db_path: Path) -> None:
    result = invoke("validate", "--dataset", str(table), "--epochs", "2", "--budget-s", "1")
    assert result.exit_code == 2
    assert "use --epochs or --budget-s, not both" in result.stderr


def test_budget_runs_until_time_is_up(table: Path, db_path: Path) -> None:
    result = invoke("validate", "--dataset", str(table), "--target", "label", "--top-k", "0",
                    "--budget-s", "0.001", "--device", "cpu", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    assert row["epochs"] == 1 and row["status"] == "ok"
    assert "(1 epoch, " in result.stderr


def test_ray_missing_is_a_one_line_error(
    table: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    result = invoke("validate", "--dataset", str(table), "--target", "label", "--top-k", "0",
                    "--executor", "ray", *FAST)  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "pip install 'recommender[ray]'" in result.stderr
    assert "(or use --executor local)" in result.stderr
