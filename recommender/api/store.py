"""The store's contents: ingest experiment logs, list tasks, runs and rejected rows,
export the tables, upgrade the schema.

Part of the Python API (re-exported by :mod:`recommender.api`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from recommender.ingest.checks import Progress
    from recommender.types import IngestReport


def ingest(
    source: str | Path,
    *,
    format: str | None = None,
    kind: str = "runs",
    space: str | None = None,
    mapping: str | Path | dict[str, Any] | None = None,
    task: str | None = None,
    task_column: str | None = None,
    task_tag: str | None = None,
    encoding: str | None = None,
    strict: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
    db: str | Path | None = None,
    lock_timeout: float | None = None,
) -> IngestReport:
    """Ingest one source of experiment logs into the store: all of its good rows, or nothing.

    The arguments are those of :func:`recommender.ingest.ingest`. A dry run reads the
    store only: it writes nothing, not even a new store file.
    """
    from recommender.ingest import ingest as run_ingest
    from recommender.store import open_store

    with open_store(db, read_only=dry_run, lock_timeout=lock_timeout) as store:
        return run_ingest(
            store, source, format=format, kind=kind, space=space,
            mapping=str(mapping) if isinstance(mapping, Path) else mapping, task=task,
            task_column=task_column, task_tag=task_tag, strict=strict, dry_run=dry_run,
            progress=progress, encoding=encoding,
        )  # fmt: skip


def ingest_formats() -> list[str]:
    """The formats :func:`ingest` reads (``recommender.ingest.register_reader`` adds one)."""
    from recommender.ingest import READERS

    return list(READERS)


def tasks(
    *, db: str | Path | None = None, lock_timeout: float | None = None
) -> list[dict[str, Any]]:
    """The store's tasks with their run and meta-feature counts."""
    from dataclasses import asdict

    from recommender.store import open_store

    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        return [asdict(t) for t in store.tasks()]


def runs(
    task: str | None = None,
    *,
    space: str | None = None,
    limit: int | None = None,
    db: str | Path | None = None,
    lock_timeout: float | None = None,
) -> list[dict[str, Any]]:
    """Runs (of ``task``, of ``space``; at most ``limit``): parameters, metrics, status."""
    from recommender.store import open_store

    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        return store.runs(task, space=space, limit=limit)


def rejected(
    *,
    batch: int | None = None,
    limit: int = 50,
    db: str | Path | None = None,
    lock_timeout: float | None = None,
) -> list[dict[str, Any]]:
    """Quarantined rows (of ingest ``batch``) with their reasons."""
    from recommender.store import open_store

    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        return store.rejected(batch=batch, limit=limit)


def export_store(
    directory: str | Path, *, db: str | Path | None = None, lock_timeout: float | None = None
) -> dict[str, int]:
    """Write every table of the store as Parquet into ``directory``; rows per table."""
    from recommender.store import open_store

    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        return store.export(directory)


class Upgrade(NamedTuple):
    """What :func:`upgrade_store` did: the store file and its schema before and after."""

    path: Path
    before: int
    after: int
    applied: list[int]


def upgrade_store(*, db: str | Path | None = None, lock_timeout: float | None = None) -> Upgrade:
    """Apply the store's pending schema migrations."""
    from recommender.store import DuckDBStore, default_db_path

    path = Path(db) if db is not None else default_db_path()
    with DuckDBStore(path, lock_timeout=lock_timeout, upgrade=False) as store:
        before = store.schema_version()
        applied = store.migrate()
        return Upgrade(path, before, store.schema_version(), applied)
