from __future__ import annotations

import numpy as np

from recommender.fewshot import FewShotSurrogate, FewShotTuner
from recommender.fewshot.acquisition import expected_improvement, propose
from recommender.fewshot.encoding import config_key
from recommender.fewshot.mixture import ensemble_posterior
from recommender.spaces.space import builtin_space

from .conftest import metafeatures_for, task_response


def test_expected_improvement_grows_with_mean_and_spread() -> None:
    mu, sd = np.array([0.0, 0.5, 0.0]), np.array([0.1, 0.1, 1.0])
    ei = expected_improvement(mu, sd, 0.2)
    assert ei[1] > ei[0] and ei[2] > ei[0] and (ei >= 0).all()


def test_proposals_are_valid_configs_and_never_repeat(surrogate: FewShotSurrogate) -> None:
    space = builtin_space("tabular_mlp")
    tuner = FewShotTuner(surrogate, metafeatures=metafeatures_for(3e4))
    rng = np.random.default_rng(0)
    observed: list[tuple[dict[str, object], float]] = []
    keys = set()
    for _ in range(7):
        s = tuner.suggest(observed, rng=rng)
        assert s is not None
        config = s.config
        assert space.validate_config(config) == config  # in range, ints are ints
        assert isinstance(config["batch_size"], int) and isinstance(config["num_layers"], int)
        assert config["optimizer"] in ("adamw", "sgd")
        assert ("momentum" in config) == (config["optimizer"] == "sgd")  # conditional
        assert 1e-4 <= config["learning_rate"] <= 0.1
        key = config_key(space.encode([config])[0])
        assert key not in keys
        keys.add(key)
        observed.append((config, task_response(config, 3e4)))


def test_propose_skips_every_seen_candidate(surrogate: FewShotSurrogate) -> None:
    post = ensemble_posterior(surrogate, surrogate.pool_[:4], np.array([0.5, 0.6, 0.7, 0.4]))
    pool = surrogate.pool_[:10]
    seen = {config_key(r) for r in pool}
    picked = propose(post, pool, seen, np.random.default_rng(0))
    assert picked is not None
    assert config_key(surrogate.space_.encode([picked[0]])[0]) not in seen


def test_constrain_narrows_the_space(surrogate: FewShotSurrogate) -> None:
    def constrain(c: dict[str, object]) -> dict[str, object] | None:
        if c.get("optimizer") != "sgd":
            return None
        return {**c, "learning_rate": min(max(float(c["learning_rate"]), 1e-3), 1e-2)}  # type: ignore[arg-type]

    tuner = FewShotTuner(surrogate)
    rng = np.random.default_rng(1)
    observed: list[tuple[dict[str, object], float]] = []
    for _ in range(5):
        s = tuner.suggest(observed, rng=rng, constrain=constrain, constrain_key="sgd")
        assert s is not None
        assert s.config["optimizer"] == "sgd" and 1e-3 <= s.config["learning_rate"] <= 1e-2
        observed.append((s.config, task_response(s.config, 1e3)))


def test_first_trials_follow_the_zero_shot_list(surrogate: FewShotSurrogate) -> None:
    space = builtin_space("tabular_mlp")
    top = space.sample(3, seed=5)
    tuner = FewShotTuner(surrogate, zero_shot=top, n_seed=2)
    first = tuner.suggest([])
    assert first is not None and first.source == "recommended" and first.config == top[0]
    second = tuner.suggest([(top[0], 0.5)])
    assert second is not None and second.config == top[1]
    third = tuner.suggest([(top[0], 0.5), (top[1], 0.6)])
    assert third is not None and third.source == "adaptive"


def test_pending_configs_are_neither_repeated_nor_waited_for(
    surrogate: FewShotSurrogate,
) -> None:
    space = builtin_space("tabular_mlp")
    top = space.sample(3, seed=5)
    tuner = FewShotTuner(surrogate, zero_shot=top, n_seed=3)
    # A second worker while the first runs the top pick gets the list's next one.
    second = tuner.suggest([], pending=[top[0]])
    assert second is not None and second.config == top[1]
    observed = [(c, task_response(c, 3e4)) for c in space.sample(6, seed=9)]
    first = tuner.suggest(observed, rng=np.random.default_rng(0))
    assert first is not None and first.source == "adaptive"
    running: list[dict[str, object]] = [first.config]
    for _ in range(3):  # each worker in turn, the others' configs still running
        s = tuner.suggest(observed, pending=running, rng=np.random.default_rng(0))
        assert s is not None
        assert config_key(space.encode([s.config])[0]) not in {
            config_key(r) for r in space.encode(running)
        }
        running.append(s.config)


def test_the_search_leaves_the_stored_configs(surrogate: FewShotSurrogate) -> None:
    space = builtin_space("tabular_mlp")
    pool = surrogate.pool_[-5:]  # a store that ran five poor configurations
    stored = max(task_response(c, 3e4) for c in space.decode(pool))
    tuner = FewShotTuner(surrogate, pool=pool)
    observed: list[tuple[dict[str, object], float]] = []
    rng = np.random.default_rng(0)
    for _ in range(15):
        s = tuner.suggest(observed, rng=rng)
        assert s is not None
        observed.append((s.config, task_response(s.config, 3e4)))
    assert max(v for _, v in observed) > stored + 0.01
    # The first five were the stored ones (hedges); searching those alone ends there.
    assert {config_key(r) for r in tuner.encode([c for c, _ in observed[:5]])} == {
        config_key(r) for r in pool
    }
    assert FewShotTuner(surrogate, pool=pool, whole_space=False).suggest(observed[:5]) is None
