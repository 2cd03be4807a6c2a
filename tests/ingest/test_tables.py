from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from recommender.errors import IngestError
from recommender.ingest import detect_format, ingest
from recommender.store import DuckDBStore
from tests.factories import runs_frame, write_runs


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_ingest_each_table_format(store: DuckDBStore, tmp_path: Path, suffix: str) -> None:
    path = write_runs(tmp_path / f"runs{suffix}", runs_frame(n_tasks=2, n_runs=5))
    report = ingest(store, path)
    assert (report.accepted, report.duplicates, report.rejected) == (10, 0, 0)
    runs = store.runs("task0")
    assert len(runs) == 5
    first = runs[0]
    assert set(first["params"]) == {"lr", "layers", "opt"}
    assert isinstance(first["params"]["layers"], int)
    assert set(first["metrics"]) == {"acc", "loss"}
    types = dict(store.con.execute("SELECT name, type FROM param_types").fetchall())
    assert types == {"lr": "float", "layers": "int", "opt": "categorical"}


def test_ingest_twice_adds_nothing(store: DuckDBStore, tmp_path: Path) -> None:
    path = write_runs(tmp_path / "runs.csv", runs_frame())
    first = ingest(store, path)
    again = ingest(store, path)
    assert first.accepted == 60
    assert (again.accepted, again.duplicates, again.batch) == (0, 60, None)
    assert store.info()["runs"] == 60 and store.info()["batches"] == 1


def test_rows_without_run_id_are_keyed_by_content(store: DuckDBStore, tmp_path: Path) -> None:
    frame = runs_frame(n_tasks=1, n_runs=4).drop(columns=["run_id"])
    path = write_runs(tmp_path / "runs.parquet", frame)
    assert ingest(store, path).accepted == 4
    assert ingest(store, path).duplicates == 4


def test_bad_rows_are_quarantined_with_reasons(store: DuckDBStore, tmp_path: Path) -> None:
    path = tmp_path / "runs.csv"
    path.write_text(
        "task,param.layers,metric.acc,status\n"
        "a,2,0.5,ok\n"
        "a,3,0.6,ok\n"
        "a,large,0.7,ok\n"
        ",2,0.5,ok\n"
        "a,2,nan,ok\n"
        "a,2,0.5,exploded\n"
        "a,2\n"
    )
    report = ingest(store, path)
    assert (report.accepted, report.rejected) == (2, 5)
    reasons = {r for r, _ in report.reasons}
    assert 'param "layers": expected int, got "large"' in reasons
    assert "missing task" in reasons
    assert any(r.startswith('metric "acc": expected a finite number') for r in reasons)
    assert any(r.startswith('unknown status "exploded"') for r in reasons)
    assert any(r.startswith("malformed line") for r in reasons)
    stored = store.con.execute("SELECT line, raw, reason FROM rejected ORDER BY line").fetchall()
    assert len(stored) == 5
    large = [row for row in stored if "large" in row[2]][0]
    assert large[0] == 4 and json.loads(large[1])["param.layers"] == "large"


def test_earlier_types_of_a_space_win(store: DuckDBStore, tmp_path: Path) -> None:
    first = tmp_path / "a.csv"
    first.write_text("task,param.units,metric.acc\na,32,0.5\na,64,0.6\n")
    ingest(store, first, space="mlp")
    second = tmp_path / "b.csv"
    second.write_text("task,param.units,metric.acc\nb,wide,0.5\n")
    report = ingest(store, second, space="mlp")
    assert report.rejected == 1
    assert report.reasons[0][0] == 'param "units": expected int, got "wide"'


def test_strict_refuses_whole_file(store: DuckDBStore, tmp_path: Path) -> None:
    path = tmp_path / "runs.csv"
    path.write_text("task,param.x,metric.acc\na,1,0.5\na,2,oops\n")
    with pytest.raises(IngestError, match="strict=True refused the whole file"):
        ingest(store, path, strict=True)
    assert store.info()["runs"] == 0 and store.info()["rejected"] == 0


def test_dry_run_writes_nothing(store: DuckDBStore, tmp_path: Path) -> None:
    path = write_runs(tmp_path / "runs.csv", runs_frame(n_tasks=1, n_runs=3))
    report = ingest(store, path, dry_run=True)
    assert report.accepted == 3 and report.dry_run
    assert store.info()["runs"] == 0 and store.info()["batches"] == 0


