"""Time the validation trainers on a GPU against the CPU baseline, in the same run.

Baseline: the CPU path the collection pipeline uses (``device="cpu"``, one thread).
Candidate: ``--device`` (default ``cuda``: bf16 autocast, data resident on the device,
one host sync per epoch), optionally with ``torch.compile``. Each trainer is timed on
the same data, configs and seeds for both, and the report gives per-run seconds and
the speed-up ratio. The first run of each kind is a warm-up and is not counted.

    python -m pipelines.bench.bench_validate_gpu                 # on a CUDA machine
    python -m pipelines.bench.bench_validate_gpu --cpu-smoke     # quick check, CPU only

Results go to stdout as a table and, with ``--out FILE``, as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def _synthetic_table(rows: int, features: int, seed: int) -> Any:
    from recommender.datasets.loading import dataset_from_frame

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features)).astype(np.float32)
    w = rng.normal(size=features)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(features)])
    frame["label"] = (x @ w + 0.5 * rng.normal(size=rows) > 0).astype(int)
    return dataset_from_frame(frame, "label", name=f"synthetic_{rows}x{features}")


def _sentences(n: int, seed: int) -> Any:
    from recommender.datasets.loading import dataset_from_frame

    rng = np.random.default_rng(seed)
    good = ["great", "wonderful", "moving", "superb", "delightful", "clever"]
    bad = ["boring", "awful", "dull", "tedious", "clumsy", "predictable"]
    rows = []
    for i in range(n):
        words = good if i % 2 else bad
        text = " ".join(rng.choice(words, size=12).tolist() + ["film", "plot", "acting"])
        rows.append((text, "pos" if i % 2 else "neg"))
    frame = pd.DataFrame(rows, columns=["text", "label"])
    return dataset_from_frame(frame, "label", name="sentences", modality="text")


def _time_runs(
    fn: Callable[[dict[str, Any]], Any], configs: list[dict[str, Any]]
) -> dict[str, Any]:
    fn(configs[0])  # warm-up: imports, CUDA context, kernel selection, compilation
    seconds, values, statuses = [], [], []
    for cfg in configs:
        start = time.perf_counter()
        result = fn(cfg)
        seconds.append(time.perf_counter() - start)
        values.append(result.value)
        statuses.append(result.status)
    return {
        "runs": len(configs),
        "median_s": statistics.median(seconds),
        "total_s": sum(seconds),
        "statuses": sorted(set(statuses)),
        "mean_value": float(np.mean([v for v in values if v is not None] or [float("nan")])),
    }


def bench_tabular(args: argparse.Namespace) -> list[dict[str, Any]]:
    from recommender.spaces.space import load_space
    from recommender.training.trainers import TRAINERS

    data = _synthetic_table(args.rows, args.features, args.seed)
    space = load_space("tabular_mlp")
    configs = [space.default_config(), *space.sample(args.configs - 1, seed=args.seed)]
    variants = [("cpu (1 thread)", "cpu", False), (args.device, args.device, False)]
    if args.compile:
        variants.append((f"{args.device} + compile", args.device, True))
    out = []
    for label, device, compiled in variants:

        def run(cfg: dict[str, Any], device: str = device, compiled: bool = compiled) -> Any:
            return TRAINERS["tabular_mlp"].train(
                data, cfg, epochs=args.epochs, seed=args.seed, device=device,
                compile_model=compiled,
            )  # fmt: skip

        row = {"bench": f"tabular {args.rows}x{args.features}, {args.epochs} epochs",
               "variant": label, **_time_runs(run, configs)}  # fmt: skip
        out.append(row)
    return out


def bench_text(args: argparse.Namespace) -> list[dict[str, Any]]:
    from recommender.training.trainers import TRAINERS

    try:
        import transformers  # noqa: F401
    except ImportError:
        return []
    data = _sentences(args.text_rows, args.seed)
    configs = [{"frozen_layers": 0, "batch_size": 32}] * 2
    out = []
    for label, device in (("cpu (1 thread)", "cpu"), (args.device, args.device)):

        def run(cfg: dict[str, Any], device: str = device) -> Any:
            return TRAINERS["text_finetune"].train(
                data, cfg, epochs=1, seed=args.seed, device=device, max_steps=args.text_steps
            )

        row = {"bench": f"text MiniLM, 6 layers trained, {args.text_steps} x 32",
               "variant": label, **_time_runs(run, configs)}  # fmt: skip
        out.append(row)
    return out


def _gpu_memory_mib() -> float | None:
    """Memory in use on GPU 0 across all processes (nvidia-smi), or None without it."""
    import shutil
    import subprocess

    if shutil.which("nvidia-smi") is None:
        return None
    out = subprocess.run(
        ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", "0"],
        capture_output=True, text=True,
    )  # fmt: skip
    try:
        return float(out.stdout.strip().splitlines()[0])
    except (ValueError, IndexError):
        return None


def _validate_timed(data: Any, n: int, args: argparse.Namespace, epochs: int) -> dict[str, Any]:
    """`run_validation` of ``n`` configs (default + Sobol), ``parallel=n``, with peak GPU memory."""
    import threading

    from recommender.store import DuckDBStore
    from recommender.validation.runner import run_validation

    baselines = [("default", 1)] + ([("random", n - 1)] if n > 1 else [])
    peak: list[float] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            m = _gpu_memory_mib()
            if m is not None:
                peak.append(m)
            stop.wait(0.2)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    start = time.perf_counter()
    report = run_validation(
        DuckDBStore(), data, top_k=0, baselines=baselines, epochs=epochs, device=args.device,
        seed=args.seed, parallel=n, metafeatures={"NumberOfInstances": float(len(data.y))},
    )  # fmt: skip
    seconds = time.perf_counter() - start
    stop.set()
    watcher.join()
    n_train = int(len(data.y) * 0.8)
    return {
        "configs": n,
        "seconds": seconds,
        "samples_per_s": n_train * epochs * n / seconds,
        "peak_gpu_mib": max(peak) if peak else None,
        "statuses": sorted({o.result.status for o in report.outcomes}),
    }


def bench_concurrency(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Validation of 1 config, then of 8 configs at once (``--parallel 8``), same device."""
    out = []
    cases = [("tabular", _synthetic_table(args.rows, args.features, args.seed), args.epochs)]
    if not args.no_text:
        cases.append(("text", _sentences(args.text_rows, args.seed), 1))
    for label, data, epochs in cases:
        _validate_timed(data, 1, args, epochs)  # warm-up (imports, CUDA context)
        one = _validate_timed(data, 1, args, epochs)
        many = _validate_timed(data, args.parallel, args, epochs)
        out.append({"bench": label, "one": one, "many": many,
                    "ratio": many["seconds"] / one["seconds"]})  # fmt: skip
    return out


