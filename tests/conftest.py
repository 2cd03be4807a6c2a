from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, Verbosity, settings

from recommender.store import DuckDBStore

# The default profile is deterministic: the same examples on every machine and every run,
# no example database, and a failure prints the blob that reproduces it. Developers hunt
# for new failures with the explore profile (`pytest --hypothesis-profile=explore -m fuzz`)
# and keep each one they find as an @example, so CI replays it forever.
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    print_blob=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "explore",
    max_examples=int(os.environ.get("RECOMMENDER_EXPLORE_EXAMPLES", "2000")),
    derandomize=False,
    database=None,
    print_blob=True,
    deadline=None,
    phases=[Phase.explicit, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=list(HealthCheck),
    verbosity=Verbosity.normal,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _short_meta_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """``retrain`` also meta-trains the few-shot model; tests check that it is trained,
    saved and used, not how good a full-length training makes it."""
    from recommender.fewshot import surrogate

    monkeypatch.setattr(surrogate, "FEWSHOT_PARAMS", {"n_steps": 30, "batch_points": 24})


def fuzz_examples(ci: int) -> int:
    """Examples per fuzz test: ``ci`` in the deterministic profile, the profile's otherwise."""
    return ci if settings.default.derandomize else settings.default.max_examples


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
