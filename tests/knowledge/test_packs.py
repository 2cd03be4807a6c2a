"""The knowledge shipped in data/: intact, loaded once, answers `recommend` on a fresh store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from recommender.cli import cli
from recommender.errors import ModelError
from recommender.knowledge.packs import (
    SHIPPED_SPACE,
    ensure_shipped,
    load_shipped,
    shipped_dir,
    verify,
)
from recommender.spaces.space import load_space
from recommender.store import DuckDBStore


def test_shipped_files_are_intact() -> None:
    assert verify() == []
    import pandas as pd

    runs = pd.read_parquet(shipped_dir() / "tabular" / "runs.parquet")
    assert runs["task"].nunique() >= 40
    assert runs.groupby("task").size().min() >= 64


def test_fresh_store_recommends_for_a_bundled_dataset(db_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["recommend", "--dataset", "sklearn:iris", "--top-k", "3", "--json"]
    )
    assert result.exit_code == 0, result.output
    recs = json.loads(result.stdout)["recommendations"]
    assert len(recs) == 3
    space = load_space(SHIPPED_SPACE)
    for rec in recs:
        space.validate_config(rec["config"])
        assert {"predicted", "uncertainty"} <= set(rec)
    assert "loaded the shipped knowledge" in result.stderr
    again = CliRunner().invoke(cli, ["recommend", "--dataset", "sklearn:wine", "--json"])
    assert again.exit_code == 0 and "loaded the shipped" not in again.stderr
    with DuckDBStore(db_path, read_only=True) as store:
        assert store.info()["models"] == 1 and store.info()["queries"] == 2


def test_loaded_once_and_only_when_needed(store: DuckDBStore) -> None:
    assert ensure_shipped(store, "lcbench") is None
    note = ensure_shipped(store, SHIPPED_SPACE)
    assert note and "loaded the shipped knowledge" in note
    n = store.info()["runs"]
    assert ensure_shipped(store, SHIPPED_SPACE) is None
    assert store.info()["runs"] == n >= 40 * 64


def _newer_pack(tmp_path: Path) -> Path:
    """A copy of the shipped files whose tabular model differs (as after a package upgrade)."""
    import hashlib

    copy = tmp_path / "data"
    shutil.copytree(shipped_dir(), copy)
    sidecar = copy / "tabular" / "model" / "model.json"
    obj = json.loads(sidecar.read_text())
    obj["meta"]["note"] = "a newer release"
    sidecar.write_text(json.dumps(obj))
    lines = []
    for line in (copy / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        if name.strip() == "tabular/model/model.json":
            digest = hashlib.sha256(sidecar.read_bytes()).hexdigest()
        lines.append(f"{digest}  {name.strip()}")
    (copy / "SHA256SUMS").write_text("\n".join(lines) + "\n")
    assert verify(copy) == []
    return copy


def test_a_newer_shipped_model_replaces_the_shipped_champion_only(
    store: DuckDBStore, tmp_path: Path
) -> None:
    from recommender.knowledge.packs import refresh_shipped
    from recommender.knowledge.registry import list_models, train_and_register

    load_shipped(store)
    runs = store.info()["runs"]
    assert refresh_shipped(store, SHIPPED_SPACE) is None  # same package: nothing to do
    newer = _newer_pack(tmp_path)
    note = refresh_shipped(store, SHIPPED_SPACE, newer)
    assert note and "updated the shipped surrogate" in note
    status = {m["model_id"]: m["status"] for m in list_models(store, space=SHIPPED_SPACE)}
    assert status == {1: "archived", 2: "champion"} and store.info()["runs"] == runs
    assert refresh_shipped(store, SHIPPED_SPACE, newer) is None  # already current
    # A model the user trained is never replaced by a shipped one.
    params = {"n_estimators": 10, "max_depth": 2, "n_members": 1}
    train_and_register(
        store, space=SHIPPED_SPACE, metric="val_score", maximize=True, params=params, force=True
    )
    assert refresh_shipped(store, SHIPPED_SPACE) is None
    assert [m["status"] for m in list_models(store, space=SHIPPED_SPACE)].count("champion") == 1


def test_corrupt_shipped_files_are_refused(store: DuckDBStore, tmp_path: Path) -> None:
    copy = tmp_path / "data"
    shutil.copytree(shipped_dir(), copy)
    with (copy / "tabular" / "runs.parquet").open("r+b") as fh:
        fh.seek(100)
        fh.write(b"garbage")
    assert verify(copy) == ["tabular/runs.parquet"]
    with pytest.raises(ModelError, match="missing or corrupt"):
        load_shipped(store, copy)
    assert store.info()["runs"] == 0


def test_failed_load_leaves_the_store_as_it_was(
    store: DuckDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import recommender.knowledge.registry as registry

    def broken(_directory: Path) -> str:
        raise OSError("disk full")

    monkeypatch.setattr(registry, "checksum", broken)
    with pytest.raises(OSError, match="disk full"):
        load_shipped(store)
    info = store.info()
    assert (info["runs"], info["models"], info["metafeatures"], info["batches"]) == (0, 0, 0, 0)


def test_fresh_store_recommends_for_a_text_table(db_path: Path, tmp_path: Path) -> None:
    import pandas as pd

    rows = [("a warm, funny and moving film", "pos"), ("dull, slow and far too long", "neg")]
    path = tmp_path / "reviews.csv"
    pd.DataFrame(rows * 20, columns=["review", "label"]).to_csv(path, index=False)
    result = CliRunner().invoke(
        cli,
        ["recommend", "--dataset", str(path), "--target", "label", "--text-column", "review",
         "--top-k", "2", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "space 'text_finetune'" in result.stderr
    space = load_space("text_finetune")
    for rec in json.loads(result.stdout)["recommendations"]:
        space.validate_config(rec["config"])


def test_fresh_store_recommends_for_an_image_folder(db_path: Path, tmp_path: Path) -> None:
    from tests.validation.helpers import colour_images

    folder = colour_images(tmp_path / "unseen", per_class=6, size=20)
    result = CliRunner().invoke(
        cli, ["recommend", "--dataset", str(folder), "--top-k", "3", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert "space 'image_finetune'" in result.stderr
    recs = json.loads(result.stdout)["recommendations"]
    assert len(recs) == 3
    space = load_space("image_finetune")
    for rec in recs:
        space.validate_config(rec["config"])
    # The first pick is the best on the known tasks, not the highest estimate for this
    # folder; the table says so rather than calling it "best expected".
    table = CliRunner().invoke(cli, ["recommend", "--dataset", str(folder), "--top-k", "3"])
    assert table.exit_code == 0, table.output
    said = " ".join(table.stdout.split())
    assert "1 best on known tasks " in said and "best expected" not in said
    assert "so a hedge can be estimated higher than the first pick." in said


def test_forest_surrogate_end_to_end(db_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["retrain", "--model", "forest", "--force", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["params"] == {"kind": "forest"} and report["model_id"] == 2
    with DuckDBStore(db_path, read_only=True) as store:
        kinds = dict(store.con.execute("SELECT model_id, kind FROM models").fetchall())
    assert kinds == {1: "xgboost", 2: "forest"}
    result = runner.invoke(cli, ["recommend", "--dataset", "sklearn:iris", "--json"])
    assert result.exit_code == 0, result.output
    space = load_space(SHIPPED_SPACE)
    for rec in json.loads(result.stdout)["recommendations"]:
        space.validate_config(rec["config"])
    with DuckDBStore(db_path, read_only=True) as store:
        used = store.con.execute("SELECT model_id FROM queries").fetchall()
    assert used == [(2,)]


def test_every_shipped_file_is_declared_as_package_data() -> None:
    """A wheel (not only an editable install) must carry every file SHA256SUMS lists."""
    import fnmatch

    import tomllib

    root = Path(__file__).resolve().parents[2]
    config = tomllib.loads((root / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["recommender"]
    names = [line.split(maxsplit=1)[1].strip() for line in (shipped_dir() / "SHA256SUMS")
             .read_text().splitlines() if line.strip()]  # fmt: skip
    assert names
    for name in [*names, "SHA256SUMS"]:
        path = f"shipped_data/{name}"
        # setuptools globs do not cross "/": match segment by segment.
        assert any(
            path.count("/") == pattern.count("/") and fnmatch.fnmatch(path, pattern)
            for pattern in patterns
        ), f"{path} is not package data"


def test_recommend_refuses_a_one_class_folder_with_validates_line(
    db_path: Path, tmp_path: Path
) -> None:
    import shutil

    from tests.validation.helpers import colour_images

    folder = colour_images(tmp_path / "one", per_class=6, size=20)
    shutil.rmtree(folder / "blue")
    runner = CliRunner()
    recommended = runner.invoke(cli, ["recommend", "--dataset", str(folder)])
    validated = runner.invoke(cli, ["validate", "--dataset", str(folder), "--epochs", "1"])
    assert recommended.exit_code == validated.exit_code == 1
    assert (
        recommended.stderr
        == validated.stderr
        == (
            "Error: target 'label' has one class ('red'); classification needs at least 2 "
            "classes; check --target or the data\n"
        )
    )
    described = runner.invoke(cli, ["describe", str(folder)])  # describing it is fine
    assert described.exit_code == 0, described.output
    entropy = next(ln for ln in described.stdout.splitlines() if ln.startswith("ClassEntropy"))
    assert entropy.split() == ["ClassEntropy", "0"]  # not -0
