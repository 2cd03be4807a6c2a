"""Few-shot tuning on held-out tasks against stock samplers, one benchmark at a time.

The benchmark is a scenario folder written by ``pipelines.bench.yahpo_build``. For each
fold, a store is built as a user would: ``recommender space import``, ``recommender
ingest`` of the training tasks' runs (and meta-features where the benchmark has them),
``recommender retrain``. Then, for each held-out task and seed, in the same run:

* ``ours``: :class:`recommender.tuning.sampler.RecommenderSampler` on that store
  (what ``recommender tune`` uses);
* ``list``: our top-20 recommendations (``recommender.recommend``) tried in order;
* ``top5_tpe`` / ``top5_gp``: the list's top 5 enqueued, then Optuna's TPESampler /
  GPSampler;
* ``tpe`` / ``gp``: TPESampler / GPSampler from scratch.

The objective is the scenario's surrogate evaluated at the suggested config (anywhere in
the space). Regret as in :mod:`pipelines.bench.fewshot_report`: 0 at the task's best known
value (a 10,000-config random sample plus everything found), 1 at the sample's median.

Every (method, task, seed) result is cached in ``OUT/results/``; peers are computed once
and ``ours`` once per code version (``--tag``, default the git commit plus a hash of
uncommitted changes), so a rerun after a change to the tuner recomputes ours alone (on
a store retrained with that code: stores are kept per tag in ``OUT/stores/``;
``--store-tag`` reuses another tag's stores when retrain's code did not change). If
``retrain`` refuses tasks without meta-features, the store gets one constant
meta-feature per task and the results say so.

Usage:
    python -m pipelines.bench.bench_fewshot DATA/rbv2_rpart --out RUNS/rbv2_rpart \
        [--methods ours,list,top5_tpe,top5_gp,tpe,gp] [--tasks 3,31 | --tasks 10] \
        [--seeds 3 | --seeds 0,2] [--budget 20] [--tag NAME] [--store-tag NAME] [--report-only]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.bench.fewshot_report import NS, markdown, on_common_tasks, regret_table

METHODS = ("ours", "list", "top5_tpe", "top5_gp", "tpe", "gp")
LABELS = {
    "ours": "ours (RecommenderSampler)", "list": "the list alone (top-n)",
    "top5_tpe": "top-5 + TPE", "top5_gp": "top-5 + GPSampler",
    "tpe": "TPE, cold", "gp": "GPSampler, cold",
}  # fmt: skip
LIST_K = 20
CONSTANT_MF = {"NumberOfInstances": 1000.0}
ROOT = Path(__file__).resolve().parents[2]


def code_tag() -> str:
    """The commit, plus a hash of uncommitted changes under recommender/ if any."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    tag = git("rev-parse", "--short", "HEAD") or "nogit"
    diff = git("diff", "HEAD", "--", "recommender")
    return tag + ("+" + hashlib.sha1(diff.encode()).hexdigest()[:8] if diff else "")


class Benchmark:
    """A scenario folder: space, surrogate, folds, reference values, training table."""

    def __init__(self, folder: Path) -> None:
        from pipelines.bench.yahpo_surrogate import SurrogateObjective

        self.folder = folder
        self.meta = json.loads((folder / "scenario.json").read_text())
        self.name = self.meta["name"]
        self.objective = SurrogateObjective.load(folder)
        self.space = self.objective.space
        self.maximize = self.objective.layout.maximize
        ref = pd.read_parquet(folder / "reference.parquet")
        self.references = {str(r.task): {"best": r.best, "median": r.median}
                           for r in ref.itertuples()}  # fmt: skip
        self.folds: list[list[str]] = self.meta["folds"]
        self.mf = None
        if self.meta.get("metafeatures"):
            frame = pd.read_csv(folder / "metafeatures.csv")
            frame["task_id"] = frame["task_id"].astype(str)
            self.mf = frame.set_index("task_id")

    def metafeatures(self, task: str) -> dict[str, float] | None:
        if self.mf is None:
            return None
        row = pd.to_numeric(self.mf.loc[task], errors="coerce").dropna()
        return {str(k): float(v) for k, v in row.items()}

    def fold_of(self, task: str) -> int:
        return next(i for i, fold in enumerate(self.folds) if task in fold)


