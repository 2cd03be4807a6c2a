"""The DuckDB store: tasks, meta-features, runs, curves, batches, rejected rows."""

from __future__ import annotations

from recommender.store.duckdb import DuckDBStore, open_store
from recommender.store.paths import default_db_path

__all__ = ["DuckDBStore", "open_store", "default_db_path"]
