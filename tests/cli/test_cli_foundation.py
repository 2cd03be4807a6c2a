from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from recommender.cli import _COMMANDS, cli
from tests.factories import runs_frame, write_runs


def invoke(*args: str) -> object:
    return CliRunner().invoke(cli, list(args))


def test_help_does_not_import_torch_or_xgboost() -> None:
    code = (
        "import sys; from recommender.cli import main; sys.argv=['recommender','--help'];\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('LOADED', [m for m in ('torch', 'xgboost', 'sklearn') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "LOADED []" in out.stdout
    for name in _COMMANDS:
        assert name in out.stdout


def test_every_command_has_help_and_is_in_readme() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for name in _COMMANDS:
        result = invoke(name, "--help")
        assert result.exit_code == 0, result.output
        assert "Usage:" in result.output
        assert f"recommender {name}" in readme, f"README does not mention `recommender {name}`"


def test_ingest_then_list(db_path: Path, tmp_path: Path) -> None:
    path = write_runs(tmp_path / "runs.csv", runs_frame(n_tasks=2, n_runs=3))
    result = invoke("ingest", str(path), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["accepted"], report["duplicates"], report["rejected"]) == (6, 0, 0)
    assert isinstance(report["batch"], int)
    again = invoke("ingest", str(path))
    assert again.exit_code == 0
    assert "nothing new" in again.output
    tasks = json.loads(invoke("tasks", "list", "--json").output)
    assert [t["name"] for t in tasks] == ["task0", "task1"]
    assert {(t["modality"], t["problem_type"]) for t in tasks} == {(None, None)}
    listed = invoke("tasks", "list").output.splitlines()
    assert listed[2].split()[:3] == ["task0", "unknown", "unknown"]  # not "-"
    runs = json.loads(invoke("runs", "list", "--task", "task1", "--json").output)
    assert len(runs) == 3 and all(r["task"] == "task1" for r in runs)
    info = json.loads(invoke("store", "info", "--json").output)
    assert (info["tasks"], info["runs"]) == (2, 6)
    assert info["schema_version"] >= 2 and info["path"] == str(db_path)


def test_db_option_overrides_env(db_path: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.duckdb"
    path = write_runs(tmp_path / "runs.csv", runs_frame(n_tasks=1, n_runs=2))
    assert invoke("ingest", str(path), "--db", str(other)).exit_code == 0
    assert json.loads(invoke("store", "info", "--json", "--db", str(other)).output)["runs"] == 2
    assert json.loads(invoke("store", "info", "--json").output)["runs"] == 0


def test_bad_input_is_one_line_and_exit_1(db_path: Path, tmp_path: Path) -> None:
    result = invoke("ingest", str(tmp_path / "nope.csv"))
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1
    assert "not found" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("dataset,x\n1,2\n")
    result = invoke("ingest", str(bad))
    assert result.exit_code == 1 and "expected a 'task' column" in result.output
    assert "Traceback" not in result.output


def test_strict_and_dry_run(db_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "runs.csv"
    path.write_text("task,param.x,metric.acc\na,1,0.5\na,2,oops\n")
    result = invoke("ingest", str(path), "--strict")
    assert result.exit_code == 1 and "--strict refused" in result.output
    result = invoke("ingest", str(path), "--dry-run", "--json")
    assert result.exit_code == 0 and json.loads(result.output)["rejected"] == 1
    assert json.loads(invoke("store", "info", "--json").output)["runs"] == 0
    result = invoke("ingest", str(path))
    assert result.exit_code == 0 and "1 rejected" in result.output
    rejected = json.loads(invoke("store", "rejected", "--json").output)
    assert rejected[0]["reason"] == 'metric "acc": expected a number, got "oops"'


def test_store_export_and_upgrade(db_path: Path, tmp_path: Path) -> None:
    path = write_runs(tmp_path / "runs.csv", runs_frame(n_tasks=1, n_runs=2))
    invoke("ingest", str(path))
    result = invoke("store", "export", str(tmp_path / "out"))
    assert result.exit_code == 0
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "out" / "runs.parquet").num_rows == 2
    result = invoke("store", "upgrade")
    assert result.exit_code == 0 and "already at schema" in result.output


def test_store_upgrade_migrates_an_old_store(db_path: Path) -> None:
    import duckdb

    from recommender.store import DuckDBStore
    from recommender.store.migrations import LATEST_VERSION

    old = DuckDBStore.__new__(DuckDBStore)  # a store as version 1 of the code left it
    old.con, old.path = duckdb.connect(str(db_path)), str(db_path)
    old.read_only, old._depth = False, 0
    assert old.migrate(target=1) == [1]
    old.con.close()
    result = invoke("store", "info")
    assert result.exit_code == 1 and "run: recommender store upgrade" in result.output
    result = invoke("store", "upgrade")
    assert result.exit_code == 0, result.output
    assert f"upgraded schema v1 -> v{LATEST_VERSION}" in result.output
    assert json.loads(invoke("store", "info", "--json").output)["schema_version"] == LATEST_VERSION
