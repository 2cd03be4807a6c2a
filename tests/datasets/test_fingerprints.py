"""A task is its name and its data's fingerprint: two tables sharing a file name never share
a task, in ``describe --save``, ``validate`` and ``tune`` alike; stores made before the
fingerprint upgrade in place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner, Result

from recommender.cli import cli
from recommender.datasets.fingerprints import data_fingerprint
from recommender.datasets.loading import load_dataset
from recommender.store import DuckDBStore
from recommender.store.migrations import LATEST_VERSION
from tests.factories import binary_table


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def state(db: Path) -> dict[str, Any]:
    with DuckDBStore(db, read_only=True) as store:
        return {
            "tasks": store.con.execute("SELECT task, fingerprint FROM tasks ORDER BY 1").fetchall(),
            "metafeatures": {  # NaN as None, so two reads compare equal
                task: {k: None if v != v else v for k, v in features.items()}
                for task, features in store.metafeatures().items()
            },
            "runs": store.con.execute("SELECT count(*) FROM runs").fetchall(),
        }


def test_the_fingerprint_is_of_the_content_not_the_path(tmp_path: Path) -> None:
    a = binary_table(tmp_path / "a", "train", seed=0)
    b = binary_table(tmp_path / "b", "train", seed=0)
    c = binary_table(tmp_path / "c", "train", seed=1)
    prints = [data_fingerprint(p, load_dataset(p, "label")) for p in (a, b, c)]
    assert prints[0] == prints[1] != prints[2]
    sample = load_dataset(a, "label", max_rows=10)
    assert data_fingerprint(a, sample) == prints[0]  # a subsample is of the same data
    assert data_fingerprint(a, load_dataset(a, "a")) != prints[0]  # another target


def test_describe_save_gives_another_table_of_the_same_name_its_own_task(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    d1, d2 = binary_table(tmp_path / "d1", "train", 0), binary_table(tmp_path / "d2", "train", 1)
    assert run("describe", str(d1), "--save", "--db", str(db)).exit_code == 0
    first = state(db)
    second = run("describe", str(d2), "--save", "--db", str(db))
    assert second.exit_code == 0, second.output
    notes = [ln for ln in second.stderr.splitlines() if ln.startswith("note: task")]
    assert len(notes) == 1 and "this data is task 'train-" in notes[0]
    task = notes[0].rsplit("'", 2)[-2]
    after = state(db)
    assert after["metafeatures"]["train"] == first["metafeatures"]["train"]
    assert [t for t, _ in after["tasks"]] == ["train", task]
    again = run("describe", str(d1), "--save", "--db", str(db))  # the same data: same task
    assert again.exit_code == 0 and "note:" not in again.stderr
    assert state(db)["tasks"] == after["tasks"]


def test_describe_save_refuses_other_data_under_a_task_named_explicitly(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    d1, d2 = binary_table(tmp_path / "d1", "train", 0), binary_table(tmp_path / "d2", "train", 1)
    assert run("describe", str(d1), "--save", "--task", "t", "--db", str(db)).exit_code == 0
    before = state(db)
    result = run("describe", str(d2), "--save", "--task", "t", "--db", str(db))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "Error: task 't': expected the data it was made from (fingerprint "
    ), lines
    assert lines[0].endswith("pass another task name")
    assert state(db) == before


def test_validate_gives_another_table_of_the_same_name_its_own_task(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    d1, d2 = binary_table(tmp_path / "d1", "train", 0), binary_table(tmp_path / "d2", "train", 1)
    args = ["--target", "label", "--top-k", "0", "--epochs", "1", "--device", "cpu"]
    assert run("validate", "--dataset", str(d1), *args, "--db", str(db)).exit_code == 0
    first = state(db)
    second = run("validate", "--dataset", str(d2), *args, "--db", str(db))
    assert second.exit_code == 0, second.output
    assert "this data is task 'train-" in second.stderr
    after = state(db)
    assert after["metafeatures"]["train"] == first["metafeatures"]["train"]
    with DuckDBStore(db, read_only=True) as store:
        per_task = dict(store.con.execute("SELECT task, count(*) FROM runs GROUP BY 1").fetchall())
    assert len(per_task) == 2 and per_task["train"] == first["runs"][0][0]


def _store_of_schema_3(path: Path) -> None:
    """A store as the code before the fingerprint wrote it, with two tasks."""
    old = DuckDBStore.__new__(DuckDBStore)
    con = duckdb.connect(str(path))
    old.con, old.path, old.read_only, old._depth = con, str(path), False, 0
    assert old.migrate(target=3) == [1, 2, 3]
    con.execute("INSERT INTO tasks (task, source) VALUES ('logged', 'runs.csv')")
    con.execute("INSERT INTO tasks (task, source) VALUES ('described', 'describe')")
    con.execute("INSERT INTO metafeatures VALUES ('described', 'NumberOfInstances', 7, 'x')")
    con.close()


def test_a_store_from_before_the_fingerprint_upgrades_in_place(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    _store_of_schema_3(db)
    with DuckDBStore(db) as store:
        assert store.schema_version() == LATEST_VERSION == 4
        assert len(store.store_id()) == 36
        missing = store.con.execute("SELECT count(*) FROM tasks WHERE fingerprint IS NULL")
        assert missing.fetchall() == [(2,)]
    logged = run("describe", str(binary_table(tmp_path, "logged", 0)), "--save", "--db", str(db))
    assert logged.exit_code == 0 and "note:" not in logged.stderr  # runs from logs: claimed
    described = binary_table(tmp_path, "described", 0)
    result = run("describe", str(described), "--save", "--db", str(db))
    assert result.exit_code == 0 and "this data is task 'described-" in result.stderr
    tasks = dict(state(db)["tasks"])
    assert tasks["logged"] is not None and tasks["described"] is None  # left as it was
    assert state(db)["metafeatures"]["described"] == {"NumberOfInstances": 7.0}


@pytest.mark.parametrize("explicit", [True, False])
def test_task_for_in_a_store(explicit: bool) -> None:
    with DuckDBStore() as store:
        assert store.task_for("t", "ab" * 16, explicit=explicit) == "t"
        store.add_task("t", fingerprint="ab" * 16)
        assert store.task_for("t", "ab" * 16, explicit=explicit) == "t"
        if explicit:
            with pytest.raises(ValueError, match="pass another task name"):
                store.task_for("t", "cd" * 16, explicit=True)
        else:
            assert store.task_for("t", "cd" * 16) == "t-cdcdcdcd"
