"""DuckDB errors about the store file itself, as one-line store errors.

A statement on a damaged (truncated, overwritten) or unwritable store file raises
DuckDB's ``IOException`` (or ``InternalException``, a plain "corrupt database file"
error, ...) wherever it happens to read; :class:`GuardedConnection` turns those into a
:class:`~recommender.errors.StoreError` that names the way out. Other errors pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb

from recommender.errors import StoreError, option

# DuckDB errors that mean the file itself is damaged, not the statement.
_DAMAGE_TYPES = (
    duckdb.IOException,
    duckdb.InternalException,
    duckdb.SerializationException,
    duckdb.FatalException,
)
_DAMAGE_MARKERS = (
    "could not read enough bytes",
    "corrupt database",
    "does not match stored checksum",
)
_DENIED_MARKERS = ("permission denied", "read-only file system", "operation not permitted")


def first_line(err: BaseException | str) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def damaged_store_error(path: str, err: BaseException | str) -> StoreError:
    """The one line for a store file DuckDB cannot read: what came, and the ways out."""
    return StoreError(
        f"store {path} is damaged or truncated ({first_line(err)}); nothing was changed. "
        f"Restore a backup copy of the file if you have one, save what is still readable "
        f"with: recommender store export DIR --db {path}, or start a new store with "
        f"{option('db')}"
    )


def unwritable_store_error(path: str, err: BaseException | str) -> StoreError:
    """The one line for a store whose file or folder cannot be written."""
    why = err if isinstance(err, str) else first_line(err)
    return StoreError(
        f"store {path}: expected a writable file and folder, got: {why}; nothing was written. "
        f"Make the folder writable, or copy the store to a writable folder and pass {option('db')}"
    )


def translate_error(path: str, err: BaseException) -> StoreError | None:
    """The store's own error for a DuckDB error that is about the file, not the statement."""
    text = str(err).lower()
    if isinstance(err, duckdb.Error) and any(m in text for m in _DENIED_MARKERS):
        return unwritable_store_error(path, err)
    if isinstance(err, _DAMAGE_TYPES) or any(m in text for m in _DAMAGE_MARKERS):
        return damaged_store_error(path, err)
    return None


class GuardedConnection:
    """A DuckDB connection whose file-level errors become one-line store errors.

    A statement on a damaged or unwritable store file raises DuckDB's ``IOException``
    (or ``InternalException``, ...) wherever it happens to read; every call through this
    wrapper turns those into the store's own error. Other errors pass unchanged.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, path: str) -> None:
        self._con = con
        self._path = path

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._con, name)
        if not callable(attr):
            return attr
        return self._guard(attr)

    def _guard(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                out = method(*args, **kwargs)
            except duckdb.Error as err:
                mine = translate_error(self._path, err)
                if mine is None:
                    raise
                raise mine from err
            return self if out is self._con else out

        return call


_DUCKDB_MAGIC = b"DUCK"  # at byte 8 of every DuckDB database file
HEADER_BYTES = 3 * 4096  # the main header and the two database headers


def looks_like_duckdb(path: str) -> bool:
    """True when the file starts like a DuckDB database (it may still be damaged)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(12)[8:12] == _DUCKDB_MAGIC
    except OSError:
        return False
