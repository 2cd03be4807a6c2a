"""The study of a tune: where it is stored, whose it is, and one process at a time.

A study lives in an Optuna RDB storage beside the store (``<store file>.optuna.db``).
Its user attributes name the store (by its id), the task (by name and its data's
fingerprint), the space and the epochs it was made for; a study of anything else is
refused. A lock per study (``<storage>.locks/``) keeps a second tune of the same study
waiting, so a trial another process is training is never taken for a stale one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.errors import InvalidArgumentError, RecommenderError, StoreError, option

if TYPE_CHECKING:
    import optuna

    from recommender.store import DuckDBStore

OnNote = Callable[[str], None]


def storage_url(store_path: str | Path) -> str | None:
    """The Optuna storage beside a store file (``None``, in memory, for an in-memory store).

    Named after the store's whole file name (``runs.duckdb.optuna.db``), so two stores
    in one folder (``rA.duckdb``, ``rA.db``) never share studies.
    """
    if str(store_path) == ":memory:":
        return None
    path = Path(store_path).resolve()
    return f"sqlite:///{path.parent / (path.name + '.optuna.db')}"


def default_study_name(task: str, space: str) -> str:
    return f"{task}-{space}"


@contextlib.contextmanager
def study_held(store: DuckDBStore, storage: str | None, name: str) -> Iterator[None]:
    """Hold study ``name`` for this process: a second tune of it waits (without holding the
    store meanwhile) up to the store's lock timeout, then fails with one line.

    A lock the system drops when its process dies, so a trial left running is one a dead
    process left (``tuning.loop``), never one another process is training.
    """
    if storage is None:
        yield
        return
    lock = StudyLock(Path(storage.removeprefix("sqlite:///")), name)
    if not lock.acquire(0.0):
        with store.released():
            if not lock.acquire(store.lock_timeout):
                raise StoreError(
                    f"study {name!r} is being tuned by another process; waited "
                    f"{store.lock_timeout:g} s; rerun when it finishes, raise "
                    f"{option('lock_timeout')}, or pass another {option('study', 'NAME')}"
                )
    try:
        yield
    finally:
        lock.release()


class StudyLock:
    """An exclusive lock on one study, in ``<storage file>.locks/`` (``flock``: the system
    drops it when its process ends, however it ends). Where ``fcntl`` is missing
    (Windows), every acquire succeeds."""

    def __init__(self, storage_file: Path, study: str) -> None:
        key = hashlib.blake2b(study.encode(), digest_size=8).hexdigest()
        self.path = storage_file.with_name(storage_file.name + ".locks") / f"{key}.lock"
        self._fd: int | None = None

    def acquire(self, timeout: float) -> bool:
        """Take the lock, waiting up to ``timeout`` seconds; whether it was taken."""
        try:
            import fcntl
        except ImportError:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(0.1)
            else:
                self._fd = fd
                return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None


def load_study(name: str, storage: str | None, attrs: dict[str, Any], store_path: str) -> bool:
    """Whether study ``name`` exists; refuse one of another store, task, space or epochs."""
    import optuna

    if storage is None:
        return False
    file = Path(storage.removeprefix("sqlite:///"))
    if not file.exists():
        return False
    with study_file_errors(file):
        if file.is_dir() or (file.stat().st_size and file.read_bytes()[:16] != _SQLITE):
            raise ValueError("not an SQLite file")
        summaries = optuna.get_all_study_summaries(storage, include_best_trial=False)
    for summary in summaries:
        if summary.study_name != name:
            continue
        for key, value in attrs.items():
            have = summary.user_attrs.get(key)
            if have is None or have == value:
                continue
            if key == "store_id":
                raise InvalidArgumentError(
                    f"study {name!r} in {file.name}: expected a study of {Path(store_path).name}, "
                    f"got one of another store (its runs are not in this one); pass a new "
                    f"{option('study', 'NAME')}, or move {file.name} away to start over"
                )
            raise InvalidArgumentError(
                f"study {name!r}: expected {key} {have!r} as in its earlier trials, "
                f"got {value!r}; pass the same, or a new {option('study', 'NAME')}"
            )
        return True
    return False


_SQLITE = b"SQLite format 3\x00"


@contextlib.contextmanager
def study_file_errors(file: Path) -> Iterator[None]:
    """Any error reading the study file (not a database, truncated, a folder): one line."""
    try:
        yield
    except RecommenderError:
        raise
    except Exception as err:  # noqa: BLE001  (SQLAlchemy's, SQLite's, the OS's)
        text = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise StoreError(
            f"study file {file}: expected an Optuna storage, got a damaged file ({text[:120]}); "
            "move it away to start its studies over (their runs stay in the store)"
        ) from err


def open_study(
    name: str, storage: str | None, sampler: Any, pruner: Any, attrs: dict[str, Any],
    existing: bool,
) -> optuna.Study:  # fmt: skip
    import optuna

    with study_file_errors(Path(str(storage).removeprefix("sqlite:///"))):
        if existing and storage is not None:
            return optuna.load_study(study_name=name, storage=storage, sampler=sampler,
                                     pruner=pruner)  # fmt: skip
        study = optuna.create_study(
            study_name=name, storage=storage, sampler=sampler, pruner=pruner,
            direction="maximize", load_if_exists=True,
        )  # fmt: skip
        for key, value in attrs.items():
            study.set_user_attr(key, value)
    return study
