"""Pack collection: resumable runs, the Parquet files and surrogate it writes, safe loaders."""

from __future__ import annotations

import gzip
import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipelines.collect import packs
from pipelines.collect.pack_write import write_pack
from recommender.knowledge.packs import load_runs_into, verify
from recommender.store import DuckDBStore
from tests.surrogate.synthetic import FAST

TASKS = ["toy_a", "toy_b", "toy_c"]


def _load(task: str, work: Path) -> Any:
    from recommender.datasets.loading import dataset_from_frame

    rng = np.random.default_rng(TASKS.index(task))
    x = rng.normal(size=(120, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    frame["y"] = (x[:, 0] + (TASKS.index(task) - 1) * x[:, 1] > 0).astype(int)
    return dataset_from_frame(frame, "y", name=task)


def _train(dataset: Any, config: dict[str, Any], *, epochs: int, seed: int) -> Any:
    from recommender.training.tabular import train_tabular

    return train_tabular(dataset, config, epochs=epochs, seed=seed, num_threads=1)


def _toy_pack() -> packs.Pack:
    return packs.Pack("toy", "tabular_mlp", 2, lambda: list(TASKS), _load, _train,
                      lambda: {"toy_c"})  # fmt: skip


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> packs.Pack:
    monkeypatch.setitem(packs.PACKS, "toy", _toy_pack)
    return _toy_pack()


def test_collect_is_resumable(toy: packs.Pack, tmp_path: Path) -> None:
    packs.collect_pack(toy, tmp_path, configs=2, seed=0, workers=1, executor="process")
    lines = (tmp_path / "runs" / "toy_a.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["config_id"] for r in records] == [0, 1, 2]
    assert all(r["status"] == "ok" and len(r["curve"]) == 2 for r in records)
    assert records[0]["config"] == json.loads((tmp_path / "design_tabular_mlp.json").read_text())[0]
    # A run cut short by a kill (a half-written line) is redone; finished runs are not.
    (tmp_path / "runs" / "toy_b.jsonl").write_text(
        "\n".join((tmp_path / "runs" / "toy_b.jsonl").read_text().splitlines()[:2])
        + '\n{"task": "toy_b", "conf'
    )
    assert list(packs.jobs(tmp_path, TASKS, 3)) == [("toy_b", 2)]
    packs.collect_pack(toy, tmp_path, configs=2, seed=0, workers=1, executor="process")
    assert list(packs.jobs(tmp_path, TASKS, 3)) == []
    assert packs.done_configs(tmp_path, "toy_b") == {0, 1, 2}


def test_write_pack_files_load_into_a_store(
    toy: packs.Pack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recommender.knowledge import evaluation as evaluate

    monkeypatch.setattr(evaluate, "TUNING_GRID", (FAST,))
    work, out = tmp_path / "work", tmp_path / "data"
    pack = out / "tabular"  # the folder the toy pack's space names
    packs.collect_pack(toy, work, configs=2, seed=0, workers=1, executor="process")
    summary = write_pack(toy, work, out)
    assert summary == {"runs": 6, "tasks": 2, "holdout_runs": 3, "holdout_tasks": 1,
                       "incomplete_tasks": 0}  # fmt: skip
    runs = pd.read_parquet(pack / "runs.parquet")
    assert sorted(runs["task"].unique()) == ["toy_a", "toy_b"]
    assert {"param.learning_rate", "metric.val_score", "fidelity"} <= set(runs.columns)
    curves = pd.read_parquet(pack / "curves.parquet")
    assert set(curves["step"]) == {1.0, 2.0} and set(curves["run_id"]) == set(runs["run_id"])
    held = pd.read_parquet(pack / "holdout_runs.parquet")
    assert set(held["task"]) == {"toy_c"}
    registry = json.loads((pack / "registry.json").read_text())
    assert registry["space"] == "tabular_mlp" and registry["n_tasks"] == 2
    assert (pack / "model").is_dir() and verify(out) == []
    with DuckDBStore(":memory:") as store:
        counts = load_runs_into(store, pack, space="tabular_mlp")
    assert counts["runs"] == 6 and counts["tasks"] == 2


def test_write_pack_skips_unfinished_tasks(toy: packs.Pack, tmp_path: Path) -> None:
    packs.collect_pack(toy, tmp_path, configs=2, seed=0, workers=1, executor="process",
                       only=["toy_a", "toy_b"])  # fmt: skip
    path = tmp_path / "runs" / "toy_b.jsonl"
    path.write_text("\n".join(path.read_text().splitlines()[:1]) + "\n")
    (tmp_path / "out" / "tabular").mkdir(parents=True)
    stale = tmp_path / "out" / "tabular" / "holdout_runs.parquet"  # an earlier collection's
    stale.write_bytes(b"old")
    summary = write_pack(toy, tmp_path, tmp_path / "out", train_model=False)
    assert summary["tasks"] == 1 and summary["incomplete_tasks"] == 1
    assert not stale.exists() and summary["holdout_runs"] == 0
    partial = write_pack(toy, tmp_path, tmp_path / "out", train_model=False, partial=True)
    assert partial["tasks"] == 2 and partial["runs"] == 4


def test_unknown_pack_is_one_clear_line() -> None:
    with pytest.raises(SystemExit, match="unknown pack 'nope'; expected one of .*image"):
        packs.get_pack("nope")


def test_animal_loader_unpickles_numpy_arrays_only(tmp_path: Path) -> None:
    from pipelines.collect.image_suite import _NumpyOnly

    arr = np.arange(6, dtype=np.uint8).reshape(2, 3)
    assert np.array_equal(_NumpyOnly(_gz_pickle(arr, tmp_path)).load(), arr)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        _NumpyOnly(_gz_pickle({"evil": print}, tmp_path)).load()


def _gz_pickle(obj: object, tmp_path: Path) -> Any:
    path = tmp_path / "x.gz"
    with gzip.open(path, "wb") as fh:
        pickle.dump(obj, fh)
    return gzip.open(path, "rb")


def test_image_tasks_are_class_folders_of_pngs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    from pipelines.collect import image_suite as s

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(90, 28, 28), dtype=np.uint8)
    y = np.array([f"d{i % 3}" for i in range(90)])
    monkeypatch.setitem(
        s.SOURCES, "fake", s.ImageSource("fake", "fake()", "CC0", lambda: (x, y), 28)
    )
    s._source.cache_clear()
    task = s.ImageTask("img_fake", "fake", ("d0", "d2"), 20, side=10)
    folder = s.materialize(task, tmp_path)
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["d0", "d2"]
    assert len(list((folder / "d0").glob("*.png"))) == 10
    with Image.open(next((folder / "d2").glob("*.png"))) as img:
        assert img.size == (10, 10)
    parity = s.ImageTask("img_fake_parity", "fake", ("even", "odd"), 30, relabel="parity")
    _, labels = s.task_arrays(parity)
    assert sorted(set(labels)) == ["even", "odd"] and len(labels) == 30
    s._source.cache_clear()


def test_tabular_tables_come_smallest_first_with_splits_in_step() -> None:
    from pipelines.collect.tabular_suite import collection_order

    entries = [{"id": f"t{i}", "split": "train", "rows": 100 * (10 - i)} for i in range(8)]
    entries += [{"id": f"h{i}", "split": "holdout", "rows": 5_000 - i} for i in range(2)]
    order = [e["id"] for e in collection_order(entries)]
    assert order[:3] == ["t7", "t6", "t5"]  # smallest training tables first
    assert order[3:5] == ["h1", "t4"]  # half of each split before either's other half
    assert order[-2:] == ["h0", "t0"] and len(order) == 10
