"""A self-contained HTML report of one validation: learning curves and a results table.

Plots are matplotlib PNGs embedded as base64, so the file needs nothing else to open.
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.errors import RecommenderError

if TYPE_CHECKING:
    from recommender.validation.runner import ValidationOutcome, ValidationReport

_COLOURS = {"recommended": "#1b7837", "default": "#2166ac", "random": "#999999"}
_STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:70em}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;"
    "text-align:left;font-size:.9em}th{background:#eee}img{max-width:100%}"
)


def write_report(report: ValidationReport, path: str | Path) -> Path:
    """Write ``report`` as one HTML file with inline plots.

    Raises:
        RecommenderError: matplotlib missing, or the file cannot be written.
    """
    out = Path(path)
    body = render_html(report)
    try:
        out.write_text(body, encoding="utf-8")
    except OSError as err:
        raise RecommenderError(
            f"report {out}: cannot write ({err.strerror}); pick another path"
        ) from err
    return out


def render_html(report: ValidationReport) -> str:
    """The report as an HTML string."""
    title = f"Validation of {report.space} on {report.task}"
    plots = [
        _plot(report.outcomes, report.metric, f"{report.metric} (higher is better)"),
        _plot(report.outcomes, "val_loss", "validation loss"),
    ]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Query {report.query_id if report.query_id is not None else '-'}, "
        f"model {report.model_id if report.model_id is not None else '-'}. "
        "Recommended configurations are green, the space default blue, random ones grey.</p>",
        *(f"<img alt='learning curves' src='data:image/png;base64,{p}'>" for p in plots),
        _table(report.outcomes),
        "</body></html>",
    ]
    return "\n".join(parts)


def _plot(outcomes: list[ValidationOutcome], key: str, label: str) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise RecommenderError(
            "--report needs matplotlib: pip install 'recommender[report]'"
        ) from err
    fig, ax = plt.subplots(figsize=(8, 4.5))
    seen: set[str] = set()
    for o in outcomes:
        points = [
            (row["epoch"], row[key])
            for row in o.result.curve
            if key in row and math.isfinite(row[key])
        ]
        if not points:
            continue
        source = o.planned.source
        xs, ys = zip(*points, strict=True)
        ax.plot(
            xs, ys, marker="o", markersize=3, color=_COLOURS.get(source, "#762a83"),
            linewidth=2 if source == "recommended" else 1,
            label=None if source in seen else source,
        )  # fmt: skip
        seen.add(source)
    ax.set_xlabel("epoch")
    ax.set_ylabel(label)
    if seen:
        ax.legend()
    ax.grid(alpha=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _table(outcomes: list[ValidationOutcome]) -> str:
    head = ["source", "rank", "status", "value", "best epoch", "epochs", "time (s)", "config"]
    rows = ["<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for o in outcomes:
        r = o.result
        cells: list[Any] = [
            o.planned.source, o.planned.rank, r.status if not r.error else f"{r.status}: {r.error}",
            r.value, r.best_epoch, r.epochs, r.duration_s,
            ", ".join(f"{k}={_fmt(v)}" for k, v in o.planned.config.items() if v is not None),
        ]  # fmt: skip
        rows.append("<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in cells) + "</tr>")
    rows.append("</table>")
    return "\n".join(rows)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
