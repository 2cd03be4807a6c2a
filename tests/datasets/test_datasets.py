"""Loading tables, arrays, image folders and text; subsampling; degenerate files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender.datasets.loading import (
    dataset_from_frame,
    infer_problem_type,
    load_dataset,
    subsample_indices,
)
from recommender.errors import DatasetError


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "x": rng.normal(size=200),
            "colour": rng.choice(["red", "blue"], size=200),
            "label": np.repeat(["a", "b", "c", "d"], [100, 60, 30, 10]),
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet", ".jsonl"])
def test_tables_round_trip(tmp_path: Path, frame: pd.DataFrame, suffix: str) -> None:
    path = tmp_path / f"data{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif suffix == ".parquet":
        frame.to_parquet(path)
    else:
        path.write_text("\n".join(json.dumps(r) for r in frame.to_dict("records")))
    ds = load_dataset(path)
    assert (ds.name, ds.target, ds.problem_type, ds.modality) == (
        "data",
        "label",
        "multiclass",
        "tabular",
    )
    assert list(ds.X.columns) == ["x", "colour"]
    np.testing.assert_allclose(ds.X["x"].to_numpy(), frame["x"].to_numpy())


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_max_rows_is_stratified_and_seeded(
    tmp_path: Path, frame: pd.DataFrame, suffix: str
) -> None:
    path = tmp_path / f"data{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    ds = load_dataset(path, "label", max_rows=40, seed=1)
    assert len(ds.X) == 40
    assert ds.n_rows_total == 200
    assert ds.y.value_counts().to_dict() == {"a": 20, "b": 12, "c": 6, "d": 2}
    again = load_dataset(path, "label", max_rows=40, seed=1)
    pd.testing.assert_frame_equal(ds.X, again.X)
    other = load_dataset(path, "label", max_rows=40, seed=2)
    assert not ds.X.equals(other.X)


def test_large_files_are_sampled_by_default(
    tmp_path: Path, frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    import recommender.datasets.loading as datasets

    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    assert len(load_dataset(path, "label").X) == 200  # under the size limit: every row
    monkeypatch.setattr(datasets, "WHOLE_FILE_BYTES", path.stat().st_size - 1)
    monkeypatch.setattr(datasets, "CELL_BUDGET", 150)  # 3 columns -> 50 rows
    ds = load_dataset(path, "label")
    assert (len(ds.X), ds.n_rows_total) == (50, 200)
    explicit = load_dataset(path, "label", max_rows=80)  # an explicit size wins
    assert len(explicit.X) == 80


def test_max_rows_regression_sample(tmp_path: Path, frame: pd.DataFrame) -> None:
    frame.to_parquet(tmp_path / "d.parquet")
    ds = load_dataset(tmp_path / "d.parquet", "x", max_rows=50)
    assert (ds.problem_type, len(ds.X), ds.n_rows_total) == ("regression", 50, 200)


def test_wrong_target_lists_columns(tmp_path: Path, frame: pd.DataFrame) -> None:
    frame.to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(
        DatasetError, match=r"no target column 'y'; available columns: x, colour, label"
    ):
        load_dataset(tmp_path / "d.csv", "y")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "no data rows"),
        (b"a,b\n1,2\n", "at least 2 labelled rows, got 1"),
        (b"a,b\n1,\n2,\n", "missing in every row"),
        (b"a,b\n\xff\xfe\xfa,1\nx,2\n", "cannot read as csv"),
    ],
)
def test_degenerate_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match=message) as err:
        load_dataset(path, "b" if content.startswith(b"a,b") and b"\xff" not in content else None)
    assert "\n" not in str(err.value)


def test_unknown_suffix_and_missing_path(tmp_path: Path) -> None:
    (tmp_path / "d.xlsx").write_bytes(b"x")
    with pytest.raises(DatasetError, match="expected .csv"):
        load_dataset(tmp_path / "d.xlsx")
    with pytest.raises(DatasetError, match="no such file"):
        load_dataset(tmp_path / "nope.csv")


def test_npz(tmp_path: Path) -> None:
    X = np.arange(40, dtype=float).reshape(10, 2, 2)
    np.savez(tmp_path / "arr.npz", X=X, y=np.array([0, 1] * 5))
    ds = load_dataset(tmp_path / "arr.npz")
    assert ds.X.shape == (10, 4) and ds.problem_type == "binary"
    np.savez(tmp_path / "bad.npz", data=X)
    with pytest.raises(DatasetError, match="expected arrays 'X' and 'y', got data"):
        load_dataset(tmp_path / "bad.npz")


def test_text_table_is_detected(tmp_path: Path) -> None:
    docs = [f"this is review number {i} and it is fairly long indeed" for i in range(6)]
    pd.DataFrame({"review": docs, "stars": [1, 2, 3, 1, 2, 3]}).to_csv(
        tmp_path / "r.csv", index=False
    )
    ds = load_dataset(tmp_path / "r.csv", "stars")
    assert ds.modality == "text" and list(ds.X.columns) == ["text"]
    with pytest.raises(DatasetError, match="no text column 'body'"):
        load_dataset(tmp_path / "r.csv", "stars", text_column="body")


def test_empty_image_folder(tmp_path: Path) -> None:
    (tmp_path / "imgs" / "cat").mkdir(parents=True)
    with pytest.raises(DatasetError, match="one sub-folder per class"):
        load_dataset(tmp_path / "imgs")


def test_problem_inference_and_override() -> None:
    assert infer_problem_type(pd.Series(["x", "y", "x"])) == "binary"
    assert infer_problem_type(pd.Series([1, 2, 3, 4])) == "multiclass"
    assert infer_problem_type(pd.Series(np.arange(100))) == "regression"
    assert infer_problem_type(pd.Series([True, False])) == "binary"
    frame = pd.DataFrame({"a": [1, 2, 3], "t": ["u", "v", "w"]})
    with pytest.raises(DatasetError, match="regression needs a numeric target"):
        dataset_from_frame(frame, "t", problem="regression")
    with pytest.raises(DatasetError, match="binary needs at most 2 classes, got 3"):
        dataset_from_frame(frame, "t", problem="binary")


@settings(max_examples=30, deadline=None)
@given(
    counts=st.lists(st.integers(1, 50), min_size=1, max_size=6),
    n=st.integers(1, 120),
    seed=st.integers(0, 99),
)
def test_subsample_keeps_every_class_and_size(counts: list[int], n: int, seed: int) -> None:
    y = np.repeat(np.arange(len(counts)), counts)
    idx = subsample_indices(y, n, stratify=True, seed=seed)
    assert len(idx) == min(n, len(y))
    assert np.all(np.diff(idx) > 0)
    if n >= len(counts):
        assert set(y[idx]) == set(y)


def test_bundled_csv_tables_equal_scikit_learns() -> None:
    import sklearn.datasets

    from recommender.datasets.bundled import CSV_COLUMNS, bundled_frame

    for short in CSV_COLUMNS:
        ours, target = bundled_frame(f"sklearn:{short}")
        theirs = getattr(sklearn.datasets, f"load_{short}")(as_frame=True).frame
        assert target == "target"
        pd.testing.assert_frame_equal(ours, theirs)
