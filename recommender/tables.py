"""Plain-text tables: what the command line prints and what results show with ``print``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def format_table(
    rows: list[dict[str, Any]],
    columns: list[str] | None = None,
    *,
    details: list[list[str]] | None = None,
) -> str:
    """Rows as an aligned plain-text table under a header line (``(none)`` when empty).

    ``details``, if given, holds lines printed as they are under each row (for what is
    too wide for a column, such as a config).

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
    for i, row in enumerate(cells):
        lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
        lines.extend(details[i] if details else [])
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


def counted(n: int, noun: str) -> str:
    """``n`` and the noun, plural but for one.

    >>> counted(1, "run"), counted(3, "trial")
    ('1 run', '3 trials')
    """
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def config_lines(config: dict[str, Any], *, width: int = 100, indent: str = " " * 6) -> list[str]:
    """A config's ``name=value`` items, indented and wrapped, for the lines under its row
    in a table (:func:`format_table`'s ``details``); none is over ``width`` characters.
    Unset (``None``) parameters are left out.

    >>> config_lines({"lr": 0.001, "depth": 3, "momentum": None}, width=16, indent="  ")
    ['  lr=0.001,', '  depth=3']
    """
    items = listed(f"{k}={format_cell(v)}" for k, v in config.items() if v is not None)
    return indented(items, width=width, indent=indent)


def listed(items: Iterable[str]) -> list[str]:
    """The items with a comma after each but the last.

    >>> listed(["a", "b", "c"])
    ['a,', 'b,', 'c']
    """
    out = list(items)
    return [f"{x}," for x in out[:-1]] + out[-1:]


def indented(items: list[str], *, width: int, indent: str) -> list[str]:
    """:func:`wrap_items` in lines of at most ``width`` characters, ``indent`` included."""
    return [indent + line for line in wrap_items(items, width=width - len(indent))]


def wrap_items(items: list[str], *, width: int, sep: str = " ") -> list[str]:
    """``items`` joined by ``sep`` in lines of at most ``width`` characters.

    Lines break only between items; an item longer than a line is cut short with ``…``.

    >>> wrap_items(["a=1,", "b=22,", "c=3"], width=9)
    ['a=1,', 'b=22, c=3']
    """
    lines: list[str] = []
    for item in items:
        if len(item) > width:
            item = item[: width - 1] + "…"
        if lines and len(lines[-1]) + len(sep) + len(item) <= width:
            lines[-1] += sep + item
        else:
            lines.append(item)
    return lines
