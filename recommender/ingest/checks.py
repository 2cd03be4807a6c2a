"""Names the ingest layer uses from the run checks (statuses, space names, progress).

The checks are SQL and live with the store (:mod:`recommender.store.checks`);
:meth:`~recommender.store.base.Store.add_runs` runs them and writes in one transaction.
"""

from __future__ import annotations

from recommender.store.checks import STATUSES, auto_space_name
from recommender.store.runs import Progress

__all__ = ["STATUSES", "Progress", "auto_space_name"]