def _print_concurrency(rows: list[dict[str, Any]]) -> None:
    print(f"{'validate':<10} {'configs':>7} {'seconds':>8} {'samples/s':>11} {'peak MiB':>9}")
    for r in rows:
        for key in ("one", "many"):
            d = r[key]
            mem = "-" if d["peak_gpu_mib"] is None else f"{d['peak_gpu_mib']:.0f}"
            print(f"{r['bench']:<10} {d['configs']:>7} {d['seconds']:>8.2f} "
                  f"{d['samples_per_s']:>11,.0f} {mem:>9}  {','.join(d['statuses'])}")  # fmt: skip
        print(f"{r['bench']:<10} time of {r['many']['configs']} / time of 1: {r['ratio']:.2f}x")


def _add_ratios(rows: list[dict[str, Any]]) -> None:
    baseline: dict[str, float] = {}
    for row in rows:
        baseline.setdefault(row["bench"], row["median_s"])
        row["speedup_vs_cpu"] = baseline[row["bench"]] / row["median_s"]


def _print(rows: list[dict[str, Any]], device_name: str) -> None:
    print(f"device: {device_name}")
    print(f"{'bench':<48} {'variant':<18} {'median s':>9} {'speed-up':>9} {'value':>7}  status")
    for r in rows:
        status = ",".join(r["statuses"])
        print(
            f"{r['bench']:<48} {r['variant']:<18} {r['median_s']:>9.3f} "
            f"{r['speedup_vs_cpu']:>8.1f}x {r['mean_value']:>7.3f}  {status}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--configs", type=int, default=5, help="configs timed per variant")
    parser.add_argument("--text-rows", type=int, default=512)
    parser.add_argument("--text-steps", type=int, default=8)
    parser.add_argument("--no-text", action="store_true")
    parser.add_argument("--parallel", type=int, default=8, help="configs at once (concurrency)")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cpu-smoke", action="store_true",
                        help="tiny sizes on CPU only: checks the script, not the GPU")  # fmt: skip
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    import torch

    if args.cpu_smoke:
        args.device, args.rows, args.features, args.epochs = "cpu", 1000, 20, 3
        args.configs, args.text_rows, args.text_steps, args.parallel = 2, 64, 1, 2
    elif not torch.cuda.is_available() and args.device.startswith("cuda"):
        print("no CUDA device visible; run on a GPU machine or pass --cpu-smoke", file=sys.stderr)
        return 1
    device_name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    rows = bench_tabular(args) + ([] if args.no_text else bench_text(args))
    _add_ratios(rows)
    _print(rows, device_name)
    concurrency = bench_concurrency(args)
    _print_concurrency(concurrency)
    if args.out:
        settings = vars(args) | {"out": str(args.out)}
        payload = {"device": device_name, "args": settings, "results": rows,
                   "concurrency": concurrency}  # fmt: skip
        args.out.write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
