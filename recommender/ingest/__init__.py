"""Raw experiment logs -> checked runs -> the store.

Each format has its reader in ``READERS`` (``register_reader`` adds one): a function
``(store, source, format, options) -> IngestReport`` that reads the source into the
canonical run table and hands it to the store, which checks, quarantines and commits.

>>> from recommender.store import DuckDBStore
>>> store = DuckDBStore(":memory:")
>>> report = ingest(store, "runs.csv")  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from recommender.errors import IngestError, option
from recommender.ingest.checks import Progress
from recommender.ingest.mapping import apply_mapping, load_mapping
from recommender.ingest.metafeature_table import ingest_metafeature_table
from recommender.ingest.tables import TABLE_FORMATS, read_table, table_format
from recommender.types import IngestReport

if TYPE_CHECKING:
    from recommender.ingest.trackers import Study
    from recommender.store.base import Store

__all__ = ["FORMATS", "READERS", "Options", "detect_format", "ingest", "register_reader"]


@dataclass(frozen=True)
class Options:
    """What one ``ingest`` asked for, as its format's reader receives it."""

    kind: str
    space: str | None
    mapping: dict[str, Any] | None
    task: str | None
    task_column: str | None
    task_tag: str | None
    strict: bool
    dry_run: bool
    encoding: str | None
    checksum: str | None
    progress: Progress


Reader: TypeAlias = Callable[["Store", str, str, Options], IngestReport]
READERS: dict[str, Reader] = {}


def register_reader(fmt: str, reader: Reader) -> Reader:
    """Make ``reader`` ingest sources of format ``fmt`` (``--format fmt``); return it."""
    READERS[fmt] = reader
    return reader


