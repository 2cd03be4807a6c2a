"""A dataset's content fingerprint, and the store task it belongs to.

A task is named after its file, and two different tables can share a file name
(``d1/train.csv``, ``d2/train.csv``). The fingerprint, kept next to the task's name in
the store, tells them apart: describing, validating or tuning other data under a name
the store already gives to different data uses ``<name>-<fingerprint[:8]>`` instead,
so meta-features and runs of different tables are never mixed.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recommender.datasets.loading import Dataset
    from recommender.store.base import Store

_CHUNK = 1 << 20


def data_fingerprint(data: Any, dataset: Dataset) -> str:
    """Hex digest of what ``data`` holds, with the target and problem read from it.

    A file: its bytes. A folder: each file's path inside it and its bytes. A bundled
    dataset: its name. Data in memory (a DataFrame, NumPy ``X`` and ``y``): the column
    names and values as loaded (not the index). The same content anywhere gives the same
    fingerprint; a subsample (``max_rows``) of a file or bundled dataset shares its source's.
    """
    from recommender.datasets.bundled import is_bundled

    digest = hashlib.blake2b(digest_size=16)
    for part in (dataset.modality, dataset.problem_type, str(dataset.target)):
        digest.update(part.encode() + b"\0")
    if isinstance(data, str | Path) and is_bundled(data):
        digest.update(b"bundled\0" + str(data).encode())
    elif isinstance(data, str | Path):
        _digest_path(digest, Path(data))
    else:  # in memory (a DataFrame, NumPy X and y): the rows as loaded
        _digest_frame(digest, dataset.X.assign(**{f"\0{dataset.target}": dataset.y.to_numpy()}))
    return digest.hexdigest()


def _digest_path(digest: Any, path: Path) -> None:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")  # "." for a file
        with file.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
        digest.update(b"\0")


def _digest_frame(digest: Any, frame: Any) -> None:
    import pandas as pd

    digest.update(repr([str(c) for c in frame.columns]).encode())
    try:
        hashed = pd.util.hash_pandas_object(frame, index=False)
    except TypeError:  # unhashable cells (lists, dicts): hash their text
        hashed = pd.util.hash_pandas_object(frame.astype(str), index=False)
    digest.update(hashed.to_numpy().tobytes())


def claim_task(
    store: Store,
    dataset: Dataset,
    data: Any,
    *,
    explicit: bool = False,
    on_note: Callable[[str], None] | None = None,
) -> Dataset:
    """``dataset`` named as its task in ``store`` (:meth:`Store.task_for`), fingerprinted.

    ``explicit``: the user chose the name, so other data under it is refused rather
    than renamed.
    """
    fingerprint = data_fingerprint(data, dataset)
    name = store.task_for(dataset.name, fingerprint, explicit=explicit)
    if name != dataset.name and on_note is not None:
        on_note(
            f"note: task {dataset.name!r} in the store was made from other data; "
            f"this data is task {name!r}"
        )
    return dataclasses.replace(dataset, name=name, fingerprint=fingerprint)
