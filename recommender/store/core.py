"""The store's connection: the lock wait, schema migrations, transactions, batches.

DuckDB allows one writing process at a time. A second process that finds the
file locked waits up to ``lock_timeout`` seconds, then fails with a clear message.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import cast

import duckdb

from recommender.errors import SchemaVersionError, StoreError, option
from recommender.store.guard import (
    HEADER_BYTES,
    GuardedConnection,
    damaged_store_error,
    first_line,
    looks_like_duckdb,
    translate_error,
    unwritable_store_error,
)
from recommender.store.migrations import LATEST_VERSION, MIGRATIONS
from recommender.store.paths import default_lock_timeout

RELEASED_WAIT_S = 600.0  # lock wait for writes inside DuckDBStore.released()

_LOCK_MARKERS = ("lock", "conflicting", "being used by another process")

BadLines = Sequence[tuple[int | None, str, str]]  # (line, raw text, reason) a reader refused


def _is_lock_error(err: Exception) -> bool:
    text = str(err).lower()
    return any(m in text for m in _LOCK_MARKERS)


def quote_ident(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def sql_str(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def json_path(name: str) -> str:
    """The JSON path of a top-level member ``name``."""
    return "$." + json.dumps(name, ensure_ascii=False)


class StoreCore:
    """Connection, schema and transactions; the write and read mixins build on it."""

    path: str
    read_only: bool
    lock_timeout: float
    con: duckdb.DuckDBPyConnection
    _depth: int
    _released: bool

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        read_only: bool = False,
        lock_timeout: float | None = None,
        upgrade: bool = True,
    ) -> None:
        # An absolute path: the store (and the model files named relative to it) must be
        # the same whatever the working directory of a later command.
        text = str(path)
        self.path = text if text == ":memory:" else str(Path(text).expanduser().absolute())
        self.read_only = read_only
        self.lock_timeout = default_lock_timeout() if lock_timeout is None else lock_timeout
        if math.isnan(self.lock_timeout):
            raise StoreError("lock timeout: expected a number of seconds, got nan; pass e.g. 30")
        self._depth = 0  # nesting of transaction()
        self._released = False  # connection closed by released()
        # A read of a store that does not exist yet sees an empty store, and creates nothing.
        self._ephemeral = self.path != ":memory:" and read_only and not Path(self.path).exists()
        if self.path != ":memory:":
            _check_location(self.path, read_only)
        self.con = self._connect(read_only and not self.in_memory)
        try:
            self._check_whole_blocks()
            self._check_version(upgrade)
        except BaseException:
            self.close()  # a refused store leaves no connection behind
            raise

    # -- connection ---------------------------------------------------------------
    @property
    def in_memory(self) -> bool:
        """True for ``":memory:"`` and for a read of a store file that does not exist."""
        return self.path == ":memory:" or self._ephemeral

    def _connect(
        self, read_only: bool, lock_timeout: float | None = None
    ) -> duckdb.DuckDBPyConnection:
        if self.in_memory:
            return cast(duckdb.DuckDBPyConnection, GuardedConnection(duckdb.connect(), self.path))
        con = self._open_file(read_only, lock_timeout)
        return cast(duckdb.DuckDBPyConnection, GuardedConnection(con, self.path))

    def _open_file(self, read_only: bool, lock_timeout: float | None) -> duckdb.DuckDBPyConnection:
        wait = self.lock_timeout if lock_timeout is None else lock_timeout
        deadline = time.monotonic() + max(wait, 0.0)
        delay = 0.05
        while True:
            try:
                return duckdb.connect(self.path, read_only=read_only)
            except duckdb.Error as err:
                if not (isinstance(err, duckdb.IOException) and _is_lock_error(err)):
                    raise self._open_error(err) from err
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"store {self.path} is busy (another process holds it); waited "
                        f"{wait:g} s; retry when it finishes or raise "
                        f"{option('lock_timeout')} / RECOMMENDER_LOCK_TIMEOUT"
                    ) from err
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    def _open_error(self, err: duckdb.Error) -> StoreError:
        mine = translate_error(self.path, err)
        if mine is not None and (looks_like_duckdb(self.path) or "writable" in str(mine)):
            return mine
        return StoreError(
            f"cannot open store {self.path}: expected a DuckDB file, got: "
            f"{first_line(err)}; pass another {option('db')}"
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.con.close()

    def _check_whole_blocks(self) -> None:
        """Refuse a file cut short between blocks: DuckDB may open it and read what lies
        before the cut, so a write would go ahead on a damaged store."""
        if self.in_memory or Path(self.path + ".wal").exists():
            return
        row = self.con.execute("SELECT block_size FROM pragma_database_size()").fetchall()
        size = os.path.getsize(self.path)
        if row and row[0][0] and size > HEADER_BYTES and (size - HEADER_BYTES) % int(row[0][0]):
            raise damaged_store_error(
                self.path, f"the file has {size} bytes, not its headers and whole blocks"
            )

    # -- schema -------------------------------------------------------------------
    def schema_version(self) -> int:
        row = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
        ).fetchall()[0]
        if not row or row[0] == 0:
            return 0
        v = self.con.execute("SELECT max(version) FROM schema_version").fetchall()[0]
        return int(v[0]) if v and v[0] is not None else 0

    def _check_version(self, upgrade: bool) -> None:
        version = self.schema_version()
        if version > LATEST_VERSION:
            raise SchemaVersionError(
                f"{self.path} is schema v{version}, this recommender knows up to "
                f"v{LATEST_VERSION}; upgrade the package: pip install -U recommender"
            )
        if version < LATEST_VERSION:
            if not upgrade and not self.read_only:
                return  # the caller migrates explicitly (``recommender store upgrade``)
            if self.read_only and not self._ephemeral:
                raise SchemaVersionError(
                    f"{self.path} is schema v{version}, code needs v{LATEST_VERSION}; "
                    f"run: recommender store upgrade --db {self.path}"
                )
            self.migrate()

    def migrate(self, target: int = LATEST_VERSION) -> list[int]:
        """Apply pending migrations up to ``target`` in one transaction; return those applied."""
        current = self.schema_version()
        applied: list[int] = []
        with self.transaction():
            if current == 0:
                self.con.execute(
                    "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                    "description VARCHAR, applied_at TIMESTAMP DEFAULT current_timestamp)"
                )
            for version, description, sql in MIGRATIONS:
                if current < version <= target:
                    self.con.execute(sql)
                    self.con.execute(
                        "INSERT INTO schema_version (version, description) VALUES (?, ?)",
                        [version, description],
                    )
                    applied.append(version)
        return applied

    # -- transactions ---------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: commit on success, roll back on any exception (Ctrl-C included).

        Nested uses join the outermost transaction, so a composite write (loading the
        shipped knowledge, say) commits or rolls back as one.
        """
        if self._depth:
            self._depth += 1
            try:
                yield self.con
            finally:
                self._depth -= 1
            return
        self.con.execute("BEGIN TRANSACTION")
        self._depth = 1
        try:
            yield self.con
        except BaseException:
            with contextlib.suppress(Exception):
                self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")
        finally:
            self._depth = 0

    @contextlib.contextmanager
    def released(self) -> Iterator[None]:
        """Give up the file (and its lock) for a long block; write inside via :meth:`attached`.

        Other processes can read and write the store meanwhile (a validation that trains
        for minutes should not lock everyone out). An in-memory store stays as it is.
        """
        if self.in_memory or self._released:
            yield
            return
        self.close()
        self._released = True
        try:
            yield
        finally:
            self._released = False
            self.con = self._connect(self.read_only)

    @contextlib.contextmanager
    def attached(self) -> Iterator[None]:
        """Inside :meth:`released`: hold the file for this block only.

        It waits for the lock at least ``RELEASED_WAIT_S``: what is written here (a
        finished training run) is worth waiting for.
        """
        if not self._released:
            yield
            return
        self.con = self._connect(self.read_only, max(self.lock_timeout, RELEASED_WAIT_S))
        try:
            yield
        finally:
            self.close()

    # -- shared writes ----------------------------------------------------------------
    def add_batch(
        self,
        *,
        source: str,
        format: str,
        kind: str,
        checksum: str | None = None,
        accepted: int = 0,
        duplicates: int = 0,
        rejected: int = 0,
    ) -> int:
        """Open a new ingest batch (the unit a source is written and counted in); return its id."""
        row = self.con.execute("SELECT nextval('batch_id_seq')").fetchall()[0]
        batch = int(row[0])
        self.con.execute(
            "INSERT INTO batches (batch_id, source, format, kind, checksum, n_accepted, "
            "n_duplicates, n_rejected) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [batch, source, format, kind, checksum, accepted, duplicates, rejected],
        )
        return batch

    def _quarantine(self, batch: int, bad_lines: BadLines) -> None:
        """Keep lines a reader could not parse, with their reasons, under ``batch``."""
        if bad_lines:
            lines, texts, reasons = (list(column) for column in zip(*bad_lines, strict=True))
            self.con.execute(
                "INSERT INTO rejected (batch_id, line, raw, reason) SELECT ?, "
                "unnest(?::BIGINT[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[])",
                [batch, lines, texts, reasons],
            )

    def _add_tasks_from(self, relation: str, source: str) -> None:
        """Register every task of a temporary ``relation`` (a ``task`` column) not yet known."""
        self.con.execute(
            f"INSERT INTO tasks (task, source) SELECT DISTINCT task, ? FROM {relation} "
            "ON CONFLICT (task) DO NOTHING",
            [source],
        )


