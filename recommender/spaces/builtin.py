"""The built-in spaces, one record each: everything else reads its facts from here.

A built-in space's hyperparameters and their defaults are declared once, in
``<name>.json`` beside this module. Its record adds what the rest of the package needs:
the dataset modality it trains on, the trainer (``module:function``, imported on first
use), the epochs a validation run uses when none are asked for, and the folder of its
shipped pack under ``data/``.

    >>> BUILTIN_SPACES["text_finetune"].modality, BUILTIN_SPACES["text_finetune"].pack
    ('text', 'text')
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BuiltinSpace:
    """What the package knows about one built-in space besides its JSON."""

    name: str
    modality: str
    trainer: str
    default_epochs: int
    pack: str


BUILTIN = (
    BuiltinSpace(
        "tabular_mlp", "tabular", "recommender.training.tabular:train_tabular", 10, "tabular"
    ),
    BuiltinSpace("text_finetune", "text", "recommender.training.text:train_text", 2, "text"),
    BuiltinSpace("image_finetune", "image", "recommender.training.image:train_image", 3, "image"),
)
BUILTIN_SPACES = {space.name: space for space in BUILTIN}
