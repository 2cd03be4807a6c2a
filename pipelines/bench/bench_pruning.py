"""Does stopping hopeless trials early save time without losing quality? Replayed on the packs.

The tuning loop of :mod:`pipelines.bench.bench_opening` (the tuner itself over the
design configurations a pack's tasks all ran), on each
task leave-one-task-out, with each trial replaying its stored learning curve epoch by
epoch through an Optuna pruner of a real in-memory study: a pruned trial stops there,
costs the epochs it ran, is not observed by the tuner (as in ``recommender tune``, where
it is only never proposed again) and gives no value. Baseline: the same loop without a
pruner (Optuna's ``NopPruner``, what ``tune`` does by default).

Reports, for each pruner, the mean regret of the best value after n trials (0 = the
task's best run of the design, 1 = its median) and the share of the baseline's training
time (each run's stored duration, prorated by its epochs) that the same n trials used;
then, at equal time, the regret of the best value found within the time the baseline
took for n trials (a pruning loop runs more trials in it).

    python -m pipelines.bench.bench_pruning [--packs tabular,image]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from pipelines.bench.bench_opening import (
    PACKS,
    Replay,
    Scenarios,
    _key,
    list_picks,
    pack_table,
    run,
)
from recommender.fewshot.tuner import N_SEED

NS = (5, 10, 20)


def pruners(n_epochs: int) -> dict[str, Callable[[], Any]]:
    import optuna

    from recommender.tuning.loop import default_pruner

    half = max(n_epochs // 2, 1)
    return {
        "none": optuna.pruners.NopPruner,
        f"tune --prune (bottom quarter from epoch {half})": lambda: default_pruner(n_epochs),
        "bottom quarter, from epoch 1": lambda: optuna.pruners.PercentilePruner(75.0, 5, 1),
        "bottom quarter, from epoch 2": lambda: optuna.pruners.PercentilePruner(75.0, 5, 2),
        "bottom half, from epoch 2": lambda: optuna.pruners.MedianPruner(5, 2),
    }


def pack_curves(name: str, space: Any, x: np.ndarray) -> dict[str, np.ndarray]:
    """Each task's validation curve (epochs) and duration for every design config ``x``."""
    from recommender.knowledge.packs import shipped_dir

    d = shipped_dir() / name  # the pack's folder
    runs = pd.concat([pd.read_parquet(d / f"{p}runs.parquet") for p in ("", "holdout_")])
    curves = pd.concat([pd.read_parquet(d / f"{p}curves.parquet") for p in ("", "holdout_")])
    curves = curves[curves["name"].str.startswith("val_") & (curves["name"] != "val_loss")]
    by_run = {rid: g.sort_values("step")["value"].to_numpy() for rid, g in curves.groupby("run_id")}
    params = [c for c in runs.columns if c.startswith("param.")]
    col = {_key(r): i for i, r in enumerate(x)}
    out: dict[str, Any] = {}
    for task, g in runs.groupby("task"):
        configs = [{k[6:]: v for k, v in row.items() if pd.notna(v)} for row in
                   g[params].to_dict("records")]  # fmt: skip
        enc = space.encode([space.clip(c) for c in configs])
        n_epochs = max(len(by_run.get(r, [])) for r in g["run_id"])
        cur = np.full((len(x), n_epochs), np.nan)
        secs = np.full(len(x), np.nan)
        for e, rid, dur in zip(enc, g["run_id"], g["duration_s"], strict=True):
            i = col.get(_key(e))
            c = by_run.get(rid)
            if i is not None and c is not None and len(c) == n_epochs:
                cur[i], secs[i] = c, dur
        out[str(task)] = (cur, secs)
    return out


def replay(
    scen: Scenarios, curves: np.ndarray, secs: np.ndarray, top: list[int], pruner: Any,
    budget: int,
) -> tuple[list[float], list[float], list[float]]:  # fmt: skip
    """Best value, epochs and seconds used after each of ``budget`` trials."""
    import optuna

    study = optuna.create_study(direction="maximize", pruner=pruner)
    loop = Replay(scen, top)
    best, epochs, seconds = -np.inf, 0.0, 0.0
    bests, used, took = [], [], []
    n_epochs = curves.shape[1]
    for _ in range(budget):
        config, i = loop.ask()
        trial = study.ask()
        pruned, ran = False, n_epochs
        for e in range(n_epochs):
            trial.report(float(curves[i, e]), e + 1)
            if e + 1 < n_epochs and trial.should_prune():
                pruned, ran = True, e + 1
                break
        epochs += ran
        seconds += secs[i] * ran / n_epochs
        if pruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            loop.tell(config, None)
        else:
            study.tell(trial, float(curves[i, -1]))
            loop.tell(config, float(curves[i, -1]))
            best = max(best, float(curves[i, -1]))
        bests.append(best)
        used.append(epochs)
        took.append(seconds)
    return bests, used, took


def bench_pack(name: str) -> str:
    from recommender.surrogate.normalize import normalize_values, regret

    data, tasks, x, _ = pack_table(PACKS[name])
    per_task = pack_curves(name, data.space, x)
    keep = [t for t in tasks if all(np.isfinite(a).all() for a in per_task[t])]
    finals = np.stack([per_task[t][0][:, -1] for t in keep])
    z = np.stack([normalize_values(v, maximize=True, method="copula") for v in finals])
    budget = 2 * max(NS)  # a pruning loop runs more trials in the baseline's time
    rows: dict[str, list[tuple[list[float], list[float], list[float]]]] = {}
    for i, task in enumerate(keep):
        others = [j for j in range(len(keep)) if j != i]
        top = list_picks(data, task, [keep[j] for j in others], x, N_SEED)
        curves, secs = per_task[task]
        scen = Scenarios(z[others], x, data.space)
        for label, make in pruners(curves.shape[1]).items():
            bests, used, took = replay(scen, curves, secs, top, make(), budget)
            y = curves[:, -1]
            rows.setdefault(label, []).append(([regret(b, y) for b in bests], used, took))
    n_epochs = next(iter(per_task.values()))[0].shape[1]
    lines = [f"{name} ({len(keep)} tasks, {len(x)} design configs, {n_epochs} epochs a run)", "",
             "| pruner | " + " | ".join(f"regret n={n}" for n in NS) + " | "
             + " | ".join(f"time n={n}" for n in NS) + " | "
             + " | ".join(f"regret at time of n={n}" for n in NS) + " |",
             "|---|" + "---:|" * (3 * len(NS))]  # fmt: skip
    base = rows["none"]
    for label, res in rows.items():
        reg = np.mean([r[0] for r in res], axis=0)
        tm = [np.mean([r[2][n - 1] / b[2][n - 1] for r, b in zip(res, base, strict=True)])
              for n in NS]  # fmt: skip
        same = [np.mean([_at_time(r, b[2][n - 1]) for r, b in zip(res, base, strict=True)])
                for n in NS]  # fmt: skip
        lines.append(f"| {label} | " + " | ".join(f"{reg[n - 1]:.3f}" for n in NS) + " | "
                     + " | ".join(f"{t:.2f}" for t in tm) + " | "
                     + " | ".join(f"{s:.3f}" for s in same) + " |")  # fmt: skip
    return "\n".join(lines)


def _at_time(res: tuple[list[float], list[float], list[float]], seconds: float) -> float:
    """Regret of the best value found by the trials that finished within ``seconds``."""
    regrets, _, took = res
    within = [r for r, t in zip(regrets, took, strict=True) if t <= seconds * (1 + 1e-9)]
    return within[-1] if within else 1.0


def main() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    run(bench_pack, __doc__ or "")


if __name__ == "__main__":
    main()
