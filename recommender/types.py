"""Small values passed between modules. Bulk runs move as Arrow tables or DataFrames."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Task:
    """A dataset a model was trained on."""

    name: str
    modality: str | None = None
    problem_type: str | None = None
    source: str | None = None
    n_runs: int = 0
    n_metafeatures: int = 0


@dataclass(frozen=True)
class IngestReport:
    """What one ingest did (or, with ``dry_run``, would do)."""

    source: str
    format: str
    accepted: int
    duplicates: int
    rejected: int
    batch: int | None
    tasks: int = 0
    curve_points: int = 0
    reasons: tuple[tuple[str, int], ...] = ()
    dry_run: bool = False
    space: str | None = None  # where the runs went (several: comma-separated)
    # (space, runs) of this source's runs moved here from a space named after their
    # parameters, and of those already stored in another named space (left there)
    moved: tuple[tuple[str, int], ...] = ()
    elsewhere: tuple[tuple[str, int], ...] = ()
    inferred: dict[str, Any] | None = None  # the space registered or updated from the runs
    notes: tuple[str, ...] = ()  # what was left out whole, and why (one line each)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "format": self.format,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "batch": self.batch,
            "tasks": self.tasks,
            "curve_points": self.curve_points,
            "reasons": [{"reason": r, "count": n} for r, n in self.reasons],
            "dry_run": self.dry_run,
            "space": self.space,
            "moved": [{"space": s, "count": n} for s, n in self.moved],
            "elsewhere": [{"space": s, "count": n} for s, n in self.elsewhere],
            "inferred": self.inferred,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Recommendation:
    """One recommended configuration with its predicted normalised score."""

    config: dict[str, Any]
    predicted: float
    uncertainty: float
    rank: int = 0
    source: str = "surrogate"
    explanation: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "config": self.config,
            "predicted": self.predicted,
            "uncertainty": self.uncertainty,
            "source": self.source,
            "explanation": self.explanation,
        }
