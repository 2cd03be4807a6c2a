"""``recommender describe``: table, JSON, saving, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.datasets import load_wine

from recommender.cli import cli
from recommender.store import DuckDBStore


@pytest.fixture
def wine_csv(tmp_path: Path) -> Path:
    path = tmp_path / "wine.csv"
    load_wine(as_frame=True).frame.to_csv(path, index=False)
    return path


def invoke(*args: str) -> object:
    return CliRunner().invoke(cli, list(args))


def test_json_output(wine_csv: Path) -> None:
    result = invoke("describe", str(wine_csv), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["problem_type"] == "multiclass"
    assert data["modality"] == "tabular"
    assert data["NumberOfInstances"] == 178
    assert data["NumberOfFeatures"] == 14
    assert data["MeanAttributeEntropy"] is None  # no nominal attribute: NaN -> null


def test_table_output_and_notes(wine_csv: Path) -> None:
    result = invoke("describe", str(wine_csv), "--max-rows", "60", "--time-budget", "0")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["feature", "value"]
    assert any(line.split()[:2] == ["NumberOfInstances", "178"] for line in lines)
    assert "note: landmarkers skipped: time budget (0 s) used up" in result.stderr
    assert "60-row sample of 178 rows" in result.stderr


def test_save_stores_task_and_features(wine_csv: Path, db_path: Path) -> None:
    result = invoke("describe", str(wine_csv), "--save", "--task", "wine_task")
    assert result.exit_code == 0, result.output
    assert "saved" in result.stderr
    with DuckDBStore(db_path, read_only=True) as store:
        task = {t.name: t for t in store.tasks()}["wine_task"]
        features = store.metafeatures("wine_task")["wine_task"]
    assert (task.modality, task.problem_type, task.source) == ("tabular", "multiclass", "describe")
    assert features["NumberOfClasses"] == 3


def test_wrong_target_lists_columns(wine_csv: Path) -> None:
    result = invoke("describe", str(wine_csv), "--target", "quality")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: wine: no target column 'quality'; available columns: alcohol"
    )
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["nope.csv"], 1, "no such file or folder"),
        (
            ["{csv}", "--problem", "regression", "--target", "colour"],
            1,
            "regression needs a numeric",
        ),
        (["{csv}", "--max-rows", "1"], 2, "Invalid value for '--max-rows'"),
        (["{csv}", "--problem", "ordinal"], 2, "Invalid value for '--problem'"),
    ],
)
def test_bad_input_exit_codes(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    csv = tmp_path / "d.csv"
    pd.DataFrame({"a": [1, 2, 3, 4], "colour": ["r", "g", "r", "g"]}).to_csv(csv, index=False)
    result = invoke("describe", *[a.format(csv=csv) for a in args])
    assert result.exit_code == code
    assert message in result.stderr
    assert "Traceback" not in result.output
