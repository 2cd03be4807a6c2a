"""Plain-text tables: what the command line prints and what results show with ``print``."""

from __future__ import annotations

from typing import Any


def format_table(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    """Rows as an aligned plain-text table under a header line (``(none)`` when empty).

    >>> print(format_table([{"a": 1, "b": 0.5}, {"a": 10, "b": None}]))
    a   b
    --  ---
    1   0.5
    10  -
    """
    if not rows:
        return "(none)"
    columns = columns or list(rows[0])
    cells = [[format_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def format_cell(value: Any) -> str:
    """One cell: ``-`` for None, 4 significant digits for floats, ``k=v, ...`` for dicts."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={format_cell(v)}" for k, v in value.items())
    return str(value)
