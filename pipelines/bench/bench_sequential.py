"""Sequential tuning on LCBench, leave-one-task-out: regret of the best so far after n trials.

For each held-out task the store the models learn from holds the other tasks only. The
objective of a held-out task is the table value of the nearest of its 2,000 configs in
the unit cube (a stand-in for training). Methods, each an Optuna study with the same
define-by-run objective, 3 seeds:

* ``ours``: :class:`recommender.tuning.sampler.RecommenderSampler` (few-shot
  surrogate meta-trained on the other tasks; first trial = today's top-1);
* ``tpe_cold``: Optuna's TPE; ``tpe_warm`` / ``gp_warm``: TPE and GPSampler after
  enqueuing today's ``recommend`` top-5 (fitted on the same other tasks);
* ``random``: Optuna's RandomSampler;
* ``top5_list``: today's ranked list itself (top-1, best of top-5), for the targets.

Regret is ``max(0, (best - achieved) / (best - median))`` of the task's table, as in
``recommender evaluate``. Each task's result is cached in ``OUT/tasks/`` (resumable).

Usage:
    python -m pipelines.bench.bench_sequential LCBENCH_DIR --out DIR [--tasks N] [--seeds 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

NS = (1, 3, 5, 10, 20)
METHODS = ("ours", "tpe_cold", "tpe_warm", "gp_warm", "random")
METRIC = "val_balanced_accuracy"


def build_store(lcbench: Path, out: Path) -> Path:
    """The LCBench store (epoch 52 runs, meta-features, space), built once in ``out``."""
    from pipelines.bench.lcbench_to_table import reshape
    from recommender.ingest import ingest
    from recommender.spaces.space import import_space
    from recommender.store import DuckDBStore

    path = out / "store.duckdb"
    if path.exists():
        return path
    table = out / "table.parquet"
    reshape(pd.read_parquet(lcbench / "runs.parquet"), 52).to_parquet(table, index=False)
    tmp = out / "store.tmp.duckdb"
    tmp.unlink(missing_ok=True)
    with DuckDBStore(tmp) as store:
        import_space(store, lcbench / "config_space.json", "lcbench")
        ingest(store, table, space="lcbench")
        ingest(store, lcbench / "metafeatures.csv", kind="metafeatures", task_column="task_id")
    tmp.rename(path)
    table.unlink()
    return path


class TaskObjective:
    """The held-out task's table value of the nearest config (define-by-run)."""

    def __init__(self, space: Any, X: np.ndarray, values: np.ndarray) -> None:
        from scipy.spatial import cKDTree

        self.space, self.values = space, values
        self.tree = cKDTree(np.nan_to_num(X, nan=-1.0))

    def value(self, config: dict[str, Any]) -> float:
        _, j = self.tree.query(np.nan_to_num(self.space.encode([config]), nan=-1.0))
        return float(self.values[int(np.ravel(j)[0])])

    def __call__(self, trial: Any) -> float:
        return self.value(self.suggest(trial))

    def suggest(self, trial: Any) -> dict[str, Any]:
        """Ask ``trial`` for every parameter of the space."""
        config = {}
        for p in self.space.params:
            if p.type == "int":
                config[p.name] = trial.suggest_int(p.name, int(p.low), int(p.high), log=p.log)
            elif p.type == "float":
                config[p.name] = trial.suggest_float(p.name, p.low, p.high, log=p.log)
            else:
                config[p.name] = trial.suggest_categorical(p.name, list(p.choices))
        return config


