"""Start-up of a query: ``recommender recommend`` as a whole process, on a loaded store.

Each run is a fresh interpreter answering one query with the shipped model (import, open
the store, load the model, describe the dataset, rank, log the query), for three inputs:
meta-features (``--metafeatures f.json``), a 3,000-row CSV (``--dataset table.csv``) and
``--dataset sklearn:iris``. Each process's wall time and CPU time (user + sys) are
measured. Variants, timed in the same run and interleaved so that machine load hits them
alike:

* ``compact``: the default; the trees are read from ``trees.safetensors`` and
  predicted with numpy, so neither xgboost nor scikit-learn is imported;
* ``xgboost`` (baseline): the same query with ``RECOMMENDER_INFERENCE=xgboost``, so
  the boosters are loaded and XGBoost predicts;
* ``reference`` (optional, ``--reference PATH``): the same query run by another
  checkout of the package (for example the previous release), on its own copy of the
  store.

All variants must return the same recommendations. Prints each variant's medians and
the ratio to the compact path; ``--importtime`` also lists the compact path's heaviest
top-level imports (``python -X importtime``).

Usage:
    python -m pipelines.bench.bench_startup [--runs 15] [--space tabular_mlp]
        [--reference /path/to/other/checkout] [--importtime]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
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
    """A store with the shipped pack, the meta-features of one of its tasks as JSON, and a
    3,000-row CSV (``table.csv`` beside it)."""
    db = directory / "store" / "store.duckdb"
    db.parent.mkdir(parents=True)
    with DuckDBStore(db) as store:
        ensure_shipped(store, space)
        tasks = store.task_names(space=space)
        mf = store.metafeatures(tasks[0])[tasks[0]]
    path = directory / "metafeatures.json"
    path.write_text(json.dumps(mf))
    rng = random.Random(0)
    rows = [
        f"{rng.gauss(0, 1):.4f},{rng.randrange(5)},{rng.choice('xyz')},{rng.expovariate(1):.4f}"
        for _ in range(3000)
    ]
    table = [f"{r},{int(float(r.split(',')[0]) + float(r.split(',')[3]) > 1)}" for r in rows]
    (directory / "table.csv").write_text("a,b,c,d,target\n" + "\n".join(table) + "\n")
    return db, path


def queries(mf: Path, space: str) -> dict[str, list[str]]:
    """The query arguments timed, by name."""
    return {
        "--metafeatures": ["--metafeatures", str(mf), "--space", space],
        "--dataset table.csv": ["--dataset", str(mf.parent / "table.csv")],
        "--dataset sklearn:iris": ["--dataset", "sklearn:iris"],
    }


def query(
    db: Path, args: list[str], cwd: Path, env: dict[str, str]
) -> tuple[float, float, list[object]]:
    """Wall and CPU (user + sys) seconds of one query process, and the configs it recommended."""
    cmd = [sys.executable, "-m", "recommender.cli", "recommend", *args, "--db", str(db), "--json"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    # cwd: a neutral folder, so that ``-m`` does not import the package from the current one
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if out.returncode != 0:
        raise SystemExit(f"query failed ({' '.join(cmd)}):\n{out.stderr}")
    answer = json.loads(out.stdout)  # a list before recommend --json became an object
    rows = answer["recommendations"] if isinstance(answer, dict) else answer
    return elapsed, cpu, [r["config"] for r in rows]


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
        found = time_all(variants, queries(mf, args.space), mf.parent, args.runs)
        if args.importtime:
            importtime(db, mf, args.space, base_env)
    print(f"query process ({args.runs} runs each, medians; same recommendations in all):")
    for name, by_variant in found.items():
        ours = [statistics.median(xs) for xs in by_variant["compact"]]
        print(f"recommend {name}:")
        for variant, (wall, cpu) in by_variant.items():
            w, c = statistics.median(wall), statistics.median(cpu)
            print(
                f"  {variant:<28} wall {w:.3f} s (min {min(wall):.3f})  cpu {c:.3f} s "
                f"(min {min(cpu):.3f})  ratio to compact: wall {w / ours[0]:.2f}, "
                f"cpu {c / ours[1]:.2f}"
            )
    return 0


def time_all(
    variants: dict[str, tuple[Path, dict[str, str]]],
    named: dict[str, list[str]],
    cwd: Path,
    runs: int,
) -> dict[str, dict[str, tuple[list[float], list[float]]]]:
    """``{query: {variant: (wall seconds, cpu seconds)}}``, runs interleaved; every
    variant must recommend the same configs for a query."""
    found: dict[str, dict[str, tuple[list[float], list[float]]]] = {}
    for name, args in named.items():
        answers = {v: query(d, args, cwd, env)[2] for v, (d, env) in variants.items()}
        if len({json.dumps(a, sort_keys=True) for a in answers.values()}) != 1:
            raise SystemExit(f"{name}: the variants recommend different configs: {answers}")
        found[name] = {v: ([], []) for v in variants}
    for _ in range(runs):
        for name, args in named.items():
            for variant, (d, env) in variants.items():
                wall, cpu, _ = query(d, args, cwd, env)
                found[name][variant][0].append(wall)
                found[name][variant][1].append(cpu)
    return found


if __name__ == "__main__":
    sys.exit(main())
