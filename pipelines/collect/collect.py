"""Build the shipped meta-dataset: short tabular-MLP runs on real datasets.

For every dataset of the suite (``pipelines/collect/suite.py``) it trains the same
quasi-random (scrambled Sobol) design of ``tabular_mlp`` configurations, plus the
space's default, for a few epochs, recording learning curves, and computes the
dataset's meta-features. Finished runs are appended to per-dataset JSON Lines files
in a work folder, so a killed collection continues where it stopped. Then it writes
the Parquet files of ``data/`` and their checksums.

    python -m pipelines.collect --workers 2            # collect + write data/
    python -m pipelines.collect --executor ray         # the same on Ray
    python -m pipelines.collect --write-only           # rebuild data/ from the work folder
    python -m pipelines.retrain.shipped                # retrain the shipped models from data/
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from pipelines.collect.packs import append_record
from pipelines.collect.suite import SUITE, TEXT_SUITE, SuiteDataset, by_id
from pipelines.collect.worker import load_dataset, run_one

ROOT = Path(__file__).resolve().parents[2]
# Per modality: the built-in space trained, and the default epochs and rows per dataset.
SETTINGS: dict[str, dict[str, Any]] = {
    "tabular": {"space": "tabular_mlp", "epochs": 15, "max_rows": 2500, "suite": SUITE},
    "text": {"space": "text_finetune", "epochs": 1, "max_rows": 200, "suite": TEXT_SUITE},
}


def design(space_name: str, n: int, seed: int) -> list[dict[str, Any]]:
    """The space's default configuration, then ``n`` scrambled-Sobol configurations."""
    from recommender.space import load_space

    space = load_space(space_name)
    return [space.default_config(), *space.sample(n, seed=seed)]


def _done(work: Path, dataset_id: str) -> set[int]:
    path = work / "runs" / f"{dataset_id}.jsonl"
    if not path.exists():
        return set()
    done = set()
    for line in path.read_text().splitlines():
        try:
            done.add(int(json.loads(line)["config_id"]))
        except (ValueError, KeyError):
            continue  # a line cut short by a kill: that run is simply redone
    return done


def _metafeatures(work: Path, d: SuiteDataset, seed: int) -> None:
    path = work / "metafeatures" / f"{d.id}.json"
    if path.exists():
        return
    from recommender.metafeatures import compute_metafeatures

    ds = load_dataset(d.id)
    result = compute_metafeatures(ds, seed=seed)
    record = {"task": d.id, "problem_type": ds.problem_type, "features": result.features}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, allow_nan=True))
    tmp.replace(path)


Job = tuple[str, int]  # (dataset id, configuration index)


def _jobs(work: Path, datasets: list[SuiteDataset], configs: list[dict[str, Any]]) -> Iterator[Job]:
    for d in datasets:
        done = _done(work, d.id)
        for i in range(len(configs)):
            if i not in done:
                yield d.id, i


