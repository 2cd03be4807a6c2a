"""Check canonical run tables and write the good rows, all or nothing.

The checks are SQL and live with the store (:mod:`recommender.store.checks`);
:meth:`~recommender.store.base.Store.add_runs` runs them and writes in one transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from recommender.store.checks import STATUSES, auto_space_name
from recommender.store.runs import Progress

if TYPE_CHECKING:
    import pyarrow as pa

    from recommender.store.base import BadLines, Store
    from recommender.types import IngestReport

__all__ = ["STATUSES", "Progress", "auto_space_name", "check_and_write"]


def check_and_write(
    store: Store,
    table: pa.Table,
    *,
    source: str,
    fmt: str,
    checksum: str | None,
    space: str | None = None,
    bad_lines: BadLines = (),
    curves: pa.Table | None = None,
    strict: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Check ``table`` and store its good rows, rejected rows and curves atomically.

    See :meth:`~recommender.store.base.Store.add_runs` for the arguments.
    """
    return store.add_runs(
        table, source=source, format=fmt, checksum=checksum, space=space, bad_lines=bad_lines,
        curves=curves, strict=strict, dry_run=dry_run, progress=progress,
    )  # fmt: skip
