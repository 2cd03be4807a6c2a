"""The trainers, one per built-in space, and what each knows about its space.

``TRAINERS`` maps a space name to its :class:`Trainer`: the dataset modality it trains
on, the epochs a validation run uses when none are asked for, the default configuration
(the values it fills in for parameters a config leaves out: for a built-in space, the
defaults its JSON declares) and ``train``, which runs one config and returns a
:class:`~recommender.training.common.TrainResult` with the per-epoch learning curve.

    >>> TRAINERS["tabular_mlp"].modality, TRAINERS["tabular_mlp"].default_epochs
    ('tabular', 10)
    >>> default_space_for("text")
    'text_finetune'

Every trainer accepts the same core arguments::

    train(dataset, config, *, epochs, seed=0, device="cpu", val_fraction=0.2,
          max_rows=None, time_budget_s=None, num_threads=1, on_epoch=None, **options)

``on_epoch(epoch, value)`` is called after each finished epoch with the validation
metric; returning ``False`` stops training there (the run still counts as finished,
like a spent time budget), which is what a pruner needs. ``options`` are the trainer's
own (``compile_model`` for tabular; ``model_path``, ``max_length``, ``max_steps`` for
text; ``weights_path``, ``image_size``, ``max_steps`` for images).

The built-in trainers are made from the records in :mod:`recommender.spaces.builtin`
(space, modality, trainer function, default epochs, pack folder). Adding a trainer:
write a function with the signature above (reuse :mod:`recommender.training.common` for
splits, metrics and the epoch loop), ship its space as ``recommender/spaces/NAME.json``
with a record in ``spaces/builtin.py``, or register it from your own package::

    register(BuiltinTrainer(
        space="my_space", modality="tabular", default_epochs=5,
        defaults={"learning_rate": 1e-3}, target="my_package.my_module:train_my_model",
    ))

``target`` names the function as ``module:function`` and is imported on first use, so
reading the registry never imports torch. Any object with the attributes and ``train``
method of :class:`Trainer` may be registered instead. ``recommender validate`` then
trains configs of that space with it; for a space without a trainer of its own (an
imported variant of a built-in space), the trainer of the dataset's modality is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from recommender.errors import RecommenderError, SpaceError, option
from recommender.spaces.builtin import BUILTIN, BuiltinSpace

if TYPE_CHECKING:
    from recommender.datasets.loading import Dataset
    from recommender.training.common import OnEpoch, TrainResult


class Trainer(Protocol):
    """What the validation runner, the collection and the tuner need from a trainer."""

    @property
    def space(self) -> str:
        """Name of the search space whose configs it trains."""
        ...

    @property
    def modality(self) -> str:
        """Dataset modality it trains on: ``tabular``, ``text``, ``image``, ..."""
        ...

    @property
    def default_epochs(self) -> int:
        """Epochs per config when a validation asks for none."""
        ...

    @property
    def defaults(self) -> Mapping[str, Any]:
        """Value of every parameter of the space that a config leaves out."""
        ...

    def train(
        self,
        dataset: Dataset,
        config: Mapping[str, Any],
        *,
        epochs: int,
        seed: int = 0,
        device: str = "cpu",
        time_budget_s: float | None = None,
        on_epoch: OnEpoch | None = None,
        **options: Any,
    ) -> TrainResult:
        """Train one config on ``dataset``; report validation after every epoch."""
        ...


@dataclass(frozen=True)
class BuiltinTrainer:
    """A trainer whose function is imported from ``target`` (``module:function``) when used."""

    space: str
    modality: str
    default_epochs: int
    defaults: Mapping[str, Any] = field(repr=False)
    target: str = field(repr=False)

    @classmethod
    def of(cls, space: BuiltinSpace) -> BuiltinTrainer:
        """The trainer of a built-in space; its defaults are those its JSON declares."""
        return cls(
            space.name, space.modality, space.default_epochs, _DeclaredDefaults(space.name),
            space.trainer,
        )  # fmt: skip

    def train(
        self,
        dataset: Dataset,
        config: Mapping[str, Any],
        *,
        epochs: int,
        seed: int = 0,
        device: str = "cpu",
        time_budget_s: float | None = None,
        on_epoch: OnEpoch | None = None,
        **options: Any,
    ) -> TrainResult:
        """Train one config (see the module docstring for the arguments)."""
        module, _, name = self.target.partition(":")
        function = getattr(importlib.import_module(module), name)
        result: TrainResult = function(
            dataset, config, epochs=epochs, seed=seed, device=device,
            time_budget_s=time_budget_s, on_epoch=on_epoch, **options,
        )  # fmt: skip
        return result


class _DeclaredDefaults(Mapping[str, Any]):
    """The defaults a built-in space's JSON declares, read on first use."""

    def __init__(self, space: str) -> None:
        self._space = space
        self._values: dict[str, Any] | None = None

    def _read(self) -> dict[str, Any]:
        if self._values is None:
            from recommender.spaces.space import builtin_space

            self._values = {p.name: p.default for p in builtin_space(self._space).params}
        return self._values

    def __getitem__(self, name: str) -> Any:
        return self._read()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())


BUILTIN_TRAINERS = {space.name: BuiltinTrainer.of(space) for space in BUILTIN}
TABULAR_MLP = BUILTIN_TRAINERS["tabular_mlp"]
TEXT_FINETUNE = BUILTIN_TRAINERS["text_finetune"]
IMAGE_FINETUNE = BUILTIN_TRAINERS["image_finetune"]

TRAINERS: dict[str, Trainer] = {}


def register(trainer: Trainer) -> Trainer:
    """Add ``trainer`` under its space name (replacing one registered before); return it."""
    TRAINERS[trainer.space] = trainer
    return trainer


for _builtin in BUILTIN_TRAINERS.values():
    register(_builtin)


def modalities() -> list[str]:
    """Modalities some registered trainer handles, in registration order."""
    return list(dict.fromkeys(t.modality for t in TRAINERS.values()))


def default_space_for(modality: str) -> str:
    """The space trained by default on datasets of ``modality`` (the first registered).

    Raises:
        SpaceError: no trainer handles that modality.
    """
    for trainer in TRAINERS.values():
        if trainer.modality == modality:
            return trainer.space
    raise SpaceError(
        f"no built-in space for modality {modality!r}; expected one of "
        f"{', '.join(modalities())}; pass {option('space', 'NAME')}"
    )


def check_space_modality(space: str, modality: str) -> None:
    """Refuse a built-in space whose trainer takes another modality than the data's.

    Raises:
        SpaceError: ``space`` is registered for another modality.
    """
    trainer = TRAINERS.get(space)
    if trainer is not None and trainer.modality != modality:
        raise SpaceError(
            f"space {space!r}: expected {_a(trainer.modality)} dataset, got {_a(modality)} one; "
            f"pass {option('space', default_space_for(modality))} or leave {option('space')} out"
        )


def _a(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def trainer_for(space: str, modality: str) -> Trainer:
    """The trainer of ``space``, else the default trainer of the dataset's ``modality``.

    Raises:
        RecommenderError: neither the space nor the modality has a trainer.
    """
    if space in TRAINERS:
        return TRAINERS[space]
    for trainer in TRAINERS.values():
        if trainer.modality == modality:
            return trainer
    raise RecommenderError(
        f"validation: expected a {_one_of(modalities())} dataset, got {modality!r}"
    )


def _one_of(names: list[str]) -> str:
    """``a, b or c``."""
    return " or ".join(filter(None, [", ".join(names[:-1]), names[-1]])) if names else "known"
