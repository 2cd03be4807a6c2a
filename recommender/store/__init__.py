"""The DuckDB store: tasks, meta-features, runs, curves, batches, rejected rows, models.

Every SQL statement against the store lives in this package; the rest of recommender
receives a :class:`Store`.
"""

from __future__ import annotations

from recommender.store.base import Store
from recommender.store.duckdb import DuckDBStore, open_store
from recommender.store.paths import default_db_path

__all__ = ["DuckDBStore", "Store", "open_store", "default_db_path"]
