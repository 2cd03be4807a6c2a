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
``--variants`` adds the shipped loop with one setting changed (see :data:`VARIANTS`).

    python -m pipelines.bench.bench_opening [--packs tabular,image,text] [--variants]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from recommender.fewshot.acquisition import expected_improvement
from recommender.fewshot.mixture import (
    FITTED,
    MIN_EVIDENCE,
    hedge_gain,
    mixture_posterior,
    scenario_weights,
)
from recommender.fewshot.tuner import N_HEDGE, N_SEED

PACKS = {"tabular": "tabular_mlp", "text": "text_finetune", "image": "image_finetune"}
NS = (1, 3, 5, 10, 20)


class Loop(NamedTuple):
    """Settings of the replayed loop; the defaults are the tuner's as shipped."""

    n_seed: int = N_SEED  # the list's picks that open it
    n_hedge: int = N_HEDGE  # results before expected improvement takes over
    beta: float = 1.0  # strength of the results' likelihood in the scenario weights
    min_evidence: int = MIN_EVIDENCE  # results before they reweight the scenarios
    hedge_scale: str = "copula"  # or "regret": hedge gains in (v - median) / (best - median)
    fitted: int = FITTED  # parameters fitted per scenario, not counted in the likelihood


SHIPPED = Loop()
OPENINGS = tuple(Loop(n_seed=n) for n in (1, 2, 3, 4, 5))
VARIANTS = {
    "hedge gains on the regret scale": Loop(hedge_scale="regret"),
    "likelihood at half strength (beta 0.5)": Loop(beta=0.5),
    "likelihood at double strength (beta 2)": Loop(beta=2.0),
    "results reweight from 4 on": Loop(min_evidence=4),
    "likelihood on all k results (fitted 0)": Loop(fitted=0),
    "expected improvement from 4 results": Loop(n_hedge=4),
    "expected improvement from 7 results": Loop(n_hedge=7),
}


class Scenarios:
    """The other tasks' measured scores on the design, looked up by configuration; ``r``,
    if given, their values on the regret scale (for ``hedge_scale="regret"``)."""

    def __init__(self, z: np.ndarray, x: np.ndarray, r: np.ndarray | None = None) -> None:
        self.z, self.r, self.index = z, r, {_key(r): i for i, r in enumerate(x)}

    def scenario_scores(self, x: np.ndarray) -> np.ndarray:
        return self.z[:, [self.index[_key(r)] for r in np.atleast_2d(x)]]


def _key(row: np.ndarray) -> bytes:
    return np.round(np.nan_to_num(row, nan=-1.0), 6).tobytes()


def pack_table(space_name: str) -> tuple[Any, list[str], np.ndarray, np.ndarray]:
    """The pack's training data, tasks, design configs run by every task, and values."""
    from recommender.knowledge.packs import load_shipped
    from recommender.spaces.space import load_space
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
    scen: Scenarios, x: np.ndarray, y: np.ndarray, top: list[int], loop: Loop, budget: int
) -> list[int]:
    """The configs (rows of ``x``) the tuner tries, in order, on a task with values ``y``."""
    tried: list[int] = []
    for _ in range(budget):
        tried.append(next_pick(scen, x, y, tried, tried, top, loop))
    return tried


def next_pick(scen: Scenarios, x: np.ndarray, y: np.ndarray, tried: list[int],
              observed: list[int], top: list[int], loop: Loop = SHIPPED) -> int:  # fmt: skip
    """The tuner's next design config after ``tried`` (of which ``observed`` gave values
    ``y``): the list's first ``loop.n_seed``, hedges until ``loop.n_hedge`` values, then
    expected improvement."""
    if len(tried) < loop.n_seed:
        return top[len(tried)]
    obs = y[observed]
    s_obs = scen.scenario_scores(x[observed]) if observed else np.empty((len(scen.z), 0))
    if len(observed) < max(loop.n_hedge, 2):
        w = scenario_weights(s_obs, obs, beta=loop.beta, min_evidence=loop.min_evidence,
                             fitted=loop.fitted)  # fmt: skip
        if loop.hedge_scale == "regret" and scen.r is not None:
            score = hedge_gain(scen.r, scen.r[:, tried], w)
        else:
            score = hedge_gain(scen.scenario_scores(x), scen.scenario_scores(x[tried]), w)
    else:
        post = mixture_posterior(scen, x[observed], obs, beta=loop.beta,
                                 min_evidence=loop.min_evidence, fitted=loop.fitted)  # fmt: skip
        mu, sd = post.predict(x)
        score = expected_improvement(mu, sd, float(post.u_obs.max()))
    score[tried] = -np.inf
    return int(np.argmax(score))


