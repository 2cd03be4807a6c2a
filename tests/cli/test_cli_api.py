"""The commands are thin shells over recommender.api: its errors and its store handling."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from recommender import api
from recommender.cli import cli
from recommender.errors import InvalidArgumentError


def test_an_invalid_argument_from_the_api_is_one_line_and_exit_1(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def bad(*args: Any, **kwargs: Any) -> None:
        raise InvalidArgumentError("top_k: expected an integer >= 1, got 0; ask for at least 1")

    monkeypatch.setattr(api, "recommend", bad)
    result = CliRunner().invoke(cli, ["recommend", "--dataset", "sklearn:iris"])
    assert result.exit_code == 1
    assert result.stderr == "Error: top_k: expected an integer >= 1, got 0; ask for at least 1\n"


def test_recommend_a_shipped_task_on_a_fresh_store(db_path: Path) -> None:
    """The shipped pack is loaded before the task's meta-features are looked up."""
    args = ["recommend", "--task", "wd_bwght", "--space", "tabular_mlp", "--top-k", "2", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("loaded the shipped knowledge: ")
    answer = json.loads(result.stdout)
    assert (answer["space"], answer["model_id"], answer["rule"]) == ("tabular_mlp", 1, "portfolio")
    assert answer["note"].startswith("No per-dataset signal: in cross-validation the model")
    assert [r["rank"] for r in answer["recommendations"]] == [1, 2]
