"""Rank configurations for a task from a loaded surrogate and the task's meta-features.

No store access: :mod:`recommender.knowledge.query` finds the champion and logs the query, and
:mod:`recommender.api` is the entry point for users.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recommender.spaces.space import Space
from recommender.surrogate.model import FittedSurrogate
from recommender.surrogate.portfolio import explain, hedges, recommend_encoded, select
from recommender.tables import config_lines, format_table, indented, listed, wrap_items
from recommender.types import Recommendation

PLAIN_RULE = "portfolio"  # the rule of a model that found no per-dataset signal
PREDICTED = "predicted (normal score)"  # the table's column
PREDICTED_UNIT = (
    "the model's estimate for this dataset, as a normal score of a task's runs "
    "(0 = its median run, +1 = better than 84 % of its runs)"
)
PICKED_ON_KNOWN_TASKS = (
    "The picks are chosen on the known tasks' measured results, not on this estimate, "
    "so a hedge can be estimated higher than the first pick."
)
WIDTH = 100  # the printed table fits a terminal this wide
INDENT = " " * 6  # a pick's config and reasons, under its row


def portfolio_rule(fitted: FittedSurrogate) -> str:
    """How the model chooses its set, as ``explanation["rule"]`` holds it.

    ``"portfolio"`` when cross-validation kept the plain global portfolio (equal task
    weights, first pick by mean over the known tasks: the same configs for any dataset);
    otherwise ``"<first pick>/<weighting sharpness>"``, e.g. ``"weighted/5"`` or
    ``"surrogate/0"``, as ``retrain`` reports it.
    """
    if fitted.profile_beta == 0 and fitted.profile_first == "weighted":
        return PLAIN_RULE
    return f"{fitted.profile_first}/{fitted.profile_beta:g}"


def rule_note(fitted: FittedSurrogate) -> str:
    """The portfolio rule in words, as ``retrain`` reports it."""
    if not fitted.scaler.names:
        return "portfolio rule: plain global portfolio (the tasks have no meta-features)"
    if portfolio_rule(fitted) == PLAIN_RULE:
        return "portfolio rule: plain global portfolio (no reliable per-task signal in CV)"
    return (
        f"portfolio rule: {fitted.profile_first} first pick, "
        f"task weighting sharpness {fitted.profile_beta:g}"
    )


@dataclass
class RecommendResult:
    """Ranked recommendations and the query that produced them.

    ``print(result)`` shows the table ``recommender recommend`` prints.
    """

    query_id: int | None
    space: Space
    model_id: int | None
    recommendations: list[Recommendation]

    def as_dicts(self) -> list[dict[str, Any]]:
        """The recommendations, each as a dict (``recommendations`` in :meth:`as_dict`)."""
        return [r.as_dict() for r in self.recommendations]

    def as_dict(self) -> dict[str, Any]:
        """What ``recommender recommend --json`` prints: the space, model and query, the
        rule and its note (as the table says them), the predicted score's unit, and the
        recommendations."""
        return {
            "space": self.space.name,
            "model_id": self.model_id,
            "query_id": self.query_id,
            "rule": self.rule,
            "note": " ".join(_rule_note(self.rule, self.because)) or None,
            "predicted_unit": PREDICTED_UNIT,
            "recommendations": self.as_dicts(),
        }

    @property
    def rule(self) -> str | None:
        """The model's set-selection rule (see :func:`portfolio_rule`); None if no picks."""
        if not self.recommendations:
            return None
        return self.recommendations[0].explanation.get("rule")

    @property
    def because(self) -> str | None:
        """Why the plain portfolio answers whatever rule the model chose: ``"model"`` (it
        uses no meta-features) or ``"query"`` (none were given); else None."""
        if not self.recommendations:
            return None
        return self.recommendations[0].explanation.get("portfolio_because")

    def header(self) -> str:
        return f"space {self.space.name}, model {self.model_id}, query {self.query_id}"

    def table_rows(self) -> list[dict[str, Any]]:
        """One row per recommendation: rank, role, predicted score ± ensemble spread."""
        return [_table_row(r) for r in self.as_dicts()]

    def table(self) -> str:
        """What ``recommender recommend`` prints under the header: the rule in words, then
        each pick's row with its config (and, under weighted rules, the tasks that weigh
        most) on indented lines below it; no line is over 100 characters."""
        weighted = _weighted(self.rule)
        details = [_details(r, similar=weighted) for r in self.as_dicts()]
        note = wrap_items(_rule_note(self.rule, self.because), width=WIDTH, sep=" ")
        table = format_table(self.table_rows(), details=details)
        if self.recommendations:
            unit = f"{PREDICTED}: {PREDICTED_UNIT}, ± the ensemble's spread."
            if not self.rule or not self.rule.startswith("surrogate/"):
                unit += f" {PICKED_ON_KNOWN_TASKS}"
            table += "\n\n" + "\n".join(wrap_items(unit.split(" "), width=WIDTH, sep=" "))
        return "\n".join([*note, "", table]) if note else table

    def __str__(self) -> str:
        return f"{self.header()}\n{self.table()}"

    def __repr__(self) -> str:
        return (
            f"RecommendResult(space={self.space.name!r}, model_id={self.model_id}, "
            f"query_id={self.query_id}, {len(self.recommendations)} recommendations)"
        )


