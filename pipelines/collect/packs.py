"""Collect one shipped pack (image, text or tabular) into a resumable work folder.

Every task of the pack trains the same design: the space's default configuration, then
``--configs`` scrambled-Sobol configurations (seed 0), each for the pack's epochs with its
learning curve kept. Finished runs are appended to ``WORK/runs/<task>.jsonl`` (one JSON
object a line, fsynced), and meta-features go to ``WORK/metafeatures/<task>.json``, so a
rerun skips what is done and a killed collection loses at most the runs in flight.

    python -m pipelines.collect.packs image --work-dir /work/collect/image --workers 1
    python -m pipelines.collect.packs text --work-dir /work/collect/text --configs 48
    python -m pipelines.collect.packs tabular --executor ray --workers 8
    python -m pipelines.collect.packs image --plan          # the plan, nothing trained
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Pack:
    """What one pack trains: its space, tasks, epochs and how a task is loaded and trained."""

    name: str
    space: str
    epochs: int
    tasks: Callable[[], list[str]]
    load: Callable[[str, Path], Any]  # (task id, work folder) -> Dataset
    train: Callable[..., Any]  # (dataset, config, *, epochs, seed) -> TrainResult
    holdout: Callable[[], set[str]] = field(default=lambda: set())


def _image_pack() -> Pack:
    from pipelines.collect import image_suite as s

    def load(task_id: str, work: Path) -> Any:
        from recommender.datasets.loading import load_dataset

        folder = s.materialize(s.image_by_id(task_id), work / "images")
        return load_dataset(folder, name=task_id)

    def train(dataset: Any, config: dict[str, Any], *, epochs: int, seed: int) -> Any:
        from recommender.training.image import train_image

        return train_image(
            dataset, config, epochs=epochs, seed=seed, image_size=s.IMAGE_SIZE,
            val_fraction=s.VAL_FRACTION, num_threads=1,
        )  # fmt: skip

    return Pack(
        "image", "image_finetune", s.EPOCHS, lambda: [t.id for t in s.IMAGE_SUITE],
        load, train, lambda: set(s.IMAGE_HOLDOUT),
    )  # fmt: skip


PACKS: dict[str, Callable[[], Pack]] = {"image": _image_pack}


def register_pack(name: str, factory: Callable[[], Pack]) -> None:
    """Make ``factory``'s pack collectable under ``name`` (suites register themselves)."""
    PACKS[name] = factory


def get_pack(name: str) -> Pack:
    _register_builtin()
    try:
        return PACKS[name]()
    except KeyError:
        choices = ", ".join(sorted(PACKS))
        raise SystemExit(f"unknown pack {name!r}; expected one of {choices}") from None


def _register_builtin() -> None:
    for module in ("text_suite", "tabular_suite"):
        try:
            __import__(f"pipelines.collect.{module}")
        except ModuleNotFoundError as err:
            if err.name != f"pipelines.collect.{module}":
                raise


def design(space_name: str, n: int, seed: int) -> list[dict[str, Any]]:
    """The space's default configuration, then ``n`` scrambled-Sobol configurations."""
    from recommender.spaces.space import load_space

    space = load_space(space_name)
    return [space.default_config(), *space.sample(n, seed=seed)]


def done_configs(work: Path, task: str) -> set[int]:
    path = work / "runs" / f"{task}.jsonl"
    done: set[int] = set()
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                done.add(int(json.loads(line)["config_id"]))
            except (ValueError, KeyError):
                continue  # a line cut short by a kill: that run is simply redone
    return done


def append_record(work: Path, record: dict[str, Any]) -> None:
    path = work / "runs" / f"{record['task']}.jsonl"
    with path.open("a+b") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell() > 0:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":  # a line cut short by a kill: end it, don't extend it
                fh.write(b"\n")
        fh.write((json.dumps(record) + "\n").encode())
        fh.flush()
        os.fsync(fh.fileno())


_DATASETS: dict[tuple[str, str], Any] = {}


def _dataset(pack: Pack, task: str, work: Path) -> Any:
    key = (pack.name, task)
    if key not in _DATASETS:
        _DATASETS.clear()  # one task at a time per worker: the jobs come task by task
        _DATASETS[key] = pack.load(task, work)
    return _DATASETS[key]


