from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender.errors import SpaceError
from recommender.spaces.space import Space, builtin_spaces, load_space
from recommender.store import DuckDBStore
from recommender.training.trainers import default_space_for


def _config_strategy(space: Space) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        config: dict[str, Any] = {}
        for p in space.params:
            if not space.is_active(p, config):
                continue
            if p.type == "categorical":
                config[p.name] = draw(st.sampled_from(p.choices))
            elif p.type == "int":
                config[p.name] = draw(st.integers(int(p.low), int(p.high)))
            else:
                config[p.name] = draw(st.floats(p.low, p.high, allow_nan=False))
        return config

    return build()


def _close(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if set(a) != set(b):
        return False
    return all(
        math.isclose(a[k], b[k], rel_tol=1e-9, abs_tol=1e-12)
        if isinstance(a[k], float)
        else a[k] == b[k]
        for k in a
    )


@pytest.mark.parametrize("name", ["tabular_mlp", "text_finetune", "image_finetune"])
def test_decode_encode_round_trip(name: str) -> None:
    space = load_space(name)

    @settings(max_examples=60, deadline=None)
    @given(_config_strategy(space))
    def check(config: dict[str, Any]) -> None:
        assert _close(space.decode(space.encode([config]))[0], config)

    check()


def test_builtin_spaces_match_the_specification() -> None:
    assert builtin_spaces() == ["image_finetune", "tabular_mlp", "text_finetune"]
    mlp = load_space("tabular_mlp")
    assert mlp.fidelity == {"name": "epoch", "low": 1, "high": 50}
    assert mlp.param("momentum").condition == ("optimizer", ("sgd",))
    assert "momentum" not in mlp.default_config()
    assert mlp.param("max_units").low == 16 and mlp.param("max_units").log
    assert default_space_for("text") == "text_finetune"
    with pytest.raises(SpaceError, match="no built-in space for modality 'audio'"):
        default_space_for("audio")


@pytest.mark.parametrize("name", ["tabular_mlp", "text_finetune", "image_finetune"])
def test_samples_are_valid_and_json_round_trips(name: str, seed: int) -> None:
    space = load_space(name)
    configs = space.sample(64, seed)
    assert len(configs) == 64
    for c in configs:
        assert space.validate_config(c) == c
    assert Space.from_json(json.loads(json.dumps(space.to_json()))) == space


@pytest.mark.parametrize("name", ["tabular_mlp", "text_finetune", "image_finetune"])
def test_column_encoding_equals_row_encoding(name: str) -> None:
    """``encode_frame`` (used on a million runs at once) agrees with ``encode`` cell for cell,
    with parameters dropped at random (inactive or missing) and stray values set."""
    import numpy as np
    import pandas as pd

    space = load_space(name)

    @settings(max_examples=40, deadline=None)
    @given(
        st.lists(_config_strategy(space), min_size=1, max_size=8),
        st.lists(st.sampled_from([p.name for p in space.params]), max_size=3),
        st.booleans(),
    )
    def check(configs: list[dict[str, Any]], dropped: list[str], stray: bool) -> None:
        rows = [{k: v for k, v in c.items() if k not in dropped[i % 2 :: 2]}
                for i, c in enumerate(configs)]  # fmt: skip
        if stray:  # a value for a parameter whose condition is not met
            rows[0] = {**{p.name: p.default for p in space.params}, **rows[0]}
        frame = pd.DataFrame(rows, columns=space.names)
        np.testing.assert_allclose(
            space.encode_frame(frame), space.encode(rows), rtol=1e-12, equal_nan=True
        )

    check()


def test_configspace_json_with_condition() -> None:
    obj = {
        "hyperparameters": [
            {
                "name": "opt",
                "type": "categorical",
                "choices": ["adam", "sgd"],
                "default_value": "sgd",
            },
            {"name": "mom", "type": "uniform_float", "lower": 0.0, "upper": 0.9, "log": False},
            {
                "name": "units",
                "type": "uniform_int",
                "lower": 8,
                "upper": 64,
                "log": True,
                "default_value": 16,
            },
            {"name": "act", "type": "constant", "value": "relu"},
        ],
        "conditions": [{"child": "mom", "parent": "opt", "type": "IN", "values": ["sgd"]}],
    }
    space = Space.from_json(obj, name="cs")
    assert space.default_config() == {"opt": "sgd", "mom": 0.45, "units": 16, "act": "relu"}
    assert space.decode(space.encode([{"opt": "adam", "units": 8, "act": "relu"}])) == [
        {"opt": "adam", "units": 8, "act": "relu"}
    ]


@pytest.mark.parametrize(
    ("hp", "message"),
    [
        (
            {"name": "lr", "type": "float", "low": 0.1, "high": 0.01},
            "expected low <= high, got low=0.1 high=0.01",
        ),
        ({"name": "lr", "type": "float", "low": 0.0, "high": 1, "log": True}, "low must be > 0"),
        ({"name": "x", "type": "weird"}, "expected type float, int or categorical"),
        ({"name": "c", "type": "categorical", "choices": []}, "expected a non-empty choices list"),
    ],
)
def test_invalid_space_one_line_error(hp: dict[str, Any], message: str) -> None:
    with pytest.raises(SpaceError, match=message) as err:
        Space.from_json({"name": "bad", "hyperparameters": [hp]})
    assert "\n" not in str(err.value)


def test_validate_and_clip() -> None:
    space = load_space("text_finetune")
    with pytest.raises(SpaceError, match=r"learning_rate=0.5 is outside \[1e-05, 0.01\]"):
        space.validate_config({**space.default_config(), "learning_rate": 0.5})
    with pytest.raises(SpaceError, match="unknown parameter"):
        space.validate_config({**space.default_config(), "dropout": 0.1})
    clipped = space.clip({"learning_rate": 0.5, "batch_size": 7.6, "frozen_layers": "x"})
    assert clipped["learning_rate"] == pytest.approx(0.01)
    assert clipped["batch_size"] == 8
    assert clipped["frozen_layers"] == 4
    assert space.validate_config(clipped) == clipped


def test_load_space_from_store_file_and_unknown(store: DuckDBStore, tmp_path: Path) -> None:
    from recommender.spaces.space import import_space, stored_spaces

    path = tmp_path / "s.json"
    path.write_text(
        json.dumps(
            {"name": "x", "hyperparameters": [{"name": "a", "type": "int", "low": 1, "high": 3}]}
        )
    )
    import_space(store, path, "mine")
    assert load_space("mine", store).names == ["a"]
    assert load_space(str(path)).name == "x"
    assert stored_spaces(store) == [("mine", str(path), 1)]
    with pytest.raises(SpaceError, match="unknown space 'nope'.*recommender space import"):
        load_space("nope", store)
    with pytest.raises(SpaceError, match="is built in"):
        import_space(store, path, "tabular_mlp")


def test_every_public_name_is_importable_from_space() -> None:
    import recommender.spaces.space as space
    from recommender.spaces import params as space_params

    for name in space.__all__:
        assert getattr(space, name) is not None
    assert space.Param is space_params.Param
