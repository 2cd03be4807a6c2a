"""Raw experiment logs -> checked runs -> the store.

>>> from recommender.store import DuckDBStore
>>> store = DuckDBStore(":memory:")
>>> report = ingest(store, "runs.csv")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from recommender.errors import IngestError
from recommender.ingest.checks import Progress, check_and_write
from recommender.ingest.mapping import apply_mapping, load_mapping
from recommender.ingest.metafeature_table import ingest_metafeature_table
from recommender.ingest.tables import read_table, table_format
from recommender.store.duckdb import DuckDBStore
from recommender.types import IngestReport

FORMATS = ("csv", "tsv", "jsonl", "parquet", "mlflow", "optuna")

__all__ = ["FORMATS", "detect_format", "ingest"]


def detect_format(source: str) -> str:
    """Guess the format of ``source`` from its URL scheme, suffix or contents."""
    if "://" in source:
        if source.startswith("sqlite:///"):
            return _sqlite_kind(Path(source[len("sqlite:///") :]), source)
        raise IngestError(
            f"cannot tell the format of {source}; pass --format mlflow or --format optuna"
        )
    path = Path(source).expanduser()
    if not path.exists():
        raise IngestError(f"{source} not found; expected a file, an mlruns folder or a storage URL")
    if path.is_dir():
        if any(path.glob("*/meta.yaml")) or (path / "mlruns").is_dir():
            return "mlflow"
        raise IngestError(
            f"{source} is a folder but not an MLflow mlruns folder; pass a file or --format"
        )
    suffix = path.suffix.lower()
    table_fmt = table_format(path)
    if table_fmt is not None:
        return table_fmt
    if suffix in (".db", ".sqlite", ".sqlite3"):
        return _sqlite_kind(path, source)
    raise IngestError(
        f"cannot tell the format of {source} from its suffix {suffix or '(none)'}; "
        f"pass --format with one of {', '.join(FORMATS)}"
    )


def _sqlite_kind(path: Path, source: str) -> str:
    if not path.is_file():
        raise IngestError(f"{source}: SQLite file {path} not found")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            con.close()
    except sqlite3.DatabaseError as err:
        raise IngestError(f"{source}: expected a SQLite database, got: {err}") from err
    if {"experiments", "runs"} <= names:
        return "mlflow"
    if {"studies", "trials"} <= names:
        return "optuna"
    raise IngestError(
        f"{source}: SQLite database is neither an MLflow nor an Optuna store; pass --format"
    )


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _source_checksum(source: str) -> str | None:
    path = Path(source[len("sqlite:///") :] if source.startswith("sqlite:///") else source)
    return file_checksum(path) if path.is_file() else None


def ingest(
    store: DuckDBStore,
    source: str | Path,
    *,
    format: str | None = None,
    kind: str = "runs",
    space: str | None = None,
    mapping: str | Path | dict[str, Any] | None = None,
    task: str | None = None,
    task_column: str | None = None,
    task_tag: str | None = None,
    strict: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
    encoding: str | None = None,
) -> IngestReport:
    """Ingest one source into ``store``: all of its good rows, or nothing.

    Args:
        store: an open, writable store.
        source: a table file, an MLflow store (URI, .db file, mlruns folder) or an
            Optuna storage URL.
        format: force a format (csv, tsv, jsonl, parquet, mlflow, optuna).
        kind: ``runs`` or ``metafeatures`` (a table with one row per task).
        space: search-space name for the runs (default: derived from the parameter names).
        mapping: mapping file or dict naming the columns (see ``recommender.ingest.mapping``).
        task: one task name for every row of a table.
        task_column: column holding the task (tables), overriding the mapping.
        task_tag: MLflow tag / Optuna study user attribute holding the task.
        strict: refuse the whole source if any row is bad.
        dry_run: check and count only.
        progress: called with each stage's name.
        encoding: the text encoding of a CSV/TSV/JSON Lines file (default: from its
            byte-order mark, else UTF-8).

    Returns:
        The ingest report.

    Raises:
        IngestError: the source cannot be read, lacks required columns, or ``strict`` failed.
    """
    src = str(source)
    fmt = format or detect_format(src)
    if fmt not in FORMATS:
        raise IngestError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if kind not in ("runs", "metafeatures"):
        raise IngestError(f"unknown kind {kind!r}; expected runs or metafeatures")
    note = progress or (lambda _s: None)
    if isinstance(mapping, (str, Path)):
        mapping = load_mapping(mapping)
    checksum = _source_checksum(src)
    if fmt in ("mlflow", "optuna"):
        if kind != "runs":
            raise IngestError(f"--kind metafeatures needs a table file, got a {fmt} store")
        note("reading")
        spaces: list[dict[str, Any]] = []
        if fmt == "mlflow":
            from recommender.ingest.trackers import read_mlflow

            table, curves = read_mlflow(src, task_tag=task_tag)
        else:
            from recommender.ingest.trackers import read_optuna

            table, curves, spaces = read_optuna(src, task_attr=task_tag)
        if table.num_rows == 0:
            raise IngestError(f"{src}: the {fmt} store holds no runs; nothing to ingest")
        if task is not None:
            table, _ = apply_mapping(table, {}, task=task, source=src)
        report = check_and_write(
            store, table, source=src, fmt=fmt, checksum=checksum, space=space, curves=curves,
            strict=strict, dry_run=dry_run, progress=note,
        )  # fmt: skip
        if spaces and not dry_run:
            _register_spaces(store, spaces, source=fmt)
        return report
    path = Path(src).expanduser()
    if not path.is_file():
        raise IngestError(f"{src} not found; expected a {fmt} file")
    note("reading")
    raw = read_table(path, fmt, encoding=encoding)
    if raw.table.num_rows == 0 and not raw.bad_lines:
        raise IngestError(f"{src}: the file holds no rows; nothing to ingest")
    if kind == "metafeatures":
        return ingest_metafeature_table(
            store, raw, source=src, fmt=fmt, checksum=checksum,
            task_column=task_column or _mapped_task(mapping), strict=strict, dry_run=dry_run,
        )  # fmt: skip
    table, _ignored = apply_mapping(
        raw.table, mapping, task=task, task_column=task_column, source=src
    )
    return check_and_write(
        store, table, source=src, fmt=fmt, checksum=checksum, space=space,
        bad_lines=raw.bad_lines, strict=strict, dry_run=dry_run, progress=note,
    )  # fmt: skip


def _mapped_task(mapping: dict[str, Any] | None) -> str | None:
    spec = (mapping or {}).get("task")
    if isinstance(spec, dict):
        return spec.get("column")
    return spec if isinstance(spec, str) else None


def _register_spaces(store: DuckDBStore, spaces: list[dict[str, Any]], *, source: str) -> None:
    with store.transaction():
        for space in spaces:
            store.con.execute(
                "INSERT INTO spaces (name, definition, source) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO NOTHING",
                [space["name"], json.dumps(space), source],
            )
