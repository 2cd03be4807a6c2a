"""Recommendation quality of each shipped pack, black-box through the CLI, on a fresh store.

For every pack in ``data/`` (tabular ``tabular_mlp``, text ``text_finetune``, image
``image_finetune``):

1. ``recommender evaluate --space S`` loads the shipped runs and model (first use) and
   scores leave-one-task-out over the pack's training tasks.
2. The pack's held-out tasks (collected the same way, never used to train the shipped
   model) are ingested, and ``recommender evaluate --space S --holdout ...`` scores them
   with models, portfolio and nearest task fit on the training tasks only.

Each prints the regret (0 = the task's best run, 1 = its median run) of ours, the global
greedy portfolio, the nearest task's best configs and the space's default config, all
measured in the same run, with a paired bootstrap 95 % interval for ours minus the
portfolio (negative: ours better), resampling tasks.

    python -m pipelines.bench.bench_shipped [--packs tabular,text,image] [--out DIR]
        [--holdout-only]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recommender.spaces.builtin import BUILTIN

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
PACKS = {record.pack: record.name for record in BUILTIN}  # pack (its folder in data/) -> space
RESAMPLES = 10_000
METHODS = [("ours", "recommender"), ("global portfolio", "portfolio"),
           ("nearest task", "nearest_task")]  # fmt: skip


def cli(*args: str, env: dict[str, str]) -> str:
    cmd = [sys.executable, "-m", "recommender.cli", *args]
    print("$ recommender " + " ".join(args), file=sys.stderr)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(done.stderr.strip() or f"{cmd} failed")
    return done.stdout


def paired_bootstrap(diff: np.ndarray, *, seed: int = 0) -> tuple[float, float, float]:
    """Mean of per-task differences and its percentile 95 % interval (tasks resampled)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(diff), size=(RESAMPLES, len(diff)))
    means = diff[idx].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(diff.mean()), float(low), float(high)


def verdict(mean: float, low: float, high: float, diff: np.ndarray) -> str:
    if not np.any(diff):
        return "equal on every task"
    if high < 0:
        return "ours beats the portfolio"
    if low > 0:
        return "the portfolio beats ours"
    return "no difference the tasks can show (the interval spans 0)"


def summarise(result: dict[str, Any], title: str) -> tuple[str, dict[str, Any]]:
    """Markdown table of mean regrets and the paired intervals of ours minus the portfolio."""
    tasks = pd.DataFrame(result["tasks"])
    k = max(int(c[len("recommender_top") :]) for c in tasks if c.startswith("recommender_top"))
    lines = [f"{title} ({len(tasks)} tasks)", "", f"| method | top-1 | best of top-{k} |",
             "|---|---|---|"]  # fmt: skip
    for label, key in METHODS:
        lines.append(f"| {label} | {tasks[f'{key}_top1'].mean():.3f} | "
                     f"{tasks[f'{key}_top{k}'].mean():.3f} |")  # fmt: skip
    lines.append(f"| default config | {tasks['default'].mean():.3f} | |")
    summary: dict[str, Any] = {"tasks": len(tasks)}
    lines += ["", "| ours minus portfolio | mean | 95 % interval | reading |", "|---|---|---|---|"]
    for cut in ("top1", f"top{k}"):
        diff = (tasks[f"recommender_{cut}"] - tasks[f"portfolio_{cut}"]).to_numpy(float)
        mean, low, high = paired_bootstrap(diff)
        said = verdict(mean, low, high, diff)
        summary[cut] = {"mean": mean, "low": low, "high": high, "reading": said}
        lines.append(f"| {cut} | {mean:+.3f} | [{low:+.3f}, {high:+.3f}] | {said} |")
    rules = result.get("portfolio_rules")
    if rules:
        lines += ["", f"portfolio rule per fold: {json.dumps(rules)}"]
    return "\n".join(lines), summary


def bench_pack(name: str, env: dict[str, str], out: Path, *, loto: bool = True) -> dict[str, Any]:
    space, pack = PACKS[name], DATA / name
    found: dict[str, Any] = {}
    if loto:
        loo = json.loads(cli("evaluate", "--space", space, "--json", env=env))
        (out / f"{name}_leave_one_task_out.json").write_text(json.dumps(loo, indent=1))
        text, found["leave_one_task_out"] = summarise(
            loo, f"**{name}** (`{space}`), leave-one-task-out over the training tasks"
        )
        print(text + "\n")
    else:  # the shipped pack still loads first, on a recommendation for one of its tasks
        task = pd.read_parquet(pack / "runs.parquet", columns=["task"])["task"][0]
        cli("recommend", "--task", str(task), "--space", space, "--top-k", "1", env=env)
    held_runs = pack / "holdout_runs.parquet"
    if not held_runs.exists():
        print(f"{name}: no held-out tasks shipped\n")
        return found
    cli("ingest", str(held_runs), "--space", space, env=env)
    mf = pack / "holdout_metafeatures.parquet"
    cli("ingest", str(mf), "--kind", "metafeatures", env=env)
    held = sorted(pd.read_parquet(held_runs, columns=["task"])["task"].unique())
    flags = [x for t in held for x in ("--holdout", t)]
    hold = json.loads(cli("evaluate", "--space", space, *flags, "--json", env=env))
    (out / f"{name}_holdout.json").write_text(json.dumps(hold, indent=1))
    text, found["holdout"] = summarise(
        hold, f"**{name}** (`{space}`), held-out tasks, models fit on the training tasks only"
    )
    print(text + "\n")
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packs", default=",".join(PACKS), help="comma-separated: tabular,text,image")
    ap.add_argument("--out", default=None, help="folder for the store and JSON results")
    ap.add_argument("--holdout-only", action="store_true",
                    help="skip leave-one-task-out (one refit per training task)")  # fmt: skip
    args = ap.parse_args()
    names = [p.strip() for p in args.packs.split(",") if p.strip()]
    unknown = [p for p in names if p not in PACKS]
    if unknown:
        sys.exit(f"--packs: expected some of {', '.join(PACKS)}, got {', '.join(unknown)}")
    out = Path(args.out or tempfile.mkdtemp(prefix="shipped-eval-"))
    out.mkdir(parents=True, exist_ok=True)
    db = out / "store.duckdb"
    db.unlink(missing_ok=True)
    env = {**os.environ, "RECOMMENDER_DB": str(db)}
    found = {name: bench_pack(name, env, out, loto=not args.holdout_only) for name in names}
    (out / "summary.json").write_text(json.dumps(found, indent=1))
    print(f"per-task rows and the summary: {out}/")


if __name__ == "__main__":
    main()
