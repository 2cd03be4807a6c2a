"""One collection run, in a worker process (a module of its own, so Ray can import it)."""

from __future__ import annotations

import functools
import os
from typing import Any

from pipelines.collect.suite import by_id

TEXT_MAX_LENGTH = 48  # tokens per document: short runs on CPU
# Options of a trainer beyond the shared ones, per space.
TRAINER_OPTIONS: dict[str, dict[str, Any]] = {"text_finetune": {"max_length": TEXT_MAX_LENGTH}}


@functools.lru_cache(maxsize=4)
def load_dataset(dataset_id: str) -> Any:
    from recommender.datasets import dataset_from_frame

    d = by_id(dataset_id)
    return dataset_from_frame(
        d.frame(), d.target, name=d.id, problem=d.problem_type, modality=d.modality
    )


def run_one(dataset_id: str, config_id: int, config: dict[str, Any], epochs: int,
            max_rows: int, seed: int) -> dict[str, Any]:  # fmt: skip
    """Train one configuration on one dataset (in a worker process)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from recommender.validate.trainers import TRAINERS, default_space_for

    data = load_dataset(dataset_id)
    trainer = TRAINERS[default_space_for(data.modality)]
    options = TRAINER_OPTIONS.get(trainer.space, {})
    result = trainer.train(
        data, config, epochs=epochs, seed=seed, max_rows=max_rows, num_threads=1, **options
    )
    return {"task": dataset_id, "config_id": config_id, "config": config, **result.as_dict()}
