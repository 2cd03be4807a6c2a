from pathlib import Path

import pytest

from tests.fewshot.conftest import (  # noqa: F401  (shared fixtures)
    surrogate,
    training_data,
    write_store,
)


@pytest.fixture(scope="module")
def trained_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The few-shot tests' synthetic tabular_mlp store, with a champion."""
    from recommender.knowledge import registry

    path = tmp_path_factory.mktemp("store") / "runs.duckdb"
    store = write_store(path)
    registry.train_and_register(
        store, space="tabular_mlp", metric="acc", maximize=True, force=True, tune=False
    )
    store.close()
    return path
