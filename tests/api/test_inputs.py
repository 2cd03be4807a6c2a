"""A table file's meta-features, read without pandas, equal those of the full loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from recommender.api.inputs import _read_plainly, features_and_space
from recommender.datasets.loading import load_dataset
from recommender.errors import DatasetError
from recommender.metafeatures import compute_metafeatures, feature_names


def _same_features(path: Path | str) -> None:
    plain = _read_plainly(path, None)
    if plain is None:  # left to the full loader: a target no trainer learns from
        with pytest.raises(DatasetError, match="expected at"):
            features_and_space(path, None, None, None)
        return
    dataset = load_dataset(path)
    names = feature_names("tabular", dataset.problem_type == "regression")
    ours, full = plain(names), compute_metafeatures(dataset).features
    assert list(ours) == list(full)
    np.testing.assert_allclose(
        [ours[n] for n in names], [full[n] for n in names], rtol=1e-9, equal_nan=True
    )


@st.composite
def tables(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(8, 40))
    maybe = st.one_of(st.none(), st.just(1))
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    frame = pd.DataFrame({
        "x": rng.normal(size=n).round(3),
        "k": rng.integers(-3, 4, n),
        "word": rng.choice(["b", "a", "c", "dd"], n).astype(object),
        "flag": rng.random(n) > 0.5,
    })  # fmt: skip
    for col in ("x", "word", "flag"):
        holes = [draw(maybe) is None for _ in range(n)]
        frame[col] = frame[col].astype(object).where(~np.array(holes), None)
    target = draw(st.sampled_from(["classes", "words", "values", "many"]))
    frame["target"] = {
        "classes": rng.integers(0, 3, n),
        "words": rng.choice(["yes", "no"], n),
        "values": rng.normal(size=n).round(4),
        "many": rng.integers(0, 200, n),
    }[target]
    unlabelled = draw(st.lists(st.integers(0, n - 1), max_size=3))
    frame["target"] = frame["target"].astype(object)
    frame.loc[unlabelled, "target"] = None
    return frame


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(frame=tables())
@example(frame=pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]}))
def test_plain_read_equals_the_full_loader(frame: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    _same_features(path)


def test_bundled_iris_read_plainly_equals_the_full_loader() -> None:
    assert _read_plainly("sklearn:iris", None) is not None
    _same_features("sklearn:iris")


@pytest.mark.parametrize("text", ["a,review,label\n1,short,0\n2,words,1\n3,more,0\n", "a,b\n1,2\n"])
def test_what_only_the_full_loader_can_tell_is_left_to_it(tmp_path: Path, text: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text)  # a possible text table; fewer than 2 labelled rows
    assert _read_plainly(path, None) is None