class Progress:
    """A one-line progress bar with an estimate of the time left."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.start = total, 0, time.monotonic()

    def step(self, label: str) -> None:
        self.done += 1
        elapsed = time.monotonic() - self.start
        left = elapsed / self.done * (self.total - self.done)
        filled = int(30 * self.done / max(self.total, 1))
        line = (f"[{'#' * filled}{'-' * (30 - filled)}] {self.done}/{self.total} "
                f"{elapsed / 60:5.1f} min, ~{left / 60:5.1f} min left  {label}")  # fmt: skip
        if sys.stderr.isatty():
            print("\r" + line.ljust(100), end="\n" if self.done == self.total else "",
                  file=sys.stderr, flush=True)  # fmt: skip
        elif self.done % 50 == 0 or self.done == self.total:
            print(line, file=sys.stderr, flush=True)


def collect(args: argparse.Namespace) -> None:
    work = Path(args.work_dir)
    (work / "runs").mkdir(parents=True, exist_ok=True)
    (work / "metafeatures").mkdir(parents=True, exist_ok=True)
    for modality in ("tabular", "text") if args.modality == "all" else (args.modality,):
        collect_modality(args, work, modality)


def collect_modality(args: argparse.Namespace, work: Path, modality: str) -> None:
    setting = SETTINGS[modality]
    suite = setting["suite"]
    chosen = [by_id(i) for i in args.datasets] if args.datasets else suite
    datasets = [d for d in chosen if d.modality == modality]
    if not datasets:
        return
    configs = design(setting["space"], args.configs, args.seed)
    (work / f"design_{setting['space']}.json").write_text(json.dumps(configs, indent=1))
    args = argparse.Namespace(**{
        **vars(args),
        "epochs": args.epochs or setting["epochs"],
        "max_rows": args.max_rows or setting["max_rows"],
    })  # fmt: skip
    for d in datasets:
        _metafeatures(work, d, args.seed)
    jobs = list(_jobs(work, datasets, configs))
    print(
        f"{len(datasets)} datasets x {len(configs)} configs: {len(jobs)} runs to go",
        file=sys.stderr,
    )
    progress = Progress(len(jobs))
    call = functools.partial(_submit_args, configs=configs, args=args)
    if args.executor == "ray":
        _collect_ray(work, jobs, call, progress, args.workers)
        return
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        pending: set[Future[dict[str, Any]]] = set()
        queue = iter(jobs)
        for job in queue:
            pending.add(pool.submit(run_one, *call(job)))
            if len(pending) >= 4 * args.workers:
                break
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                record = fut.result()
                append_record(work, record)
                progress.step(f"{record['task']} #{record['config_id']}")
            for job in queue:
                pending.add(pool.submit(run_one, *call(job)))
                if len(pending) >= 4 * args.workers:
                    break


def _submit_args(
    job: Job, *, configs: list[dict[str, Any]], args: argparse.Namespace
) -> tuple[Any, ...]:
    dataset_id, config_id = job
    return dataset_id, config_id, configs[config_id], args.epochs, args.max_rows, args.seed


def _collect_ray(work: Path, jobs: list[Job], call: Any, progress: Progress, workers: int) -> None:
    try:
        import ray
    except ImportError:
        sys.exit("--executor ray needs ray: pip install 'recommender[ray]'")
    # Workers import pipelines.collect.worker from the repository root.
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    ray.init(num_cpus=workers, include_dashboard=False, ignore_reinit_error=True,
             runtime_env={"env_vars": {"PYTHONPATH": path}})  # fmt: skip
    remote = ray.remote(num_cpus=1)(run_one)
    refs = [remote.remote(*call(job)) for job in jobs]
    while refs:
        ready, refs = ray.wait(refs, num_returns=1)
        record = ray.get(ready[0])
        append_record(work, record)
        progress.step(f"{record['task']} #{record['config_id']}")
    ray.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser(description="Collect the shipped meta-dataset.")
    ap.add_argument("--out", default=str(ROOT / "data"), help="where the Parquet files go")
    ap.add_argument("--work-dir", default=str(ROOT / "pipelines" / "collect" / ".work"))
    ap.add_argument("--configs", type=int, default=64, help="Sobol configurations per dataset")
    ap.add_argument(
        "--modality", choices=["all", "tabular", "text"], default="tabular",
        help="tabular (default): the shipped 40 + 8 tables; text: the first 4-collection text "
        "runs (not written to data/: the shipped text pack comes from pipelines.collect.packs)",
    )  # fmt: skip
    ap.add_argument("--epochs", type=int, default=None, help="default: tabular 15, text 1")
    ap.add_argument(
        "--max-rows",
        type=int,
        default=None,
        help="rows per dataset (default: tabular 2500, text 200)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--executor", choices=["process", "ray"], default="process")
    ap.add_argument("--datasets", nargs="*", help="only these dataset ids")
    ap.add_argument(
        "--write-only", action="store_true", help="only rebuild data/ from the work folder"
    )
    ap.add_argument("--no-model", action="store_true", help="do not train the shipped surrogate")
    args = ap.parse_args()
    if not args.write_only:
        collect(args)
    from pipelines.collect.write import write_data

    write_data(Path(args.work_dir), Path(args.out), train_model=not args.no_model)


if __name__ == "__main__":
    main()
