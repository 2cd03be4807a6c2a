"""An Optuna sampler that starts from our recommendations and adapts to each result.

>>> import optuna  # doctest: +SKIP
>>> from recommender.tuning.sampler import RecommenderSampler  # doctest: +SKIP
>>> sampler = RecommenderSampler("tabular_mlp", dataset="train.csv", target="y")  # doctest: +SKIP
>>> study = optuna.create_study(direction="maximize", sampler=sampler)  # doctest: +SKIP
>>> study.optimize(objective, n_trials=20)  # doctest: +SKIP

When a trial starts, the sampler proposes one configuration of the whole space (the
zero-shot top picks first, then the few-shot model's pick given the study's finished
trials, with its running trials as pending) and stores it with the trial, so that other
workers of the study (threads, processes on one RDB storage) see it and propose other
configurations: a trial waits for the proposals of the trials started before it. Each
``trial.suggest_*`` of a parameter the space knows is answered with the proposal's value,
inside the part of the asked distribution that the store knows
(:mod:`recommender.tuning.overlap`). A parameter the space does not know, or asked
with a distribution that shares nothing with the space's (a categorical parameter asked
as a float, bounds entirely outside the space's), is sampled at random; this, and asked
choices or bounds the store knows only in part, are warned of once per study and
parameter. :func:`suggest_config` asks a trial for every parameter of a space, for an
objective that trains the whole space.
"""

from __future__ import annotations

import datetime
import math
import threading
import time
import warnings
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from recommender.fewshot.surrogate import FewShotSurrogate
from recommender.fewshot.tuner import FewShotTuner, Suggestion
from recommender.spaces.space import Space
from recommender.tuning.overlap import (
    Overlap,
    constrainer,
    finite_values,
    fit,
    into,
    mismatch_note,
    overlap,
    study_distributions,
    unknown_note,
)

if TYPE_CHECKING:
    import pandas as pd

ZERO_SHOT_K = 5
# A trial's proposal is stored with it under this system attribute: {"config", "source"}.
PROPOSAL = "recommender:proposal"
# A trial waits for the proposals of earlier running trials that started less than this
# long ago (a proposal takes well under it); an older one without a proposal was started
# by another sampler or a process that died.
WAIT_S = 10.0
_POLL_S = 0.01
_RUNNING = (TrialState.RUNNING, TrialState.WAITING)


@dataclass
class _StudyState:
    """What the sampler keeps for one study."""

    proposals: dict[int, Suggestion | None] = field(default_factory=dict)  # by trial id
    sources: dict[int, str] = field(default_factory=dict)  # by trial number
    overlaps: dict[tuple[str, BaseDistribution], Overlap | None] = field(default_factory=dict)
    warned: set[str] = field(default_factory=set)


