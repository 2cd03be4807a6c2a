"""The few-shot benchmark's own logic: surrogate inputs, folds, regret and paired summaries.

These run without the YAHPO Gym data (the harness itself is run by hand, see
``pipelines/bench/bench_fewshot.py``).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pipelines.bench.fewshot_report import (
    at_n,
    best_so_far,
    markdown,
    on_common_tasks,
    paired_rows,
    regret,
    regret_table,
)
from pipelines.bench.yahpo_build import make_folds, scenario_space
from pipelines.bench.yahpo_surrogate import LAYOUTS, Layout, SurrogateObjective, encode_inputs
from recommender.spaces.space import Space

LAYOUT = Layout("task_id", ("depth", "eta", "trainsize"), ("task_id", "booster"),
                ("acc", "time"), {"trainsize": 1.0}, "acc", True)  # fmt: skip
ENCODING = {
    "task_id": {"#na#": 0, "3": 1, "31": 2},
    "booster": {"#na#": 0, "gbtree": 1, "gblinear": 2},
}
SPACE = Space.from_json({
    "hyperparameters": [
        {"name": "booster", "type": "categorical", "choices": ["gbtree", "gblinear"]},
        {"name": "depth", "type": "uniform_int", "lower": 1, "upper": 10},
        {"name": "eta", "type": "uniform_float", "lower": 1e-3, "upper": 1.0, "log": True},
    ],
    "conditions": [{"child": "depth", "parent": "booster", "type": "EQ", "value": "gbtree"}],
}, "toy")  # fmt: skip


def test_inputs_follow_the_layout_with_fidelities_fixed_and_inactive_as_zero() -> None:
    x_cat, x_cont = encode_inputs(
        LAYOUT, ENCODING, "31",
        [{"booster": "gblinear", "eta": 0.1}, {"booster": "gbtree", "depth": 4, "eta": 0.5}],
    )  # fmt: skip
    assert x_cat.dtype == np.int32 and x_cont.dtype == np.float32
    assert x_cat.tolist() == [[2, 2], [2, 1]]
    np.testing.assert_allclose(x_cont, [[0.0, 0.1, 1.0], [4.0, 0.5, 1.0]], rtol=1e-6)


def test_a_value_the_conditions_switch_off_never_reaches_the_model() -> None:
    objective = SurrogateObjective(LAYOUT, ENCODING, model=None, space=SPACE)  # type: ignore[arg-type]
    assert objective.active({"booster": "gblinear", "depth": 7, "eta": 0.2}) == {
        "booster": "gblinear", "eta": 0.2,
    }  # fmt: skip
    assert objective.active({"booster": "gbtree", "depth": 7}) == {"booster": "gbtree", "depth": 7}


def test_unknown_task_or_level_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="got '7'"):
        encode_inputs(LAYOUT, ENCODING, "7", [{}])
    with pytest.raises(ValueError, match="booster: expected"):
        encode_inputs(LAYOUT, ENCODING, "3", [{"booster": "dart"}])


def test_each_layout_names_its_metric_and_keeps_the_task_first() -> None:
    for layout in LAYOUTS.values():
        assert layout.metric in layout.outputs
        assert layout.cat[0] == layout.task
        assert set(layout.fidelity) <= set(layout.cont)
        assert Layout.from_json(layout.to_json()) == layout


def test_the_scenario_space_drops_task_and_fidelity_and_keeps_conditions() -> None:
    numeric = [{"name": n, "type": "uniform_float", "lower": 0, "upper": 1}
               for n in ("depth", "eta", "trainsize")]  # fmt: skip
    cats = [
        {"name": n, "type": "categorical", "choices": ["a", "b"]} for n in ("task_id", "booster")
    ]
    condition = {"child": "depth", "parent": "booster", "type": "EQ", "value": "a"}
    cs = {"hyperparameters": numeric + cats, "conditions": [condition]}
    out = scenario_space(cs, LAYOUT, "toy")
    assert sorted(h["name"] for h in out["hyperparameters"]) == ["booster", "depth", "eta"]
    assert out["conditions"] == cs["conditions"]


@given(st.integers(1, 130), st.integers(1, 40), st.integers(0, 5))
@example(4, 30, 0)
@example(117, 30, 0)
def test_folds_hold_out_each_task_at_most_once(n: int, heldout: int, seed: int) -> None:
    tasks = [f"t{i}" for i in range(n)]
    folds = make_folds(tasks, heldout, seed)
    flat = [t for fold in folds for t in fold]
    assert len(flat) == len(set(flat)) and set(flat) <= set(tasks)
    if n >= 2 * heldout:
        assert len(folds) == 1 and len(flat) == heldout
    else:
        assert sorted(flat) == sorted(tasks) and len(folds) == min(4, n)


def test_best_so_far_and_regret_in_both_directions() -> None:
    assert best_so_far([0.5, np.nan, 0.7, 0.6], True).tolist() == [0.5, 0.5, 0.7, 0.7]
    assert best_so_far([0.5, 0.3, 0.4], False).tolist() == [0.5, 0.3, 0.3]
    assert regret([0.9, 0.7, 0.5, 1.0], 0.9, 0.7, True).tolist() == pytest.approx([0, 1, 2, 0])
    assert regret([0.1, 0.3], 0.1, 0.3, False).tolist() == pytest.approx([0, 1])
    assert at_n([3, 2, 1], (1, 2, 5)) == [3, 2, 1]


def _result(method: str, task: str, values: list[float], seed: int = 0) -> dict[str, object]:
    return {"method": method, "task": task, "seed": seed, "values": values}


def test_the_best_found_value_moves_the_scale_for_every_method() -> None:
    refs = {"a": {"best": 0.8, "median": 0.6}}
    results = [_result("ours", "a", [0.6, 1.0]), _result("tpe", "a", [0.8, 0.8])]
    table = regret_table(results, refs, True, (1, 2))
    # best known is 1.0 (found by ours), the median 0.6: tpe's 0.8 is half way
    assert table["ours"]["a"] == pytest.approx([1.0, 0.0])
    assert table["tpe"]["a"] == pytest.approx([0.5, 0.5])


def test_seeds_are_averaged_per_task_before_pairing() -> None:
    refs = {t: {"best": 1.0, "median": 0.0} for t in ("a", "b")}
    results = [
        _result("ours", "a", [1.0], 0), _result("ours", "a", [0.0], 1),
        _result("ours", "b", [1.0]), _result("tpe", "a", [0.0]), _result("tpe", "b", [0.5]),
        _result("gp", "a", [0.0]), _result("gp", "b", [1.0]),
    ]  # fmt: skip
    table = regret_table(results, refs, True, (1,))
    assert table["ours"] == {"a": [0.5], "b": [0.0]}
    (row,) = paired_rows(table, "ours", ["tpe", "gp"], (1,))
    assert row["peer"] == "gp"  # mean 0.5 against tpe's 0.75
    assert row["mean"] == pytest.approx(-0.25) and (row["better"], row["worse"]) == (1, 0)
    lines = markdown(table, {"ours": 0.1}, "ours", {"gp": "GPSampler"}, (1,))
    assert any(line.startswith("| 1 | GPSampler | -0.250 |") for line in lines)


def test_means_are_taken_over_the_tasks_every_method_ran() -> None:
    results = [_result("ours", "a", [1.0]), _result("ours", "b", [1.0]), _result("tpe", "a", [0.0])]
    assert [(r["method"], r["task"]) for r in on_common_tasks(results)] == [
        ("ours", "a"), ("tpe", "a"),
    ]  # fmt: skip
