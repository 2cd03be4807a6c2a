"""Start-up of a query: ``recommender recommend --metafeatures f.json`` as a whole process.

Each run is a fresh interpreter answering one query from meta-features with the shipped
model (import, open the store, load the model, rank, log the query). Variants, timed in
the same run and interleaved so that machine load hits them alike:

* ``compact``: the default; the trees are read from ``trees.safetensors`` and
  predicted with numpy, so neither xgboost nor scikit-learn is imported;
* ``xgboost`` (baseline): the same query with ``RECOMMENDER_INFERENCE=xgboost``, so
  the boosters are loaded and XGBoost predicts;
* ``reference`` (optional, ``--reference PATH``): the same query run by another
  checkout of the package (for example the previous release), on its own copy of the
  store.

All variants must return the same recommendations. Prints each variant's median and
the ratio to the compact path; ``--importtime`` also lists the compact path's heaviest
top-level imports (``python -X importtime``).

Usage:
    python pipelines/bench/bench_startup.py [--runs 15] [--space tabular_mlp]
        [--reference /path/to/other/checkout] [--importtime]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from recommender.knowledge.packs import ensure_shipped
from recommender.store import DuckDBStore

INFERENCE_ENV = "RECOMMENDER_INFERENCE"


def prepare(directory: Path, space: str) -> tuple[Path, Path]:
    """A store with the shipped pack, and the meta-features of one of its tasks as JSON."""
    db = directory / "store" / "store.duckdb"
    db.parent.mkdir(parents=True)
    with DuckDBStore(db) as store:
        ensure_shipped(store, space)
        tasks = store.task_names(space=space)
        mf = store.metafeatures(tasks[0])[tasks[0]]
    path = directory / "metafeatures.json"
    path.write_text(json.dumps(mf))
    return db, path


def query(db: Path, mf: Path, space: str, env: dict[str, str]) -> tuple[float, list[object]]:
    """Seconds for one query process, and the configs it recommended."""
    cmd = [sys.executable, "-m", "recommender.cli", "recommend", "--metafeatures", str(mf),
           "--space", space, "--db", str(db), "--json"]  # fmt: skip
    t0 = time.perf_counter()
    # cwd: a neutral folder, so that ``-m`` does not import the package from the current one
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=mf.parent)
    elapsed = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"query failed ({' '.join(cmd)}):\n{out.stderr}")
    return elapsed, [r["config"] for r in json.loads(out.stdout)]


def importtime(db: Path, mf: Path, space: str, env: dict[str, str], top: int = 12) -> None:
    cmd = [sys.executable, "-X", "importtime", "-m", "recommender.cli", "recommend",
           "--metafeatures", str(mf), "--space", space, "--db", str(db), "--json"]  # fmt: skip
    err = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=mf.parent).stderr
    rows = []
    for line in err.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit() and not parts[2].startswith("  "):
            rows.append((int(parts[1]), parts[2].strip()))  # top-level imports only
    print("heaviest top-level imports of the compact path (cumulative, one run):")
    for us, name in sorted(rows, reverse=True)[:top]:
        print(f"  {us / 1000:8.1f} ms  {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--space", default="tabular_mlp")
    parser.add_argument("--reference", type=Path, default=None,
                        help="another checkout of the package to time as well")  # fmt: skip
    parser.add_argument("--importtime", action="store_true")
    args = parser.parse_args(argv)
    base_env = {k: v for k, v in os.environ.items() if k != INFERENCE_ENV}
    with tempfile.TemporaryDirectory() as tmp:
        db, mf = prepare(Path(tmp), args.space)
        variants = {
            "compact": (db, base_env),
            "xgboost (baseline)": (db, {**base_env, INFERENCE_ENV: "xgboost"}),
        }
        if args.reference is not None:
            ref_db = Path(tmp) / "reference" / "store.duckdb"
            shutil.copytree(db.parent, ref_db.parent)
            path = os.pathsep.join([str(args.reference.resolve()), base_env.get("PYTHONPATH", "")])
            variants[f"reference {args.reference}"] = (ref_db, {**base_env, "PYTHONPATH": path})
        times: dict[str, list[float]] = {name: [] for name in variants}
        answers = {name: query(d, mf, args.space, env)[1] for name, (d, env) in variants.items()}
        if len({json.dumps(a, sort_keys=True) for a in answers.values()}) != 1:
            raise SystemExit(f"the variants recommend different configs: {answers}")
        for _ in range(args.runs):
            for name, (d, env) in variants.items():
                times[name].append(query(d, mf, args.space, env)[0])
        if args.importtime:
            importtime(db, mf, args.space, base_env)
    ours = statistics.median(times["compact"])
    print(f"query process ({args.runs} runs each, medians; same recommendations in all):")
    for name, xs in times.items():
        med = statistics.median(xs)
        print(
            f"  {name:<28} median {med:.3f} s  min {min(xs):.3f} s  "
            f"ratio to compact {med / ours:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
