from __future__ import annotations

from typing import Any

import numpy.typing as npt
import pytest

from recommender.spaces.space import Space
from recommender.store import DuckDBStore
from recommender.surrogate import tuning
from recommender.surrogate.model import load_training_data
from tests.surrogate.synthetic import FAST, TOY_SPACE, fill_store


def test_cv_regret_scores_each_held_out_task_on_all_its_runs(
    store: DuckDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Training rows are capped for speed; the regret's scale (best run, median run) is not."""
    fill_store(store, n_tasks=6, n_runs=40)
    data = load_training_data(store, Space.from_json(TOY_SPACE), metric="acc", maximize=True)
    monkeypatch.setattr(tuning, "CV_MAX_ROWS", 60)  # a quarter of the 240 runs
    scored: list[int] = []
    real = tuning.regret

    def counting(achieved: float, values: npt.ArrayLike, **kw: Any) -> float:
        scored.append(len(values))  # type: ignore[arg-type]
        return real(achieved, values, **kw)

    monkeypatch.setattr(tuning, "regret", counting)
    result = tuning.cv_regret(data, FAST)
    assert scored == [40] * 12  # top-1 and best-of-5 for each of the 6 tasks
    assert 0 <= result["top5_regret"] <= result["top1_regret"]