def bench_pack(name: str, *, variants: bool = False) -> str:
    from recommender.surrogate.normalize import normalize_values, regret, regret_scale

    data, tasks, x, values = pack_table(PACKS[name])
    z = np.stack([normalize_values(v, maximize=True, method="copula") for v in values])
    r = np.stack([regret_scale(v, v) for v in values])
    loops = {f"top-{o.n_seed} of the list": o for o in OPENINGS}
    loops |= {f"top-{N_SEED}, {k}": v for k, v in VARIANTS.items()} if variants else {}
    results: dict[str, list[list[float]]] = {label: [] for label in [*loops, "list"]}
    default = nearest(x, data.space.encode([data.space.default_config()]))[0]
    first: list[tuple[float, float]] = []  # (today's top-1, the default config) per task
    for i, task in enumerate(tasks):
        others = [j for j in range(len(tasks)) if j != i]
        top = list_picks(data, task, [tasks[j] for j in others], x, 5)
        y = values[i]
        results["list"].append([regret(y[top[0]], y), regret(y[top].max(), y)])
        first.append((regret(y[top[0]], y), regret(y[default], y)))
        scen = Scenarios(z[others], x, r[others])
        for label, loop in loops.items():
            tried = replay(scen, x, y, top, loop, max(NS))
            results[label].append([regret(y[tried[: n + 1]].max(), y) for n in range(max(NS))])
    lines = [f"{name} ({len(tasks)} tasks, {len(x)} design configs run by all)", "",
             "| loop | " + " | ".join(f"n={n}" for n in NS) + " | n=5 minus shipped (se) |",
             "|---|" + "---:|" * (len(NS) + 1)]  # fmt: skip
    at5 = 5 - 1  # column of n=5 in a task's curve
    shipped = np.array(results[f"top-{N_SEED} of the list"])[:, at5]
    for label in loops:
        mean = np.mean(results[label], axis=0)
        cells = " | ".join(f"{mean[n - 1]:.3f}" for n in NS)
        diff = np.array(results[label])[:, at5] - shipped
        se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else 0.0
        lines.append(f"| {label} | {cells} | {diff.mean():+.3f} ({se:.3f}) |")
    top1, top5 = np.mean(results["list"], axis=0)
    lines.append(f"| today's list (top-1 / best of top-5) | {top1:.3f} | | {top5:.3f} | | | |")
    return "\n".join([*lines, "", first_pick_line(first, tasks)])


def first_pick_line(first: list[tuple[float, float]], tasks: list[str]) -> str:
    """Today's top-1 against the space's default config, task by task: medians, the
    tasks each is better on, and the largest regret (one task can make a mean)."""
    f = np.array(first)
    worst = int(np.argmax(f[:, 0]))
    better, worse = int((f[:, 0] < f[:, 1] - 1e-9).sum()), int((f[:, 0] > f[:, 1] + 1e-9).sum())
    return (f"First pick, per task: today's top-1 median regret {np.median(f[:, 0]):.3f} (mean "
            f"{f[:, 0].mean():.3f}), the space's default config median {np.median(f[:, 1]):.3f} "
            f"(mean {f[:, 1].mean():.3f}); top-1 better on {better} tasks, worse on {worse}; "
            f"top-1's largest regret {f[worst, 0]:.2f} ({tasks[worst]}).")  # fmt: skip


def list_picks(data: Any, task: str, others: list[str], x: np.ndarray, k: int) -> list[int]:
    """Rows of design configs ``x`` nearest today's top-``k`` for ``task``, from a
    surrogate fit on the ``others`` tasks."""
    from recommender.knowledge.evaluation import TUNING_GRID
    from recommender.knowledge.ranking import recommend_with
    from recommender.surrogate.model import fit_surrogate

    model = fit_surrogate(data.subset(others), params=dict(TUNING_GRID[0]))
    recs = recommend_with(model, data.metafeatures[task], top_k=k)
    return nearest(x, data.space.encode([r.config for r in recs]))


def nearest(x: np.ndarray, encoded: np.ndarray) -> list[int]:
    """Rows of ``x`` nearest each encoded configuration (inactive cells as -1)."""
    flat = np.nan_to_num(x, nan=-1.0)
    return [int(np.argmin(((flat - e) ** 2).sum(axis=1))) for e in np.nan_to_num(encoded, nan=-1.0)]


def run(bench: Any, doc: str, flags: dict[str, str] | None = None) -> None:
    """Command line of a pack replay: ``bench(pack name, **flags)`` for each of ``--packs``;
    ``flags`` maps each boolean option of ``bench`` to its help."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--packs", default="tabular,image")
    for flag, text in (flags or {}).items():
        ap.add_argument(f"--{flag}", action="store_true", help=text)
    args = ap.parse_args()
    options = {flag: getattr(args, flag) for flag in flags or {}}
    warnings.filterwarnings("ignore")  # the residual GP's convergence notes
    for name in [p.strip() for p in args.packs.split(",") if p.strip()]:
        if name not in PACKS:
            sys.exit(f"--packs: expected some of {', '.join(PACKS)}, got {name}")
        print(bench(name, **options) + "\n", flush=True)


def main() -> None:
    run(bench_pack, __doc__ or "", {"variants": "also the shipped loop with one setting changed"})


if __name__ == "__main__":
    main()
