"""The pipelines run as modules from the repository root, and every shipped space has a trainer."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from recommender.spaces.builtin import BUILTIN_SPACES as PACKS
from recommender.spaces.space import builtin_spaces
from recommender.training.trainers import TRAINERS

ROOT = Path(__file__).resolve().parents[2]
PIPELINES = ROOT / "pipelines"


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__main__" else parts)


def _modules() -> tuple[list[str], list[str]]:
    """(modules run with ``python -m``, modules only imported), found on disk."""
    runnable, imported = [], []
    for path in sorted(PIPELINES.rglob("*.py")):
        if path.name == "__init__.py":
            continue
        text = path.read_text()
        if path.name == "__main__.py" or 'if __name__ == "__main__"' in text:
            runnable.append(_module(path))
        else:
            imported.append(_module(path))
    return runnable, imported


RUNNABLE, LIBRARIES = _modules()


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """Python from the repository root, as in a fresh clone: no PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_no_pipeline_patches_sys_path() -> None:
    offenders = [
        str(p.relative_to(ROOT)) for p in PIPELINES.rglob("*.py") if "sys.path" in p.read_text()
    ]
    assert offenders == []


def test_the_pipelines_are_found() -> None:
    assert {"pipelines.collect", "pipelines.retrain.shipped"} <= set(RUNNABLE)
    assert "pipelines.bench.bench_recommend" in RUNNABLE
    assert "pipelines.collect.suite" in LIBRARIES


@pytest.mark.parametrize("module", RUNNABLE)
def test_each_pipeline_runs_as_a_module(module: str) -> None:
    done = _run("-m", module, "--help")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage" in done.stdout.lower()


def test_pipeline_libraries_import_from_the_repository_root() -> None:
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    done = _run("-c", code, *LIBRARIES)
    assert done.returncode == 0, done.stderr[-2000:]


def test_retrain_shipped_rejects_an_unknown_space(tmp_path: Path) -> None:
    done = _run("-m", "pipelines.retrain.shipped", "--data", str(tmp_path), "--space", "nope")
    assert done.returncode != 0
    assert "no shipped pack for space nope; expected one of" in done.stderr
    done = _run("-m", "pipelines.retrain.shipped", "--data", str(tmp_path))
    assert done.returncode != 0 and "expected shipped runs" in done.stderr


def test_every_shipped_space_has_a_trainer() -> None:
    assert set(builtin_spaces()) <= set(TRAINERS)
    assert set(PACKS) <= set(TRAINERS)
    for space, trainer in TRAINERS.items():
        assert trainer.space == space
        assert trainer.default_epochs >= 1


def test_the_crontab_calls_recommender_retrain() -> None:
    import click

    from recommender.cli import cli

    (line,) = [
        line
        for line in (PIPELINES / "retrain" / "crontab").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    words = shlex.split(line.split(">>")[0])
    assert words[5].endswith("recommender") and words[6] == "retrain"
    retrain = cli.get_command(click.Context(cli), "retrain")
    assert retrain is not None
    known = {opt for param in retrain.params for opt in param.opts}
    assert {w for w in words[7:] if w.startswith("--")} <= known


def test_scheduled_retrain_says_nothing_new(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from recommender.cli import cli
    from recommender.knowledge import evaluation as evaluate
    from recommender.store import DuckDBStore
    from tests.surrogate.synthetic import FAST, fill_store

    monkeypatch.setattr(evaluate, "TUNING_GRID", (FAST,))
    with DuckDBStore(db_path) as store:
        fill_store(store)
    args = ["retrain", "--db", str(db_path), "--space", "toy", "--metric", "acc", "--maximize"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0 and "promoted" in first.output
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0 and again.output.startswith("nothing new")
    bad = CliRunner().invoke(cli, [*args[:-1], "--minimize", "--space", "nope"])
    assert bad.exit_code != 0 and "unknown space 'nope'" in bad.output


def test_the_collection_trains_registered_spaces() -> None:
    from pipelines.collect.packs import get_pack

    for name in ("tabular", "text", "image"):
        assert TRAINERS[get_pack(name).space].modality == name


def test_the_first_pick_line_names_the_task_that_makes_the_mean() -> None:
    from pipelines.bench.bench_opening import first_pick_line

    line = first_pick_line([(0.1, 0.3), (70.0, 25.0), (0.2, 0.1)], ["a", "b", "c"])
    assert "top-1 median regret 0.200 (mean 23.433)" in line
    assert "default config median 0.300 (mean 8.467)" in line
    assert "top-1 better on 1 tasks, worse on 2" in line and "largest regret 70.00 (b)" in line
