"""Short training runs that check recommendations on the user's own data.

``train_tabular`` (``tabular_mlp``), ``recommender.validate.text.train_text``
(``text_finetune``) and ``recommender.validate.image.train_image``
(``image_finetune``) each return a :class:`TrainResult`; ``run_validation`` plans the
configs (recommended + baselines), runs them and records every run in the store.
"""

from __future__ import annotations

from recommender.validate.runner import ValidationReport, run_validation
from recommender.validate.tabular import train_tabular
from recommender.validate.training import TrainResult

__all__ = ["TrainResult", "ValidationReport", "run_validation", "train_tabular"]
