"""A query from meta-features, as a process, imports none of the training libraries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from recommender.knowledge.packs import SHIPPED_SPACE, ensure_shipped
from recommender.store import DuckDBStore

HEAVY = ("xgboost", "sklearn", "scipy", "pandas", "torch")


def test_recommend_from_metafeatures_imports_no_training_library(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    with DuckDBStore(db) as store:
        ensure_shipped(store, SHIPPED_SPACE)
        task, mf = next(iter(store.metafeatures().items()))
    (tmp_path / "mf.json").write_text(json.dumps(mf))
    code = (
        "import sys\n"
        "from recommender.cli import cli\n"
        "try:\n"
        f"    cli(['recommend', '--metafeatures', 'mf.json', '--space', {SHIPPED_SPACE!r},\n"
        f"         '--db', {str(db)!r}, '--json'], prog_name='recommender')\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        f"print(sorted(set({HEAVY!r}) & loaded), file=sys.stderr)\n"
    )
    root = str(Path(__file__).resolve().parents[2])
    env = {k: v for k, v in os.environ.items() if k != "RECOMMENDER_INFERENCE"}
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)) == 5  # it answered
    assert out.stderr.strip().splitlines()[-1] == "[]"
