"""Time per suggestion of the few-shot sampler against Optuna's own, in the same run.

A 20-trial Optuna study on one LCBench task (the objective as in
:mod:`pipelines.bench.bench_sequential`: the task's table value of the nearest of its
configurations) with each sampler, the few-shot model meta-trained on the other 23 tasks
(its pool: the 2,000 configurations the store holds). Measures ``study.ask()`` plus the
objective's ``suggest_*`` calls of every trial, wall time and CPU time of this thread;
the samplers take turns within each repetition, so load on the machine hits them alike.
Prints the median per suggestion and its ratio to TPE's.

    python -m pipelines.bench.bench_suggest LCBENCH_DIR --out DIR [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.bench.bench_sequential import METRIC, TaskObjective, build_store, fewshot_model

TRIALS = 20
SAMPLERS = ("ours", "tpe", "gp")


def make(name: str, seed: int, fewshot: Any, mf: dict[str, float], top5: list[Any]) -> Any:
    import optuna

    from recommender.tuning.sampler import RecommenderSampler

    if name == "ours":
        return RecommenderSampler.from_surrogate(fewshot, metafeatures=mf, zero_shot=top5,
                                                 seed=seed)  # fmt: skip
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def study_times(sampler: Any, objective: TaskObjective) -> tuple[list[float], list[float]]:
    """Wall and thread CPU seconds of each trial's suggestions in a ``TRIALS``-trial study."""
    import optuna

    study = optuna.create_study(direction="maximize", sampler=sampler)
    wall, cpu = [], []
    for _ in range(TRIALS):
        w0, c0 = time.perf_counter(), time.thread_time()
        trial = study.ask()
        config = objective.suggest(trial)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.thread_time() - c0)
        study.tell(trial, objective.value(config))
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("lcbench", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--task", default=None, help="held-out task (default: the first)")
    args = ap.parse_args(argv)
    import optuna
    import torch

    from recommender.knowledge.evaluation import TUNING_GRID
    from recommender.knowledge.ranking import recommend_with
    from recommender.spaces.space import load_space
    from recommender.store import DuckDBStore
    from recommender.surrogate.model import fit_surrogate, load_training_data

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)  # Optuna's experimental notes
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    args.out.mkdir(parents=True, exist_ok=True)
    with DuckDBStore(build_store(args.lcbench, args.out), read_only=True) as store:
        space = load_space("lcbench", store)
        data = load_training_data(store, space, metric=METRIC, maximize=True, fidelity=52)
    task = args.task or data.tasks[0]
    train = data.subset([t for t in data.tasks if t != task])
    fewshot = fewshot_model(train, args.out / "models" / task)
    mf = data.metafeatures[task]
    zero = fit_surrogate(train, params=dict(TUNING_GRID[0]), seed=0)
    top5 = [r.config for r in recommend_with(zero, mf, top_k=5)]
    mask = (data.frame["task"] == task).to_numpy()
    objective = TaskObjective(data.space, data.X[mask], data.frame["value"].to_numpy()[mask])
    times: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in SAMPLERS}
    for seed in range(args.repeats):
        for name in SAMPLERS:
            wall, cpu = study_times(make(name, seed, fewshot, mf, top5), objective)
            times[name][0].extend(wall)
            times[name][1].extend(cpu)
    print(table(times, task, len(fewshot.pool_), args.repeats))
    return 0


def table(times: dict[str, tuple[list[float], list[float]]], task: str, pool: int,
          repeats: int) -> str:  # fmt: skip
    """The markdown table: median seconds per suggestion and the ratio to TPE's."""
    tpe_wall, tpe_cpu = (float(np.median(t)) for t in times["tpe"])
    lines = [f"LCBench task {task} held out, pool of {pool} stored configurations, "
             f"{repeats} studies of {TRIALS} trials per sampler.", "",
             "| sampler | median wall s | / TPE | median CPU s | / TPE | max wall s |",
             "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for name, (wall, cpu) in times.items():
        w, c = float(np.median(wall)), float(np.median(cpu))
        lines.append(f"| {name} | {w:.4f} | {w / tpe_wall:.1f} | {c:.4f} | {c / tpe_cpu:.1f} "
                     f"| {max(wall):.3f} |")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
