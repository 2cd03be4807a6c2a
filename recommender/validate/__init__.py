"""Short training runs that check recommendations on the user's own data.

:data:`~recommender.validate.trainers.TRAINERS` holds one trainer per built-in space
(``tabular_mlp``, ``text_finetune``, ``image_finetune``); each returns a
:class:`TrainResult` with the learning curve. ``run_validation`` plans the configs
(recommended + baselines), trains them and records every run in the store.

Names are imported on first use, so importing this package stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recommender.validate.runner import (
        ValidationInterrupted,
        ValidationReport,
        check_request,
        run_validation,
    )
    from recommender.validate.tabular import train_tabular
    from recommender.validate.trainers import TRAINERS, Trainer, register
    from recommender.validate.training import TrainResult

_WHERE = {
    "TRAINERS": "trainers",
    "Trainer": "trainers",
    "register": "trainers",
    "TrainResult": "training",
    "ValidationInterrupted": "runner",
    "ValidationReport": "runner",
    "check_request": "runner",
    "run_validation": "runner",
    "train_tabular": "tabular",
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
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
