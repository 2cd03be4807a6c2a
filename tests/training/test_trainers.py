from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from recommender.errors import RecommenderError, SpaceError
from recommender.spaces.space import builtin_space
from recommender.store import DuckDBStore
from recommender.training.common import TrainResult, finish
from recommender.training.trainers import TRAINERS, default_space_for, register, trainer_for
from recommender.validation.runner import run_validation
from tests.validation.helpers import blobs


@pytest.mark.parametrize("space", sorted(TRAINERS))
def test_defaults_are_the_space_defaults(space: str) -> None:
    declared = {p.name: p.default for p in builtin_space(space).params}
    assert dict(TRAINERS[space].defaults) == declared
    assert default_space_for(TRAINERS[space].modality) == space


def test_unregistered_space_uses_the_trainer_of_the_modality() -> None:
    assert trainer_for("my_wide_mlp", "tabular") is TRAINERS["tabular_mlp"]
    assert trainer_for("text_finetune", "tabular") is TRAINERS["text_finetune"]
    with pytest.raises(RecommenderError, match="expected a tabular, text or image dataset"):
        trainer_for("my_space", "audio")
    with pytest.raises(SpaceError, match="no built-in space for modality 'audio'"):
        default_space_for("audio")


def test_on_epoch_sees_every_epoch_and_can_stop(seed: int) -> None:
    seen: list[tuple[int, float]] = []

    def stop_after_two(epoch: int, value: float) -> bool:
        seen.append((epoch, value))
        return epoch < 2

    result = TRAINERS["tabular_mlp"].train(
        blobs(seed=seed), {}, epochs=6, seed=seed, on_epoch=stop_after_two
    )
    assert result.status == "ok" and result.epochs == 2
    assert seen == [(r["epoch"], r["val_balanced_accuracy"]) for r in result.curve]
    assert result.value == seen[-1][1]


def test_on_epoch_returning_none_keeps_training(seed: int) -> None:
    calls: list[int] = []
    result = TRAINERS["tabular_mlp"].train(
        blobs(seed=seed), {}, epochs=3, seed=seed, on_epoch=lambda e, v: calls.append(e)
    )
    assert result.epochs == 3 and calls == [1, 2, 3]


@dataclass(frozen=True)
class ConstantTrainer:
    """A trainer that learns nothing: every epoch scores ``score``."""

    space: str = "toy_space"
    modality: str = "tabular"
    default_epochs: int = 3
    defaults: Mapping[str, Any] = None  # type: ignore[assignment]

    def train(self, dataset: Any, config: Mapping[str, Any], *, epochs: int,
              **options: Any) -> TrainResult:  # fmt: skip
        score = float(config["score"])
        curve = [{"epoch": float(e), "train_loss": 1.0, "val_loss": 1.0,
                  "val_balanced_accuracy": score, "time_s": 0.0}
                 for e in range(1, epochs + 1)]  # fmt: skip
        return finish(curve, "val_balanced_accuracy", status="ok", duration_s=0.0, n_params=0)


@pytest.fixture
def toy_trainer() -> Iterator[ConstantTrainer]:
    trainer = ConstantTrainer(defaults={"score": 0.5})
    register(trainer)
    yield trainer
    del TRAINERS[trainer.space]


def test_a_registered_trainer_is_used_by_validation(
    store: DuckDBStore, tmp_path: Path, toy_trainer: ConstantTrainer
) -> None:
    space = {"name": "toy_space", "hyperparameters": [
        {"name": "score", "type": "float", "low": 0.0, "high": 1.0, "default": 0.25}]}  # fmt: skip
    path = tmp_path / "toy_space.json"
    path.write_text(json.dumps(space))
    report = run_validation(
        store, blobs(), space=str(path), top_k=0, baselines="default", device="cpu",
        metafeatures={"NumberOfInstances": 300.0},
    )  # fmt: skip
    (outcome,) = report.outcomes
    assert outcome.result.value == 0.25 and outcome.result.epochs == toy_trainer.default_epochs
