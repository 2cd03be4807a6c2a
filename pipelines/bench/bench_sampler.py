"""What the Optuna sampler adds to the tuner's own time per trial, in memory and on SQLite.

Studies of 20 trials over the shipped tabular pack's few-shot model (``tabular_mlp``, every
parameter asked with ``suggest_config``; the objective a fixed function of the config).
Per trial, the wall time of ``study.ask()`` plus the objective's ``suggest_*`` calls with
``RecommenderSampler``; of that, the time spent inside ``FewShotTuner.suggest`` (the
tuner's own work); and, as the baseline for Optuna's own storage cost, the same with
Optuna's ``RandomSampler`` on the same kind of storage, in the same run (the samplers take
turns within each repetition). The wrapper's share is ours minus the tuner's minus the
baseline's; printed as medians and as a ratio to the tuner's time.

    python -m pipelines.bench.bench_sampler [--repeats 3]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

TRIALS = 20


def objective_value(config: dict[str, Any]) -> float:
    """A smooth score with its best inside the space (the bench times, it does not tune)."""
    return -((math.log10(config["learning_rate"]) + 2.5) ** 2) - 0.01 * abs(
        config["num_layers"] - 3
    )


def study_times(sampler: Any, storage: str | None) -> list[float]:
    """Wall seconds of each trial's ask + suggestions."""
    import optuna

    from recommender.spaces.space import builtin_space
    from recommender.tuning.sampler import suggest_config

    space = builtin_space("tabular_mlp")
    study = optuna.create_study(direction="maximize", sampler=sampler, storage=storage)
    wall = []
    for _ in range(TRIALS):
        start = time.perf_counter()
        trial = study.ask()
        config = suggest_config(trial, space)
        wall.append(time.perf_counter() - start)
        study.tell(trial, objective_value(config))
    return wall


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    import optuna
    import torch

    from recommender.fewshot import FewShotSurrogate
    from recommender.fewshot.tuner import FewShotTuner
    from recommender.knowledge.packs import pack_dir
    from recommender.tuning.sampler import RecommenderSampler

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pack = pack_dir("tabular_mlp")
    assert pack is not None, "the shipped tabular pack is missing"
    surrogate = FewShotSurrogate.load(pack / "model" / "fewshot")
    inner: list[float] = []
    suggest = FewShotTuner.suggest

    def timed(self: FewShotTuner, *a: Any, **k: Any) -> Any:
        start = time.perf_counter()
        try:
            return suggest(self, *a, **k)
        finally:
            inner.append(time.perf_counter() - start)

    FewShotTuner.suggest = timed  # type: ignore[method-assign]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("memory", "sqlite"):
            ours, tuner, base = [], [], []
            for seed in range(args.repeats):
                url = None if kind == "memory" else f"sqlite:///{Path(tmp) / f'{seed}.db'}"
                inner.clear()
                ours += study_times(RecommenderSampler.from_surrogate(surrogate, seed=seed), url)
                assert len(inner) == TRIALS  # one proposal per trial
                tuner += inner
                url = None if kind == "memory" else f"sqlite:///{Path(tmp) / f'r{seed}.db'}"
                base += study_times(optuna.samplers.RandomSampler(seed=seed), url)
            o, t, b = (float(np.median(x)) for x in (ours, tuner, base))
            rows.append((kind, o, t, b, float(np.median(np.subtract(ours, tuner)))))
    print(table(rows, args.repeats))
    return 0


def table(rows: list[tuple[str, float, float, float, float]], repeats: int) -> str:
    """Medians per trial; the wrapper's share is the median of (ours - tuner) over trials,
    less the baseline's median."""
    lines = [f"{repeats} studies of {TRIALS} trials per storage; median seconds per trial.", "",
             "| storage | ours | tuner | RandomSampler | wrapper (ours - tuner - random) "
             "| wrapper / tuner |", "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for kind, ours, tuner, base, outside in rows:
        wrapper = outside - base
        lines.append(f"| {kind} | {ours:.4f} | {tuner:.4f} | {base:.4f} | {wrapper:.4f} "
                     f"| {wrapper / tuner:.2f} |")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
