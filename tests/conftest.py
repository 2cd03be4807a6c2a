from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from recommender.store import DuckDBStore


def _cuda_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if any(item.get_closest_marker("gpu") for item in items) and not _cuda_available():
        skip = pytest.mark.skip(reason="needs CUDA")
        for item in items:
            if item.get_closest_marker("gpu"):
                item.add_marker(skip)


@pytest.fixture
def seed() -> int:
    """Seed for randomised tests; RECOMMENDER_TEST_SEED sweeps others."""
    return int(os.environ.get("RECOMMENDER_TEST_SEED", "0"))


@pytest.fixture
def store() -> Iterator[DuckDBStore]:
    s = DuckDBStore(":memory:")
    yield s
    s.close()


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh store file; also set as $RECOMMENDER_DB so CLI calls find it."""
    path = tmp_path / "store.duckdb"
    monkeypatch.setenv("RECOMMENDER_DB", str(path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return path
