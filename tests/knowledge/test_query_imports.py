"""A query, as a process, imports none of the training libraries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recommender.knowledge.packs import SHIPPED_SPACE, ensure_shipped
from recommender.store import DuckDBStore

HEAVY = ("xgboost", "sklearn", "scipy", "pandas", "torch")


def _query(tmp_path: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    """``recommender recommend ARGS --json`` in a fresh process; its stderr ends with the
    heavy libraries it imported."""
    code = (
        "import sys\n"
        "from recommender.cli import cli\n"
        "try:\n"
        f"    cli(['recommend', *{args!r}, '--json'], prog_name='recommender')\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        f"print(sorted(set({HEAVY!r}) & loaded), file=sys.stderr)\n"
    )
    root = str(Path(__file__).resolve().parents[2])
    env = {k: v for k, v in os.environ.items() if k != "RECOMMENDER_INFERENCE"}
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env
    )


def test_recommend_from_metafeatures_imports_no_training_library(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    with DuckDBStore(db) as store:
        ensure_shipped(store, SHIPPED_SPACE)
        task, mf = next(iter(store.metafeatures().items()))
    (tmp_path / "mf.json").write_text(json.dumps(mf))
    args = ["--metafeatures", "mf.json", "--space", SHIPPED_SPACE, "--db", str(db)]
    out = _query(tmp_path, args)
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)["recommendations"]) == 5  # it answered
    assert out.stderr.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("dataset", ["table.csv", "sklearn:iris"])
def test_recommend_for_a_dataset_imports_no_training_library(tmp_path: Path, dataset: str) -> None:
    """The shipped champion reads general meta-features only: no landmarker is fitted,
    and a small table of numbers, booleans and text is read without pandas."""
    db = tmp_path / "store.duckdb"
    with DuckDBStore(db) as store:
        ensure_shipped(store, SHIPPED_SPACE)
    rng = np.random.default_rng(0)
    rows = [f"{a:.3f},{b},{'xyz'[b % 3]},{b > 2},{int(a > 0)}" for a, b in
            zip(rng.normal(size=3000), rng.integers(0, 5, 3000), strict=True)]  # fmt: skip
    (tmp_path / "table.csv").write_text("a,b,c,d,target\n" + "\n".join(rows) + "\n")
    out = _query(tmp_path, ["--dataset", dataset, "--db", str(db)])
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)["recommendations"]) == 5  # it answered
    loaded = json.loads(out.stderr.strip().splitlines()[-1].replace("'", '"'))
    assert loaded == [], loaded
