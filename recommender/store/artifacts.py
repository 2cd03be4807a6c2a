"""Where a store keeps its model files, how they are written, checked and cleaned up.

A store's models live in ``models/<store file name>/<model_id>/`` beside the store file
(a temporary folder for in-memory stores). Model rows name them relative to the store's
folder, so the store works from any working directory and can be moved with its models.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.errors import ModelError, option

if TYPE_CHECKING:
    from recommender.store.base import Store

_VERIFIED: dict[tuple[str, str], tuple[tuple[str, int, int], ...]] = {}
_STAGING = ".staging-"  # prefix of a model folder being written


def checksum(directory: Path) -> str:
    """sha256 over the artifact's files, subfolders included (relative names and bytes,
    sorted by name)."""
    h = hashlib.sha256()
    for name, f in _files(directory):
        h.update(name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def _files(directory: Path) -> list[tuple[str, Path]]:
    """Every file under ``directory`` with its relative name, sorted (``OSError`` if absent)."""
    if not directory.is_dir():
        raise FileNotFoundError(directory)
    found = [(f.relative_to(directory).as_posix(), f) for f in directory.rglob("*") if f.is_file()]
    return sorted(found)


def forget(path: Path | None = None) -> None:
    """Drop what is remembered about ``path`` (``None``: every artifact) having been verified."""
    for key in [k for k in _VERIFIED if path is None or k[0] == str(path)]:
        _VERIFIED.pop(key, None)


def models_dir(store: Store, directory: str | Path | None = None) -> Path:
    """Where this store's model artifacts go: ``models/<store file name>/`` beside it."""
    if directory is not None:
        return Path(directory)
    if store.path == ":memory:" or getattr(store, "in_memory", False):
        if getattr(store, "_models_tmp", None) is None:
            store._models_tmp = tempfile.mkdtemp(prefix="recommender-models-")  # type: ignore[attr-defined]
        return Path(store._models_tmp)  # type: ignore[attr-defined]
    path = Path(store.path)
    return path.parent / "models" / path.name


def artifact_ref(store: Store, target: Path) -> str:
    """How a model row names ``target``: relative to the store's folder when inside it."""
    if store.path == ":memory:":
        return str(target)
    try:
        return target.absolute().relative_to(Path(store.path).parent).as_posix()
    except ValueError:
        return str(target.absolute())


def artifact_path(store: Store, artifact: str) -> Path:
    """The folder a model row names: relative names are relative to the store's folder.

    Stores written before names were kept relative to them hold names relative to the
    directory they were used from; such a name that exists only there is taken as is.
    """
    p = Path(artifact)
    if p.is_absolute() or store.path == ":memory:":
        return p
    beside = Path(store.path).parent / p
    return beside if beside.exists() or not p.exists() else p.absolute()


def write_model_dir(
    store: Store, model_id: int, write: Callable[[Path], Any], directory: str | Path | None = None
) -> Path:
    """Write a model folder under a temporary name, then rename it into place; return it.

    ``write`` receives a path that does not exist yet. A killed write leaves only a
    staging folder, which the next registration removes.

    Raises:
        ModelError: the models folder cannot be written.
    """
    root = models_dir(store, directory)
    target = root / str(model_id)
    try:
        root.mkdir(parents=True, exist_ok=True)
        if directory is None:
            clean_orphans(store)
        if target.exists():
            if target.resolve() in _named_folders(store):
                raise ModelError(f"model folder {target} already belongs to a model; retrain")
            shutil.rmtree(target)
        staging = Path(tempfile.mkdtemp(prefix=f"{_STAGING}{model_id}-", dir=root))
        try:
            write(staging / "model")
            os.replace(staging / "model", target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except OSError as err:
        raise ModelError(
            f"cannot write model files to {root}: expected a writable folder, got: "
            f"{err.strerror or err}; make it writable or pass {option('db')} to a store in a "
            "writable folder"
        ) from err
    return target


def _named_folders(store: Store) -> set[Path]:
    return {artifact_path(store, r["artifact"]).resolve() for r in store.models()}


def clean_orphans(store: Store) -> list[Path]:
    """Remove folders in the store's models folder that no model row names; return them.

    Only the store's own folder is looked at, and only model-id and staging folders.
    """
    if store.read_only or store.path == ":memory:" or getattr(store, "in_memory", False):
        return []
    root = models_dir(store)
    if not root.is_dir():
        return []
    named = _named_folders(store)
    removed = []
    for child in sorted(root.iterdir()):
        staging = child.name.startswith(_STAGING)
        if child.is_dir() and (staging or (child.name.isdigit() and child.resolve() not in named)):
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child)
    return removed


def artifact_problem(row: dict[str, Any]) -> str | None:
    """Why the files of ``row`` (``artifact`` a full path) are unusable; ``None`` if intact.

    The files are hashed before anything reads them as a model.
    """
    path = Path(row["artifact"])
    key = (str(path), row["checksum"])
    try:
        # Re-hash only when a file changed since it was last verified (size or mtime).
        stat = tuple((name, f.stat().st_size, f.stat().st_mtime_ns) for name, f in _files(path))
        stamp = row["checksum"] if _VERIFIED.get(key) == stat else checksum(path)
    except OSError:
        stamp, stat = None, ()
    if stamp == row["checksum"]:
        _VERIFIED[key] = stat
        return None
    _VERIFIED.pop(key, None)
    what = "checksum mismatch" if stamp is not None else "files not found"
    return f"{path} is missing or corrupt ({what})"
