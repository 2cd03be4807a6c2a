from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from recommender.errors import SpaceError
from recommender.spaces.infer import describe_param, infer_space
from recommender.spaces.params import checked_value


def _frame(columns: dict[str, list[object]]) -> pd.DataFrame:
    return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in columns.items()})


def test_log_scale_only_for_positive_values_spread_as_a_log_sample() -> None:
    rng = np.random.default_rng(0)
    frame = _frame(
        {
            "lr": list(10 ** rng.uniform(-5, -1, 50)),
            "frac": list(rng.uniform(0.05, 0.95, 50)),
            "shift": list(rng.uniform(-1, 100, 50)),
            "batch": [int(b) for b in 2 ** rng.integers(4, 10, 50)],
            "depth": [int(d) for d in rng.integers(1, 11, 50)],
        }
    )
    types = {"lr": "float", "frac": "float", "shift": "float", "batch": "int", "depth": "int"}
    sp = infer_space("s", types, frame)
    assert sp.param("lr").log and sp.param("batch").log
    assert not sp.param("frac").log and not sp.param("shift").log
    assert not sp.param("depth").log
    assert describe_param(sp.param("lr")).startswith("float, log scale, ")


def test_condition_needs_a_parent_that_explains_every_absence() -> None:
    frame = _frame(
        {
            "kind": ["a", "a", "b", "b", "c"],
            "x": [1.0, 2.0, None, None, 3.0],  # present exactly for a and c
            "y": [1.0, None, 2.0, None, 3.0],  # no categorical explains it
        }
    )
    sp = infer_space("s", {"kind": "categorical", "x": "float", "y": "float"}, frame)
    assert sp.param("x").condition == ("kind", ("a", "c"))
    assert sp.param("y").condition is None
    assert "when kind is a or c" in describe_param(sp.param("x"))


def test_bounds_are_rounded_outward_to_two_significant_digits() -> None:
    frame = _frame({"eta": [0.0010286, 0.01, 0.315321], "n": [11, 150, 299], "x": [-0.47, 2.0, 7]})
    sp = infer_space("s", {"eta": "float", "n": "int", "x": "float"}, frame)
    assert (sp.param("eta").low, sp.param("eta").high) == (0.001, 0.32)
    assert (sp.param("n").low, sp.param("n").high) == (11, 300)
    assert (sp.param("x").low, sp.param("x").high) == (-0.47, 7.0)


def test_a_parameter_without_values_is_refused() -> None:
    frame = _frame({"x": [None, None]})
    with pytest.raises(SpaceError, match="no parameter with a value"):
        infer_space("s", {"x": "float"}, frame)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["p", "q", "r"]),
            st.floats(1e-6, 1e3, allow_nan=False),
            st.integers(-50, 50),
            st.one_of(st.none(), st.floats(-5, 5, allow_nan=False)),
        ),
        min_size=1,
        max_size=30,
    )
)
@example([("p", 1e-6, 0, None)])
@example([("p", 1.0, 3, 2.0), ("q", 1.0, 3, None)])
def test_every_observed_value_is_inside_the_inferred_space(
    rows: list[tuple[str, float, int, float | None]],
) -> None:
    columns: dict[str, list[object]] = {
        "cat": [r[0] for r in rows],
        "lr": [r[1] for r in rows],
        "n": [r[2] for r in rows],
        "opt": [r[3] for r in rows],
    }
    types = {"cat": "categorical", "lr": "float", "n": "int", "opt": "float"}
    sp = infer_space("s", types, _frame(columns))
    for i in range(len(rows)):
        config = {k: v[i] for k, v in columns.items() if v[i] is not None}
        for p in sp.params:
            if p.name in config:
                assert sp.is_active(p, config)
                assert checked_value("s", p, config[p.name]) == pytest.approx(config[p.name])
        assert not np.isnan(sp.encode([config])[0][sp.feature_names.index("lr")])