def task_prior(
    fitted: FittedSurrogate, metafeatures: dict[str, float] | None
) -> dict[str, float] | None:
    """How much each known task weighs for a new one (summing to 1), as ``recommend`` weighs
    them: by how well the task's measured ranking agrees with the surrogate's prediction for
    the new task, at the sharpness the model chose leave-task-out (all alike under the
    plain portfolio rule). ``None`` without meta-features, in the query or the model."""
    if portfolio_because(fitted, metafeatures) is not None:
        return None
    vec, _ = fitted.task_vector(metafeatures or {})
    _, weights, _ = select(fitted, vec, 0)
    return {name: float(w) for name, w in zip(fitted.task_names, weights, strict=True)}


def portfolio_because(fitted: FittedSurrogate, metafeatures: dict[str, float] | None) -> str | None:
    """``"model"`` when the model uses no meta-features, ``"query"`` when none were given:
    then the plain global portfolio answers; ``None``: the model's rule does."""
    if not fitted.scaler.names:
        return "model"
    return None if metafeatures else "query"


def recommend_with(
    fitted: FittedSurrogate, metafeatures: dict[str, float] | None, *, top_k: int = 5
) -> list[Recommendation]:
    """Recommendations from a fitted surrogate (no store access).

    The set comes from :mod:`recommender.surrogate.portfolio`; ``predicted`` and
    ``uncertainty`` are the ensemble's mean and spread for the new task, and
    ``explanation`` names the known tasks that weigh most and how each config did on
    them, and the model's set-selection ``rule`` (``"portfolio"``: the same configs for
    any dataset, because cross-validation found no per-dataset signal, or, as
    ``portfolio_because`` says, the model uses no meta-features or the query gave none;
    see :func:`portfolio_rule`).
    """
    because = portfolio_because(fitted, metafeatures)
    vec, missing = fitted.task_vector(metafeatures or {})
    X, weights, picks = recommend_encoded(fitted, vec, top_k, plain=because is not None)
    covers = hedges(fitted, picks, weights)
    members = fitted.predict_members(X, vec)
    configs = fitted.space.decode(X)
    rule = PLAIN_RULE if because else portfolio_rule(fitted)
    out = []
    for rank, config in enumerate(configs, start=1):
        why: dict[str, Any] = {
            "similar_tasks": explain(fitted, picks[rank - 1], weights, vec),
            "role": first_role(rule) if rank == 1 else "hedge",
            "hedge_for": covers[rank - 1],
            "rule": rule,
        }
        if because:
            why["portfolio_because"] = because
        elif missing:
            why["imputed_metafeatures"] = missing
        out.append(
            Recommendation(
                config=fitted.space.clip(config),
                predicted=round(float(members[:, rank - 1].mean()), 4),
                uncertainty=round(float(members[:, rank - 1].std()), 4),
                rank=rank,
                source="portfolio",
                explanation=why,
            )
        )
    return out


def first_role(rule: str) -> str:
    """The first pick's role: the surrogate's best estimate for this dataset, or the
    config that does best on the (weighted) known tasks."""
    return "best predicted" if rule.startswith("surrogate/") else "best on known tasks"


def _weighted(rule: str | None) -> bool:
    """Whether the rule weighs the known tasks unequally (a sharpness above 0)."""
    return rule is not None and rule != PLAIN_RULE and float(rule.split("/")[1]) > 0


def _rule_note(rule: str | None, because: str | None = None) -> list[str]:
    """The rule in words, as the words of one paragraph."""
    if rule is None:
        return []
    if because == "model":
        text = (
            "The model uses no meta-features (its tasks have none), so these are the configs "
            "that do best across its known tasks, the same for any dataset (scores per "
            "task: --json)."
        )
    elif because == "query":
        text = (
            "No meta-features were given, so these are the configs that do best across the "
            "model's known tasks; give a dataset or its meta-features for picks that fit it "
            "(scores per task: --json)."
        )
    elif rule == PLAIN_RULE:
        text = (
            "No per-dataset signal: in cross-validation the model could not tell which "
            "configs suit which dataset, so these are the configs that do best across its "
            "known tasks, the same for any dataset (scores per task: --json)."
        )
    else:
        first, beta = rule.split("/")
        pick = (
            "the model's best predicted config for this dataset"
            if first == "surrogate"
            else "the best on the weighted known tasks"
        )
        if float(beta) > 0:
            weigh = (
                "Known tasks weigh by how closely the model expects them to respond to the "
                f"configs as this dataset does (sharpness {beta})"
            )
        else:
            weigh = "Known tasks weigh alike (scores per task: --json)"
        text = f"{weigh}; the first pick is {pick}, each later one a hedge."
    return text.split(" ")


def _table_row(r: dict[str, Any]) -> dict[str, Any]:
    role = r["explanation"].get("role", "")
    covers = [c["task"] for c in r["explanation"].get("hedge_for") or []][:2]
    role = f"{role}: {', '.join(covers)}" if covers else role
    return {
        "rank": r["rank"],
        "role": _clip(role, WIDTH - 20),  # rank, predicted and the gaps take 20
        PREDICTED: f"{r['predicted']:+.2f} ± {r['uncertainty']:.2f}",
    }


def _details(r: dict[str, Any], *, similar: bool) -> list[str]:
    """A pick's indented lines: its config, then (``similar``) the tasks weighing most."""
    lines = config_lines(r["config"], width=WIDTH, indent=INDENT)
    tasks = r["explanation"].get("similar_tasks") or []
    if similar and tasks:
        said = listed(f"{n['task']} ({n['weight']:.2f}, {n['score_there']:+.2f})" for n in tasks)
        head = "similar tasks (weight, score there):"
        lines += indented([head, *said], width=WIDTH, indent=INDENT)
    return lines


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