def _cli(args: list[str], db: Path, log: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RECOMMENDER_DB": str(db), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "recommender.cli", *args]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    with log.open("a") as f:
        f.write(
            f"$ recommender {' '.join(args)}\n{done.stdout}{done.stderr}[exit {done.returncode}]\n"
        )
    return done


def build_store(bench: Benchmark, fold: int, folder: Path) -> dict[str, Any]:
    """The fold's store, built through the CLI as a user would (once; kept in ``folder``)."""
    info_file = folder / "build.json"
    if info_file.exists():
        return dict(json.loads(info_file.read_text()))
    folder.mkdir(parents=True, exist_ok=True)
    db, log = folder / "store.duckdb", folder / "build.log"
    db.unlink(missing_ok=True)
    heldout = set(bench.folds[fold])
    table = pd.read_parquet(bench.folder / "train.parquet")
    table = table[~table["task"].astype(str).isin(heldout)]
    table.to_parquet(folder / "train.parquet", index=False)
    layout, name = bench.objective.layout, bench.name
    steps = [["space", "import", str(bench.folder / "space.json"), "--name", name],
             ["ingest", str(folder / "train.parquet"), "--space", name]]  # fmt: skip
    if bench.mf is not None:
        mf = bench.mf[~bench.mf.index.isin(heldout)].reset_index()
        mf.to_csv(folder / "metafeatures.csv", index=False)
        steps.append(["ingest", str(folder / "metafeatures.csv"), "--kind", "metafeatures",
                      "--task-column", "task_id"])  # fmt: skip
    for step in steps:
        if _cli(step, db, log).returncode != 0:
            raise SystemExit(
                f"store for {name} fold {fold}: `recommender {step[0]}` failed; see {log}"
            )
    retrain = ["retrain", "--space", name, "--metric", layout.metric,
               "--maximize" if layout.maximize else "--minimize"]  # fmt: skip
    t0 = time.perf_counter()
    done = _cli(retrain, db, log)
    workaround = None
    if done.returncode != 0 and "meta-features" in done.stderr and bench.mf is None:
        workaround = f"retrain refused without meta-features ({done.stderr.strip()}); " \
            f"ingested the constant meta-feature {CONSTANT_MF} for every task"  # fmt: skip
        const = pd.DataFrame({"task_id": sorted(table["task"].astype(str).unique())})
        for k, v in CONSTANT_MF.items():
            const[k] = v
        const.to_csv(folder / "constant_mf.csv", index=False)
        _cli(["ingest", str(folder / "constant_mf.csv"), "--kind", "metafeatures",
              "--task-column", "task_id"], db, log)  # fmt: skip
        done = _cli(retrain, db, log)
    if done.returncode != 0:
        raise SystemExit(f"store for {name} fold {fold}: retrain failed; see {log}")
    info = {"fold": fold, "retrain_s": time.perf_counter() - t0, "workaround": workaround,
            "retrain": done.stdout.strip().splitlines()[-1:]}  # fmt: skip
    info_file.write_text(json.dumps(info, indent=1))
    return info


def task_metafeatures(bench: Benchmark, info: dict[str, Any], task: str) -> dict[str, float] | None:
    """What the user knows of the task: its meta-features, or the constant of the
    workaround, or nothing."""
    return bench.metafeatures(task) or (dict(CONSTANT_MF) if info.get("workaround") else None)


def recommended(bench: Benchmark, db: Path, mf: dict[str, float] | None) -> list[dict[str, Any]]:
    """Our top-``LIST_K`` configs for the task (what ``recommender recommend`` answers)."""
    from recommender import recommend

    result = recommend(mf or {}, space=bench.name, top_k=LIST_K, db=db, log=False)
    return [dict(r.config) for r in result.recommendations]


def run_study(
    bench: Benchmark, task: str, sampler: Any, budget: int, enqueue: list[dict[str, Any]]
) -> dict[str, Any]:
    """One Optuna study on the task's surrogate: every trial's value and ask time."""
    import optuna

    from recommender.tuning.sampler import suggest_config

    study = optuna.create_study(
        direction="maximize" if bench.maximize else "minimize", sampler=sampler
    )
    for config in enqueue:
        study.enqueue_trial(config)
    values, asks = [], []
    for _ in range(budget):
        t0 = time.perf_counter()
        trial = study.ask()
        config = suggest_config(trial, bench.space)
        asks.append(time.perf_counter() - t0)
        value = float(bench.objective.evaluate(task, [config])[0])
        study.tell(trial, value)
        values.append(value)
    return {"values": values, "ask_s": asks}


def run_method(
    bench: Benchmark, method: str, task: str, seed: int, db: Path, info: dict[str, Any],
    budget: int,
) -> dict[str, Any]:  # fmt: skip
    """One method on one task with one seed."""
    import optuna

    mf = task_metafeatures(bench, info, task)
    if method == "list":
        configs = recommended(bench, db, mf)
        return {"values": [float(v) for v in bench.objective.evaluate(task, configs)], "ask_s": []}
    if method == "ours":
        from recommender.tuning.sampler import RecommenderSampler

        t0 = time.perf_counter()
        sampler = RecommenderSampler(bench.name, metafeatures=mf, db=db, seed=seed)
        load_s = time.perf_counter() - t0
        return {**run_study(bench, task, sampler, budget, []), "load_s": load_s}
    top5 = recommended(bench, db, mf)[:5] if method.startswith("top5_") else []
    stock: optuna.samplers.BaseSampler = (
        optuna.samplers.TPESampler(seed=seed)
        if method.endswith("tpe")
        else optuna.samplers.GPSampler(seed=seed)
    )
    return run_study(bench, task, stock, budget, top5)


def selected_tasks(bench: Benchmark, spec: str | None) -> list[str]:
    heldout = [t for fold in bench.folds for t in fold]
    if not spec:
        return heldout
    if spec.isdigit():
        return heldout[: int(spec)]
    wanted = spec.split(",")
    unknown = [t for t in wanted if t not in heldout]
    if unknown:
        raise SystemExit(f"--tasks: expected held-out tasks of {bench.name}, got {unknown}")
    return wanted


def run_all(bench: Benchmark, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every selected (method, task, seed): from the cache, else computed and cached."""
    tag = args.tag or code_tag()
    seeds = list(range(int(args.seeds))) if args.seeds.isdigit() else \
        [int(s) for s in args.seeds.split(",")]  # fmt: skip
    results = []
    for task in selected_tasks(bench, args.tasks):
        fold = bench.fold_of(task)
        store_dir = args.out / "stores" / (args.store_tag or tag) / f"fold{fold}"
        for method in args.methods.split(","):
            key = f"ours-{tag}" if method == "ours" else method
            for seed in [0] if method == "list" else seeds:
                cached = args.out / "results" / key / f"{task}-s{seed}.json"
                if not cached.exists() and not args.report_only:
                    info = build_store(bench, fold, store_dir)
                    t0 = time.perf_counter()
                    res = run_method(bench, method, task, seed, store_dir / "store.duckdb",
                                     info, args.budget)  # fmt: skip
                    res.update(task=task, seed=seed, method=method, key=key, fold=fold,
                               workaround=info.get("workaround"))  # fmt: skip
                    cached.parent.mkdir(parents=True, exist_ok=True)
                    cached.write_text(json.dumps(res))
                    print(f"{bench.name} {key} task {task} seed {seed}: "
                          f"{time.perf_counter() - t0:.1f} s", flush=True)  # fmt: skip
                if cached.exists():
                    results.append(json.loads(cached.read_text()))
    return results


def report(bench: Benchmark, everything: list[dict[str, Any]], budget: int) -> str:
    """The markdown results: mean regret per method at n, seconds per suggestion, paired."""
    results = on_common_tasks(everything)
    table = regret_table(results, bench.references, bench.maximize, NS)
    order = [m for m in METHODS if m in table]
    table = {m: table[m] for m in order}
    seconds = {}
    for m in order:
        asks = [a for r in results if r["method"] == m for a in r["ask_s"]]
        if asks:
            seconds[m] = float(np.median(asks))
    keys = sorted({r["key"] for r in results if r["method"] == "ours"})
    seeds = sorted({r["seed"] for r in results if r["method"] != "list"})
    notes: dict[str, set[str]] = {}
    for r in results:
        if r.get("workaround"):
            notes.setdefault(r["workaround"], set()).add(r["method"])
    lines = [
        f"{bench.name}: {len(next(iter(table.values()), {}))} held-out tasks, seeds "
        f"{seeds}, {budget} trials, metric {bench.objective.layout.metric}; mean regret of the "
        f"best so far after n trials (lower is better; 0 = best known, 1 = median). "
        f"ours = {', '.join(keys) or 'not run'}.",
        "",
        *markdown(table, seconds, "ours", LABELS, NS),
        "",
        "s/suggestion: median wall time of Optuna's ask plus the trial's suggest calls.",
        *[f"Store of {', '.join(sorted(m))}: {n}" for n, m in sorted(notes.items())],
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benchmark", type=Path, help="a scenario folder from yahpo_build")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--tasks", default=None, help="held-out tasks (a,b,c) or the first N")
    parser.add_argument("--seeds", default="3", help="how many (N) or which (0,2)")
    parser.add_argument("--budget", type=int, default=max(NS))
    parser.add_argument("--tag", default=None, help="name of ours' code version")
    parser.add_argument(
        "--store-tag", default=None, help="reuse the stores retrained under this tag"
    )
    parser.add_argument("--report-only", action="store_true", help="cached results only")
    args = parser.parse_args(argv)
    unknown = set(args.methods.split(",")) - set(METHODS)
    if unknown:
        raise SystemExit(f"--methods: expected some of {','.join(METHODS)}, got {sorted(unknown)}")
    import optuna
    import torch

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore")  # Optuna's experimental and fallback notes
    bench = Benchmark(args.benchmark)
    results = run_all(bench, args)
    text = report(bench, results, args.budget)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
