from __future__ import annotations

import pytest

from recommender.training.common import TrainResult
from recommender.validation.plan import PlannedConfig
from recommender.validation.report import curves_figure, split_note
from recommender.validation.runner import ValidationOutcome

pytest.importorskip("matplotlib")


def _outcome(source: str, rank: int | None, epochs: int, base: float) -> ValidationOutcome:
    curve = [
        {"epoch": e, "val_loss": 1.0 / e, "val_balanced_accuracy": base + 0.01 * e}
        for e in range(1, epochs + 1)
    ]
    result = TrainResult("ok", "val_balanced_accuracy", curve[-1]["val_balanced_accuracy"], 3,
                         curve).with_split(160, 40)  # fmt: skip
    return ValidationOutcome(PlannedConfig(source, {}, None, rank), result, f"{source}{rank}")


def test_curves_have_whole_epoch_ticks_and_rank_named_recommendations() -> None:
    import matplotlib.pyplot as plt

    outcomes = [_outcome("recommended", r, 3, 0.5 + 0.1 * r) for r in (1, 2, 3)]
    outcomes += [_outcome("default", None, 3, 0.4), _outcome("random", None, 3, 0.3)]
    outcomes += [_outcome("random", None, 3, 0.2)]
    fig = curves_figure(outcomes, "val_balanced_accuracy", "accuracy")
    ax = fig.axes[0]
    fig.canvas.draw()
    ticks = [t for t in ax.get_xticks() if 1 <= t <= 3]
    assert ticks and all(float(t).is_integer() for t in ticks)  # no 1.5, 2.5
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["recommended #1", "recommended #2", "recommended #3", "default", "random"]
    styles = {(ln.get_color(), ln.get_linestyle()) for ln in ax.get_lines()[:3]}
    assert len(styles) == 3  # each rank drawn its own way
    plt.close(fig)


def test_split_note_gives_the_held_out_rows() -> None:
    outcomes = [_outcome("recommended", 1, 2, 0.5), _outcome("default", None, 2, 0.4)]
    assert split_note(outcomes) == (
        "Validation split: 40 of 200 rows (20 %) held out, the same rows for every "
        "configuration; every value and validation curve here is measured on them."
    )
