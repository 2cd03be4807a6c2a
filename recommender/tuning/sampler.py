"""An Optuna sampler that starts from our recommendations and adapts to each result.

>>> import optuna  # doctest: +SKIP
>>> from recommender.tuning.sampler import RecommenderSampler  # doctest: +SKIP
>>> sampler = RecommenderSampler("tabular_mlp", dataset="train.csv", target="y")  # doctest: +SKIP
>>> study = optuna.create_study(direction="maximize", sampler=sampler)  # doctest: +SKIP
>>> study.optimize(objective, n_trials=20)  # doctest: +SKIP

For each trial the sampler proposes one configuration of the whole space (the zero-shot
top-1 first, then the few-shot surrogate's expected-improvement pick given the study's
finished trials) and answers each ``trial.suggest_*`` of a parameter the space knows with
its value, clipped to the bounds the objective asks for. Parameters the space does not
know are sampled at random (with a warning, once per name). :func:`suggest_config` asks a
trial for every parameter of a space, for an objective that trains the whole space.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import BaseSampler, RandomSampler
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from recommender.fewshot.surrogate import FewShotSurrogate
from recommender.fewshot.tuner import FewShotTuner, Suggestion
from recommender.spaces.space import Space

ZERO_SHOT_K = 5
_SEEN_STATES = (TrialState.RUNNING, TrialState.WAITING, TrialState.FAIL, TrialState.PRUNED)


class RecommenderSampler(BaseSampler):
    """Few-shot sampler over a known space, warm-started by the store's recommendations.

    Args:
        space: the space's name in the store (as given to ``retrain``).
        metafeatures: OpenML-named meta-features of the task, if known.
        dataset: a dataset file to compute them from instead (with ``target``).
        target: the dataset's target column.
        db: the store (default: ``$RECOMMENDER_DB`` or the user's data directory).
        seed: makes the suggestions reproducible.

    Raises:
        SpaceError: unknown space.
        ModelError: the store has no trained model for the space.
        DatasetError: the dataset cannot be read or described.
    """

    def __init__(
        self,
        space: str,
        metafeatures: dict[str, float] | None = None,
        dataset: str | Path | None = None,
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
        self._tuners: dict[bool, FewShotTuner] = {}
        self._cache: dict[tuple[int, int], Suggestion | None] = {}
        self._warned: set[str] = set()
        self.sources: dict[int, str] = {}  # trial number -> recommended | adaptive

    def reseed_rng(self) -> None:
        self._random.reseed_rng()

    # -- BaseSampler -------------------------------------------------------------------
    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        """The space's parameters that every finished trial used, with the study's bounds."""
        self._raise_error_if_multi_objective(study)
        known = set(self._space.names)
        out: dict[str, BaseDistribution] | None = None
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            dists = {k: v for k, v in t.distributions.items() if k in known}
            out = dists if out is None else {k: v for k, v in out.items() if dists.get(k) == v}
        return {k: v for k, v in (out or {}).items() if not v.single()}

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        suggestion = self._suggestion(study, trial, search_space)
        if suggestion is None:
            return {}
        return {
            name: _fit(suggestion.config[name], dist)
            for name, dist in search_space.items()
            if name in suggestion.config
        }

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        if param_name not in self._space.names:
            if param_name not in self._warned:
                self._warned.add(param_name)
                warnings.warn(
                    f"RecommenderSampler: space {self._space.name} has no parameter "
                    f"{param_name!r}; sampling it at random",
                    stacklevel=2,
                )
            return self._random_value(study, trial, param_name, param_distribution)
        suggestion = self._suggestion(study, trial, {param_name: param_distribution})
        if suggestion is None or param_name not in suggestion.config:
            return self._random_value(study, trial, param_name, param_distribution)
        return _fit(suggestion.config[param_name], param_distribution)

    # -- the joint suggestion of a trial -----------------------------------------------
    def _suggestion(
        self, study: Study, trial: FrozenTrial, dists: dict[str, BaseDistribution]
    ) -> Suggestion | None:
        key = (study._study_id, trial.number)
        if key not in self._cache:
            self._cache[key] = self._suggest(study, trial, dists)
            if self._cache[key] is not None:
                self.sources[trial.number] = self._cache[key].source  # type: ignore[union-attr]
        return self._cache[key]

    def _suggest(
        self, study: Study, trial: FrozenTrial, dists: dict[str, BaseDistribution]
    ) -> Suggestion | None:
        known = set(self._space.names)
        bounds = {**_study_distributions(study, known), **dists}
        fixed = {k: v for k, v in trial.params.items() if k in known}
        observed, seen = [], []
        for t in study.get_trials(deepcopy=False):
            if t.number == trial.number or t.user_attrs.get("retry"):
                continue  # a trial an error outside its config stopped is queued again
            params = {k: v for k, v in t.params.items() if k in known}
            if t.state == TrialState.COMPLETE and t.value is not None and math.isfinite(t.value):
                observed.append((params, float(t.value)))
            elif t.state in _SEEN_STATES or t.state == TrialState.COMPLETE:
                seen.append(params)
        # Once the study has shown which parameters the objective asks for, the others
        # are held at their defaults, so two configs differing only there count as one.
        project = self._space.default_config() if observed or seen else None
        maximize = study.direction == StudyDirection.MAXIMIZE
        if maximize not in self._tuners:
            self._tuners[maximize] = FewShotTuner(
                self._surrogate, metafeatures=self._metafeatures,
                zero_shot=self._zero_shot, maximize=maximize, prior=self._prior,
            )  # fmt: skip
        seed = None if self._seed is None else [self._seed, trial.number]
        return self._tuners[maximize].suggest(
            observed, seen=seen, rng=np.random.default_rng(seed),
            constrain=_constrainer(bounds, fixed, project),
            constrain_key=(tuple(sorted(bounds.items(), key=lambda kv: kv[0])),
                           tuple(sorted(fixed.items())), project is None),
        )  # fmt: skip

    def _random_value(
        self, study: Study, trial: FrozenTrial, name: str, dist: BaseDistribution
    ) -> Any:
        return self._random.sample_independent(study, trial, name, dist)


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


def _study_distributions(study: Study, known: set[str]) -> dict[str, BaseDistribution]:
    """The latest distribution the study used for each known parameter."""
    out: dict[str, BaseDistribution] = {}
    for t in study.get_trials(deepcopy=False):
        out.update({k: v for k, v in t.distributions.items() if k in known})
    return out


def _constrainer(
    dists: dict[str, BaseDistribution], fixed: dict[str, Any], project: dict[str, Any] | None
) -> Any:
    """Map a config into the study's bounds: fixed values win, numbers are clipped,
    a categorical value the study does not offer rejects the config, and (with
    ``project``) parameters the study never asks for take their default."""

    def constrain(config: dict[str, Any]) -> dict[str, Any] | None:
        out = dict(config)
        for name, value in config.items():
            if project is not None and name not in dists and name not in fixed:
                out[name] = project.get(name, value)
            elif name in fixed:
                out[name] = fixed[name]
            elif name in dists:
                dist = dists[name]
                if isinstance(dist, CategoricalDistribution) and value not in dist.choices:
                    return None
                out[name] = _fit(value, dist)
        return out

    return constrain


def _fit(value: Any, dist: BaseDistribution) -> Any:
    """``value`` inside ``dist``: clipped, on its step grid, of its type."""
    if isinstance(dist, CategoricalDistribution):
        return value if value in dist.choices else dist.choices[0]
    if isinstance(dist, (FloatDistribution, IntDistribution)):
        x = min(max(float(value), dist.low), dist.high)
        if dist.step is not None:
            x = dist.low + round((x - dist.low) / dist.step) * dist.step
            x = min(x, dist.high)
        return int(round(x)) if isinstance(dist, IntDistribution) else float(x)
    return value
