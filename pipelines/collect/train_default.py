"""Train the shipped surrogate from the shipped runs and save it into ``data/model/``."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

SPACE = "tabular_mlp"
METRIC = "val_score"


def train_default(
    out: Path, *, space: str = SPACE, prefix: str = "", seed: int = 0
) -> dict[str, object]:
    """Train on ``out``'s runs in a scratch store; copy the model to ``out/model``."""
    from recommender.knowledge.packs import load_runs_into
    from recommender.knowledge.registry import list_models, train_and_register
    from recommender.store import DuckDBStore

    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(Path(tmp) / "build.duckdb")
        load_runs_into(store, out, prefix=prefix, space=space)
        report = train_and_register(
            store, space=space, metric=METRIC, maximize=True, seed=seed, force=True
        )
        row = [r for r in list_models(store) if r["model_id"] == report.model_id][0]
        target = out / f"{prefix}model"
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
        (out / f"{prefix}registry.json").write_text(json.dumps(meta, indent=2, default=str))
        store.close()
    print(f"shipped surrogate for {space}: {report.message}")
    return meta
