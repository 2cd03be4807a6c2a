"""recommender: hyperparameter recommendations for a new dataset, learned across tasks.

From Python::

    import pandas as pd
    import recommender

    print(recommender.recommend(pd.read_csv("train.csv"), target="label", top_k=3))
    recommender.describe(pd.read_csv("train.csv"), target="label")  # {OpenML name: value}

Every command is a function here (``recommend``, ``describe``, ``validate``, ``tune``,
``retrain``, ``evaluate``, ...); they live in :mod:`recommender.api`, which also has
``spaces`` (here that name is the package's folder of built-in spaces). The command line
is ``recommender`` (:mod:`recommender.cli`). Both are imported on first use, so
``import recommender`` and ``recommender --help`` stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recommender.api import (
        describe,
        evaluate,
        import_space,
        models,
        promote,
        recommend,
        retrain,
        rollback,
        tune,
        validate,
    )

# Names of recommender.api offered here. Not "spaces": that names a package folder, and
# importing it rebinds its name on the package (so no submodule may take one of these).
__all__ = [
    "describe",
    "evaluate",
    "import_space",
    "models",
    "promote",
    "recommend",
    "retrain",
    "rollback",
    "tune",
    "validate",
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
