"""The store and the model registry under hostile use, from the command line.

Each case runs the CLI and checks the exit code, the one line it prints (what was
expected, what came, what to do), that no traceback escapes, and that the store is
as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from recommender.cli import cli
from recommender.knowledge.registry import list_models, train_and_register
from recommender.store import DuckDBStore
from tests.surrogate.synthetic import FAST, fill_store, toy_metafeatures

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def one_line(result: Result, *needles: str) -> str:
    """The single error line of a refused command; checks exit code and no traceback."""
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def fingerprint(path: Path) -> str:
    """The bytes of a store file, plus its models folder listing (absent: '-')."""
    h = hashlib.sha256(path.read_bytes() if path.exists() else b"-")
    models = path.parent / "models"
    for f in sorted(models.rglob("*")) if models.exists() else []:
        h.update(str(f.relative_to(models)).encode())
    return h.hexdigest()


def toy_store(path: Path, n_models: int = 1) -> None:
    """A store file with the toy runs and ``n_models`` promoted models."""
    with DuckDBStore(path) as store:
        fill_store(store)
        for i in range(n_models):
            train_and_register(
                store, space="toy", metric="acc", maximize=True, params=FAST, force=i > 0
            )


def recommend_toy(db: Path, tmp: Path) -> Result:
    mf = tmp / "mf.json"
    mf.write_text(json.dumps(toy_metafeatures(3000.0)))
    return run("recommend", "--metafeatures", str(mf), "--space", "toy", "--db", str(db), "--json")


# -- where model files live ------------------------------------------------------------


def test_relative_db_works_from_any_directory(tmp_path: Path, monkeypatch) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    monkeypatch.chdir(a)
    toy_store(Path("rel.duckdb"))
    [row] = DuckDBStore(a / "rel.duckdb", read_only=True).models()
    assert row["artifact"] == "models/rel.duckdb/1"  # relative to the store's folder
    monkeypatch.chdir(b)
    result = recommend_toy(a / "rel.duckdb", b)
    assert result.exit_code == 0, result.output
    assert "missing or corrupt" not in result.stderr
    assert len(json.loads(result.stdout)["recommendations"]) >= 1


def test_store_moved_with_its_models_still_works(tmp_path: Path) -> None:
    toy_store(tmp_path / "one" / "s.duckdb")
    shutil.move(tmp_path / "one", tmp_path / "two")
    result = recommend_toy(tmp_path / "two" / "s.duckdb", tmp_path)
    assert result.exit_code == 0 and "missing or corrupt" not in result.stderr, result.output


def test_old_relative_artifact_names_stay_readable(tmp_path: Path, monkeypatch) -> None:
    """A store written before: ``models/<stem>/<id>`` relative to where it was used."""
    db = tmp_path / "old.duckdb"
    toy_store(db)
    shutil.move(tmp_path / "models" / "old.duckdb", tmp_path / "models" / "old")
    with DuckDBStore(db) as store:
        store.con.execute("UPDATE models SET artifact = 'models/old/1'")
    monkeypatch.chdir(tmp_path.parent)
    result = recommend_toy(db, tmp_path)
    assert result.exit_code == 0 and "missing or corrupt" not in result.stderr, result.output


def test_two_stores_with_one_stem_keep_their_own_models(tmp_path: Path) -> None:
    toy_store(tmp_path / "rA.duckdb")
    toy_store(tmp_path / "rA.db", n_models=2)  # retrains: must not touch rA.duckdb's model
    assert (tmp_path / "models" / "rA.duckdb" / "1").is_dir()
    assert (tmp_path / "models" / "rA.db" / "2").is_dir()
    for db in ("rA.duckdb", "rA.db"):
        result = recommend_toy(tmp_path / db, tmp_path)
        assert result.exit_code == 0 and "missing or corrupt" not in result.stderr, result.output


# -- damaged files -------------------------------------------------------------------------


def _runs_csv(path: Path, n: int = 4000) -> Path:
    lines = ["task,param.lr,param.opt,metric.acc"]
    lines += [f"t{i % 40},{(i + 1) / n},{'ab'[i % 2]},{(i * 7) % 100 / 100}" for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _damaged_copies(tmp_path: Path) -> list[Path]:
    """Copies of one store: truncated in half, and with a block of each table overwritten."""
    db = tmp_path / "good.duckdb"
    assert run("ingest", str(_runs_csv(tmp_path / "runs.csv")), "--db", str(db)).exit_code == 0
    data, out = db.read_bytes(), []
    truncated = tmp_path / "truncated.duckdb"
    truncated.write_bytes(data[: len(data) // 2])
    out.append(truncated)
    block, header = 262144, 3 * 4096
    for b in range((len(data) - header) // block):
        copy = tmp_path / f"block{b}.duckdb"
        at = header + b * block + 100
        copy.write_bytes(data[:at] + b"\xff" * 1000 + data[at + 1000 :])
        out.append(copy)
    return out


@pytest.mark.parametrize(
    "command",
    [
        ["store", "info"],
        ["runs", "list"],
        ["tasks", "list"],
        ["store", "export", "{tmp}/export"],
        ["ingest", "{tmp}/runs.csv"],
        ["models", "list"],
        ["store", "rejected"],
    ],
)
def test_damaged_store_is_named_with_the_way_out(tmp_path: Path, command: list[str]) -> None:
    refused = 0
    for db in _damaged_copies(tmp_path):
        before = fingerprint(db)
        args = [c.replace("{tmp}", str(tmp_path)) for c in command]
        result = run(*args, "--db", str(db))
        if result.exit_code == 0:
            continue  # this command did not read the damaged part
        one_line(result, f"store {db} is damaged or truncated", "store export", "--db")
        assert fingerprint(db) == before
        refused += 1
    assert refused >= 1  # the truncated copy at least


def test_truncated_store_is_refused_at_open_by_every_command(tmp_path: Path) -> None:
    db = _damaged_copies(tmp_path)[0]
    for command in (["store", "info"], ["runs", "list"], ["ingest", str(tmp_path / "runs.csv")]):
        one_line(run(*command, "--db", str(db)), "damaged or truncated")


def test_corrupt_model_whose_checksum_matches_falls_back(tmp_path: Path) -> None:
    from recommender.store.artifacts import checksum

    db = tmp_path / "s.duckdb"
    toy_store(db, n_models=2)
    art = tmp_path / "models" / "s.duckdb" / "2"
    (art / "memory.safetensors").write_bytes(b"\x00" * 64)  # damaged before it was recorded
    with DuckDBStore(db) as store:
        store.con.execute("UPDATE models SET checksum = ? WHERE model_id = 2", [checksum(art)])
    result = recommend_toy(db, tmp_path)
    assert result.exit_code == 0, result.output
    notes = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(notes) == 1 and notes[0].startswith("note: model 2 artifact"), result.stderr
    assert "models rollback --space toy" in notes[0] and "UserWarning" not in result.stderr
    assert "using model 1" in notes[0]
    # The way out it names works, and the note is gone.
    assert run("models", "rollback", "--space", "toy", "--db", str(db)).exit_code == 0
    again = recommend_toy(db, tmp_path)
    assert again.exit_code == 0 and again.stderr.strip() == "", again.stderr


def test_promote_refuses_a_model_whose_files_are_gone(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    toy_store(db, n_models=2)
    assert run("models", "rollback", "--space", "toy", "--db", str(db)).exit_code == 0
    shutil.rmtree(tmp_path / "models" / "s.duckdb" / "2")
    before = fingerprint(db)
    one_line(run("models", "promote", "2", "--db", str(db)), "model 2 cannot be promoted")
    assert fingerprint(db) == before
    with DuckDBStore(db, read_only=True) as store:
        assert list_models(store, status="champion")[0]["model_id"] == 1


def test_rollback_refuses_when_earlier_models_are_gone(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    toy_store(db, n_models=2)
    shutil.rmtree(tmp_path / "models" / "s.duckdb" / "1")
    before = fingerprint(db)
    one_line(run("models", "rollback", "--space", "toy", "--db", str(db)), "retrain instead")
    assert fingerprint(db) == before


# -- writing nothing, or nothing half-way ----------------------------------------------------


def test_dry_run_creates_no_store(tmp_path: Path) -> None:
    db = tmp_path / "new" / "s.duckdb"
    result = run("ingest", str(_runs_csv(tmp_path / "r.csv", 10)), "--dry-run", "--db", str(db))
    assert result.exit_code == 0 and "would ingest 10 runs" in result.output, result.output
    assert not db.exists() and not db.parent.exists()
    for command in (["store", "info"], ["runs", "list"], ["models", "list"]):
        assert run(*command, "--db", str(db)).exit_code == 0
    assert not db.exists()


def test_orphan_model_folders_are_removed_and_named_ones_kept(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    toy_store(db)
    root = tmp_path / "models" / "s.duckdb"
    (root / "7").mkdir()  # a killed load: its folder renamed into place, its row never written
    (root / ".staging-8-x" / "model").mkdir(parents=True)  # killed while copying
    legacy = tmp_path / "models" / "s" / "3"  # another store's (old layout): not ours to touch
    legacy.mkdir(parents=True)
    assert recommend_toy(db, tmp_path).exit_code == 0
    assert sorted(p.name for p in root.iterdir()) == ["1"] and legacy.is_dir()


def test_an_interrupted_shipped_load_leaves_no_model_folder(tmp_path: Path, monkeypatch) -> None:
    from recommender.knowledge.packs import SHIPPED_SPACE, ensure_shipped

    db = tmp_path / "s.duckdb"

    def killed(*_a: object, **_k: object) -> None:
        raise KeyboardInterrupt

    with DuckDBStore(db) as store:
        monkeypatch.setattr(DuckDBStore, "add_model", killed)
        with pytest.raises(KeyboardInterrupt):
            ensure_shipped(store, SHIPPED_SPACE)
        assert store.info()["runs"] == 0 and store.info()["models"] == 0
    root = tmp_path / "models" / "s.duckdb"
    assert not root.exists() or list(root.iterdir()) == []


def test_describe_save_replaces_the_old_description(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    table = tmp_path / "d.csv"
    table.write_text("a,b,target\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(40)))
    assert run("describe", str(table), "--save", "--task", "d", "--db", str(db)).exit_code == 0
    with DuckDBStore(db) as store:
        first = store.metafeatures("d")["d"]
        store.add_task("d")
        store.con.execute(
            "INSERT INTO metafeatures (task, name, value, source) VALUES ('d', 'Stale', 1, 'x')"
        )
    assert run("describe", str(table), "--save", "--task", "d", "--db", str(db)).exit_code == 0
    with DuckDBStore(db, read_only=True) as store:
        assert set(store.metafeatures("d")["d"]) == set(first)


# -- hostile values ------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["9223372036854775808", "9.3e18", "18446744073709551615"])
def test_integers_beyond_int64_are_quarantined(tmp_path: Path, value: str) -> None:
    """A column the space types as int: a value beyond int64 is a bad row, not a crash."""
    db = tmp_path / "s.duckdb"
    first, src = tmp_path / "first.csv", tmp_path / "r.csv"
    first.write_text("task,param.n,metric.acc\na,1,0.5\n")  # registers param n as int
    assert run("ingest", str(first), "--space", "s", "--db", str(db)).exit_code == 0
    src.write_text(f"task,param.n,metric.acc\nb,2,0.6\nc,{value},0.7\n")
    result = run("ingest", str(src), "--space", "s", "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "ingested 1 runs" in result.output and "1 rejected" in result.output, result.output
    with DuckDBStore(db, read_only=True) as store:
        [rej] = store.rejected()
        assert "expected an int64 integer" in rej["reason"] and rej["line"] == 3


def test_uint64_parquet_column_is_quarantined_not_raised(tmp_path: Path) -> None:
    import pyarrow as pa

    table = pa.table(
        {
            "task": ["a", "b"],
            "param.n": pa.array([1, 2**64 - 1], pa.uint64()),
            "metric.acc": [0.5, 0.6],
            "_line": [1, 2],
        }
    )
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        report = store.add_runs(table, source="t.parquet", format="parquet", checksum=None)
        assert (report.accepted, report.rejected) == (1, 1)


@pytest.mark.parametrize(
    ("command", "needle"),
    [
        (["runs", "list", "--limit", str(10**30)], None),
        (["store", "rejected", "--limit", str(10**30), "--batch", str(10**30)], None),
        (["models", "promote", str(10**30)], "no model"),
        (["store", "info", "--lock-timeout", "nan"], "expected a number of seconds"),
        (["store", "export", "{tmp}/runs.csv/sub"], "cannot export to"),
        (["store", "info", "--db", "{tmp}/runs.csv/x.duckdb"], None),  # nothing there: empty
        (["ingest", "{tmp}/runs.csv", "--db", "{tmp}/runs.csv/x.duckdb"], "cannot create"),
        (["store", "upgrade", "--db", "{tmp}/runs.csv"], "expected a DuckDB file"),
        (["tasks", "list", "--db", "{tmp}/runs.csv"], "expected a DuckDB file"),
    ],
)
def test_absurd_arguments_get_one_line(tmp_path: Path, command: list[str], needle: str) -> None:
    db = tmp_path / "s.duckdb"
    assert run("ingest", str(_runs_csv(tmp_path / "runs.csv", 20)), "--db", str(db)).exit_code == 0
    before = fingerprint(db)
    args = [c.replace("{tmp}", str(tmp_path)) for c in command]
    if "--db" not in args:
        args += ["--db", str(db)]
    result = run(*args)
    if needle is None:
        assert result.exit_code == 0, result.output
    else:
        one_line(result, needle)
    assert fingerprint(db) == before


def test_unwritable_data_folder_is_one_line(tmp_path: Path, monkeypatch) -> None:
    """The default data folder cannot be created: its parent is a file (works as root)."""
    (tmp_path / "xdg").write_text("a file where a folder should be")
    monkeypatch.delenv("RECOMMENDER_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    one_line(run("ingest", str(_runs_csv(tmp_path / "r.csv", 5))), "cannot create the store's")


def _as_nobody() -> dict[str, object]:
    """Run a subprocess as an unprivileged user: as root, permissions do not block writes."""
    if os.geteuid() != 0:
        return {}
    import pwd

    try:
        return {"user": pwd.getpwnam("nobody").pw_uid}
    except KeyError:
        pytest.skip("no unprivileged user to drop to")


def test_read_only_store_folder_is_one_line(tmp_path: Path) -> None:
    """A store in a folder its user cannot write: chmod, and as root a subprocess as nobody."""
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "s.duckdb"
    src = _runs_csv(tmp_path / "r.csv", 10)
    assert run("ingest", str(src), "--db", str(db)).exit_code == 0
    for p in (tmp_path, folder, db, src):
        p.chmod(0o755 if p.is_dir() else 0o644)
    folder.chmod(0o555)
    before = fingerprint(db)
    extra = _as_nobody()
    try:
        try:
            probe = subprocess.run(
                [sys.executable, "-c", "import recommender"], capture_output=True,
                env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=tmp_path, **extra,  # type: ignore[call-overload]
            )  # fmt: skip
        except OSError:
            probe = None
        if probe is None or probe.returncode != 0:
            pytest.skip("the unprivileged user cannot run this Python")
        result = subprocess.run(
            [sys.executable, "-m", "recommender.cli", "ingest", str(src), "--db", str(db)],
            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
            cwd=tmp_path, **extra,  # type: ignore[call-overload]
        )  # fmt: skip
    finally:
        folder.chmod(0o755)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "expected a writable file and folder" in line and str(folder) in line
    assert fingerprint(db) == before


def test_unwritable_store_folder_is_one_line_as_any_user(tmp_path: Path, monkeypatch) -> None:
    """The same refusal where chmod cannot block (root): ``os.access`` answers "no"."""
    import recommender.store.core as core

    db = tmp_path / "ro" / "s.duckdb"
    src = _runs_csv(tmp_path / "r.csv", 10)
    assert run("ingest", str(src), "--db", str(db)).exit_code == 0
    before = fingerprint(db)
    real = os.access
    monkeypatch.setattr(
        core.os, "access", lambda p, mode: False if Path(p) == db.parent else real(p, mode)
    )
    one_line(run("ingest", str(src), "--db", str(db)), "expected a writable file and folder")
    assert fingerprint(db) == before
    assert run("runs", "list", "--db", str(db)).exit_code == 0  # reading still works


def test_duckdb_write_errors_become_the_store_error() -> None:
    """What DuckDB raises when it cannot write the log beside the store (seen as a user)."""
    import duckdb

    from recommender.store.guard import translate_error

    err = duckdb.TransactionException(
        'TransactionException: Cannot open file "/x/s.duckdb.wal": Permission denied'
    )
    mine = translate_error("/x/s.duckdb", err)
    assert mine is not None and "expected a writable file and folder" in str(mine)
    assert translate_error("/x/s.duckdb", duckdb.ConversionException("bad cast")) is None


def test_wide_files_are_checked_in_chunks_with_the_same_result(monkeypatch) -> None:
    """Chunked checks (wide files) store exactly what one statement stores: keys included."""
    import pyarrow as pa

    from recommender.store import checks

    table = pa.table(
        {
            "task": ["a", "b", "c", "d", None],
            "param.i": pa.array([1, 2, None, 4, 5], pa.int64()),
            "param.f": [0.5, float("nan"), 1e-3, 2.0, 3.0],
            "param.b": ["true", "0", "maybe", None, "false"],
            "param.c": ["x", "y", None, "z\"'", "é"],
            "param.s": ["1", "2", "3.5", "4", "5"],
            "metric.acc": [0.1, 0.2, 0.3, None, 0.5],
            "_line": [2, 3, 4, 5, 6],
        }
    )

    def stored(chunk: int) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
        monkeypatch.setattr(checks, "CHUNK", chunk)
        with DuckDBStore(":memory:") as store:
            store.add_runs(table, source="t.csv", format="csv", checksum=None)
            runs = store.con.execute(
                "SELECT run_key, task, params::VARCHAR, metrics::VARCHAR, status FROM runs "
                "ORDER BY run_key"
            ).fetchall()
            rejected = store.con.execute(
                "SELECT line, raw, reason FROM rejected ORDER BY line"
            ).fetchall()
        return runs, rejected

    whole = stored(1000)
    assert len(whole[0]) == 2 and len(whole[1]) == 3  # good rows and rows with reasons
    assert stored(2) == whole and stored(1) == whole


def test_info_of_a_missing_store_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "x.duckdb"
    result = run("store", "info", "--db", str(missing))
    assert result.exit_code == 0, result.output
    assert "no store file at this path" in result.output
    assert not missing.parent.exists()
    made = tmp_path / "s.duckdb"
    assert run("ingest", str(_runs_csv(tmp_path / "runs.csv", 5)), "--db", str(made)).exit_code == 0
    assert "no store file" not in run("store", "info", "--db", str(made)).output
