from __future__ import annotations

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import rankdata

from recommender.surrogate.portfolio import average_ranks


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 12)),
              elements=st.sampled_from([-1.0, 0.0, 0.5, 2.0, 3.0])))  # fmt: skip
def test_average_ranks_equal_scipy_with_ties(values: npt.NDArray[np.float64]) -> None:
    np.testing.assert_array_equal(average_ranks(values), rankdata(values, axis=1))


def test_a_row_with_nan_is_nan() -> None:
    out = average_ranks(np.array([[1.0, np.nan, 0.0], [3.0, 1.0, 2.0]]))
    assert np.isnan(out[0]).all() and out[1].tolist() == [3.0, 1.0, 2.0]
