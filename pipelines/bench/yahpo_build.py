"""Build few-shot benchmark scenarios from a YAHPO Gym data snapshot (ONNX surrogates).

For each scenario this writes, in ``OUT/<scenario>/`` (outside the repository: the data
and the models are YAHPO Gym's, not ours):

* ``model.onnx``, ``encoding.json``: the scenario's surrogate, copied from the snapshot;
* ``space.json``: its search space (ConfigSpace JSON) without the task and fidelity
  parameters, for ``recommender space import``;
* ``train.parquet``: a user's logs: the same ``--configs`` random configurations run on
  every training task, as ``task``, ``run_id``, ``param.<name>`` (empty when a
  conditional parameter is inactive) and ``metric.<output>`` for every surrogate output,
  at the full budget (the fidelities fixed as in :data:`yahpo_surrogate.LAYOUTS`);
* ``reference.parquet``: per held-out task, the best and the median of the benchmark
  metric over ``--reference`` random configurations (the regret scale);
* ``scenario.json``: the layout (metric, direction, fidelities), the folds (held-out task
  lists; every other task of the scenario trains), the seed and the snapshot's commit.

A scenario with at least ``2 * --heldout`` tasks has one fold: ``--heldout`` random tasks
held out, the rest for training. A smaller one (iaml_glmnet: 4 tasks) is split into
``min(4, tasks)`` folds, each task held out once. ``lcbench`` trains on the public
LCBench table (``--lcbench``: 24 tasks x 2,000 configs at epoch 52, with meta-features)
and holds out those 24 tasks in 4 folds; the surrogate scores any config of the space.
The scenarios carry no meta-features except ``lcbench``.

Usage:
    python -m pipelines.bench.yahpo_build SNAPSHOT --out /work/bench-data/yahpo \
        [--scenarios rbv2_rpart,iaml_glmnet,rbv2_xgboost,lcbench] [--configs 256] \
        [--heldout 30] [--reference 10000] [--seed 0] [--lcbench DIR] [--check]

``SNAPSHOT`` is a clone of github.com/slds-lmu/yahpo_data, or its bare git directory.
``--check`` reproduces the public LCBench table with the lcbench surrogate and exits.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.bench.yahpo_surrogate import LAYOUTS, Layout, SurrogateObjective

DEFAULT_SCENARIOS = ("rbv2_rpart", "iaml_glmnet", "rbv2_xgboost", "lcbench")
_ROOT = Path(__file__).resolve().parents[2]
LCBENCH = next(
    (p for p in (_ROOT.parent / "shared", _ROOT.parents[1] / "shared") if p.is_dir()),
    _ROOT.parent / "shared",
) / "benchmarks" / "lcbench"  # fmt: skip


class Snapshot:
    """Files of a yahpo_data snapshot: a checkout, or a bare git directory (read at HEAD)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.bare = not (path / "README.md").exists() and (path / "HEAD").exists()

    def read(self, name: str) -> bytes:
        if not self.bare:
            file = self.path / name
            if not file.exists():
                raise SystemExit(f"{file}: expected a yahpo_data file, it is absent")
            return file.read_bytes()
        done = subprocess.run(
            ["git", "--git-dir", str(self.path), "show", f"HEAD:{name}"],
            capture_output=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(
                f"{self.path}: {name} is not in the snapshot (large files may be left out); "
                "choose another scenario"
            )
        return done.stdout

    def commit(self) -> str:
        if not self.bare:
            return "checkout"
        done = subprocess.run(
            ["git", "--git-dir", str(self.path), "rev-parse", "HEAD"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        return done.stdout.strip()


def scenario_space(config_space: dict[str, Any], layout: Layout, name: str) -> dict[str, Any]:
    """The tunable part of a scenario's ConfigSpace JSON: no task, no fidelity."""
    keep = set(layout.params)
    hps = [h for h in config_space["hyperparameters"] if h["name"] in keep]
    missing = keep - {h["name"] for h in hps}
    if missing:
        raise SystemExit(f"{name}: the config space lacks {sorted(missing)}; layout out of date")
    conditions = [c for c in config_space.get("conditions") or [] if c.get("child") in keep]
    return {"name": name, "hyperparameters": hps, "conditions": conditions}


def random_configs(space: Any, n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` uniform random configs (log-uniform where the space says log; conditional
    parameters only where active)."""
    rng = np.random.default_rng(seed)
    return list(space.decode(rng.random((n, len(space.feature_names)))))


def make_folds(tasks: list[str], heldout: int, seed: int) -> list[list[str]]:
    """One fold of ``heldout`` random tasks when there are at least twice as many; else
    ``min(4, len(tasks))`` folds covering every task once.

    >>> make_folds([str(i) for i in range(8)], 30, 0)[0]  # doctest: +SKIP
    """
    order = [tasks[i] for i in np.random.default_rng(seed).permutation(len(tasks))]
    if len(tasks) >= 2 * heldout:
        return [sorted(order[:heldout])]
    k = min(4, len(tasks))
    return [sorted(order[i::k]) for i in range(k)]


def runs_table(
    objective: SurrogateObjective, space: Any, tasks: list[str], configs: list[dict[str, Any]]
) -> pd.DataFrame:
    """Every config on every task, in the ingest convention."""
    params = pd.DataFrame([{f"param.{p}": c.get(p) for p in space.names} for c in configs])
    frames = []
    for task in tasks:
        out = objective.outputs(task, configs)
        frame = pd.DataFrame({"task": task, "run_id": [f"{task}-{i}" for i in range(len(configs))]})
        frame = pd.concat([frame, params], axis=1)
        for j, name in enumerate(objective.layout.outputs):
            frame[f"metric.{name}"] = out[:, j]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def reference_table(
    objective: SurrogateObjective, tasks: list[str], configs: list[dict[str, Any]]
) -> pd.DataFrame:
    """Best and median of the benchmark metric per task over ``configs``."""
    rows = []
    for task in tasks:
        values = objective.evaluate(task, configs)
        best = values.max() if objective.layout.maximize else values.min()
        rows.append({"task": task, "best": float(best), "median": float(np.median(values)),
                     "n": len(values)})  # fmt: skip
    return pd.DataFrame(rows)


def copy_model(snapshot: Snapshot, name: str, folder: Path) -> SurrogateObjective:
    folder.mkdir(parents=True, exist_ok=True)
    for file in ("model.onnx", "encoding.json"):
        (folder / file).write_bytes(snapshot.read(f"{name}/{file}"))
    encoding = json.loads((folder / "encoding.json").read_text())
    return SurrogateObjective(LAYOUTS[name], encoding, folder / "model.onnx")


def build_scenario(snapshot: Snapshot, name: str, out: Path, args: argparse.Namespace) -> str:
    """Write one scenario's folder; returns a one-line summary."""
    from recommender.spaces.space import Space

    layout = LAYOUTS[name]
    folder = out / name
    objective = copy_model(snapshot, name, folder)
    space_json = scenario_space(
        json.loads(snapshot.read(f"{name}/config_space.json")), layout, name
    )
    (folder / "space.json").write_text(json.dumps(space_json, indent=1))
    space = Space.from_json(space_json, name)
    if name == "lcbench":
        table, tasks = lcbench_table(args.lcbench, folder)
    else:
        tasks = sorted(t for t in objective.encoding[layout.task] if t != "#na#")
        table = None
    folds = make_folds(tasks, args.heldout, args.seed)
    heldout = sorted({t for fold in folds for t in fold})
    if table is None:
        train_tasks = sorted({t for t in tasks if any(t not in f for f in folds)})
        configs = random_configs(space, args.configs, args.seed)
        table = runs_table(objective, space, train_tasks, configs)
    table.to_parquet(folder / "train.parquet", index=False)
    sample = random_configs(space, args.reference, args.seed + 1)
    reference_table(objective, heldout, sample).to_parquet(folder / "reference.parquet")
    meta = {
        "name": name, "layout": layout.to_json(), "folds": folds,
        "metafeatures": name == "lcbench", "configs": args.configs, "seed": args.seed,
        "reference": args.reference, "snapshot": snapshot.commit(),
    }  # fmt: skip
    (folder / "scenario.json").write_text(json.dumps(meta, indent=1))
    return (
        f"{name}: {table['task'].nunique()} training tasks x "
        f"{len(table) // max(table['task'].nunique(), 1)} configs, {len(folds)} fold(s) "
        f"holding out {len(heldout)} tasks, metric {layout.metric} "
        f"({'max' if layout.maximize else 'min'}imised) -> {folder}"
    )


def lcbench_table(lcbench: Path, folder: Path) -> tuple[pd.DataFrame, list[str]]:
    """The public LCBench table at epoch 52 (ingest convention) and its meta-features."""
    from pipelines.bench.lcbench_to_table import reshape

    if not (lcbench / "runs.parquet").is_file():
        raise SystemExit(
            f"--lcbench: expected the public LCBench folder, {lcbench} has no runs.parquet"
        )
    table = reshape(pd.read_parquet(lcbench / "runs.parquet"), 52).drop(columns=["fidelity"])
    shutil.copyfile(lcbench / "metafeatures.csv", folder / "metafeatures.csv")
    return table, sorted(table["task"].unique())


def check_lcbench(snapshot: Snapshot, lcbench: Path, out: Path) -> int:
    """The lcbench surrogate against the public table (the same surrogate's values)."""
    from pipelines.bench.lcbench_to_table import PARAMS

    objective = copy_model(snapshot, "lcbench", out / "lcbench")
    runs = pd.read_parquet(lcbench / "runs.parquet")
    runs = runs[runs["epoch"] == 52]
    worst = 0.0
    for task, group in runs.groupby("task_id"):
        values = objective.evaluate(str(task), group[list(PARAMS)].to_dict("records"))
        worst = max(worst, float(np.abs(values - group[objective.layout.metric]).max()))
    print(f"lcbench: {len(runs)} table rows reproduced, largest difference {worst:.2e}")
    return 0 if worst < 1e-4 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("snapshot", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--scenarios", default=",".join(DEFAULT_SCENARIOS))
    parser.add_argument("--configs", type=int, default=256, help="configs per training task")
    parser.add_argument("--heldout", type=int, default=30)
    parser.add_argument("--reference", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lcbench", type=Path, default=LCBENCH)
    parser.add_argument("--check", action="store_true", help="check the lcbench surrogate only")
    args = parser.parse_args(argv)
    snapshot = Snapshot(args.snapshot)
    if args.check:
        return check_lcbench(snapshot, args.lcbench, args.out)
    for name in args.scenarios.split(","):
        if name not in LAYOUTS:
            raise SystemExit(f"--scenarios: expected some of {', '.join(LAYOUTS)}, got {name!r}")
        print(build_scenario(snapshot, name, args.out, args), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