def _check_location(path: str, read_only: bool) -> None:
    """Refuse, in one line, a path that is a folder, another kind of file, or unwritable."""
    p = Path(path)
    if p.is_dir():
        raise StoreError(f"store path {p} is a directory; expected a .duckdb file path")
    if p.is_file() and p.stat().st_size > 0 and not looks_like_duckdb(path):
        raise StoreError(
            f"cannot open store {p}: expected a DuckDB file, got a file that is not one; "
            f"pass another {option('db')} (a new path starts an empty store)"
        )
    if read_only:
        return
    if not p.exists():
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(
                f"cannot create the store's folder {p.parent}: {err.strerror or err}; "
                f"pass {option('db')} (or set RECOMMENDER_DB) to a path in a writable folder"
            ) from err
    # DuckDB writes ``<store>.wal`` next to the file: the folder must be writable too.
    for target in (p.parent, p) if p.exists() else (p.parent,):
        if not os.access(target, os.W_OK):
            raise unwritable_store_error(path, f"{target}: permission denied")


def check_blocks(con: duckdb.DuckDBPyConnection, path: str, tables: list[str]) -> None:
    """Refuse a store file shorter than the blocks its tables are stored in (truncated).

    Reads the storage layout only (no data), so counts from a truncated file are not
    reported as if it were whole.
    """
    if not tables or Path(path + ".wal").exists():
        return  # blocks replayed from the log need not be in the file yet
    union = " UNION ALL ".join(
        f"SELECT block_id FROM pragma_storage_info({sql_str(t)})" for t in tables
    )
    row = con.execute(
        f"SELECT max(block_id), (SELECT block_size FROM pragma_database_size()) FROM ({union})"
    ).fetchall()[0]
    if row[0] is None or row[0] < 0:
        return
    need = HEADER_BYTES + (int(row[0]) + 1) * int(row[1])
    size = os.path.getsize(path)
    if size < need:
        raise damaged_store_error(path, f"the file has {size} bytes, its tables need {need}")
