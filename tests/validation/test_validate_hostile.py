"""``recommender validate`` under hostile input: one clear line, a non-zero exit, no traceback,
and a store left as it was; bounded resources; Ctrl-C keeps the runs that finished."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result

from recommender.cli import cli
from recommender.store import DuckDBStore
from recommender.training.common import split_indices
from recommender.validation import executors
from tests.validation.helpers import blobs_frame

ROOT = Path(__file__).resolve().parents[2]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["validate", *args])


def snapshot(path: Path) -> dict[str, Any]:
    with DuckDBStore(path, read_only=True) as store:
        return store.info()


@pytest.fixture
def store_before(db_path: Path) -> dict[str, Any]:
    """An existing store (empty), and its contents before the command."""
    DuckDBStore(db_path).close()
    return snapshot(db_path)


@pytest.fixture
def table(tmp_path: Path) -> Path:
    path = tmp_path / "blobs.csv"
    blobs_frame(n=120).to_csv(path, index=False)
    return path


def assert_refused(result: Result, expected: str, db_path: Path, before: dict[str, Any]) -> None:
    """Exit 1, exactly one line on stderr holding ``expected``, no traceback, store unchanged."""
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert expected in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert snapshot(db_path) == before


def test_huge_random_baseline_count_is_refused(
    table: Path, db_path: Path, store_before: dict[str, Any]
) -> None:
    result = invoke("--dataset", str(table), "--top-k", "0", "--baselines", "random:99999999999")
    assert_refused(result, "expected random:N with N <= 1000", db_path, store_before)


@pytest.mark.parametrize(
    ("features", "expected"),
    [
        ({}, "expected at least one feature column besides the target, got none"),
        ({"id": [f"row{i}" for i in range(60)]}, "got only constant or identifier-like"),
        (
            {"k": [1.0] * 60, "e": [None] * 60},
            "got only constant or identifier-like columns (k, e)",
        ),
    ],
    ids=["target-only", "identifier-only", "constant-only"],
)
def test_table_without_usable_feature_columns_is_refused(
    tmp_path: Path,
    db_path: Path,
    store_before: dict[str, Any],
    features: dict[str, list[Any]],
    expected: str,
) -> None:
    path = tmp_path / "featureless.csv"
    pd.DataFrame({**features, "label": [0, 1] * 30}).to_csv(path, index=False)
    result = invoke("--dataset", str(path), "--top-k", "0", "--device", "cpu")
    assert_refused(result, expected, db_path, store_before)


@pytest.mark.parametrize(
    ("n_rows", "n_classes"),
    [(60, 60), (100, 51), (4004, 1001)],
    ids=["one-row-per-class", "under-two-rows-per-class", "over-1000-classes"],
)
def test_target_with_too_many_classes_is_refused(
    tmp_path: Path, db_path: Path, store_before: dict[str, Any], n_rows: int, n_classes: int
) -> None:
    path = tmp_path / "ids.csv"
    labels = [f"c{i % n_classes}" for i in range(n_rows)]
    pd.DataFrame({"x": np.arange(n_rows) / n_rows, "label": labels}).to_csv(path, index=False)
    result = invoke("--dataset", str(path), "--top-k", "0", "--device", "cpu")
    assert_refused(result, f"got {n_classes} classes in {n_rows} rows", db_path, store_before)


def _images(folder: Path, classes: tuple[str, ...], per_class: int = 4) -> Path:
    from PIL import Image

    for cls in classes:
        (folder / cls).mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", (8, 8), (40 * i, 0, 0)).save(folder / cls / f"{i}.png")
    return folder


def _case_path(tmp_path: Path, case: str) -> str:
    """Create the input of one hostile case; return the --dataset argument."""
    if case == "empty-folder":
        (tmp_path / "empty").mkdir()
        return str(tmp_path / "empty")
    if case == "one-class-folder":
        return str(_images(tmp_path / "one", ("cat",)))
    if case == "corrupt-image":
        folder = _images(tmp_path / "corrupt", ("cat", "dog"))
        (folder / "dog" / "broken.png").write_bytes(b"\x89PNG not really")
        return str(folder)
    if case == "non-image-files":
        for cls in ("cat", "dog"):
            (tmp_path / "notes" / cls).mkdir(parents=True)
            (tmp_path / "notes" / cls / "readme.txt").write_text("no images here")
        return str(tmp_path / "notes")
    if case in ("empty-text", "numeric-text"):
        text = [""] * 40 if case == "empty-text" else list(range(40))
        path = tmp_path / f"{case}.csv"
        pd.DataFrame({"review": text, "label": [0, 1] * 20}).to_csv(path, index=False)
        return str(path)
    if case == "missing-path":
        return str(tmp_path / "nowhere.csv")
    if case == "unknown-bundled":
        return "sklearn:nonexistent"
    path = tmp_path / "blobs.csv"
    blobs_frame(n=60).to_csv(path, index=False)
    return str(path)


# case -> (extra arguments, a fragment of the one error line)
CASES: dict[str, tuple[list[str], str]] = {
    "huge-epochs": (["--epochs", "1000000000"], "epochs: expected 1 to 10000 per config"),
    "infinite-budget": (["--budget-s", "inf"], "budget: expected a finite number of seconds"),
    "nothing-to-train": (["--baselines", "none"], "nothing to validate"),
    "negative-seed": (["--seed", "-1"], "seed: expected an integer from 0 to 2147483647"),
    "huge-seed": (["--seed", str(2**70)], "seed: expected an integer from 0 to 2147483647"),
    "unknown-device": (["--device", "tpu"], "device: expected auto, cpu or cuda[:N]"),
    "missing-target": (["--target", "nope"], "no target column 'nope'"),
    "empty-folder": ([], "found none"),
    "one-class-folder": ([], "has one class ('cat')"),
    "corrupt-image": ([], "unreadable file"),
    "non-image-files": ([], "found 2 other file(s) such as readme.txt"),
    "empty-text": (["--text-column", "review"], "got only empty values"),
    "numeric-text": (["--text-column", "review"], "expected text, got int64 values"),
    "missing-path": ([], "no such file or folder"),
    "unknown-bundled": ([], "unknown bundled dataset 'sklearn:nonexistent'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_absurd_arguments_get_one_line(
    case: str, tmp_path: Path, db_path: Path, store_before: dict[str, Any]
) -> None:
    extra, expected = CASES[case]
    dataset = _case_path(tmp_path, case)
    result = invoke("--dataset", dataset, "--top-k", "0", *(extra or ["--epochs", "1"]))
    assert_refused(result, expected, db_path, store_before)
    if case == "corrupt-image":
        assert "broken.png" in result.stderr


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_is_refused(
    table: Path, db_path: Path, store_before: dict[str, Any]
) -> None:
    result = invoke("--dataset", str(table), "--top-k", "0", "--device", "cuda")
    assert_refused(result, "no CUDA device is visible; use --device cpu", db_path, store_before)


@pytest.mark.parametrize(("option", "value"), [("--epochs", "0"), ("--top-k", "-1")])
def test_out_of_range_options_are_usage_errors(
    option: str, value: str, table: Path, db_path: Path
) -> None:
    result = invoke("--dataset", str(table), option, value)
    assert result.exit_code == 2
    assert f"Invalid value for '{option}'" in result.stderr
    assert "Traceback" not in result.output
    assert not db_path.exists()


def test_parallel_is_capped_by_cores_with_a_note(
    table: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(executors, "_cores", lambda: 1)
    result = invoke("--dataset", str(table), "--top-k", "0", "--baselines", "default,random:1",
                    "--epochs", "1", "--device", "cpu", "--parallel", "64")  # fmt: skip
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if line.startswith("parallel:")]
    assert len(notes) == 1
    assert notes[0].startswith("parallel: 64 configs at once asked, capped at 1 (1 CPU cores")
    assert snapshot(db_path)["runs"] == 2


def test_parallel_cap_counts_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executors, "_cores", lambda: 64)
    monkeypatch.setattr(executors, "_available_memory", lambda: 3 * executors.WORKER_BYTES)
    assert executors.cap_parallel("local", 2) == (2, None)
    n, note = executors.cap_parallel("local", 64)
    assert n == 3 and note is not None
    assert "capped at 3 (64 CPU cores" in note and "available memory" in note
    assert executors.cap_parallel("ray", 64) == (64, None)  # Ray schedules its own tasks
    monkeypatch.setattr(executors, "_available_memory", lambda: None)
    assert executors.cap_parallel("local", 64)[0] == 64


def _foreground() -> None:
    """Start the child as a terminal starts a foreground command: Ctrl-C not ignored. (A
    test run started in the background by a non-interactive shell ignores SIGINT, and its
    children would inherit that.)"""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_during_parallel_keeps_finished_runs(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) after the first run."""
    table = tmp_path / "blobs.csv"
    # Runs of a few seconds each, so the signal lands while the others train even when a
    # loaded machine is slow to deliver it (with 200 rows all six once finished first).
    blobs_frame(n=3000).to_csv(table, index=False)
    db = tmp_path / "store.duckdb"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RECOMMENDER_DB": str(db),
           "XDG_DATA_HOME": str(tmp_path / "xdg"), "PYTHONFAULTHANDLER": "1"}  # fmt: skip
    command = [sys.executable, "-m", "recommender.cli", "validate", "--dataset", str(table),
               "--top-k", "0", "--baselines", "default,random:5", "--parallel", "2",
               "--epochs", "60", "--device", "cpu"]  # fmt: skip
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True, preexec_fn=_foreground,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:  # progress lines: one per stored run
            seen.append(line)
            if " epochs, " in line:
                break
        os.killpg(proc.pid, signal.SIGINT)
        try:
            _, rest = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:  # show where it hangs: faulthandler dumps every thread
            proc.send_signal(signal.SIGABRT)
            _, rest = proc.communicate(timeout=30)
            pytest.fail(f"no exit 120 s after Ctrl-C; its threads:\n{rest}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    lines = rest.strip().splitlines()
    assert proc.returncode == 1, "".join(seen) + rest
    assert "Traceback" not in rest and "leaked" not in rest
    assert len(lines) >= 1 and lines[-1].startswith("Error: interrupted: "), rest
    recorded = int(lines[-1].split("interrupted: ")[1].split(" of ")[0])
    assert lines[-1].endswith(" of 6 configs recorded; rerun the same command to train the rest")
    assert 1 <= recorded < 6
    assert snapshot(db)["runs"] == recorded


def test_stratified_split_with_many_classes() -> None:
    y = np.arange(20_000) % 10_000  # two rows per class: one in each part
    train, val = split_indices(y, classification=True, val_fraction=0.2, seed=0)
    assert len(train) == len(val) == 10_000
    assert set(y[train]) == set(y[val]) == set(range(10_000))


def test_check_request_needs_no_store() -> None:
    from recommender.datasets.loading import dataset_from_frame
    from recommender.errors import DatasetError
    from recommender.validation import check_request

    good = dataset_from_frame(blobs_frame(n=40), "label", name="blobs")
    assert check_request(good, device="cpu") == "cpu"
    only_ids = dataset_from_frame(
        pd.DataFrame({"id": [f"r{i}" for i in range(40)], "y": [0, 1] * 20}), "y", name="ids"
    )
    with pytest.raises(DatasetError, match="identifier-like"):
        check_request(only_ids, device="cpu")


def test_a_ctrl_c_while_a_result_is_stored_comes_right_after_it() -> None:
    from recommender.validation.executors import interrupts_deferred

    reached = []
    before = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
    try:
        with pytest.raises(KeyboardInterrupt):
            with interrupts_deferred():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)  # the signal is handled here, and held
                reached.append("end of block")
        assert reached == ["end of block"]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, before)


_STOP_AND_LEAVE = """
import os, sys, time
from concurrent.futures import process
from recommender.validation.executors import Processes

# A loaded machine: the pool's manager thread is slow to close the queues after a stop.
slow = process._ExecutorManagerThread.join_executor_internals
process._ExecutorManagerThread.join_executor_internals = lambda self: (time.sleep(2), slow(self))
if __name__ == "__main__":
    workers = Processes(2)
    for _ in range(3):
        workers.submit(time.sleep, 60)
    time.sleep(1)
    workers.stop()
    sys.stderr.flush()
    os._exit(1)  # as the command line leaves after Ctrl-C: no interpreter shutdown
"""


def test_stopped_workers_leak_no_semaphore_when_the_process_leaves_at_once(
    tmp_path: Path,
) -> None:
    script = tmp_path / "stop_and_leave.py"
    script.write_text(_STOP_AND_LEAVE)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, timeout=120)  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "leaked" not in done.stderr, done.stderr
