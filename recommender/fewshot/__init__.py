"""Few-shot tuning: a surrogate meta-learned across tasks that adapts to a new task's runs.

:class:`FewShotSurrogate` models a task's response with a deep-kernel Gaussian process
meta-trained on the store's tasks; :class:`FewShotTuner` proposes each next
configuration by expected improvement; the Optuna sampler in
:mod:`recommender.tuning.sampler` wraps both.
"""

from __future__ import annotations

from recommender.fewshot.surrogate import FewShotSurrogate
from recommender.fewshot.tuner import FewShotTuner, Suggestion

__all__ = ["FewShotSurrogate", "FewShotTuner", "Suggestion"]
