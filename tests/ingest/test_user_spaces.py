"""A user's own run tables: where ingested runs go, and spaces inferred from them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from recommender.cli import cli
from recommender.spaces.space import load_space
from recommender.store import DuckDBStore
from tests.factories import runs_frame, write_runs


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def ok(*args: str) -> str:
    code, out = invoke(*args)
    assert code == 0, out
    return out


def xgb_runs(n_tasks: int = 3, n_runs: int = 24, seed: int = 0) -> pd.DataFrame:
    """Runs of a conditional space: max_depth only for gbtree; eta log-uniform."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(n_tasks):
        for r in range(n_runs):
            booster = "gbtree" if r % 3 else "gblinear"
            rows.append(
                {
                    "task": f"task{t}",
                    "param.booster": booster,
                    "param.max_depth": int(rng.integers(2, 13)) if booster == "gbtree" else None,
                    "param.eta": float(10 ** rng.uniform(-3, -0.5)),
                    "param.subsample": float(rng.uniform(0.5, 1.0)),
                    "param.n_rounds": int(rng.integers(10, 200)),
                    "param.shrink": bool(r % 2),
                    "metric.auc": float(rng.uniform(0.6, 0.9)),
                }
            )
    frame = pd.DataFrame(rows)
    frame["param.max_depth"] = frame["param.max_depth"].astype("Int64")
    return frame


# -- where runs go ----------------------------------------------------------------------
def test_ingest_names_the_space_and_space_list_shows_it(db_path: Path, tmp_path: Path) -> None:
    path = write_runs(tmp_path / "runs.csv", runs_frame(n_tasks=2, n_runs=3))
    out = ok("ingest", str(path))
    auto = json.loads(ok("ingest", str(path), "--json", "--dry-run"))["space"]
    assert auto.startswith("auto-")
    assert f"into space {auto}" in out
    assert "--space NAME" in out  # how to name it
    rows = json.loads(ok("space", "list", "--json"))
    mine = [r for r in rows if r["name"] == auto]
    assert mine and mine[0]["runs"] == 6 and mine[0]["n_params"] == 3
    assert {r["name"] for r in rows} >= {"tabular_mlp", auto}
    info = json.loads(ok("store", "info", "--json"))
    assert info["spaces"] == len(rows)
    assert f"already in the store (space {auto})" in ok("ingest", str(path))


def test_reingest_into_a_named_space_moves_runs_out_of_the_auto_space(
    db_path: Path, tmp_path: Path
) -> None:
    space = tmp_path / "space.json"
    space.write_text(
        json.dumps(
            {
                "name": "my_mlp",
                "hyperparameters": [
                    {"name": "lr", "type": "float", "low": 1e-4, "high": 0.1, "log": True},
                    {"name": "layers", "type": "int", "low": 1, "high": 6},
                    {"name": "opt", "type": "categorical", "choices": ["adam", "sgd"]},
                    {"name": "momentum", "type": "float", "low": 0.1, "high": 0.99},
                ],
            }
        )
    )
    ok("space", "import", str(space), "--name", "my_mlp")
    path = write_runs(tmp_path / "runs.csv", runs_frame(n_tasks=2, n_runs=3))
    out = ok("ingest", str(path))  # no momentum column: not my_mlp's names
    auto = json.loads(ok("ingest", str(path), "--json", "--dry-run"))["space"]
    assert f"into space {auto}" in out
    code, out = invoke("retrain", "--space", "my_mlp", "--metric", "acc", "--maximize")
    assert code == 1 and "--space my_mlp" in out
    out = ok("ingest", str(path), "--space", "my_mlp")
    assert f"moved 6 runs from space {auto} to space my_mlp" in out
    assert "nothing new" not in out
    runs = json.loads(ok("runs", "list", "--space", "my_mlp", "--json"))
    assert len(runs) == 6
    names = {r["name"] for r in json.loads(ok("space", "list", "--json"))}
    assert auto not in names and "my_mlp" in names
    # the imported space is kept as the user wrote it
    with DuckDBStore(db_path, read_only=True) as store:
        assert [p.name for p in load_space("my_mlp", store).params][-1] == "momentum"


def test_runs_of_a_named_space_stay_there(db_path: Path, tmp_path: Path) -> None:
    path = write_runs(tmp_path / "runs.csv", runs_frame(n_tasks=2, n_runs=3))
    ok("ingest", str(path), "--space", "first")
    out = ok("ingest", str(path), "--space", "second")
    assert "nothing new" in out and "already stored in space first" in out
    assert len(json.loads(ok("runs", "list", "--space", "first", "--json"))) == 6


