"""Map a table's own column names onto the run-table convention.

Default convention: ``task``, ``param.<name>``, ``metric.<name>``, optional
``run_id``, ``fidelity`` (or ``epoch``), ``status``, ``duration_s``.

A mapping file (JSON or TOML) names other columns::

    {
      "task": {"column": "dataset"},        # or {"value": "iris"} for one task per file
      "run_id": "trial",
      "fidelity": "epoch",
      "status": "state",
      "duration_s": "seconds",
      "params": {"lr": "learning_rate"},     # parameter name -> column
      "metrics": {"acc": "val_acc"},         # metric name -> column
      "param_prefix": "hp_",                 # every column starting so is a parameter
      "metric_prefix": "m_"                  # every column starting so is a metric
    }
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from recommender.errors import IngestError
from recommender.ingest.arrow_types import widen_big_integers

_FIELDS = ("run_id", "fidelity", "status", "duration_s", "error")
_KEYS = {"task", "params", "metrics", "param_prefix", "metric_prefix", *_FIELDS}


def load_mapping(path: str | Path) -> dict[str, Any]:
    """Read and check a mapping file (``.json`` or ``.toml``)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        if p.suffix.lower() == ".toml":
            import tomllib

            mapping = tomllib.loads(text)
        else:
            mapping = json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise IngestError(
            f"mapping {p}: expected a JSON or TOML object, got an error: {err}"
        ) from err
    if not isinstance(mapping, dict):
        raise IngestError(f"mapping {p}: expected an object, got {type(mapping).__name__}")
    unknown = sorted(set(mapping) - _KEYS)
    if unknown:
        raise IngestError(
            f"mapping {p}: unknown key(s) {unknown}; expected some of {sorted(_KEYS)}"
        )
    return mapping


def apply_mapping(
    table: pa.Table,
    mapping: dict[str, Any] | None = None,
    *,
    task: str | None = None,
    task_column: str | None = None,
    source: str = "input",
) -> tuple[pa.Table, list[str]]:
    """Rename/select columns into the convention; return the table and the ignored columns."""
    mapping = dict(mapping or {})
    cols = [c for c in table.column_names if c != "_line"]
    # One name -> index map: a lookup per column stays O(1) on files with 100k columns.
    index = {name: i for i, name in enumerate(table.column_names)}
    out: dict[str, pa.ChunkedArray] = {}
    used: set[str] = set()

    def take(column: str, as_name: str) -> None:
        if column not in index:
            shown = ", ".join(cols[:20]) + (f", ... ({len(cols)} in all)" if len(cols) > 20 else "")
            raise IngestError(f"{source}: mapped column {column!r} not found; available: {shown}")
        if as_name in out:
            raise IngestError(
                f"{source}: expected each name to come from one column, got {as_name!r} from "
                f"two (the second is {column!r}); fix the mapping"
            )
        col = table.column(index[column])
        out[as_name] = widen_big_integers(col) if as_name.startswith("param.") else col
        used.add(column)

    # task: constant > column option > mapping > convention
    spec = mapping.get("task")
    if task is not None:
        out["task"] = pa.chunked_array([pa.array([task] * table.num_rows, pa.string())])
    elif task_column is not None:
        take(task_column, "task")
    elif isinstance(spec, dict) and "value" in spec:
        out["task"] = pa.chunked_array(
            [pa.array([str(spec["value"])] * table.num_rows, pa.string())]
        )
    elif isinstance(spec, dict) and "column" in spec:
        take(str(spec["column"]), "task")
    elif isinstance(spec, str):
        take(spec, "task")
    elif "task" in cols:
        take("task", "task")

    for field in _FIELDS:
        if field in mapping:
            take(str(mapping[field]), field)
        elif field in cols:
            take(field, field)
        elif field == "fidelity" and "epoch" in cols:
            take("epoch", "fidelity")

    for kind, prefix_key in (("param", "param_prefix"), ("metric", "metric_prefix")):
        explicit = mapping.get(kind + "s") or {}
        if not isinstance(explicit, dict):
            raise IngestError(f"{source}: mapping '{kind}s' must map names to columns")
        for name, column in explicit.items():
            take(str(column), f"{kind}.{name}")
        prefix = mapping.get(prefix_key)
        if prefix is not None and not isinstance(prefix, str):
            raise IngestError(
                f"{source}: mapping '{prefix_key}' must be a text prefix such as \"hp_\", "
                f"got {prefix!r}; fix the mapping"
            )
        for c in cols:
            if c in used:
                continue
            if prefix and c.startswith(prefix) and len(c) > len(prefix):
                take(c, f"{kind}.{c[len(prefix) :]}")
            elif not explicit and not prefix and c.startswith(kind + "."):
                take(c, c)
    out["_line"] = table.column(index["_line"])
    ignored = [c for c in cols if c not in used]
    return pa.table(out), ignored
