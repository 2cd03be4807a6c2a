"""Fuzz MLflow and Optuna stores with odd contents, written by their clients then edited."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.conftest import fuzz_examples
from tests.fuzz.helpers import check_ingest, workdir

pytestmark = pytest.mark.fuzz
_MADE: dict[str, Path] = {}

odd = st.one_of(
    st.none(), st.integers(), st.floats(), st.text(max_size=12),
    st.sampled_from([2**63, 2**64 - 1, 9.3e18, "9223372036854775808", "nan", "", "{", "[1,",
                     '{"name": "FloatDistribution"}', "COMPLETE", "FINISHED", -1]),
)  # fmt: skip


def _optuna_template() -> Path:
    if "optuna" not in _MADE:
        optuna = pytest.importorskip("optuna")
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        path = Path(tempfile.mkdtemp(prefix="recommender-fuzz-")) / "optuna.db"
        url = f"sqlite:///{path}"
        a = optuna.create_study(study_name="a", storage=url, direction="maximize")
        b = optuna.create_study(study_name="b", storage=url, direction="minimize")

        def objective_a(trial: Any) -> float:
            lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
            choice = trial.suggest_categorical("mixed", [1, "a", 2.5, None, True])
            for step in range(2):
                trial.report(lr * step, step)
            return lr + (choice is None)

        def objective_b(trial: Any) -> float:
            lr = trial.suggest_categorical("lr", ["low", "high"])
            return float(trial.suggest_int("depth", 1, 5)) + (lr == "low")

        a.optimize(objective_a, n_trials=4)
        b.optimize(objective_b, n_trials=3)
        _MADE["optuna"] = path
    return _MADE["optuna"]


def _mlflow_template() -> Path:
    if "mlflow" not in _MADE:
        mlflow = pytest.importorskip("mlflow")
        path = Path(tempfile.mkdtemp(prefix="recommender-fuzz-")) / "mlflow.db"
        mlflow.set_tracking_uri(f"sqlite:///{path}")
        mlflow.set_experiment("iris")
        for i in range(3):
            with mlflow.start_run():
                mlflow.log_params({"lr": 0.1 * (i + 1), "opt": "adam"})
                for step in range(2):
                    mlflow.log_metric("acc", 0.5 + 0.1 * step, step=step)
        _MADE["mlflow"] = path
    return _MADE["mlflow"]


OPTUNA_EDITS = [
    ("trial_params", "param_value"), ("trial_params", "param_name"),
    ("trial_params", "distribution_json"), ("trials", "state"), ("trial_values", "value"),
    ("studies", "study_name"), ("trial_intermediate_values", "intermediate_value"),
    ("trial_intermediate_values", "step"), ("study_directions", "direction"),
]  # fmt: skip
MLFLOW_EDITS = [
    ("params", "value"), ("params", "key"), ("metrics", "value"), ("latest_metrics", "value"),
    ("runs", "status"), ("runs", "start_time"), ("runs", "end_time"), ("experiments", "name"),
    ("metrics", "step"), ("runs", "lifecycle_stage"),
]  # fmt: skip


def _edit(db: Path, edits: list[tuple[tuple[str, str], Any, bool]]) -> None:
    con = sqlite3.connect(db)
    try:
        for (table, column), value, every in edits:
            where = "" if every else f" WHERE rowid = (SELECT min(rowid) FROM {table})"
            try:
                con.execute(f"UPDATE {table} SET {column} = ?{where}", [value])  # noqa: S608
            except (sqlite3.Error, OverflowError):
                pass  # a constraint of the store's own schema: not an input it can hold
        con.commit()
    finally:
        con.close()


def _edits(menu: list[tuple[str, str]]) -> st.SearchStrategy:
    return st.lists(st.tuples(st.sampled_from(menu), odd, st.booleans()), max_size=3)


@settings(max_examples=fuzz_examples(6))
@given(edits=_edits(OPTUNA_EDITS))
@example(edits=[])
@example(edits=[(("trial_params", "distribution_json"), "{", False)])
@example(edits=[(("trials", "state"), "BOGUS", True)])
def test_optuna(edits: list) -> None:
    with workdir() as work:
        db = work / "optuna.db"
        shutil.copy(_optuna_template(), db)
        _edit(db, edits)
        check_ingest(work, f"sqlite:///{db}", "--format", "optuna", rows=None)


@settings(max_examples=fuzz_examples(6))
@given(edits=_edits(MLFLOW_EDITS))
@example(edits=[])
@example(edits=[(("params", "value"), "9223372036854775808", True)])
@example(edits=[(("metrics", "value"), "nan", False)])
def test_mlflow(edits: list) -> None:
    with workdir() as work:
        db = work / "mlflow.db"
        shutil.copy(_mlflow_template(), db)
        _edit(db, edits)
        check_ingest(work, f"sqlite:///{db}", "--format", "mlflow", rows=None)