def run_task(data: Any, task: str, seeds: int, budget: int,
             methods: tuple[str, ...] = METHODS, models: Path | None = None,
             done: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """``methods`` on one held-out task; regrets at ``NS`` per seed, and timings. Methods
    in ``done`` (an earlier result of this task) are kept as they are; ``models`` keeps the
    few-shot model meta-trained on the other tasks (reused by later runs)."""
    from recommender.knowledge.evaluation import TUNING_GRID
    from recommender.knowledge.ranking import recommend_with, task_prior
    from recommender.surrogate.model import fit_surrogate
    from recommender.surrogate.normalize import regret

    others = [t for t in data.tasks if t != task]
    train = data.subset(others)
    mf = data.metafeatures[task]
    t0 = time.perf_counter()
    zero = fit_surrogate(train, params=dict(TUNING_GRID[0]), seed=0)
    top5 = [r.config for r in recommend_with(zero, mf, top_k=5)]
    prior = task_prior(zero, mf)
    t1 = time.perf_counter()
    fewshot = fewshot_model(train, None if models is None else models / task)
    t2 = time.perf_counter()
    mask = (data.frame["task"] == task).to_numpy()
    values = data.frame["value"].to_numpy()[mask]
    objective = TaskObjective(data.space, data.X[mask], values)
    list_vals = [objective.value(c) for c in top5]
    out: dict[str, Any] = done or {"fit_s": {"zero_shot": t1 - t0, "fewshot": t2 - t1}}
    out["task"] = task
    out["top5_list"] = {"top1": regret(list_vals[0], values),
                        "top5": regret(max(list_vals), values)}  # fmt: skip
    for key in ("regret", "suggest_s"):
        out.setdefault(key, {})
    for name in methods:
        out["regret"][name], out["suggest_s"][name] = [], []
        for seed in range(seeds):
            sampler = make_sampler(name, seed, fewshot, mf, top5, prior)
            curve, times = run_study(sampler, top5 if name.endswith("_warm") else [],
                                     objective, values, budget)  # fmt: skip
            out["regret"][name].append([curve[n - 1] for n in NS])
            out["suggest_s"][name].append(float(np.mean(times)))
    return out


def fewshot_model(train: Any, folder: Path | None) -> Any:
    """The few-shot model meta-trained on ``train`` (kept in, and reused from, ``folder``)."""
    from recommender.fewshot import FewShotSurrogate

    if folder is not None and (folder / "fewshot.json").is_file():
        return FewShotSurrogate.load(folder)
    model = FewShotSurrogate(seed=0).fit(train)
    if folder is not None:
        model.save(folder)
    return model


def make_sampler(name: str, seed: int, fewshot: Any, mf: Any, top5: list[Any], prior: Any) -> Any:
    import optuna

    from recommender.tuning.sampler import RecommenderSampler

    if name == "ours":
        return RecommenderSampler.from_surrogate(
            fewshot, metafeatures=mf, zero_shot=top5, seed=seed, prior=prior
        )
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name.startswith("gp"):
        return optuna.samplers.GPSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def run_study(sampler: Any, enqueue: list[Any], objective: Any, values: Any,
              budget: int) -> tuple[list[float], list[float]]:  # fmt: skip
    """Regret of the best so far after each trial, and each trial's ask + lookup time."""
    import optuna

    from recommender.surrogate.normalize import regret

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    for config in enqueue:
        study.enqueue_trial(config)
    best, curve, times = -np.inf, [], []
    for _ in range(budget):
        s0 = time.perf_counter()
        trial = study.ask()
        value = objective(trial)
        times.append(time.perf_counter() - s0)
        study.tell(trial, value)
        best = max(best, value)
        curve.append(regret(best, values))
    return curve, times


def summarise(results: list[dict[str, Any]]) -> str:
    """The markdown results table (mean regret over tasks and seeds)."""
    lines = [
        f"Leave-one-task-out on {len(results)} LCBench tasks, {METRIC} at epoch 52; "
        "mean normalised regret of the best so far (lower is better).",
        "",
        "| method | " + " | ".join(f"n={n}" for n in NS) + " | s/trial |",
        "|---|" + "---:|" * (len(NS) + 1),
    ]
    for m in [m for m in METHODS if all(m in res["regret"] for res in results)]:
        r = np.array([np.mean(res["regret"][m], axis=0) for res in results])
        t = np.mean([np.mean(res["suggest_s"][m]) for res in results])
        lines.append(f"| {m} | " + " | ".join(f"{x:.3f}" for x in r.mean(axis=0)) + f" | {t:.3f} |")
    top1 = np.mean([res["top5_list"]["top1"] for res in results])
    top5 = np.mean([res["top5_list"]["top5"] for res in results])
    lines.append(f"| today's list (top-1, best of top-5) | {top1:.3f} | | {top5:.3f} | | | |")
    if all(m in res["regret"] for res in results for m in ("ours", "tpe_warm", "gp_warm")):
        lines += ["", *paired_lines(results)]
    fit = np.mean([res["fit_s"]["fewshot"] for res in results])
    lines += ["", f"Few-shot meta-training: {fit:.1f} s per held-out task (mean).",
              "s/trial: mean wall time of ask + tell's objective lookup per trial."]  # fmt: skip
    return "\n".join(lines) + "\n"


def paired_lines(results: list[dict[str, Any]]) -> list[str]:
    """The targets as paired differences over tasks (ours, mean over seeds, minus the
    rival on the same task), each with a bootstrap 95 % interval over tasks."""
    from pipelines.bench.bench_shipped import paired_bootstrap

    def ours(n: int) -> np.ndarray:
        return np.array([np.mean(res["regret"]["ours"], axis=0)[NS.index(n)] for res in results])

    def warm(n: int) -> np.ndarray:  # the better warm-started sampler on average
        per = {m: np.array([np.mean(res["regret"][m], axis=0)[NS.index(n)] for res in results])
               for m in ("tpe_warm", "gp_warm")}  # fmt: skip
        return min(per.values(), key=lambda r: float(r.mean()))

    rivals = [
        ("n=1, ours minus today's top-1", ours(1), [r["top5_list"]["top1"] for r in results]),
        ("n=5, ours minus today's best of top-5", ours(5),
         [r["top5_list"]["top5"] for r in results]),
        ("n=10, ours minus the better warm-started sampler", ours(10), warm(10)),
        ("n=20, ours minus the better warm-started sampler", ours(20), warm(20)),
    ]  # fmt: skip
    lines = ["| target | mean difference | 95 % interval | tasks better / worse |",
             "|---|---:|---|---|"]  # fmt: skip
    for label, a, b in rivals:
        diff = a - np.asarray(b, dtype=float)
        mean, low, high = paired_bootstrap(diff)
        better, worse = int((diff < -1e-9).sum()), int((diff > 1e-9).sum())
        mean, low, high = (round(v, 3) + 0.0 for v in (mean, low, high))  # no "-0.000"
        lines.append(f"| {label} | {mean:+.3f} | [{low:+.3f}, {high:+.3f}] | {better} / {worse} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lcbench", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--tasks", type=int, default=None, help="only the first N tasks")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=int, default=max(NS))
    parser.add_argument("--methods", default=",".join(METHODS),
                        help="run these (others come from OUT/tasks/ as cached)")  # fmt: skip
    args = parser.parse_args(argv)
    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    import torch

    from recommender.spaces.space import load_space
    from recommender.store import DuckDBStore
    from recommender.surrogate.model import load_training_data

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)  # Optuna's experimental notes
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "tasks").mkdir(exist_ok=True)
    with DuckDBStore(build_store(args.lcbench, args.out), read_only=True) as store:
        space = load_space("lcbench", store)
        data = load_training_data(store, space, metric=METRIC, maximize=True, fidelity=52)
    results = []
    for task in data.tasks[: args.tasks]:
        cached = args.out / "tasks" / f"{task}.json"
        done = json.loads(cached.read_text()) if cached.exists() else None
        todo = tuple(m for m in methods if done is None or m not in done["regret"]
                     or args.methods != ",".join(METHODS))  # fmt: skip
        if done is None or todo:
            t0 = time.perf_counter()
            res = run_task(data, task, args.seeds, args.budget, todo, args.out / "models", done)
            cached.write_text(json.dumps(res))
            print(f"task {task}: {time.perf_counter() - t0:.0f} s", flush=True)
        results.append(json.loads(cached.read_text()))
    table = summarise(results)
    (args.out / "results.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
