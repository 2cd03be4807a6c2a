"""An independent implementation of the plain greedy global portfolio, for tests only.

The package builds every portfolio with :func:`recommender.surrogate.portfolio.weighted_greedy`
(the plain portfolio is its equal-weights case). Checking that function against itself
would prove nothing, so the tests compare it with this separate, loop-by-loop version
of the textbook algorithm (best mean first, then the config that most raises the mean
of per-task maxima). It is the one copy kept outside the package.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def greedy_portfolio(scores: npt.NDArray[np.float64], k: int) -> list[int]:
    """Best mean score first, then the config that most raises the mean of per-task maxima."""
    chosen = [int(np.argmax(scores.mean(axis=0)))]
    current = scores[:, chosen[0]].copy()
    while len(chosen) < min(k, scores.shape[1]):
        gain = np.maximum(scores, current[:, None]).mean(axis=0)
        gain[chosen] = -np.inf
        chosen.append(int(np.argmax(gain)))
        current = np.maximum(current, scores[:, chosen[-1]])
    return chosen