# -- inferring a space ------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_ingest_space_infers_an_unknown_space(db_path: Path, tmp_path: Path, suffix: str) -> None:
    frame = xgb_runs()
    path = write_runs(tmp_path / f"runs{suffix}", frame)
    out = ok("ingest", str(path), "--space", "xgb")
    assert "into space xgb" in out
    assert "registered space xgb, inferred from 72 runs" in out
    assert "recommender space import FILE --name xgb" in out
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.startswith("  ")}
    assert "categorical" in lines["booster"] and "gblinear, gbtree" in lines["booster"]
    assert "when booster is gbtree" in lines["max_depth"]
    assert "log" in lines["eta"] and "log" not in lines["subsample"]
    with DuckDBStore(db_path, read_only=True) as store:
        sp = load_space("xgb", store)
    p = {q.name: q for q in sp.params}
    assert p["booster"].type == "categorical" and set(p["booster"].choices) == {
        "gbtree",
        "gblinear",
    }
    assert p["max_depth"].type == "int" and p["max_depth"].condition == ("booster", ("gbtree",))
    assert (p["max_depth"].low, p["max_depth"].high) == (
        frame["param.max_depth"].min(),
        frame["param.max_depth"].max(),
    )  # small ints: two significant digits keep them exact
    eta = frame["param.eta"]
    assert p["eta"].type == "float" and p["eta"].log
    assert p["eta"].low <= eta.min() and p["eta"].low == pytest.approx(eta.min(), rel=0.1)
    assert p["eta"].high >= eta.max() and p["eta"].high == pytest.approx(eta.max(), rel=0.1)
    assert p["subsample"].type == "float" and not p["subsample"].log
    assert p["n_rounds"].type == "int"
    assert p["shrink"].type == "categorical" and set(p["shrink"].choices) == {False, True}
    assert sp.names.index("booster") < sp.names.index("max_depth")
    listed = {r["name"]: r for r in json.loads(ok("space", "list", "--json"))}
    assert listed["xgb"]["runs"] == 72 and listed["xgb"]["source"] == "inferred from runs"


def test_an_inferred_space_grows_with_later_runs_an_imported_one_does_not(
    db_path: Path, tmp_path: Path
) -> None:
    ok("ingest", str(write_runs(tmp_path / "a.csv", xgb_runs(seed=0))), "--space", "xgb")
    wider = xgb_runs(seed=1)
    wider.loc[0, "param.n_rounds"] = 5000
    out = ok("ingest", str(write_runs(tmp_path / "b.csv", wider)), "--space", "xgb")
    assert "updated space xgb, inferred from 144 runs" in out
    with DuckDBStore(db_path, read_only=True) as store:
        assert load_space("xgb", store).param("n_rounds").high == 5000
    exported = tmp_path / "xgb.json"
    with DuckDBStore(db_path, read_only=True) as store:
        definition = load_space("xgb", store).to_json()
    exported.write_text(json.dumps(definition))
    ok("space", "import", str(exported), "--name", "xgb")
    more = xgb_runs(seed=2)
    more.loc[0, "param.n_rounds"] = 9000
    out = ok("ingest", str(write_runs(tmp_path / "c.csv", more)), "--space", "xgb")
    assert "inferred from" not in out
    with DuckDBStore(db_path, read_only=True) as store:
        assert load_space("xgb", store).param("n_rounds").high == 5000


def test_dry_run_registers_nothing(db_path: Path, tmp_path: Path) -> None:
    path = write_runs(tmp_path / "runs.csv", xgb_runs())
    out = ok("ingest", str(path), "--space", "xgb", "--dry-run")
    assert "would ingest 72 runs" in out and "into space xgb" in out
    names = {r["name"] for r in json.loads(ok("space", "list", "--json"))}
    assert "xgb" not in names


def test_ingest_into_a_builtin_space_infers_nothing(db_path: Path, tmp_path: Path) -> None:
    frame = runs_frame(n_tasks=1, n_runs=3).rename(columns={"param.lr": "param.learning_rate"})
    out = ok("ingest", str(write_runs(tmp_path / "r.csv", frame)), "--space", "tabular_mlp")
    assert "into space tabular_mlp" in out and "inferred from" not in out


def test_a_space_that_cannot_be_inferred_stores_nothing(db_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "runs.csv"
    path.write_text("task,param.x,metric.acc\na,,0.5\nb,,0.7\n")
    code, out = invoke("ingest", str(path), "--space", "empty")
    assert code == 1 and out.startswith("Error: ") and out.count("\n") == 1
    assert "no parameter with a value" in out and "import the space" in out
    assert json.loads(ok("store", "info", "--json"))["runs"] == 0
