"""A user's own logs, as they come: a conditional space nobody defined, runs without any
meta-features, through ``ingest --space``, ``retrain``, ``recommend`` and the Optuna
sampler, with nothing else done in between."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from click.testing import CliRunner

from recommender.cli import cli
from recommender.tuning.sampler import RecommenderSampler

N_TASKS, N_RUNS = 10, 24


def score(config: dict[str, Any], task: int) -> float:
    """A task's accuracy: gbtree wins, deeper trees suit later tasks, eta near 0.05."""
    gap = math.log10(config["eta"]) - math.log10(0.05)
    value = 0.80 - 0.04 * gap**2 + 0.0001 * min(config["n_rounds"], 200)
    if config["booster"] == "gbtree":
        value += 0.05 - 0.004 * abs(config["max_depth"] - (3 + task % 6))
    return value


def write_logs(path: Path, seed: int = 0) -> pd.DataFrame:
    """Runs as a user's tracker exports them: param.* and metric.* columns, no depth
    where the booster has none, nothing about the datasets."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(N_TASKS):
        for r in range(N_RUNS):
            config: dict[str, Any] = {
                "booster": str(rng.choice(["gbtree", "gblinear"])),
                "eta": float(10 ** rng.uniform(-3, -0.5)),
                "n_rounds": int(rng.integers(10, 300)),
            }
            if config["booster"] == "gbtree":
                config["max_depth"] = int(rng.integers(2, 12))
            acc = score(config, t) + float(rng.normal(0, 0.002))
            row = {"task": f"data{t}", "run_id": f"{t}-{r}"}
            row |= {f"param.{k}": v for k, v in config.items()}
            rows.append(row | {"metric.accuracy": acc})
    frame = pd.DataFrame(rows)
    frame["param.max_depth"] = frame["param.max_depth"].astype("Int64")
    frame.to_csv(path, index=False)
    return frame


def _configs(frame: pd.DataFrame) -> list[dict[str, Any]]:
    params = frame.filter(like="param.").rename(columns=lambda c: c[len("param.") :])
    return [{k: v for k, v in row.items() if not pd.isna(v)} for row in params.to_dict("records")]


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def test_own_conditional_space_without_metafeatures(db_path: Path, tmp_path: Path) -> None:
    logs = tmp_path / "runs.csv"
    frame = write_logs(logs)

    out = run("ingest", str(logs), "--space", "xgb")
    assert f"ingested {N_TASKS * N_RUNS} runs" in out and "into space xgb" in out
    assert f"registered space xgb, inferred from {N_TASKS * N_RUNS} runs" in out
    inferred = {ln.split()[0]: ln for ln in out.splitlines() if ln.startswith("  ")}
    assert "when booster is gbtree" in inferred["max_depth"]
    assert "log scale" in inferred["eta"] and inferred["n_rounds"].split()[1] == "int,"

    out = run("retrain", "--space", "xgb", "--metric", "accuracy", "--maximize")
    assert "promoted (first model)" in out
    assert "plain global portfolio (the tasks have no meta-features)" in out

    out = run("recommend", "--space", "xgb", "--top-k", "3")
    assert "The model uses no meta-features" in out
    answer = json.loads(run("recommend", "--space", "xgb", "--top-k", "3", "--json"))
    assert answer["rule"] == "portfolio" and "uses no meta-features" in answer["note"]
    picks = answer["recommendations"]
    assert [p["rank"] for p in picks] == [1, 2, 3]
    top = picks[0]["config"]
    assert top["booster"] == "gbtree" and 2 <= top["max_depth"] <= 11
    assert all(p["explanation"]["rule"] == "portfolio" for p in picks)

    def objective(trial: optuna.Trial) -> float:
        config: dict[str, Any] = {
            "booster": trial.suggest_categorical("booster", ["gblinear", "gbtree"]),
            "eta": trial.suggest_float("eta", 1e-3, 0.3, log=True),
            "n_rounds": trial.suggest_int("n_rounds", 10, 299),
        }
        if config["booster"] == "gbtree":
            config["max_depth"] = trial.suggest_int("max_depth", 2, 11)
        return score(config, task=N_TASKS)  # a new task

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no parameter of the study is unknown to the space
        sampler = RecommenderSampler("xgb", seed=0)
        study = optuna.create_study(direction="maximize", sampler=sampler)
        study.optimize(objective, n_trials=8)
    assert study.trials[0].params == top
    assert sampler.sources[0] == "recommended" and "adaptive" in sampler.sources.values()
    distinct = {tuple(sorted(t.params.items())) for t in study.trials}
    assert len(distinct) == 8
    logged = [score(c, task=N_TASKS) for c in _configs(frame)]
    assert study.best_value > np.quantile(logged, 0.95)  # the study's best, among the logs'
