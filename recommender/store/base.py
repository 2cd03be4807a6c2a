"""``Store``: the one type the rest of recommender receives for its data.

Everything that touches the database goes through these methods; the SQL lives in
:mod:`recommender.store` alone. :class:`~recommender.store.duckdb.DuckDBStore` is the
implementation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pyarrow as pa

    from recommender.types import IngestReport, Task

BadLines = Sequence[tuple[int | None, str, str]]


class Store(Protocol):
    """A run store: tasks, meta-features, runs, curves, batches, rejected rows, models."""

    path: str
    read_only: bool

    # -- lifecycle and transactions ------------------------------------------------
    def close(self) -> None: ...
    def __enter__(self) -> Store: ...
    def __exit__(self, *exc: object) -> None: ...
    def schema_version(self) -> int: ...
    def migrate(self, target: int = ...) -> list[int]: ...
    def transaction(self) -> AbstractContextManager[Any]:
        """All or nothing; nested uses join the outermost transaction."""
        ...

    def released(self) -> AbstractContextManager[None]:
        """Give up the file's lock for a long block (write inside via :meth:`attached`)."""
        ...

    def attached(self) -> AbstractContextManager[None]: ...

    # -- writes -----------------------------------------------------------------------
    def add_runs(
        self,
        table: pa.Table,
        *,
        source: str,
        format: str,
        checksum: str | None,
        space: str | None = None,
        bad_lines: BadLines = (),
        curves: pa.Table | None = None,
        strict: bool = False,
        dry_run: bool = False,
        progress: Callable[[str], None] | None = None,
    ) -> IngestReport:
        """Check a canonical run table; store good rows, quarantine bad ones, in one go."""
        ...

    def add_metafeature_table(
        self,
        table: pa.Table,
        *,
        source: str,
        format: str,
        checksum: str | None,
        task_column: str | None = None,
        bad_lines: BadLines = (),
        strict: bool = False,
        dry_run: bool = False,
    ) -> IngestReport: ...
    def add_task(
        self,
        name: str,
        *,
        modality: str | None = None,
        problem_type: str | None = None,
        source: str | None = None,
        fingerprint: str | None = None,
    ) -> None: ...
    def task_for(self, name: str, fingerprint: str | None, *, explicit: bool = ...) -> str: ...
    def store_id(self) -> str: ...
    def label_tasks(
        self,
        *,
        runs_source: str,
        space: str,
        modality: str,
        problem_types: Sequence[tuple[str, str]] = (),
    ) -> None: ...
    def add_metafeatures(
        self, task: str, features: Mapping[str, float | None], *, source: str
    ) -> int: ...
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
    ) -> int: ...
    def record_run(
        self,
        *,
        run_key: str,
        task: str,
        space: str,
        params: Mapping[str, Any],
        metrics: Mapping[str, float],
        fidelity: float | None,
        status: str,
        duration_s: float | None,
        source: str,
        batch: int,
        query_id: int | None = None,
        error: str | None = None,
        curve: Sequence[tuple[str, float, float | None]] = (),
    ) -> None: ...
    def log_query(
        self,
        *,
        space: str,
        task: str | None,
        model_id: int,
        metafeatures: Mapping[str, Any],
        top_k: int,
        results: Sequence[Mapping[str, Any]],
    ) -> int: ...
    def next_model_id(self) -> int: ...
    def add_model(
        self,
        model_id: int,
        *,
        space: str,
        metric: str,
        maximize: bool,
        fidelity: float | None,
        kind: str,
        artifact: str,
        checksum: str,
        n_runs: int | None,
        n_tasks: int | None,
        newest_batch: int | None,
        evaluation: Mapping[str, Any],
        champion: bool,
        replaces: int | None = None,
    ) -> None: ...
    def promote(self, model_id: int, space: str) -> None: ...
    def rollback(self, model_id: int, to: int) -> None: ...
    def add_space(
        self,
        name: str,
        definition: Mapping[str, Any],
        *,
        source: str,
        replace: bool = True,
        param_types: tuple[str, Mapping[str, str]] | None = None,
    ) -> None: ...

    # -- reads ------------------------------------------------------------------------
    def tasks(self) -> list[Task]: ...
    def task_names(self, *, space: str | None = None) -> list[str]: ...
    def metafeatures(self, task: str | None = None) -> dict[str, dict[str, float]]: ...
    def runs(
        self, task: str | None = None, *, space: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]: ...
    def runs_frame(
        self,
        *,
        space: str | None,
        params: list[str],
        metric: str,
        fidelity: float | None = None,
        param_names_exact: bool = False,
    ) -> Any: ...
    def param_types(self, space: str) -> dict[str, str]: ...
    def params_frame(self, space: str, params: list[str]) -> Any: ...
    def run_spaces(self) -> list[tuple[str, int, int]]: ...
    def count_runs(
        self,
        *,
        space: str | None = None,
        source: str | None = None,
        exclude_source: str | None = None,
    ) -> int: ...
    def snapshot(self, space: str | None = None) -> tuple[int, int | None]: ...
    def models(
        self, *, space: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]: ...
    def space(self, name: str) -> dict[str, Any] | None: ...
    def space_source(self, name: str) -> str | None: ...
    def spaces(self) -> list[dict[str, Any]]: ...
    def rejected(
        self, *, batch: int | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]: ...
    def info(self) -> dict[str, Any]: ...
    def export(self, directory: str | Path) -> dict[str, int]: ...
