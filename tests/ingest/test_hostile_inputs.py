"""Hostile inputs from the command line: each is ingested exactly or refused with one line.

Every case runs ``recommender ingest`` (or ``describe``) in-process against a store that
already holds a run, and asserts the exit code, the one line and, on refusal, a store
unchanged table by table (see ``tests/fuzz/helpers.py``).
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.fuzz.helpers import assert_clean, check_ingest, dump, invoke, workdir

RUNS = "task,param.lr,metric.acc\nt,0.1,0.5\nt,0.2,0.6\n"


def _params(work: Path, task: str = "t") -> list[dict[str, Any]]:
    con = duckdb.connect(str(work / "store.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT params FROM runs WHERE task = ? ORDER BY run_key", [task])
        return [json.loads(r[0]) for r in rows.fetchall()]
    finally:
        con.close()


def test_random_bytes_are_refused_with_one_line() -> None:
    with workdir() as work:
        path = work / "runs.csv"
        path.write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 400, dtype=np.uint8)))
        outcome = check_ingest(work, path, rows=None)
        assert outcome.refused
        assert "expected CSV text in utf-8" in outcome.message
        assert "--encoding" in outcome.message


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "utf-32"])
def test_a_byte_order_mark_names_the_encoding(encoding: str) -> None:
    with workdir() as work:
        path = work / "runs.csv"
        path.write_bytes(RUNS.encode(encoding))
        outcome = check_ingest(work, path, rows=2)
        assert outcome.report["accepted"] == 2
        assert sorted(p["lr"] for p in _params(work)) == [0.1, 0.2]


def test_latin1_is_refused_until_its_encoding_is_named() -> None:
    with workdir() as work:
        path = work / "runs.csv"
        path.write_bytes("task,param.opt,metric.acc\ncafé,crème,0.5\n".encode("latin-1"))
        outcome = check_ingest(work, path, rows=1)
        assert outcome.refused and "byte 0xe9" in outcome.message
        assert "--encoding" in outcome.message
        outcome = check_ingest(work, path, "--encoding", "latin-1", rows=1)
        assert outcome.report["accepted"] == 1
        assert _params(work, "café") == [{"opt": "crème"}]


def test_an_unknown_encoding_is_refused() -> None:
    with workdir() as work:
        path = work / "runs.csv"
        path.write_text(RUNS)
        outcome = check_ingest(work, path, "--encoding", "klingon", rows=2)
        assert outcome.refused and "unknown encoding 'klingon'" in outcome.message


@pytest.mark.parametrize("name", ["runs.csv", "runs.csv.gz", "runs.jsonl.gz"])
def test_gzip_files_are_read(name: str) -> None:
    text = RUNS
    if "jsonl" in name:
        text = '{"task": "t", "param.lr": 0.1, "metric.acc": 0.5}\n' * 2
        text = text.replace("0.1", "0.2", 1)
    with workdir() as work:
        path = work / name
        path.write_bytes(gzip.compress(text.encode()))
        outcome = check_ingest(work, path, rows=2)
        assert outcome.report["accepted"] == 2


def test_a_corrupt_gzip_stream_is_refused() -> None:
    with workdir() as work:
        path = work / "runs.csv.gz"
        path.write_bytes(gzip.compress(RUNS.encode())[:-12])
        outcome = check_ingest(work, path, rows=2)
        assert outcome.refused and "gzip" in outcome.message


def test_duplicate_column_names_are_refused_whole() -> None:
    with workdir() as work:
        path = work / "runs.csv"
        path.write_text("task,param.lr,param.lr,metric.acc\nt,1,2,0.5\n")
        outcome = check_ingest(work, path, rows=1)
        assert outcome.refused
        assert "expected unique column names, got 'param.lr' more than once" in outcome.message


def _big(work: Path, fmt: str) -> Path:
    if fmt == "csv":
        path = work / "runs.csv"
        path.write_text("task,param.n,metric.acc\nt,18446744073709551615,0.5\nt,1,0.4\n")
    elif fmt == "jsonl":
        path = work / "runs.jsonl"
        path.write_text(
            '{"task": "t", "param.n": 9300000000000000000, "metric.acc": 0.5}\n'
            '{"task": "t", "param.n": 1, "metric.acc": 0.4}\n'
        )
    else:
        path = work / "runs.parquet"
        n = pa.array([2**64 - 1, 1], pa.uint64())
        pq.write_table(pa.table({"task": ["t", "t"], "param.n": n, "metric.acc": [0.5, 0.4]}), path)
    return path


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_integers_beyond_int64_are_kept_as_floats(fmt: str) -> None:
    with workdir() as work:
        outcome = check_ingest(work, _big(work, fmt), rows=2)
        assert outcome.report["accepted"] == 2
        big = max(p["n"] for p in _params(work))
        assert big == pytest.approx(9.3e18 if fmt == "jsonl" else 2.0**64)


def test_parquet_of_every_arrow_type_is_ingested() -> None:
    import datetime as dt
    import decimal

    table = pa.table({
        "task": pa.array(["t", "t"]).dictionary_encode(),
        "param.half": pa.array(np.array([1.5, 2.5], dtype=np.float16)),
        "param.dec": pa.array([decimal.Decimal("1.25"), decimal.Decimal("2.50")]),
        "param.when": pa.array([dt.datetime(2020, 1, 1), dt.datetime(2021, 1, 1)]),
        "param.day": pa.array([dt.date(1, 1, 1), dt.date(9999, 12, 31)]),
        "param.list": pa.array([[1, 2], [3]]),
        "param.struct": pa.array([{"a": 1}, {"a": 2}]),
        "param.text": pa.array(["x", "y"], pa.large_string()),
        "param.flag": pa.array([True, False]),
        "param.none": pa.nulls(2),
        "metric.acc": pa.array([0.5, 0.6], pa.float16()),
    })  # fmt: skip
    with workdir() as work:
        path = work / "runs.parquet"
        pq.write_table(table, path)
        outcome = check_ingest(work, path, rows=2)
        assert (outcome.report["accepted"], outcome.report["rejected"]) == (2, 0)
        first = min(_params(work), key=lambda p: p["half"])
        assert first["half"] == 1.5 and first["dec"] == 1.25 and first["flag"] is True
        assert first["day"] == "0001-01-01" and first["list"] == "[1, 2]"


def test_a_typo_in_a_sqlite_url_creates_no_file(tmp_path: Path) -> None:
    with workdir() as work:
        before = dump(work / "store.duckdb")
        cwd = os.getcwd()
        os.chdir(tmp_path)
        try:
            for fmt in ("mlflow", "optuna"):
                result = invoke(["ingest", "sqlite:///mlfow.db", "--format", fmt,
                                 "--db", str(work / "store.duckdb")])  # fmt: skip
                assert_clean(result)
                assert result.exit_code == 1 and "not found: no file mlfow.db" in result.output
        finally:
            os.chdir(cwd)
        assert not (tmp_path / "mlfow.db").exists()
        assert dump(work / "store.duckdb") == before


def test_describe_a_date_far_outside_pandas_range() -> None:
    with workdir() as work:
        path = work / "data.parquet"
        days = pa.array([2_000_000_000, -3, 5, 9, 11, 20], pa.int32()).cast(pa.date32())
        pq.write_table(pa.table({"when": days, "x": [1.0, 2, 3, 4, 5, 6],
                                 "target": [0, 1, 0, 1, 0, 1]}), path)  # fmt: skip
        result = invoke(["describe", str(path), "--json", "--time-budget", "0"])
        assert_clean(result)
        assert result.exit_code == 0, result.output
        values, _ = json.JSONDecoder().raw_decode(result.output[result.output.index("{") :])
        assert values["NumberOfFeatures"] == 3  # OpenML counts the target too


def _optuna_storage(path: Path) -> str:
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = f"sqlite:///{path}"
    a = optuna.create_study(study_name="a", storage=url, direction="maximize")
    a.optimize(lambda t: t.suggest_float("lr", 1e-3, 1.0) + (t.suggest_categorical(
        "mixed", [1, "a", 2.5, None, True]) is None), n_trials=8)  # fmt: skip
    b = optuna.create_study(study_name="b", storage=url)
    b.optimize(lambda t: float(t.suggest_categorical("lr", ["low", "high"]) == "low")
               + t.suggest_int("depth", 1, 4), n_trials=5)  # fmt: skip
    return url


def test_each_optuna_study_keeps_its_own_parameters_and_types() -> None:
    with workdir() as work:
        url = _optuna_storage(work / "optuna.db")
        outcome = check_ingest(work, url, rows=13)
        assert (outcome.report["accepted"], outcome.report["rejected"]) == (13, 0)
        con = duckdb.connect(str(work / "store.duckdb"), read_only=True)
        try:
            spaces = dict(con.execute(
                "SELECT task, list(DISTINCT space) FROM runs WHERE task IN ('a', 'b') GROUP BY 1"
            ).fetchall())  # fmt: skip
            types = dict(con.execute(
                "SELECT space || '.' || name, type FROM param_types WHERE space IN ('a', 'b')"
            ).fetchall())  # fmt: skip
        finally:
            con.close()
        assert spaces == {"a": ["a"], "b": ["b"]}
        assert types == {"a.lr": "float", "a.mixed": "categorical", "b.lr": "categorical",
                         "b.depth": "int"}  # fmt: skip
        assert all(set(p) == {"lr", "depth"} for p in _params(work, "b"))
        assert all(set(p) <= {"lr", "mixed"} and "lr" in p for p in _params(work, "a"))
        again = check_ingest(work, url, rows=13)
        assert (again.report["accepted"], again.report["duplicates"]) == (0, 13)


def _failed_study(url: str, name: str = "failed") -> None:
    import optuna

    study = optuna.create_study(study_name=name, storage=url)
    for _ in range(2):
        trial = study.ask()
        trial.suggest_float("lr", 1e-3, 1.0)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)


def test_an_optuna_study_with_only_failed_trials_is_skipped_with_a_note() -> None:
    with workdir() as work:
        url = _optuna_storage(work / "optuna.db")
        _failed_study(url)
        result = invoke(["ingest", url, "--db", str(work / "store.duckdb"), "--json"])
        assert_clean(result)
        assert result.exit_code == 0
        note = "note: study 'failed' skipped: none of its 2 trial(s) finished with a value"
        assert result.stderr.strip().splitlines() == [note]
        report = json.loads(result.stdout)
        assert (report["accepted"], report["rejected"], report["notes"]) == (13, 0, [note])


def test_an_optuna_storage_with_only_failed_studies_is_refused() -> None:
    pytest.importorskip("optuna")
    with workdir() as work:
        url = f"sqlite:///{work / 'optuna.db'}"
        _failed_study(url)
        before = dump(work / "store.duckdb")
        result = invoke(["ingest", url, "--db", str(work / "store.duckdb")])
        assert_clean(result)
        assert result.exit_code == 1
        assert result.stderr.strip() == (
            f"Error: {url}: expected a study with a trial that finished with a value, got only "
            "failed or unfinished trials (studies failed); nothing to ingest"
        )
        assert dump(work / "store.duckdb") == before
