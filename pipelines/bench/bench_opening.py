"""How many of today's recommendations should open a tuning loop? Replayed on the shipped packs.

Each pack's training tasks ran the same design of configurations, so a tuning loop on one
task can be replayed from its table, leave-one-task-out. The loop is the tuner itself
(:class:`~recommender.fewshot.tuner.FewShotTuner`, unchanged): today's top-``n_seed``
from a surrogate fit on the other tasks, then its hedges and its expected improvement.
As the table holds only the design, the tuner searches the design alone
(``whole_space=False``; whole-space search is measured in ``bench_sequential`` and on
the YAHPO scenarios) and the surrogate it adapts (:class:`Scenarios`) holds the other
tasks' measured copula scores there.

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

from recommender.fewshot.encoding import fill
from recommender.fewshot.tuner import N_HEDGE, N_SEED, FewShotTuner
from recommender.spaces.builtin import BUILTIN

PACKS = {record.pack: record.name for record in BUILTIN}  # pack -> space
NS = (1, 3, 5, 10, 20)


class Loop(NamedTuple):
    """Settings of the tuner's loop; the defaults are as shipped."""

    n_seed: int = N_SEED  # the list's picks that open it
    n_hedge: int = N_HEDGE  # results before expected improvement takes over
    own_gp: bool = True  # the task's own GP in the ensemble (RGPE-style weight)


SHIPPED = Loop()
OPENINGS = tuple(Loop(n_seed=n) for n in (1, 2, 3, 4, 5))
VARIANTS = {
    "without the task's own GP (the scenario mixture alone)": Loop(own_gp=False),
    "expected improvement from 4 results": Loop(n_hedge=4),
    "expected improvement from 7 results": Loop(n_hedge=7),
}


class Scenarios:
    """The other tasks' measured scores ``z`` on the design ``x``, as the surrogate the
    tuner adapts: a configuration off the design gets the scores of its nearest design
    configuration."""

    def __init__(self, z: np.ndarray, x: np.ndarray, space: Any) -> None:
        from scipy.spatial import cKDTree

        self.z, self.space_ = z, space
        self.pool_ = space.encode(space.decode(x))  # canonical, as the tuner encodes
        self.tasks_ = [str(i) for i in range(len(z))]
        self.tree = cKDTree(fill(self.pool_))

    def nearest(self, x: np.ndarray) -> np.ndarray:
        """Rows of the design nearest each encoded configuration."""
        if len(x) == 0:
            return np.empty(0, dtype=int)
        return np.asarray(self.tree.query(fill(np.atleast_2d(x)))[1], dtype=int)

    def scenario_scores(self, x: np.ndarray) -> np.ndarray:
        return self.z[:, self.nearest(x)]


class Replay:
    """One task's loop: the tuner over ``scen``, opened with design rows ``top``; each
    proposal is evaluated at its nearest design configuration."""

    def __init__(self, scen: Scenarios, top: list[int], loop: Loop = SHIPPED) -> None:
        space = scen.space_
        self.scen, self.space = scen, space
        self.tuner = FewShotTuner(scen, zero_shot=space.decode(scen.pool_[top]),  # type: ignore[arg-type]
                                  n_seed=loop.n_seed, n_hedge=loop.n_hedge,
                                  own_gp=loop.own_gp, whole_space=False)  # fmt: skip
        self.observed: list[tuple[dict[str, Any], float]] = []
        self.seen: list[dict[str, Any]] = []
        self.rng = np.random.default_rng(0)

    def ask(self) -> tuple[dict[str, Any], int]:
        """The tuner's next configuration and the design row it is evaluated at."""
        s = self.tuner.suggest(self.observed, seen=self.seen, rng=self.rng)
        assert s is not None, "the tuner ran out of candidates"
        return s.config, int(self.scen.nearest(self.space.encode([s.config]))[0])

    def tell(self, config: dict[str, Any], value: float | None) -> None:
        """A result (``None``: stopped early, never proposed again)."""
        if value is None:
            self.seen.append(config)
        else:
            self.observed.append((config, value))


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


def replay(scen: Scenarios, y: np.ndarray, top: list[int], loop: Loop, budget: int) -> list[int]:
    """The design rows the tuner's proposals are evaluated at, in order, on a task with
    values ``y`` on the design."""
    loop_ = Replay(scen, top, loop)
    rows: list[int] = []
    for _ in range(budget):
        config, i = loop_.ask()
        loop_.tell(config, float(y[i]))
        rows.append(i)
    return rows


def bench_pack(name: str, *, variants: bool = False) -> str:
    from recommender.surrogate.normalize import normalize_values, regret

    data, tasks, x, values = pack_table(PACKS[name])
    z = np.stack([normalize_values(v, maximize=True, method="copula") for v in values])
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
        scen = Scenarios(z[others], x, data.space)
        for label, loop in loops.items():
            tried = replay(scen, y, top, loop, max(NS))
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
