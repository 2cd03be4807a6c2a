"""The Python API: ``recommender.recommend`` and friends, on fresh stores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import recommender
from recommender import api
from recommender.api.inputs import features_and_space
from recommender.errors import InvalidArgumentError, ModelError, RecommenderError
from recommender.store import DuckDBStore
from tests.surrogate.synthetic import FAST, TOY_SPACE, fill_store

ROOT = Path(__file__).resolve().parents[2]


def _frame(n: int = 80, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    color = rng.choice(["red", "green", "blue"], n)
    return pd.DataFrame({"a": a, "b": b, "color": color, "y": (a + b > 0).astype(int)})


@pytest.fixture(scope="module")
def loaded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store that the first recommend() call filled with the shipped knowledge."""
    db = tmp_path_factory.mktemp("api") / "s.duckdb"
    recommender.recommend(_frame(), target="y", top_k=1, db=db)
    return db


def test_recommend_a_dataframe_on_a_fresh_store_loads_the_shipped_pack(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    notes: list[str] = []
    result = recommender.recommend(_frame(), target="y", top_k=3, db=db, on_note=notes.append)
    assert [r.rank for r in result.recommendations] == [1, 2, 3]
    assert result.space.name == "tabular_mlp" and result.model_id is not None
    assert result.query_id is not None
    assert any("loaded the shipped knowledge" in n for n in notes), notes
    for r in result.recommendations:
        assert result.space.validate_config(r.config) == r.config
    with DuckDBStore(db, read_only=True) as store:
        info = store.info()
    assert info["runs"] > 1000 and info["queries"] == 1


def test_recommend_from_a_metafeature_dict(loaded_db: Path) -> None:
    features = recommender.describe(_frame(), target="y")
    result = recommender.recommend(features, top_k=3, db=loaded_db)
    assert result.space.name == "tabular_mlp"
    assert len(result.recommendations) == 3
    from_frame = recommender.recommend(_frame(), target="y", top_k=3, db=loaded_db, log=False)
    assert [r.config for r in result.recommendations] == [
        r.config for r in from_frame.recommendations
    ]
    assert from_frame.query_id is None


def test_metafeature_dict_keeps_finite_numbers_and_follows_its_modality(loaded_db: Path) -> None:
    features = recommender.describe(_frame(), target="y")
    noisy = {**features, "problem_type": "binary", "Broken": float("nan"), "Flag": True}
    noisy["NumberOfInstances"] = np.float32(80.0)
    result = recommender.recommend(noisy, top_k=2, db=loaded_db, log=False)
    assert len(result.recommendations) == 2
    kept, space = features_and_space(noisy, None, None, None)
    assert kept["NumberOfInstances"] == 80.0 and not {"problem_type", "Broken", "Flag"} & set(kept)
    assert space == "tabular_mlp"
    assert features_and_space({"X": 1.0, "modality": "text"}, None, None, None)[1] == (
        "text_finetune"
    )
    assert features_and_space({"X": 1.0}, None, "mine", None)[1] == "mine"


def test_recommend_a_csv_path(loaded_db: Path, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    _frame().to_csv(path, index=False)
    result = recommender.recommend(path, target="y", top_k=3, db=loaded_db)
    assert len(result.recommendations) == 3
    assert result.recommendations[0].explanation["role"] == "best on known tasks"


def test_recommend_a_task_in_the_store(loaded_db: Path) -> None:
    result = recommender.recommend(task="wd_bwght", space="tabular_mlp", top_k=2, db=loaded_db)
    assert len(result.recommendations) == 2
    with pytest.raises(InvalidArgumentError, match="space: expected a space name"):
        recommender.recommend(task="wd_bwght", db=loaded_db)


def test_printed_result_reads_as_a_table(loaded_db: Path) -> None:
    result = recommender.recommend(_frame(), target="y", top_k=3, db=loaded_db, log=False)
    lines = str(result).splitlines()
    assert lines[0] == f"space tabular_mlp, model {result.model_id}, query None"
    # The rule in words, a blank line, then the table; each pick's config is indented under it.
    plain = "No per-dataset signal" in lines[1]
    assert plain == (result.rule == "portfolio")
    start = lines.index("") + 1
    assert lines[start].split() == ["rank", "role", "predicted", "(normal", "score)"]
    end = lines.index("", start)  # the table, then a blank line and what "predicted" means
    rows = [ln for ln in lines[start + 2 : end] if not ln.startswith(" ")]
    assert len(rows) == 3  # three picks
    assert rows[0].startswith("1     best on known tasks")
    unit = " ".join(lines[end + 1 :])
    assert unit.startswith("predicted (normal score): the model's estimate for this dataset")
    assert "(0 = its median run, +1 = better than 84 % of its runs)" in unit
    assert "learning_rate=" in lines[lines.index(rows[0]) + 1]
    assert max(len(line) for line in lines) <= 100
    assert repr(result) == (
        f"RecommendResult(space='tabular_mlp', model_id={result.model_id}, "
        "query_id=None, 3 recommendations)"
    )


def test_describe_returns_openml_names() -> None:
    features = recommender.describe(_frame(), target="y")
    assert features["NumberOfInstances"] == 80.0
    assert features["NumberOfFeatures"] == 4.0
    assert features["NumberOfSymbolicFeatures"] == 2.0  # color and the class
    assert {"ClassEntropy", "MajorityClassSize", "MeanSkewnessOfNumericAtts"} <= set(features)
    assert all(isinstance(v, float) for v in features.values())


def test_describe_saves_under_a_task_name(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    task, result = api.describe_result(_frame(), target="y", task="mine", save=True, db=db)
    assert task == "mine" and result.problem_type == "binary"
    with DuckDBStore(db, read_only=True) as store:
        assert store.metafeatures("mine")["mine"]["NumberOfInstances"] == 80.0


@pytest.mark.parametrize("top_k", [0, -1, 2.5, "3", True])
def test_bad_top_k_is_an_invalid_argument_and_touches_no_store(
    tmp_path: Path, top_k: object
) -> None:
    db = tmp_path / "s.duckdb"
    with pytest.raises(InvalidArgumentError, match="top_k: expected an integer >= 1") as info:
        recommender.recommend(_frame(), target="y", top_k=top_k, db=db)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError) and isinstance(info.value, RecommenderError)
    assert not db.exists()


def test_other_bad_arguments(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with pytest.raises(InvalidArgumentError, match="space: expected a space name without data"):
        recommender.recommend(db=db)
    with pytest.raises(InvalidArgumentError, match="got both"):
        recommender.recommend(_frame(), task="t", db=db)
    with pytest.raises(InvalidArgumentError, match="data: expected a pandas DataFrame"):
        recommender.recommend([1, 2, 3], db=db)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="target: expected None with a meta-feature"):
        recommender.recommend({"NumberOfInstances": 10.0}, target="y", db=db)
    with pytest.raises(InvalidArgumentError, match="model: expected one of xgboost, forest"):
        recommender.retrain(model="gbm", db=db)
    with pytest.raises(InvalidArgumentError, match="top_k"):
        api.evaluate(top_k=0, db=db)
    with pytest.raises(InvalidArgumentError, match="top_k: expected an integer >= 0"):
        api.validate(_frame(), target="y", top_k=-1, db=db)
    with pytest.raises(InvalidArgumentError, match="epochs and budget_s"):
        api.validate(_frame(), target="y", epochs=2, budget_s=3.0, db=db)
    with pytest.raises(InvalidArgumentError, match="executor"):
        api.validate(_frame(), target="y", executor="slurm", db=db)
    assert not db.exists()


def test_retrain_and_evaluate_take_the_champions_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recommender.knowledge import evaluation as evaluate

    monkeypatch.setattr(evaluate, "TUNING_GRID", (FAST,))
    db = tmp_path / "s.duckdb"
    with DuckDBStore(db) as store:
        fill_store(store, space=False)
    space = tmp_path / "toy.json"
    space.write_text(json.dumps(TOY_SPACE))
    recommender.import_space(space, "toy", db=db)
    with pytest.raises(ModelError, match=r"give metric='M' and maximize=True or False$"):
        recommender.retrain("toy", db=db)
    first = recommender.retrain("toy", metric="acc", maximize=True, db=db)
    assert first.status == "promoted" and first.metric == "acc"
    again = recommender.retrain("toy", db=db)  # metric and direction from the champion
    assert again.status == "nothing_new" and again.metric == "acc"
    result = api.evaluate("toy", top_k=3, holdout=["task0"], db=db)
    assert result.metric == "acc" and [r["task"] for r in result.rows] == ["task0"]
    rows = recommender.models("toy", db=db)
    assert [r["status"] for r in rows] == ["champion"] and "cv_top1_regret" in rows[0]


def test_import_recommender_is_light_and_keeps_its_names() -> None:
    code = (
        "import sys, recommender\n"
        "assert 'recommender.api' not in sys.modules and 'pandas' not in sys.modules\n"
        "import recommender.knowledge.ranking, recommender.knowledge.query\n"
        "assert callable(recommender.recommend) and callable(recommender.describe)\n"
        "print(sorted(recommender.__all__))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=True
    )
    assert "recommend" in out.stdout


def test_every_command_is_a_function_on_the_package() -> None:
    """``recommender.tune(...)`` and ``recommender.validate(...)`` are what a user reaches
    for; no submodule takes one of these names (importing it would rebind the name)."""
    import pkgutil

    code = (
        "import pkgutil, recommender\n"
        "import recommender.validation.runner, recommender.tuning.loop\n"
        "import recommender.knowledge.evaluation\n"
        "from recommender import api\n"
        "for name in ('recommend', 'describe', 'validate', 'tune', 'evaluate', 'retrain'):\n"
        "    assert getattr(recommender, name) is getattr(api, name), name\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env())
    assert out.returncode == 0 and out.stdout == "ok\n", out.stderr
    folders = {m.name for m in pkgutil.iter_modules(recommender.__path__)}
    assert not folders & set(recommender.__all__)


def test_errors_name_arguments_as_python_calls_them(tmp_path: Path) -> None:
    """The API's errors say ``target=``; the command line's say ``--target`` (same error)."""
    from click.testing import CliRunner

    from recommender.cli import cli

    db = tmp_path / "s.duckdb"
    with pytest.raises(RecommenderError) as err:
        recommender.recommend(_frame(), target="nope", db=db)
    assert str(err.value).endswith("; pass one with target=") and "--" not in str(err.value)
    with pytest.raises(RecommenderError) as err:
        recommender.validate(_frame(), target="y", top_k=0, baselines="none", db=db)
    assert str(err.value).endswith("; add baselines='default'")
    path = tmp_path / "t.csv"
    _frame().to_csv(path, index=False)
    result = CliRunner().invoke(cli, ["recommend", "--dataset", str(path), "--target", "nope"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and result.stderr.endswith(
        "; pass one with --target\n"
    )


def test_numpy_x_and_y_as_scikit_learn_passes_them(loaded_db: Path) -> None:
    frame = _frame()
    X, y = frame[["a", "b"]].to_numpy(), frame["y"].to_numpy()
    features = recommender.describe(X, y)
    assert features["NumberOfInstances"] == 80 and features["NumberOfClasses"] == 2
    result = recommender.recommend(X, y, top_k=2, db=loaded_db, log=False)
    assert [r.rank for r in result.recommendations] == [1, 2]
    same = json.dumps(recommender.describe(frame[["a", "b", "y"]], target="y"), sort_keys=True)
    from_frame = recommender.describe(frame[["a", "b"]], frame["y"])
    assert json.dumps(from_frame, sort_keys=True) == same  # NaN-safe comparison
    general = ("NumberOfInstances", "NumberOfFeatures", "NumberOfClasses", "ClassEntropy")
    assert {k: features[k] for k in general} == {k: from_frame[k] for k in general}
    with pytest.raises(InvalidArgumentError) as err:
        recommender.recommend(X, top_k=2, db=loaded_db)
    assert str(err.value) == (
        "target: with an array as data, expected its labels (scikit-learn's X, y), got None; "
        "pass them as target=y, or pass a DataFrame that holds the target"
    )
    with pytest.raises(InvalidArgumentError, match=r"got \(80, 2\) and \(79,\); pass them as"):
        recommender.describe(X, y[:-1])


def test_validate_and_tune_from_the_package(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    frame = _frame()
    X, y = frame[["a", "b"]].to_numpy(), frame["y"].to_numpy()
    report = recommender.validate(X, y, top_k=0, epochs=1, db=db)  # scikit-learn's X, y
    assert [o.planned.source for o in report.outcomes] == ["default"]
    result = recommender.tune(X, y, budget=1, epochs=1, db=db)
    assert len(result.trials) == 1


def test_script_on_a_fresh_default_store(tmp_path: Path) -> None:
    _frame().to_csv(tmp_path / "t.csv", index=False)
    code = (
        "import recommender, pandas as pd; "
        "print(recommender.recommend(pd.read_csv('t.csv'), target='y', top_k=3))"
    )
    env = _env(XDG_DATA_HOME=str(tmp_path / "xdg"))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("space tabular_mlp, model 1, query 1")
    rows = [ln for ln in lines if ln[:1].isdigit()]  # one row per pick, config indented below
    assert len(rows) == 3 and "best on known tasks" in rows[0]
    assert list((tmp_path / "xdg").rglob("*.duckdb")), "the default store was not created"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RECOMMENDER_DB"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return {**env, **extra}
