"""Turn the collection's work folder into the shipped files of ``data/``.

``runs.parquet`` (the run-table convention of ``recommender ingest``), ``curves.parquet``,
``metafeatures.parquet`` and ``SHA256SUMS``: the pieces ``pack_write`` puts together.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

SPACE = "tabular_mlp"
SCORE = "val_score"  # balanced accuracy or R^2: one higher-is-better name for every task


def _load(work: Path) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    records = []
    for path in sorted((work / "runs").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    mfs = {}
    for path in sorted((work / "metafeatures").glob("*.json")):
        rec = json.loads(path.read_text())
        mfs[rec["task"]] = rec
    return records, mfs


def _finite(v: Any) -> float | None:
    return float(v) if v is not None and math.isfinite(float(v)) else None


def tables(records: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run rows and curve points, in the shapes `recommender ingest` reads."""
    runs, curves = [], []
    for r in records:
        run_id = f"{r['task']}/{r['config_id']}"
        status = {"diverged": "failed"}.get(r["status"], r["status"])
        row: dict[str, Any] = {
            "task": r["task"], "run_id": run_id, "fidelity": r["epochs"], "status": status,
            "duration_s": r["duration_s"],
        }  # fmt: skip
        row.update({f"param.{k}": v for k, v in r["config"].items()})
        value = _finite(r["value"]) if r["status"] == "ok" else None
        row[f"metric.{SCORE}"] = value
        row[f"metric.{r['metric']}"] = value
        if r["curve"] and r["status"] == "ok":
            row["metric.val_loss"] = _finite(r["curve"][-1].get("val_loss"))
        runs.append(row)
        for point in r["curve"]:
            for name, v in point.items():
                if name != "epoch" and _finite(v) is not None:
                    curves.append({"run_id": run_id, "name": name, "step": float(point["epoch"]),
                                   "value": float(v)})  # fmt: skip
    return pd.DataFrame(runs), pd.DataFrame(curves, columns=["run_id", "name", "step", "value"])


def _metafeature_frame(mfs: dict[str, dict[str, Any]], tasks: set[str]) -> pd.DataFrame:
    rows = [
        {"task": t, "problem_type": mfs[t]["problem_type"], **mfs[t]["features"]}
        for t in sorted(tasks)
        if t in mfs
    ]
    return pd.DataFrame(rows)


def _write_part(out: Path, prefix: str, runs: pd.DataFrame, curves: pd.DataFrame,
                mfs: dict[str, dict[str, Any]]) -> None:  # fmt: skip
    subset = runs.sort_values(["task", "run_id"])
    subset = subset.dropna(axis=1, how="all")  # parameters of another space
    subset.to_parquet(out / f"{prefix}runs.parquet", index=False, compression="zstd")
    c = curves[curves["run_id"].isin(set(subset["run_id"]))]
    c.to_parquet(out / f"{prefix}curves.parquet", index=False, compression="zstd")
    _metafeature_frame(mfs, set(subset["task"])).dropna(axis=1, how="all").to_parquet(
        out / f"{prefix}metafeatures.parquet", index=False, compression="zstd"
    )


def write_checksums(out: Path) -> None:
    lines = []
    for path in sorted(out.rglob("*")):
        if path.is_file() and path.name not in ("SHA256SUMS", "README.md"):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            lines.append(f"{digest}  {path.relative_to(out).as_posix()}")
    (out / "SHA256SUMS").write_text("\n".join(lines) + "\n")
