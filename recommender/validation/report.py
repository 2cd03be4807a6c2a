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

from recommender.errors import RecommenderError, option

if TYPE_CHECKING:
    from recommender.validation.runner import ValidationOutcome, ValidationReport

_COLOURS = {"recommended": "#1b7837", "default": "#2166ac", "random": "#999999"}
# Recommended configs by rank: darker green and a solid line first, so rank reads at a glance.
_RANK_GREENS = ("#00441b", "#1b7837", "#5aae61", "#a6dba0", "#7fbc41", "#4d9221")
_RANK_STYLES = ("-", "--", "-.", ":")
_RANK_MARKERS = ("o", "s", "^", "D", "v", "P")
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
        _png(curves_figure(report.outcomes, report.metric, f"{report.metric} (higher is better)")),
        _png(curves_figure(report.outcomes, "val_loss", "validation loss")),
    ]
    lines = ", ".join(dict.fromkeys(_line(o)[0] for o in report.outcomes))
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Query {report.query_id if report.query_id is not None else '-'}, "
        f"model {report.model_id if report.model_id is not None else '-'}. "
        "Recommended configurations are green (darker and solid for a better rank, each "
        "named by its rank), the space default blue, random ones grey.</p>",
        f"<p>{html.escape(split_note(report.outcomes))}</p>",
        *(
            f"<img alt='learning curves: {html.escape(lines)}' src='data:image/png;base64,{p}'>"
            for p in plots
        ),
        _table(report.outcomes),
        "</body></html>",
    ]
    return "\n".join(parts)


def curves_figure(outcomes: list[ValidationOutcome], key: str, label: str) -> Any:
    """A matplotlib figure of each outcome's ``key`` by epoch (whole-number ticks), each
    recommended config drawn and named by its rank."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise RecommenderError(
            f"{option('report')} needs matplotlib: pip install 'recommender[report]'"
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
        xs, ys = zip(*points, strict=True)
        name, style = _line(o)
        ax.plot(xs, ys, markersize=4, label=None if name in seen else name, **style)
        seen.add(name)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole
    ax.set_xlabel("epoch")
    ax.set_ylabel(label)
    if seen:
        ax.legend()
    ax.grid(alpha=0.3)
    return fig


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _line(o: ValidationOutcome) -> tuple[str, dict[str, Any]]:
    """A curve's legend label and line style: each recommended config by its rank."""
    source, rank = o.planned.source, o.planned.rank
    if source != "recommended" or rank is None:
        return source, {"color": _COLOURS.get(source, "#762a83"), "linewidth": 1, "marker": "o"}
    i = max(int(rank) - 1, 0)
    return f"recommended #{rank}", {
        "color": _RANK_GREENS[i % len(_RANK_GREENS)],
        "linestyle": _RANK_STYLES[i % len(_RANK_STYLES)],
        "marker": _RANK_MARKERS[i % len(_RANK_MARKERS)],
        "linewidth": 2,
    }


def split_note(outcomes: list[ValidationOutcome]) -> str:
    """How many rows every value and validation curve was measured on."""
    sizes = sorted({(o.result.n_train, o.result.n_val) for o in outcomes if o.result.n_val})
    if not sizes:
        return "Validation split: unknown (no configuration finished its split)."
    if len(sizes) > 1:
        held = ", ".join(f"{v} of {t + v}" for t, v in sizes)
        return f"Validation split: {held} rows held out (it differed between configurations)."
    n_train, n_val = sizes[0]
    share = 100 * n_val / (n_train + n_val)
    return (
        f"Validation split: {n_val} of {n_train + n_val} rows ({share:.0f} %) held out, the "
        "same rows for every configuration; every value and validation curve here is "
        "measured on them."
    )


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