def run_job(pack_name: str, work: str, task: str, config_id: int, config: dict[str, Any],
            epochs: int, seed: int) -> dict[str, Any]:  # fmt: skip
    """Train one configuration on one task (in a worker process or a Ray task)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    pack = get_pack(pack_name)
    data = _dataset(pack, task, Path(work))
    result = pack.train(data, config, epochs=epochs, seed=seed)
    return {"task": task, "config_id": config_id, "config": config, **result.as_dict()}


def write_metafeatures(pack: Pack, work: Path, task: str, seed: int) -> None:
    path = work / "metafeatures" / f"{task}.json"
    if path.exists():
        return
    from recommender.metafeatures import compute_metafeatures

    ds = pack.load(task, work)
    result = compute_metafeatures(ds, seed=seed)
    record = {"task": task, "problem_type": ds.problem_type, "features": result.features}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, allow_nan=True))
    tmp.replace(path)


def jobs(work: Path, tasks: list[str], n_configs: int) -> Iterator[tuple[str, int]]:
    for task in tasks:
        done = done_configs(work, task)
        yield from ((task, i) for i in range(n_configs) if i not in done)


def _log(line: str) -> None:
    print(time.strftime("%H:%M:%S ") + line, file=sys.stderr, flush=True)


def run_all(submit_args: list[tuple[Any, ...]], work: Path, *, workers: int,
            executor: str) -> None:  # fmt: skip
    """Run every job on a process pool (or Ray), appending each record as it finishes."""
    total, start = len(submit_args), time.monotonic()

    def record(rec: dict[str, Any], done: int) -> None:
        append_record(work, rec)
        elapsed = time.monotonic() - start
        left = elapsed / done * (total - done)
        _log(
            f"{done}/{total} {rec['task']} #{rec['config_id']} {rec['status']} "
            f"{rec['duration_s']:.1f}s value={rec['value']} ~{left / 60:.0f} min left"
        )

    if executor == "ray":
        try:
            import ray
        except ImportError:
            sys.exit("--executor ray needs ray: pip install 'recommender[ray]'")
        ray.init(num_cpus=workers, include_dashboard=False, ignore_reinit_error=True)
        remote = ray.remote(num_cpus=1)(run_job)
        refs = [remote.remote(*a) for a in submit_args]
        for done in range(1, total + 1):
            ready, refs = ray.wait(refs, num_returns=1)
            record(ray.get(ready[0]), done)
        ray.shutdown()
        return
    if workers == 1:  # one worker: in this process, no pool to start or pickle through
        for done, a in enumerate(submit_args, start=1):
            record(run_job(*a), done)
        return
    queue, done = iter(submit_args), 0
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: set[Future[dict[str, Any]]] = set()
        while True:
            for a in queue:
                pending.add(pool.submit(run_job, *a))
                if len(pending) >= 2 * workers:
                    break
            if not pending:
                return
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                done += 1
                record(fut.result(), done)


def collect_pack(pack: Pack, work: Path, *, configs: int, seed: int, workers: int,
                 executor: str, epochs: int | None = None,
                 only: list[str] | None = None) -> None:  # fmt: skip
    (work / "runs").mkdir(parents=True, exist_ok=True)
    (work / "metafeatures").mkdir(parents=True, exist_ok=True)
    design_ = design(pack.space, configs, seed)
    (work / f"design_{pack.space}.json").write_text(json.dumps(design_, indent=1))
    tasks = [t for t in pack.tasks() if not only or t in only]
    for task in tasks:
        write_metafeatures(pack, work, task, seed)
    epochs = epochs or pack.epochs
    todo = list(jobs(work, tasks, len(design_)))
    _log(f"pack {pack.name}: {len(tasks)} tasks x {len(design_)} configs x {epochs} epochs: "
         f"{len(todo)} runs to go")  # fmt: skip
    args = [(pack.name, str(work), t, i, design_[i], epochs, seed) for t, i in todo]
    run_all(args, work, workers=workers, executor=executor)
    _log(f"pack {pack.name}: done")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Collect one shipped pack (resumable).")
    ap.add_argument("pack", help="image, text or tabular")
    ap.add_argument("--work-dir", required=True, help="runs and meta-features go here")
    ap.add_argument("--configs", type=int, default=48, help="Sobol configurations per task")
    ap.add_argument("--epochs", type=int, default=None, help="default: the pack's")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--executor", choices=["process", "ray"], default="process")
    ap.add_argument("--tasks", nargs="*", help="only these task ids")
    ap.add_argument("--plan", action="store_true", help="print the plan and stop")
    args = ap.parse_args(argv)
    pack = get_pack(args.pack)
    if args.plan:
        work = Path(args.work_dir)
        n = args.configs + 1
        for t in pack.tasks():
            print(f"{t}: {len(done_configs(work, t))}/{n} runs done")
        return
    collect_pack(
        pack, Path(args.work_dir), configs=args.configs, seed=args.seed, workers=args.workers,
        executor=args.executor, epochs=args.epochs, only=args.tasks,
    )  # fmt: skip


if __name__ == "__main__":
    from pipelines.collect.packs import main as _main  # one module copy, for suites and pools

    _main()
