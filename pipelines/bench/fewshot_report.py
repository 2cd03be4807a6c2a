"""Scoring and reporting for ``bench_fewshot``: regret curves, means, paired intervals.

Pure numpy over the harness's cached results: each result is one method on one held-out
task with one seed, the raw metric value of every trial in order (``values``).

Regret of a value ``v`` on a task, after the best so far: ``0`` at the task's best known
value (the best of a large random sample and of everything any method found on that
task in the results being reported), ``1`` at the sample's median, clipped at 0 below:
``max(0, (best - v) / (best - median))`` when maximising (mirrored when minimising).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from pipelines.bench.bench_shipped import paired_bootstrap

NS = (1, 5, 10, 20)


def best_so_far(values: Sequence[float], maximize: bool) -> npt.NDArray[np.float64]:
    """Running best of ``values`` (NaN, a failed trial, never counts as best)."""
    v = np.asarray(values, dtype=float)
    v = np.where(np.isnan(v), -np.inf if maximize else np.inf, v)
    return np.maximum.accumulate(v) if maximize else np.minimum.accumulate(v)


def regret(
    values: npt.ArrayLike, best: float, median: float, maximize: bool
) -> npt.NDArray[np.float64]:
    """Normalised regret of each value (see the module docstring)."""
    v = np.asarray(values, dtype=float)
    gap = (best - v) if maximize else (v - best)
    scale = abs(best - median) or 1.0
    return np.maximum(0.0, gap / scale)


def at_n(curve: npt.ArrayLike, ns: Sequence[int] = NS) -> list[float]:
    """The curve after ``n`` trials for each ``n``; a shorter curve (a list with fewer
    entries) keeps its last value."""
    c = np.asarray(curve, dtype=float)
    return [float(c[min(n, len(c)) - 1]) for n in ns]


def task_best(
    reference: Mapping[str, float], results: Iterable[Mapping[str, Any]], maximize: bool
) -> float:
    """The task's best known value: the reference sample's best and every value found."""
    found = [v for r in results for v in r["values"] if v is not None and np.isfinite(v)]
    pool = [reference["best"], *found]
    return float(max(pool) if maximize else min(pool))


def on_common_tasks(results: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The results of the tasks every method ran (a run stopped mid-way leaves a task
    some methods have not reached; means over different tasks would not compare)."""
    tasks: dict[str, set[str]] = {}
    for r in results:
        tasks.setdefault(r["method"], set()).add(r["task"])
    common = set.intersection(*tasks.values()) if tasks else set()
    return [r for r in results if r["task"] in common]


def regret_table(
    results: Sequence[Mapping[str, Any]],
    references: Mapping[str, Mapping[str, float]],
    maximize: bool,
    ns: Sequence[int] = NS,
) -> dict[str, dict[str, list[float]]]:
    """``{method: {task: regrets at ns (mean over seeds)}}``."""
    by_task: dict[str, list[Mapping[str, Any]]] = {}
    for r in results:
        by_task.setdefault(r["task"], []).append(r)
    table: dict[str, dict[str, list[list[float]]]] = {}
    for task, rows in by_task.items():
        best = task_best(references[task], rows, maximize)
        median = references[task]["median"]
        for r in rows:
            curve = regret(best_so_far(r["values"], maximize), best, median, maximize)
            table.setdefault(r["method"], {}).setdefault(task, []).append(at_n(curve, ns))
    return {
        m: {t: list(np.mean(v, axis=0)) for t, v in tasks.items()} for m, tasks in table.items()
    }


def paired_rows(
    table: Mapping[str, Mapping[str, Sequence[float]]],
    ours: str,
    peers: Sequence[str],
    ns: Sequence[int] = NS,
) -> list[dict[str, Any]]:
    """At each n: ours minus the best peer (lowest mean regret at that n) over the tasks
    both ran, with its bootstrap interval and the tasks ours is better / worse on."""
    rows = []
    for i, n in enumerate(ns):
        tasks = sorted(set(table[ours]).intersection(*(table[p] for p in peers)))
        if not tasks:
            continue
        means = {p: float(np.mean([table[p][t][i] for t in tasks])) for p in peers}
        best = min(peers, key=lambda p: means[p])
        diff = np.array([table[ours][t][i] - table[best][t][i] for t in tasks])
        mean, low, high = paired_bootstrap(diff)
        rows.append({
            "n": n, "peer": best, "mean": mean, "low": low, "high": high,
            "better": int((diff < -1e-9).sum()), "worse": int((diff > 1e-9).sum()),
            "tasks": len(tasks),
        })  # fmt: skip
    return rows


def markdown(
    table: Mapping[str, Mapping[str, Sequence[float]]],
    seconds: Mapping[str, float],
    ours: str,
    labels: Mapping[str, str],
    ns: Sequence[int] = NS,
) -> list[str]:
    """The mean-regret table and the paired table, as markdown lines."""
    lines = ["| method | tasks | " + " | ".join(f"n={n}" for n in ns) + " | s/suggestion |",
             "|---|---:|" + "---:|" * (len(ns) + 1)]  # fmt: skip
    for m in table:
        r = np.array(list(table[m].values()))
        cells = " | ".join(f"{x:.3f}" for x in r.mean(axis=0))
        sec = f"{seconds[m]:.3f}" if m in seconds else ""
        lines.append(f"| {labels.get(m, m)} | {len(r)} | {cells} | {sec} |")
    peers = [m for m in table if m != ours]
    if ours not in table or not peers:
        return lines
    lines += ["", "| n | ours minus the best peer | mean | 95 % interval | tasks better / worse |",
              "|---:|---|---:|---|---|"]  # fmt: skip
    for row in paired_rows(table, ours, peers, ns):
        mean, low, high = (round(row[k], 3) + 0.0 for k in ("mean", "low", "high"))
        lines.append(
            f"| {row['n']} | {labels.get(row['peer'], row['peer'])} | {mean:+.3f} | "
            f"[{low:+.3f}, {high:+.3f}] | {row['better']} / {row['worse']} |"
        )
    return lines
