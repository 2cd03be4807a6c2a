"""How many of today's recommendations should open a tuning loop? Replayed on the shipped packs.

Each pack's training tasks ran the same design of configurations, so a tuning loop on one
task can be replayed from its table, leave-one-task-out: the other tasks are the
scenarios (their measured copula scores, as the few-shot model holds them for configs
they ran), today's top-5 comes from a surrogate fit on the other tasks, and the loop
evaluates only design configurations (no local refinement). With ``n_seed`` the number
of recommendations that open it, the loop is the tuner's: the list, then
:func:`~recommender.fewshot.mixture.hedge_gain` under
:func:`~recommender.fewshot.mixture.scenario_weights` until 5 results, then expected
improvement under :func:`~recommender.fewshot.mixture.mixture_posterior`.

Prints the mean regret of the best so far after n trials (0 = the task's best run of the
design, 1 = its median) for each opening, next to today's list (top-1, best of top-5).

    python -m pipelines.bench.bench_opening [--packs tabular,image,text]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from recommender.fewshot.acquisition import expected_improvement
from recommender.fewshot.mixture import hedge_gain, mixture_posterior, scenario_weights
from recommender.fewshot.tuner import N_HEDGE

PACKS = {"tabular": "tabular_mlp", "text": "text_finetune", "image": "image_finetune"}
NS = (1, 3, 5, 10, 20)
OPENINGS = (3, 4, 5)


class Scenarios:
    """The other tasks' measured scores on the design, looked up by configuration."""

    def __init__(self, z: np.ndarray, x: np.ndarray) -> None:
        self.z, self.index = z, {_key(r): i for i, r in enumerate(x)}

    def scenario_scores(self, x: np.ndarray) -> np.ndarray:
        return self.z[:, [self.index[_key(r)] for r in np.atleast_2d(x)]]


def _key(row: np.ndarray) -> bytes:
    return np.round(np.nan_to_num(row, nan=-1.0), 6).tobytes()


def pack_table(space_name: str) -> tuple[Any, list[str], np.ndarray, np.ndarray]:
    """The pack's training data, tasks, design configs run by every task, and values."""
    from recommender.shipped import load_shipped
    from recommender.space import load_space
    from recommender.store import DuckDBStore
    from recommender.surrogate.model import load_training_data

    with tempfile.TemporaryDirectory() as tmp, DuckDBStore(Path(tmp) / "s.duckdb") as store:
        load_shipped(store, space=space_name)
        space = load_space(space_name, store)
        data = load_training_data(store, space, metric="val_score", maximize=True, fidelity=None)
    tasks = list(data.tasks)
    keys = {_key(r): r for r in data.X}
    order = sorted(keys)
    col = {k: i for i, k in enumerate(order)}
    values = np.full((len(tasks), len(order)), np.nan)
    task_col = data.frame["task"].to_numpy()
    for i, t in enumerate(tasks):
        mask = task_col == t
        for r, v in zip(data.X[mask], data.frame["value"].to_numpy(float)[mask], strict=True):
            values[i, col[_key(r)]] = v
    everywhere = ~np.isnan(values).any(axis=0)
    x = np.array([keys[k] for k in order])[everywhere]
    return data, tasks, x, values[:, everywhere]


def replay(
    scen: Scenarios, x: np.ndarray, y: np.ndarray, top: list[int], n_seed: int, budget: int
) -> list[int]:
    """The configs (rows of ``x``) the tuner tries, in order, on a task with values ``y``."""
    tried: list[int] = []
    for _ in range(budget):
        tried.append(next_pick(scen, x, y, tried, tried, top, n_seed))
    return tried


def next_pick(scen: Scenarios, x: np.ndarray, y: np.ndarray, tried: list[int],
              observed: list[int], top: list[int], n_seed: int) -> int:  # fmt: skip
    """The tuner's next design config after ``tried`` (of which ``observed`` gave values
    ``y``): the list's first ``n_seed``, hedges until ``N_HEDGE`` values, then expected
    improvement."""
    if len(tried) < n_seed:
        return top[len(tried)]
    obs = y[observed]
    s_obs = scen.scenario_scores(x[observed]) if observed else np.empty((len(scen.z), 0))
    if len(observed) < max(N_HEDGE, 2):
        chosen = scen.scenario_scores(x[tried])
        score = hedge_gain(scen.scenario_scores(x), chosen, scenario_weights(s_obs, obs))
    else:
        post = mixture_posterior(scen, x[observed], obs)
        mu, sd = post.predict(x)
        score = expected_improvement(mu, sd, float(post.u_obs.max()))
    score[tried] = -np.inf
    return int(np.argmax(score))


def bench_pack(name: str) -> str:
    from recommender.normalize import normalize_values, regret

    data, tasks, x, values = pack_table(PACKS[name])
    z = np.stack([normalize_values(v, maximize=True, method="copula") for v in values])
    results: dict[Any, list[list[float]]] = {n: [] for n in OPENINGS}
    results["list"] = []
    for i, task in enumerate(tasks):
        others = [j for j in range(len(tasks)) if j != i]
        top = list_picks(data, task, [tasks[j] for j in others], x, 5)
        y = values[i]
        results["list"].append([regret(y[top[0]], y), regret(y[top].max(), y)])
        scen = Scenarios(z[others], x)
        for n_seed in OPENINGS:
            tried = replay(scen, x, y, top, n_seed, max(NS))
            results[n_seed].append([regret(y[tried[: n + 1]].max(), y) for n in range(max(NS))])
    lines = [f"{name} ({len(tasks)} tasks, {len(x)} design configs run by all)", "",
             "| opening | " + " | ".join(f"n={n}" for n in NS) + " |",
             "|---|" + "---:|" * len(NS)]  # fmt: skip
    for n_seed in OPENINGS:
        mean = np.mean(results[n_seed], axis=0)
        cells = " | ".join(f"{mean[n - 1]:.3f}" for n in NS)
        lines.append(f"| top-{n_seed} of the list | {cells} |")
    top1, top5 = np.mean(results["list"], axis=0)
    lines.append(f"| today's list (top-1 / best of top-5) | {top1:.3f} | | {top5:.3f} | | |")
    return "\n".join(lines)


def list_picks(data: Any, task: str, others: list[str], x: np.ndarray, k: int) -> list[int]:
    """Rows of design configs ``x`` nearest today's top-``k`` for ``task``, from a
    surrogate fit on the ``others`` tasks."""
    from recommender.evaluate import TUNING_GRID
    from recommender.ranking import recommend_with
    from recommender.surrogate.model import fit_surrogate

    model = fit_surrogate(data.subset(others), params=dict(TUNING_GRID[0]))
    recs = recommend_with(model, data.metafeatures[task], top_k=k)
    enc = np.nan_to_num(data.space.encode([r.config for r in recs]), nan=-1.0)
    flat = np.nan_to_num(x, nan=-1.0)
    return [int(np.argmin(((flat - e) ** 2).sum(axis=1))) for e in enc]


def run(bench: Any, doc: str) -> None:
    """Command line of a pack replay: ``bench(pack name)`` for each of ``--packs``."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--packs", default="tabular,image")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")  # the residual GP's convergence notes
    for name in [p.strip() for p in args.packs.split(",") if p.strip()]:
        if name not in PACKS:
            sys.exit(f"--packs: expected some of {', '.join(PACKS)}, got {name}")
        print(bench(name) + "\n", flush=True)


def main() -> None:
    run(bench_pack, __doc__ or "")


if __name__ == "__main__":
    main()
