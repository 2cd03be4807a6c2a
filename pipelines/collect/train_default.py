"""Train a pack's shipped surrogate from its runs and save it into ``data/<pack>/model/``."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

SPACE = "tabular_mlp"
METRIC = "val_score"


def train_default(out: Path, *, space: str = SPACE, seed: int = 0) -> dict[str, object]:
    """Train on the runs in the pack folder ``out`` in a scratch store; copy the model to
    ``out/model``."""
    from recommender.knowledge.packs import load_runs_into
    from recommender.knowledge.registry import list_models, train_and_register
    from recommender.store import DuckDBStore

    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(Path(tmp) / "build.duckdb")
        load_runs_into(store, out, space=space)
        report = train_and_register(
            store, space=space, metric=METRIC, maximize=True, seed=seed, force=True
        )
        row = [r for r in list_models(store) if r["model_id"] == report.model_id][0]
        target = out / "model"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(row["artifact"], target)
        meta = {
            "space": space,
            "metric": METRIC,
            "maximize": True,
            "fidelity": row["fidelity"],
            "kind": row["kind"],
            "n_runs": row["n_runs"],
            "n_tasks": row["n_tasks"],
            "evaluation": row["evaluation"],
        }
        (out / "registry.json").write_text(json.dumps(meta, indent=2, default=str))
        store.close()
    print(f"shipped surrogate for {space}: {report.message}")
    return meta