class RecommenderSampler(BaseSampler):
    """Few-shot sampler over a known space, warm-started by the store's recommendations.

    Args:
        space: the space's name in the store (as given to ``retrain``).
        metafeatures: OpenML-named meta-features of the task, if known.
        dataset: a pandas DataFrame, a dataset file or a bundled dataset such as
            ``"sklearn:iris"`` to compute them from instead (with ``target``).
        target: the dataset's target column (default: target/label/class/y, else the last).
        db: the store (default: ``$RECOMMENDER_DB`` or the user's data directory).
        seed: makes the suggestions reproducible.

    Raises:
        SpaceError: unknown space.
        ModelError: the store has no trained model for the space.
        DatasetError: the dataset cannot be read or described.
        InvalidArgumentError: ``dataset`` is neither a DataFrame nor a path.
    """

    def __init__(
        self,
        space: str,
        metafeatures: dict[str, float] | None = None,
        dataset: pd.DataFrame | str | Path | None = None,
        target: str | None = None,
        db: str | Path | None = None,
        seed: int | None = None,
    ) -> None:
        from recommender.fewshot.store_model import load_tuner_parts

        parts = load_tuner_parts(
            space, metafeatures=metafeatures, dataset=dataset, target=target, db=db
        )
        self._init(parts.surrogate, parts.metafeatures, parts.zero_shot, seed, parts.prior)

    @classmethod
    def from_surrogate(
        cls,
        surrogate: FewShotSurrogate,
        *,
        metafeatures: dict[str, float] | None = None,
        zero_shot: Sequence[dict[str, Any]] = (),
        seed: int | None = None,
        prior: Mapping[str, float] | None = None,
    ) -> RecommenderSampler:
        """A sampler over a fitted surrogate, without a store (benchmarks, tests); ``prior``
        as :class:`~recommender.fewshot.tuner.FewShotTuner` takes it."""
        self = cls.__new__(cls)
        self._init(surrogate, metafeatures, zero_shot, seed, prior)
        return self

    def _init(
        self,
        surrogate: FewShotSurrogate,
        metafeatures: dict[str, float] | None,
        zero_shot: Sequence[dict[str, Any]],
        seed: int | None,
        prior: Mapping[str, float] | None = None,
    ) -> None:
        self._surrogate, self._metafeatures = surrogate, metafeatures
        self._prior = dict(prior) if prior else None
        self._zero_shot = list(zero_shot)
        self._space = surrogate.space_
        self._seed = seed
        self._random = RandomSampler(seed=seed)
        self._rng = np.random.default_rng(seed)
        self._tuners: dict[bool, FewShotTuner] = {}
        self._lock = threading.RLock()
        # Per study: keyed by the storage object (weakly) and the study's id in it, since
        # every in-memory study has id 0 in its own storage.
        self._studies: weakref.WeakKeyDictionary[Any, dict[int, _StudyState]] = (
            weakref.WeakKeyDictionary()
        )
        self._latest = _StudyState()

    @property
    def sources(self) -> dict[int, str]:
        """Trial number -> ``recommended`` or ``adaptive``, in the study sampled last."""
        return self._latest.sources

    def reseed_rng(self) -> None:
        self._random.reseed_rng()
        self._rng = np.random.default_rng()

    # -- BaseSampler -------------------------------------------------------------------
    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        """Propose the trial's configuration once earlier trials have theirs; store it."""
        self._raise_error_if_multi_objective(study)
        state = self._state(study)
        trials = _after_earlier_proposals(study, trial)
        with self._lock:
            proposal = self._proposal(state, study, trial, trials)
        stored: dict[str, Any] = {}
        if proposal is not None:
            stored = {"config": _plain(proposal.config), "source": proposal.source}
        study._storage.set_trial_system_attr(trial._trial_id, PROPOSAL, stored)

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        """Nothing: the joint proposal is made in :meth:`before_trial`."""
        return {}

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return {}

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        """The proposal's value inside the asked distribution, else a random value."""
        state = self._state(study)
        ov = self._overlap(state, param_name, param_distribution)
        value = None
        if ov is not None:
            with self._lock:
                proposal = self._proposal(state, study, trial, None)
            if proposal is not None and param_name in proposal.config:
                p = self._space.param(param_name)
                value = into(proposal.config[param_name], ov, p, param_distribution)
        if value is None:
            return self._fallback(study, trial, param_name, param_distribution)
        return fit(value, param_distribution)

    def _fallback(self, study: Study, trial: FrozenTrial, name: str, dist: BaseDistribution) -> Any:
        """A value the store cannot propose: at random over a continuous range; over a
        finite one, among the values least used by the trials that agree with this one on
        every parameter it has so far, so configurations do not repeat while others remain."""
        values = finite_values(dist)
        if values is None:
            return self._random.sample_independent(study, trial, name, dist)
        counts = dict.fromkeys(values, 0)
        for t in study.get_trials(deepcopy=False):
            if t.number != trial.number and t.params.get(name) in counts:
                if all(t.params.get(k) == v for k, v in trial.params.items()):
                    counts[t.params[name]] += 1
        fewest = min(counts.values())
        least = [v for v in values if counts[v] == fewest]
        return least[int(self._rng.integers(len(least)))]

    # -- per study ---------------------------------------------------------------------
    def _state(self, study: Study) -> _StudyState:
        with self._lock:
            per_storage = self._studies.setdefault(study._storage, {})
            self._latest = per_storage.setdefault(study._study_id, _StudyState())
            return self._latest

    def _overlap(self, state: _StudyState, name: str, dist: BaseDistribution) -> Overlap | None:
        """What the store knows of ``name`` asked as ``dist``; warns once per study and name."""
        key = (name, dist)
        if key in state.overlaps:
            return state.overlaps[key]
        note = None
        if name not in self._space.names:
            ov, note = None, unknown_note(self._space.name, name, self._space.names)
        else:
            p = self._space.param(name)
            ov = overlap(p, dist)
            if ov is None or ov.partial:
                note = mismatch_note(self._space.name, p, dist, ov)
        state.overlaps[key] = ov
        if note is not None and name not in state.warned:
            state.warned.add(name)
            warnings.warn(note, stacklevel=5)  # the objective's trial.suggest_* line
        return ov

    # -- the joint proposal of a trial --------------------------------------------------
    def _proposal(
        self,
        state: _StudyState,
        study: Study,
        trial: FrozenTrial,
        trials: list[FrozenTrial] | None,
    ) -> Suggestion | None:
        """The trial's proposal, made on first use from the study's ``trials``."""
        if trial._trial_id not in state.proposals:
            if trials is None:
                trials = study.get_trials(deepcopy=False)
            proposal = self._propose(state, study, trial, trials)
            state.proposals[trial._trial_id] = proposal
            if proposal is not None:
                state.sources[trial.number] = proposal.source
        return state.proposals[trial._trial_id]

    def _propose(
        self, state: _StudyState, study: Study, trial: FrozenTrial, trials: list[FrozenTrial]
    ) -> Suggestion | None:
        known = set(self._space.names)
        asked = {
            name: (ov, dist)
            for name, dist in study_distributions(trials, known).items()
            if (ov := self._overlap(state, name, dist)) is not None
        }
        fixed = self._given(state, trial, asked)  # enqueued values, ones asked already
        observed, pending, seen = self._history(state, trial, trials, asked)
        # Once the study has shown which parameters the objective asks for, the others
        # are held at their defaults (conditional ones too), so two configs differing only
        # there count as one.
        project = {p.name: p.default for p in self._space.params} if asked else None
        seed = None if self._seed is None else [self._seed, trial.number]
        return self._tuner(study).suggest(
            observed, pending=pending, seen=seen, rng=np.random.default_rng(seed),
            constrain=constrainer(self._space, asked, fixed, project),
            constrain_key=(tuple(sorted(asked.items(), key=lambda kv: kv[0])),
                           tuple(sorted(fixed.items())), project is None),
        )  # fmt: skip

    def _history(
        self,
        state: _StudyState,
        trial: FrozenTrial,
        trials: list[FrozenTrial],
        asked: dict[str, Any],
    ) -> tuple[list[tuple[dict[str, Any], float]], list[dict[str, Any]], list[dict[str, Any]]]:
        """The other trials as the tuner takes them: finished ``(config, value)``, running
        (pending) and failed, pruned or valueless configs, in the space's values."""
        observed: list[tuple[dict[str, Any], float]] = []
        pending: list[dict[str, Any]] = []
        seen: list[dict[str, Any]] = []
        for t in trials:
            if t.number == trial.number or t.user_attrs.get("retry"):
                continue  # a trial an error outside its config stopped is queued again
            params = self._given(state, t, asked)
            if t.state == TrialState.COMPLETE and t.value is not None and math.isfinite(t.value):
                observed.append((params, float(t.value)))
                continue
            # Its proposal, as far as the objective asks for it, and what it was given.
            planned = (t.system_attrs.get(PROPOSAL) or {}).get("config") or {}
            planned = {k: v for k, v in planned.items() if not asked or k in asked}
            (pending if t.state in _RUNNING else seen).append({**planned, **params})
        return observed, pending, seen

    def _given(
        self, state: _StudyState, trial: FrozenTrial, asked: dict[str, Any]
    ) -> dict[str, Any]:
        """A trial's values (enqueued, then asked) the store knows, in the space's values."""
        given = {**trial.system_attrs.get("fixed_params", {}), **trial.params}
        dists = {**{k: d for k, (_, d) in asked.items()}, **trial.distributions}
        return self._in_space(state, given, dists)

    def _in_space(
        self, state: _StudyState, params: dict[str, Any], dists: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        """``params`` as values of the space, for those the store knows."""
        out = {}
        for name, value in params.items():
            dist = dists.get(name)
            ov = None if dist is None else self._overlap(state, name, dist)
            if ov is not None and (v := into(value, ov, self._space.param(name), dist)) is not None:  # type: ignore[arg-type]
                out[name] = v
        return out

    def _tuner(self, study: Study) -> FewShotTuner:
        maximize = study.direction == StudyDirection.MAXIMIZE
        if maximize not in self._tuners:
            self._tuners[maximize] = FewShotTuner(
                self._surrogate, metafeatures=self._metafeatures,
                zero_shot=self._zero_shot, maximize=maximize, prior=self._prior,
            )  # fmt: skip
        return self._tuners[maximize]


def suggest_config(trial: Any, space: Space) -> dict[str, Any]:
    """Ask ``trial`` for each active parameter of ``space`` with the space's bounds.

    A conditional parameter is asked for only when its parent's value activates it, so
    the configuration is valid as it is.
    """
    config: dict[str, Any] = {}
    for p in space.params:
        if not space.is_active(p, config):
            continue
        if p.type == "int":
            config[p.name] = trial.suggest_int(p.name, int(p.low), int(p.high), log=p.log)  # type: ignore[arg-type]
        elif p.type == "float":
            config[p.name] = trial.suggest_float(p.name, p.low, p.high, log=p.log)
        else:
            config[p.name] = trial.suggest_categorical(p.name, list(p.choices))
    return config


def _after_earlier_proposals(study: Study, trial: FrozenTrial) -> list[FrozenTrial]:
    """The study's trials, once each earlier running trial has stored its proposal (or
    started more than ``WAIT_S`` ago): a trial never proposes what an earlier one did."""
    while True:
        trials = study.get_trials(deepcopy=False)
        now = datetime.datetime.now()
        busy = [
            t
            for t in trials
            if t.number < trial.number
            and t.state == TrialState.RUNNING
            and PROPOSAL not in t.system_attrs
            and t.datetime_start is not None
            and (now - t.datetime_start).total_seconds() < WAIT_S
        ]
        if not busy:
            return trials
        time.sleep(_POLL_S)


def _plain(config: Mapping[str, Any]) -> dict[str, Any]:
    """Built-in Python values (an RDB storage stores them as JSON)."""
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in config.items()}