def test_mapping_file_and_constant_task(store: DuckDBStore, tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"trial": [1, 2], "learning_rate": [0.1, 0.01], "val_acc": [0.8, 0.9], "ep": [5, 5]}
    )
    path = tmp_path / "mine.csv"
    frame.to_csv(path, index=False)
    mapping = tmp_path / "map.json"
    mapping.write_text(
        json.dumps(
            {
                "task": {"value": "iris"},
                "run_id": "trial",
                "fidelity": "ep",
                "params": {"lr": "learning_rate"},
                "metrics": {"acc": "val_acc"},
            }
        )
    )
    report = ingest(store, path, mapping=mapping)
    assert report.accepted == 2
    runs = store.runs("iris")
    assert sorted(r["params"]["lr"] for r in runs) == [0.01, 0.1]
    assert {r["fidelity"] for r in runs} == {5.0}


def test_missing_columns_are_one_clear_error(store: DuckDBStore, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("dataset,lr,acc\na,1,2\n")
    with pytest.raises(IngestError, match="expected a 'task' column, got columns"):
        ingest(store, path)
    with pytest.raises(IngestError, match="metric"):
        ingest(store, path, task_column="dataset")


def test_metafeature_table(store: DuckDBStore, tmp_path: Path) -> None:
    path = tmp_path / "mf.csv"
    path.write_text(
        "task_id,dataset_name,NumberOfInstances,ClassEntropy\n"
        "1,iris,150,1.58\n2,wine,178,\n3,bad,many,1.0\n"
    )
    report = ingest(store, path, kind="metafeatures", task_column="task_id")
    assert (report.accepted, report.rejected) == (2, 1)
    mf = store.metafeatures()
    assert mf["1"] == {"ClassEntropy": 1.58, "NumberOfInstances": 150.0}
    assert mf["2"]["NumberOfInstances"] == 178.0
    again = ingest(store, path, kind="metafeatures", task_column="task_id")
    assert again.accepted == 0 and again.duplicates == 2


def test_detect_format(tmp_path: Path) -> None:
    assert detect_format(str(write_runs(tmp_path / "r.parquet", runs_frame(1, 1)))) == "parquet"
    with pytest.raises(IngestError, match="not found"):
        detect_format(str(tmp_path / "missing.csv"))
    odd = tmp_path / "r.xyz"
    odd.write_text("x")
    with pytest.raises(IngestError, match="pass format="):
        detect_format(str(odd))


def test_same_run_twice_in_one_file_is_stored_once(store: DuckDBStore, tmp_path: Path) -> None:
    path = tmp_path / "runs.csv"
    path.write_text("task,run_id,param.x,metric.acc\na,1,1,0.5\na,1,1,0.6\na,2,1,0.7\n")
    report = ingest(store, path)
    assert (report.accepted, report.duplicates) == (2, 1)
    values = sorted(r["metrics"]["acc"] for r in store.runs("a"))
    assert values == [0.5, 0.7]  # the first line of a repeated run wins


def test_failed_runs_keep_their_error(store: DuckDBStore, tmp_path: Path) -> None:
    path = tmp_path / "runs.csv"
    path.write_text(
        "task,param.lr,metric.acc,status,error\na,0.1,0.5,ok,\na,9.0,,failed,loss was NaN\n"
    )
    assert ingest(store, path).accepted == 2
    errors = sorted((r["status"], r["error"]) for r in store.runs("a"))
    assert errors == [("failed", "loss was NaN"), ("ok", None)]


def test_a_registered_reader_is_a_format_choice(
    db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from recommender import ingest as ingest_module
    from recommender.cli import cli

    monkeypatch.setattr(ingest_module, "READERS", dict(ingest_module.READERS))
    read_csv = ingest_module.READERS["csv"]

    def semicolons(store: DuckDBStore, src: str, fmt: str, options: ingest_module.Options) -> Any:
        comma = tmp_path / "converted.csv"
        comma.write_text(Path(src).read_text().replace(";", ","))
        return read_csv(store, str(comma), "csv", options)

    source = tmp_path / "runs.ssv"
    source.write_text(write_runs(tmp_path / "r.csv", runs_frame(n_tasks=2, n_runs=3))
                      .read_text().replace(",", ";"))  # fmt: skip
    args = ["ingest", str(source), "--format", "ssv"]
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 2 and "'ssv' is not one of" in refused.output
    ingest_module.register_reader("ssv", semicolons)
    assert "ssv" in CliRunner().invoke(cli, ["ingest", "--help"]).output
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 0, done.output
    assert "ingested 6 runs" in done.output
