"""Where the store lives when the user does not say."""

from __future__ import annotations

import os
from pathlib import Path

ENV_DB = "RECOMMENDER_DB"
ENV_LOCK_TIMEOUT = "RECOMMENDER_LOCK_TIMEOUT"


def data_dir() -> Path:
    """The user's data directory for recommender (XDG on Linux, the platform's elsewhere)."""
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif os.uname().sysname == "Darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "recommender"


def default_db_path() -> Path:
    """``$RECOMMENDER_DB`` if set, else ``<data dir>/store.duckdb``."""
    env = os.environ.get(ENV_DB)
    if env:
        return Path(env).expanduser()
    return data_dir() / "store.duckdb"


def default_lock_timeout() -> float:
    """Seconds to wait for a busy store: ``$RECOMMENDER_LOCK_TIMEOUT`` or 30."""
    try:
        return float(os.environ.get(ENV_LOCK_TIMEOUT, "30"))
    except ValueError:
        return 30.0
