from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from recommender.cli import cli
from recommender.store import DuckDBStore
from tests.surrogate.synthetic import FAST, TOY_SPACE, fill_store, toy_metafeatures


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def toy_db(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from recommender.knowledge import evaluation as evaluate

    monkeypatch.setattr(evaluate, "TUNING_GRID", (FAST,))
    with DuckDBStore(db_path) as store:
        fill_store(store, space=False)
    return db_path


def _ok(runner: CliRunner, args: list[str]) -> str:
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output + str(result.exception)
    return result.output


def _fails(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(cli, args)
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert message in lines[0]


def test_space_import_and_list(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "toy.json"
    path.write_text(json.dumps(TOY_SPACE))
    assert "imported space mine: 3 hyperparameters" in _ok(
        runner, ["space", "import", str(path), "--name", "mine"]
    )
    rows = json.loads(_ok(runner, ["space", "list", "--json"]))
    assert {r["name"] for r in rows} == {"tabular_mlp", "text_finetune", "image_finetune", "mine"}
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    _fails(runner, ["space", "import", str(bad), "--name", "x"], "expected JSON")


def test_retrain_recommend_models_cycle(runner: CliRunner, toy_db: Path, tmp_path: Path) -> None:
    space = tmp_path / "toy.json"
    space.write_text(json.dumps(TOY_SPACE))
    _ok(runner, ["space", "import", str(space), "--name", "toy"])
    out = _ok(runner, ["retrain", "--space", "toy", "--metric", "acc", "--maximize"])
    assert "model 1:" in out and "promoted" in out
    assert "nothing new" in _ok(
        runner, ["retrain", "--space", "toy", "--metric", "acc", "--maximize"]
    )
    mf = tmp_path / "mf.json"
    mf.write_text(json.dumps(toy_metafeatures(2000.0)))
    rows = json.loads(
        _ok(
            runner,
            ["recommend", "--metafeatures", str(mf), "--space", "toy", "--json", "--top-k", "3"],
        )
    )
    assert (rows["space"], rows["model_id"], rows["rule"]) == ("toy", 1, "weighted/50")
    assert rows["note"].startswith("Known tasks weigh by how closely the model expects")
    assert rows["predicted_unit"].startswith("the model's estimate for this dataset")
    rows = rows["recommendations"]
    assert len(rows) == 3 and {"config", "predicted", "uncertainty"} <= set(rows[0])
    table = _ok(runner, ["recommend", "--task", "task0", "--space", "toy"])
    assert "space toy, model 1" in table and "similar tasks" in table
    listing = json.loads(_ok(runner, ["models", "list", "--json"]))
    assert listing[0]["status"] == "champion"
    _fails(runner, ["models", "rollback", "--space", "toy"], "nothing to roll back to")
    _fails(runner, ["models", "promote", "7"], "no model 7")


def test_recommend_says_when_it_knows_fewer_configs(
    runner: CliRunner, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recommender.knowledge import evaluation as evaluate

    monkeypatch.setattr(evaluate, "TUNING_GRID", (FAST,))
    with DuckDBStore(db_path) as store:
        fill_store(store, n_tasks=4, n_runs=2, shared=True)  # two distinct configs in all
    _ok(runner, ["retrain", "--space", "toy", "--metric", "acc", "--maximize"])
    result = runner.invoke(cli, ["recommend", "--task", "task0", "--space", "toy", "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["recommendations"]) == 2
    assert "note: 2 recommendation(s), not 5" in result.stderr


def test_recommend_errors(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    mf = tmp_path / "mf.json"
    mf.write_text(json.dumps(toy_metafeatures(2000.0)))
    _import_toy_space(runner, tmp_path)  # a space with no runs (every built-in ships a pack)
    _fails(
        runner, ["recommend", "--metafeatures", str(mf), "--space", "nope"], "unknown space 'nope'"
    )
    _fails(
        runner,
        ["recommend", "--metafeatures", str(mf), "--space", "toy"],
        "no trained model for space 'toy' (store has 0 runs); ingest runs",
    )
    _fails(
        runner,
        ["recommend", "--metafeatures", str(tmp_path / "none.json"), "--space", "toy"],
        "not found",
    )
    # Without meta-features (none given, or an empty file) the space's model still answers.
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    for args in (["--metafeatures", str(empty)], []):
        _fails(runner, ["recommend", *args, "--space", "toy"], "no trained model for space 'toy'")
    result = runner.invoke(cli, ["recommend"])
    assert result.exit_code == 2 and "give --dataset, or --space" in result.output
    result = runner.invoke(cli, ["recommend", "--task", "a", "--metafeatures", str(mf)])
    assert result.exit_code == 2 and "at most one of" in result.output


def _import_toy_space(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "toy.json"
    path.write_text(json.dumps(TOY_SPACE))
    _ok(runner, ["space", "import", str(path), "--name", "toy"])


def test_retrain_and_evaluate_errors(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    _import_toy_space(runner, tmp_path)
    _fails(
        runner,
        ["retrain", "--space", "toy", "--metric", "acc", "--maximize"],
        "no successful runs",
    )
    _fails(
        runner,
        ["retrain", "--space", "toy", "--metric", "acc"],
        "give --metric M and --maximize or --minimize",
    )
    _fails(runner, ["evaluate", "--space", "toy"], "no trained model for this metric")


def test_evaluate_json(
    runner: CliRunner, toy_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recommender.knowledge import evaluation as ev

    monkeypatch.setattr(ev, "RANDOM_KS", (1, 5))
    space = tmp_path / "toy.json"
    space.write_text(json.dumps(TOY_SPACE))
    _ok(runner, ["space", "import", str(space), "--name", "toy"])
    out = _ok(runner, ["evaluate", "--space", "toy", "--metric", "acc", "--maximize", "--json"])
    report = json.loads(out)
    assert len(report["tasks"]) == 6
    assert {
        "recommender_top1",
        "portfolio_top5",
        "nearest_task_top1",
        "default",
        "random_5",
    } <= set(report["mean"])


def test_recommend_from_dataset_file(runner: CliRunner, toy_db: Path, tmp_path: Path) -> None:
    import numpy as np
    import pandas as pd

    space = tmp_path / "toy.json"
    space.write_text(json.dumps(TOY_SPACE))
    _ok(runner, ["space", "import", str(space), "--name", "toy"])
    _ok(runner, ["retrain", "--space", "toy", "--metric", "acc", "--maximize"])
    rng = np.random.default_rng(0)
    data = pd.DataFrame(rng.random((60, 3)), columns=["a", "b", "c"])
    data["y"] = (data["a"] > 0.5).astype(int)
    data.to_csv(tmp_path / "d.csv", index=False)
    args = ["recommend", "--dataset", str(tmp_path / "d.csv"), "--target", "y"]
    rows = json.loads(_ok(runner, [*args, "--space", "toy", "--json", "--top-k", "2"]))
    assert len(rows["recommendations"]) == 2


def test_retrain_and_evaluate_name_their_regret_and_its_scale(
    runner: CliRunner, toy_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recommender.knowledge import evaluation as ev

    monkeypatch.setattr(ev, "RANDOM_KS", (1, 5))
    _import_toy_space(runner, tmp_path)
    out = _ok(runner, ["retrain", "--space", "toy", "--metric", "acc", "--maximize"])
    assert "model 1: surrogate top-1 regret " in out
    assert (
        "(the surrogate's first-ranked run of each held-out task, 5 folds by task; "
        "0 = the task's best run, 1 = its median run); promoted (first model)"
    ) in out
    table = _ok(runner, ["evaluate", "--space", "toy"])
    footer = " ".join(table.split("\n\n")[-1].split())
    assert footer.startswith(
        "Regret per task (0 = the task's best run, 1 = its median run; lower is better) of "
        "each method's pick for every task, with the model refitted without that task"
    )
    assert "retrain's surrogate top-1 regret instead ranks each held-out task's own runs." in footer
    report = json.loads(_ok(runner, ["evaluate", "--space", "toy", "--json"]))
    assert report["regret_scale"] == "0 = the task's best run, 1 = its median run"
    assert "leave-one-task-out" in report["regret_measures"]


def test_a_registered_surrogate_kind_is_a_model_choice(
    runner: CliRunner, toy_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recommender.surrogate import kinds
    from recommender.surrogate.forest import ForestSurrogate

    class WideForest(ForestSurrogate):
        kind = "wide_forest"

    monkeypatch.setattr(kinds, "KINDS", dict(kinds.KINDS))
    args = ["retrain", "--space", "toy", "--metric", "acc", "--maximize", "--model"]
    _import_toy_space(runner, tmp_path)
    refused = runner.invoke(cli, [*args, "wide_forest"])
    assert refused.exit_code == 2 and "'wide_forest' is not one of" in refused.output
    kinds.register_kind(WideForest)
    assert "wide_forest" in _ok(runner, ["retrain", "--help"])
    assert "promoted" in _ok(runner, [*args, "wide_forest"])
    listing = json.loads(_ok(runner, ["models", "list", "--json"]))
    assert [row["kind"] for row in listing] == ["wide_forest"]
