"""The few-shot surrogate of a store's space, trained once per champion and kept on disk.

The champion surrogate of a space fixes the metric, its direction and the fidelity; the
few-shot surrogate is meta-trained on the same runs and saved beside the champion's
artifacts (``models/<store>/fewshot/<space>-<model id>``), so later samplers load it in
well under a second.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from recommender.errors import DatasetError, InvalidArgumentError, ModelError
from recommender.fewshot.surrogate import FewShotSurrogate, meta_train

_CACHE: dict[tuple[str, str, int], FewShotSurrogate] = {}


class TunerParts(NamedTuple):
    """What a tuner of one task needs from the store: the few-shot surrogate, the task's
    meta-features, today's ranking for it and the zero-shot model's weight of each known
    task for it (``None`` without meta-features)."""

    surrogate: FewShotSurrogate
    metafeatures: dict[str, float] | None
    zero_shot: list[dict[str, Any]]
    prior: dict[str, float] | None


def load_tuner_parts(
    space: str,
    *,
    metafeatures: dict[str, float] | None = None,
    dataset: Any = None,
    target: str | None = None,
    db: str | Path | None = None,
    zero_shot_k: int = 5,
) -> TunerParts:
    """The few-shot surrogate, the task's meta-features, the zero-shot ranking and prior.

    Raises:
        SpaceError: unknown space.
        ModelError: no trained model for the space.
        DatasetError: the dataset cannot be read or described.
    """
    import warnings

    from recommender.knowledge.packs import ensure_shipped
    from recommender.store import open_store

    if metafeatures is None and dataset is not None:
        metafeatures = dataset_metafeatures(dataset, target)
    with open_store(db) as store:  # writable: a new store loads the shipped pack first
        note = ensure_shipped(store, space)
        if note:
            warnings.warn(note, stacklevel=3)
        return tuner_parts(store, space, metafeatures=metafeatures, zero_shot_k=zero_shot_k)


def tuner_parts(
    store: Any,
    space: str,
    *,
    metafeatures: dict[str, float] | None = None,
    zero_shot_k: int = 5,
    on_note: Callable[[str], None] | None = None,
) -> TunerParts:
    """Like :func:`load_tuner_parts`, from an open store; ``on_note`` hears of meta-training."""
    from recommender.knowledge.ranking import recommend_with, task_prior
    from recommender.knowledge.registry import champion
    from recommender.spaces.space import load_space

    sp = load_space(space, store)
    loaded = champion(store, sp.name)
    if loaded is None:
        raise ModelError(
            f"no trained model for space {sp.name!r} in {store.path}; run: "
            f"recommender retrain --space {sp.name} --metric METRIC --maximize"
        )
    surrogate = fewshot_for(store, loaded, on_note=on_note)
    # Without meta-features the zero-shot list is the plain portfolio, the prior flat.
    metafeatures = metafeatures or None
    zero_shot = recommend_with(loaded.surrogate, metafeatures, top_k=zero_shot_k)
    prior = task_prior(loaded.surrogate, metafeatures)
    return TunerParts(surrogate, metafeatures, [r.config for r in zero_shot], prior)


def dataset_metafeatures(dataset: Any, target: str | None) -> dict[str, float]:
    """Meta-features of a DataFrame, a dataset file or a bundled dataset (see
    ``recommender describe``).

    Raises:
        InvalidArgumentError: ``dataset`` is none of those.
        DatasetError: it cannot be read or described.
    """
    import pandas as pd

    from recommender.datasets.labels import default_target
    from recommender.datasets.loading import dataset_from_frame, load_dataset
    from recommender.metafeatures import compute_metafeatures

    if isinstance(dataset, pd.DataFrame):
        if len(dataset) < 2:
            raise DatasetError(
                f"dataset: expected a DataFrame of at least 2 labelled rows, got "
                f"{len(dataset)}; pass the training data"
            )
        loaded = dataset_from_frame(dataset, target or default_target(dataset), name="dataframe")
    elif isinstance(dataset, str | Path):
        loaded = load_dataset(dataset, target)
    else:
        raise InvalidArgumentError(
            "dataset: expected a pandas DataFrame, a dataset file or a bundled dataset such "
            f"as 'sklearn:iris', got {type(dataset).__name__}; pass one of those, or "
            "metafeatures={name: value}"
        )
    result = compute_metafeatures(loaded)
    if not result.features:
        raise DatasetError(f"{loaded.name}: no meta-features could be computed; check the data")
    return result.features


def fewshot_for(
    store: Any, loaded: Any, *, on_note: Callable[[str], None] | None = None
) -> FewShotSurrogate:
    """The few-shot surrogate matching the champion ``loaded`` (trained on first use,
    which ``on_note`` is told of: it takes a while)."""
    from recommender.knowledge.registry import FEWSHOT_DIR, models_dir
    from recommender.spaces.space import load_space
    from recommender.surrogate.model import load_training_data

    key = (str(store.path), loaded.space, int(loaded.model_id))
    if key in _CACHE:
        return _CACHE[key]
    # Trained by retrain, in the model's verified folder; else trained here once and kept.
    directory = models_dir(store) / "fewshot" / f"{loaded.space}-{loaded.model_id}"
    saved = [] if loaded.artifact is None else [loaded.artifact / FEWSHOT_DIR]
    for folder in [*saved, directory]:
        if (folder / "fewshot.json").is_file():
            try:
                _CACHE[key] = FewShotSurrogate.load(folder)
                return _CACHE[key]
            except Exception as err:  # noqa: BLE001  (its files pass their checksum, yet fail)
                if on_note is not None:
                    on_note(
                        f"note: the few-shot model in {folder} does not load "
                        f"({_first_line(err)}); meta-training it again from the store's runs"
                    )
    data = load_training_data(
        store, load_space(loaded.space, store), metric=loaded.metric,
        maximize=loaded.maximize, fidelity=loaded.fidelity,
    )  # fmt: skip
    if on_note is not None:
        on_note(f"meta-training the few-shot model on {len(data.tasks)} tasks (once per model)")
    surrogate = meta_train(data, seed=0)
    _save_atomically(surrogate, directory)
    _CACHE[key] = surrogate
    return surrogate


def _first_line(err: Exception) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:160]


def _save_atomically(surrogate: FewShotSurrogate, directory: Path) -> None:
    """Write into a sibling temporary folder, then rename: readers never see half a model."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=directory.parent))
    try:
        surrogate.save(tmp)
        shutil.rmtree(directory, ignore_errors=True)
        tmp.rename(directory)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)  # a cache: failing to keep it is not an error
