"""Short training runs that check recommendations on the user's own data.

:data:`~recommender.training.trainers.TRAINERS` holds one trainer per built-in space
(``tabular_mlp``, ``text_finetune``, ``image_finetune``); each returns a
:class:`TrainResult` with the learning curve. ``run_validation`` plans the configs
(recommended + baselines), trains them and records every run in the store.

Names are imported on first use, so importing this package stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recommender.training.common import TrainResult
    from recommender.training.tabular import train_tabular
    from recommender.training.trainers import TRAINERS, Trainer, register
    from recommender.validation.runner import (
        ValidationInterrupted,
        ValidationReport,
        check_request,
        run_validation,
    )

_WHERE = {
    "TRAINERS": "recommender.training.trainers",
    "Trainer": "recommender.training.trainers",
    "register": "recommender.training.trainers",
    "TrainResult": "recommender.training.common",
    "ValidationInterrupted": "recommender.validation.runner",
    "ValidationReport": "recommender.validation.runner",
    "check_request": "recommender.validation.runner",
    "run_validation": "recommender.validation.runner",
    "train_tabular": "recommender.training.tabular",
}
__all__ = [
    "TRAINERS",
    "TrainResult",
    "Trainer",
    "ValidationInterrupted",
    "ValidationReport",
    "check_request",
    "register",
    "run_validation",
    "train_tabular",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