def detect_format(source: str) -> str:
    """Guess the format of ``source`` from its URL scheme, suffix or contents."""
    if "://" in source:
        if source.startswith("sqlite:///"):
            return _sqlite_kind(Path(source[len("sqlite:///") :]), source)
        raise IngestError(
            f"cannot tell the format of {source}; pass {option('format', 'mlflow')} or "
            f"{option('format', 'optuna')}"
        )
    path = Path(source).expanduser()
    if not path.exists():
        raise IngestError(f"{source} not found; expected a file, an mlruns folder or a storage URL")
    if path.is_dir():
        if any(path.glob("*/meta.yaml")) or (path / "mlruns").is_dir():
            return "mlflow"
        raise IngestError(
            f"{source} is a folder but not an MLflow mlruns folder; pass a file or "
            f"{option('format')}"
        )
    suffix = path.suffix.lower()
    table_fmt = table_format(path)
    if table_fmt is not None:
        return table_fmt
    if suffix in (".db", ".sqlite", ".sqlite3"):
        return _sqlite_kind(path, source)
    raise IngestError(
        f"cannot tell the format of {source} from its suffix {suffix or '(none)'}; "
        f"pass {option('format')} with one of {', '.join(READERS)}"
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
        f"{source}: SQLite database is neither an MLflow nor an Optuna store; "
        f"pass {option('format')}"
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
    store: Store,
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
    if fmt not in READERS:
        raise IngestError(f"unknown format {fmt!r}; expected one of {', '.join(READERS)}")
    if kind not in ("runs", "metafeatures"):
        raise IngestError(f"unknown kind {kind!r}; expected runs or metafeatures")
    options = Options(
        kind, space, load_mapping(mapping) if isinstance(mapping, (str, Path)) else mapping,
        task, task_column, task_tag, strict, dry_run, encoding, _source_checksum(src),
        progress or (lambda _s: None),
    )  # fmt: skip
    return READERS[fmt](store, src, fmt, options)


def _ingest_table(store: Store, src: str, fmt: str, o: Options) -> IngestReport:
    """Ingest a table file (CSV, TSV, JSON Lines, Parquet): runs, or task meta-features."""
    path = Path(src).expanduser()
    if not path.is_file():
        raise IngestError(f"{src} not found; expected a {fmt} file")
    o.progress("reading")
    raw = read_table(path, fmt, encoding=o.encoding)
    if raw.table.num_rows == 0 and not raw.bad_lines:
        raise IngestError(f"{src}: the file holds no rows; nothing to ingest")
    if o.kind == "metafeatures":
        return ingest_metafeature_table(
            store, raw, source=src, fmt=fmt, checksum=o.checksum,
            task_column=o.task_column or _mapped_task(o.mapping), strict=o.strict,
            dry_run=o.dry_run,
        )  # fmt: skip
    table, _ignored = apply_mapping(
        raw.table, o.mapping, task=o.task, task_column=o.task_column, source=src
    )
    return _add_runs(
        store, table, source=src, format=fmt, checksum=o.checksum, space=o.space,
        bad_lines=raw.bad_lines, strict=o.strict, dry_run=o.dry_run, progress=o.progress,
    )  # fmt: skip


def _add_runs(store: Store, table: Any, *, space: str | None, **kwargs: Any) -> IngestReport:
    """Store the runs and, under a named space nobody defined, the space they imply (see
    :mod:`recommender.spaces.infer`), in one transaction."""
    if space is None or kwargs.get("dry_run"):
        return store.add_runs(table, space=space, **kwargs)
    from recommender.spaces.infer import refresh_inferred

    with store.transaction():
        report = store.add_runs(table, space=space, **kwargs)
        changed = bool(report.accepted or report.moved)
        return replace(report, inferred=refresh_inferred(store, space, changed=changed))


def _tracker_runs(src: str, fmt: str, o: Options) -> None:
    """A tracker store holds runs only; say that reading begins."""
    if o.kind != "runs":
        raise IngestError(f"{option('kind', 'metafeatures')} needs a table file, got a {fmt} store")
    o.progress("reading")


def _ingest_optuna(store: Store, src: str, fmt: str, o: Options) -> IngestReport:
    """Ingest each study of an Optuna storage."""
    from recommender.ingest.trackers import read_optuna

    _tracker_runs(src, fmt, o)
    studies = read_optuna(src, task_attr=o.task_tag)
    if not studies:
        raise IngestError(f"{src}: the optuna store holds no runs; nothing to ingest")
    return _ingest_studies(
        store, studies, src=src, checksum=o.checksum, space=o.space, task=o.task,
        strict=o.strict, dry_run=o.dry_run, progress=o.progress,
    )  # fmt: skip


def _ingest_mlflow(store: Store, src: str, fmt: str, o: Options) -> IngestReport:
    """Ingest the runs of an MLflow store, with their metric histories as curves."""
    from recommender.ingest.trackers import read_mlflow

    _tracker_runs(src, fmt, o)
    table, curves = read_mlflow(src, task_tag=o.task_tag)
    if table.num_rows == 0:
        raise IngestError(f"{src}: the {fmt} store holds no runs; nothing to ingest")
    if o.task is not None:
        table, _ = apply_mapping(table, {}, task=o.task, source=src)
    return _add_runs(
        store, table, source=src, format=fmt, checksum=o.checksum, space=o.space,
        curves=curves, strict=o.strict, dry_run=o.dry_run, progress=o.progress,
    )  # fmt: skip


_TYPES = {"categorical": "categorical", "int": "int", "float": "float"}


def _ingest_studies(
    store: Store,
    studies: list[Study],
    *,
    src: str,
    checksum: str | None,
    space: str | None,
    task: str | None,
    strict: bool,
    dry_run: bool,
    progress: Progress,
) -> IngestReport:
    """Each Optuna study into its own space (named after it, typed by its distributions).

    All studies commit together or not at all; with several, each is its own batch. A
    space imported before keeps its definition.
    """
    studies, notes = _with_values(studies, src)
    many = len(studies) > 1
    reports = []
    with store.transaction():
        for study in studies:
            table = study.runs
            if task is not None:
                table, _ = apply_mapping(table, {}, task=task, source=src)
            name = space or (study.space["name"] if study.space else None)
            if study.space is not None and name is not None and not dry_run:
                types = {hp["name"]: _TYPES[hp["type"]] for hp in study.space["hyperparameters"]}
                store.add_space(
                    study.space["name"], study.space, source="optuna", replace=False,
                    param_types=(name, types),
                )  # fmt: skip
            reports.append(
                store.add_runs(
                    table,
                    source=f"{src} (study {study.name})" if many else src,
                    format="optuna",
                    checksum=f"{checksum}#{study.name}" if many and checksum else checksum,
                    space=name,
                    curves=study.curves,
                    strict=strict,
                    dry_run=dry_run,
                    progress=progress,
                )  # fmt: skip
            )
    return dataclasses.replace(_merged(reports, src, dry_run), notes=notes)


def _with_values(studies: list[Study], src: str) -> tuple[list[Study], tuple[str, ...]]:
    """The studies with a trial that finished with a value, and a note for each other one.

    Raises:
        IngestError: no study has such a trial.
    """
    keep = [s for s in studies if any(c.startswith("metric.") for c in s.runs.column_names)]
    skipped = [s for s in studies if s not in keep]
    if not keep:
        raise IngestError(
            f"{src}: expected a study with a trial that finished with a value, got only failed "
            f"or unfinished trials (studies {', '.join(s.name for s in skipped)}); "
            "nothing to ingest"
        )
    return keep, tuple(
        f"note: study {s.name!r} skipped: none of its {s.runs.num_rows} trial(s) finished "
        "with a value"
        for s in skipped
    )


def _merged(reports: list[IngestReport], src: str, dry_run: bool) -> IngestReport:
    batches = [r.batch for r in reports if r.batch is not None]
    reasons: dict[str, int] = {}
    for r in reports:
        for reason, n in r.reasons:
            reasons[reason] = reasons.get(reason, 0) + n
    return IngestReport(
        source=src, format="optuna", accepted=sum(r.accepted for r in reports),
        duplicates=sum(r.duplicates for r in reports), rejected=sum(r.rejected for r in reports),
        batch=max(batches) if batches else None, tasks=sum(r.tasks for r in reports),
        curve_points=sum(r.curve_points for r in reports),
        reasons=tuple(sorted(reasons.items(), key=lambda rn: -rn[1])), dry_run=dry_run,
        space=", ".join(dict.fromkeys(r.space for r in reports if r.space)),
        moved=tuple(m for r in reports for m in r.moved),
        elsewhere=tuple(e for r in reports for e in r.elsewhere),
    )  # fmt: skip


def _mapped_task(mapping: dict[str, Any] | None) -> str | None:
    spec = (mapping or {}).get("task")
    if isinstance(spec, dict):
        return spec.get("column")
    return spec if isinstance(spec, str) else None


for _fmt in dict.fromkeys(TABLE_FORMATS.values()):
    register_reader(_fmt, _ingest_table)
register_reader("mlflow", _ingest_mlflow)
register_reader("optuna", _ingest_optuna)
FORMATS = tuple(READERS)  # the built-in formats
