"""The values of a tune: its trials, progress and result, and how a study's trials read.

:mod:`~recommender.tuning.loop` runs a tune; :mod:`~recommender.tuning.workers` trains its
trials; both speak of them in these terms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from recommender.errors import RecommenderError

if TYPE_CHECKING:
    import optuna

SOURCE = "tune"
INTERRUPTED = "interrupted"  # status of a trial stopped before its run finished
DUPLICATE = "duplicate"  # status of a trial dropped untrained: its config was training already


class TuneInterrupted(RecommenderError, KeyboardInterrupt):
    """Ctrl-C stopped a tune; the trials that finished are stored and in the study."""


@dataclass
class TuneTrial:
    """One trial of a study: its configuration, result and where the configuration came from."""

    number: int
    config: dict[str, Any]
    value: float | None
    status: str  # ok | pruned | failed | diverged | interrupted
    source: str  # recommended | adaptive
    duration_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "config": self.config, "value": self.value,
                "status": self.status, "source": self.source}  # fmt: skip


@dataclass
class TuneProgress:
    """Where a tune stands after a trial: trials done of the budget, best, time left."""

    done: int
    budget: int
    best: TuneTrial | None
    eta_s: float


@dataclass
class TuneResult:
    """Every trial of the study (earlier calls included), in order."""

    task: str
    space: str
    study: str
    storage: str | None
    metric: str
    trials: list[TuneTrial] = field(default_factory=list)

    @property
    def best(self) -> TuneTrial | None:
        return best_of(self.trials)

    def as_dict(self) -> dict[str, Any]:
        best = self.best
        return {
            "task": self.task, "space": self.space, "study": self.study, "metric": self.metric,
            "best": None if best is None else {"config": best.config, "value": best.value},
            "trials": [t.as_dict() for t in self.trials],
        }  # fmt: skip


OnTrial = Callable[[TuneTrial, TuneProgress], None]
OnNote = Callable[[str], None]


def best_of(trials: list[TuneTrial]) -> TuneTrial | None:
    done = [t for t in trials if t.status == "ok" and t.value is not None]
    return max(done, key=lambda t: t.value or 0.0) if done else None


def counts(t: optuna.trial.FrozenTrial) -> bool:
    """A trial counts against the budget once trained (ok, pruned or failed, not interrupted)."""
    from optuna.trial import TrialState

    done = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)
    return t.state in done and t.user_attrs.get("status", DUPLICATE) != DUPLICATE


def shown(t: optuna.trial.FrozenTrial) -> bool:
    """Every trial but those stopped by an error outside their config (retried instead)."""
    return not t.user_attrs.get("retry")


def tune_trial(t: optuna.trial.FrozenTrial) -> TuneTrial:
    from optuna.trial import TrialState

    if t.state == TrialState.COMPLETE:
        status = "ok"
    elif t.state == TrialState.FAIL:
        status = str(t.user_attrs.get("status", INTERRUPTED))
    else:
        status = t.state.name.lower()
    return TuneTrial(
        number=t.number, config=dict(t.params), value=t.value, status=status,
        source=str(t.user_attrs.get("source", "adaptive")),
        duration_s=t.user_attrs.get("duration_s"),
    )  # fmt: skip
