"""recommender: hyperparameter recommendations for a new dataset, learned across tasks.

From Python::

    import pandas as pd
    import recommender

    print(recommender.recommend(pd.read_csv("train.csv"), target="label", top_k=3))
    recommender.describe(pd.read_csv("train.csv"), target="label")  # {OpenML name: value}

The functions live in :mod:`recommender.api`, which also has ``evaluate``, ``validate``,
``tune`` and ``spaces`` (here those names belong to the package's modules and folders). The
command line is ``recommender`` (:mod:`recommender.cli`). Both are imported on first
use, so ``import recommender`` and ``recommender --help`` stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recommender.api import (
        describe,
        import_space,
        models,
        promote,
        recommend,
        retrain,
        rollback,
    )

# Names of recommender.api offered here. Not "evaluate", "validate", "tune" or "spaces": those
# name a submodule or package folder, and importing one rebinds its name on the package.
__all__ = [
    "describe",
    "import_space",
    "models",
    "promote",
    "recommend",
    "retrain",
    "rollback",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from recommender import api

        value = getattr(api, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'recommender' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
