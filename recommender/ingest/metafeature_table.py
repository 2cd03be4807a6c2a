"""Ingest a table of task meta-features: one row per task, one numeric column per feature."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from recommender.ingest.tables import RawTable
    from recommender.store.base import Store
    from recommender.types import IngestReport


def ingest_metafeature_table(
    store: Store,
    raw: RawTable,
    *,
    source: str,
    fmt: str,
    checksum: str | None,
    task_column: str | None = None,
    strict: bool = False,
    dry_run: bool = False,
) -> IngestReport:
    """Store each row's numeric columns as meta-features of its task.

    Columns that are not numeric for most rows (a dataset's name, say) are ignored;
    a non-numeric value in a numeric column rejects its row. Empty cells are kept as
    missing values. See :meth:`~recommender.store.base.Store.add_metafeature_table`.
    """
    return store.add_metafeature_table(
        raw.table, source=source, format=fmt, checksum=checksum, task_column=task_column,
        bad_lines=raw.bad_lines, strict=strict, dry_run=dry_run,
    )  # fmt: skip
