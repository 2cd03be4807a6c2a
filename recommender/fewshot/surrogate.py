"""The few-shot surrogate: each training task's response, anywhere in the space.

Meta-training maximises the marginal likelihood of a deep-kernel GP
(:mod:`recommender.fewshot.gp`) on random batches of configurations of random training
tasks, with each task's values replaced by their Gaussian-copula scores (normal scores
of within-task ranks). What the tuner uses of it is the task-conditioned mean network:
:meth:`FewShotSurrogate.scenario_scores` gives each training task's score at any
configuration (measured where the task ran it, else the network's prediction for that
task), so the training tasks can serve as scenarios of a new task's response at
configurations no task ran. The kernel part shapes training only; a new task's own
results are modelled by the tuner (:mod:`recommender.fewshot.mixture`,
:mod:`recommender.fewshot.taskgp`).

Saved as ``fewshot.safetensors`` (weights) and ``fewshot.json`` (everything else).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from recommender.errors import ModelError, NotFittedError
from recommender.fewshot.encoding import config_keys, fill
from recommender.fewshot.training import measured_scores, pool_of, train_model
from recommender.spaces.space import Space
from recommender.surrogate.features import MetaFeatureScaler
from recommender.surrogate.normalize import normalize_values

FEWSHOT_PARAMS: dict[str, Any] = {}  # settings of the few-shot surrogate (defaults when empty)
FORMAT = 2  # 2: the training tasks' scenario scores on the pool are saved too


class FewShotSurrogate:
    """Deep-kernel GP meta-learned on a store's tasks: each task's score at any configuration.

    Args:
        n_latent: size of the per-task latent vector.
        hidden: width of the networks' hidden layers.
        n_embed: size of the kernel's embedding.
        n_steps: meta-training steps.
        batch_tasks: tasks per step; ``batch_points``: configurations per task per step.
        lr: Adam learning rate.
        mf_dropout: probability that a task's meta-features are hidden in a step, so the
            model also works when a new task's meta-features are unknown.
        seed: randomness (``None``: 0).
    """

    def __init__(
        self,
        *,
        n_latent: int = 4,
        hidden: int = 64,
        n_embed: int = 8,
        n_steps: int = 800,
        batch_tasks: int = 8,
        batch_points: int = 64,
        lr: float = 3e-3,
        mf_dropout: float = 0.5,
        seed: int | None = None,
    ) -> None:
        self.n_latent = n_latent
        self.hidden = hidden
        self.n_embed = n_embed
        self.n_steps = n_steps
        self.batch_tasks = batch_tasks
        self.batch_points = batch_points
        self.lr = lr
        self.mf_dropout = mf_dropout
        self.seed = seed

    def get_params(self) -> dict[str, Any]:
        keys = ("n_latent", "hidden", "n_embed", "n_steps", "batch_tasks", "batch_points")
        return {k: getattr(self, k) for k in (*keys, "lr", "mf_dropout", "seed")}

    # -- meta-training -----------------------------------------------------------------
    def fit(self, data: Any) -> FewShotSurrogate:
        """Meta-train on a :class:`~recommender.surrogate.model.TrainingData`'s tasks.

        Raises:
            ModelError: fewer than two tasks.
        """
        tasks = data.tasks
        if len(tasks) < 2:
            raise ModelError(
                f"few-shot surrogate: expected runs of at least 2 tasks, got {len(tasks)}; "
                "ingest more tasks"
            )
        scaler = MetaFeatureScaler.fit(data.metafeatures)
        task_col = data.frame["task"].to_numpy()
        values = data.frame["value"].to_numpy(dtype=float)
        xs, ys = [], []
        for t in tasks:
            mask = task_col == t
            v = values[mask] if data.maximize else -values[mask]
            xs.append(fill(data.X[mask]))
            ys.append(normalize_values(v, maximize=True, method="copula"))
        mfs = np.stack([scaler.transform(data.metafeatures[t])[0] for t in tasks])
        self.space_, self.scaler_, self.tasks_ = data.space, scaler, list(tasks)
        self.meta_ = {"metric": data.metric, "maximize": bool(data.maximize),
                      "fidelity": data.fidelity}  # fmt: skip
        self.pool_ = pool_of(data.space, np.concatenate(xs), np.concatenate(ys))
        self.model_, self.losses_ = train_model(self, xs, ys, mfs)
        self.task_mf_ = mfs
        self.scenarios_ = self._predict_tasks(self.pool_)
        measured_scores(self.scenarios_, self.pool_, data.space, xs, ys)
        return self

    # -- scenarios ---------------------------------------------------------------------
    def scenario_scores(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """``(T, c)``: each training task's score at encoded configs ``x`` (measured where
        the task ran the config, else the meta-learned model's prediction for the task)."""
        self._check_fitted()
        x = np.asarray(x, dtype=float).reshape(-1, self.pool_.shape[1])
        if not hasattr(self, "_pool_index"):
            self._pool_index = {k: i for i, k in enumerate(config_keys(self.pool_))}
        idx = np.array([self._pool_index.get(k, -1) for k in config_keys(x)], dtype=int)
        out = np.empty((len(self.tasks_), len(x)))
        hit = idx >= 0
        out[:, hit] = self.scenarios_[:, idx[hit]]
        if (~hit).any():
            out[:, ~hit] = self._predict_tasks(x[~hit])
        return out

    def _predict_tasks(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        import torch

        n_tasks = len(self.tasks_)
        xt = torch.as_tensor(fill(x))[None].expand(n_tasks, -1, -1)
        with torch.no_grad():
            mean = self.model_.mean(xt, torch.as_tensor(self.task_mf_), self.model_.latents)
        return np.asarray(mean.numpy(), dtype=float)

    # -- adaptation --------------------------------------------------------------------
    def task_vector(self, metafeatures: dict[str, float] | None) -> npt.NDArray[np.float64]:
        """Scaled meta-features of a new task (zeros, the training mean, when unknown)."""
        self._check_fitted()
        if not metafeatures:
            return np.zeros(len(self.scaler_.names))
        return self.scaler_.transform(metafeatures)[0]

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("few-shot surrogate is not fitted; call fit or load first")

    # -- persistence -------------------------------------------------------------------
    def save(self, directory: str | Path) -> list[Path]:
        """Write ``fewshot.safetensors`` and ``fewshot.json`` into ``directory``."""
        import torch
        from safetensors.torch import save_file

        self._check_fitted()
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().contiguous() for k, v in self.model_.state_dict().items()}
        state["pool"] = torch.as_tensor(self.pool_)
        state["scenarios"] = torch.as_tensor(self.scenarios_)
        state["task_mf"] = torch.as_tensor(self.task_mf_)
        save_file(state, str(d / "fewshot.safetensors"))
        sidecar = {
            "format": FORMAT, "params": self.get_params(), "dims": self.model_.config(),
            "space": self.space_.to_json(), "metafeatures": self.scaler_.to_json(),
            "tasks": self.tasks_, "meta": self.meta_,
        }  # fmt: skip
        (d / "fewshot.json").write_text(json.dumps(sidecar, indent=1))
        return [d / "fewshot.safetensors", d / "fewshot.json"]

    @classmethod
    def load(cls, directory: str | Path) -> FewShotSurrogate:
        """Read what :meth:`save` wrote (no pickle).

        Raises:
            ModelError: a file is missing, unreadable or from another format.
        """
        from safetensors.torch import load_file

        from recommender.fewshot.gp import DeepKernelGP

        d = Path(directory)
        try:
            sidecar = json.loads((d / "fewshot.json").read_text())
            state = load_file(str(d / "fewshot.safetensors"))
        except (OSError, ValueError) as err:
            raise ModelError(f"few-shot model in {d} is unreadable: {err}; retrain") from err
        if sidecar.get("format") != FORMAT:
            raise ModelError(f"few-shot model in {d} was written by another version; retrain")
        self = cls(**sidecar["params"])
        dims = sidecar["dims"]
        model = DeepKernelGP(
            dims["n_x"], dims["n_mf"], dims["n_latent"], dims["n_tasks"],
            hidden=dims["hidden"], n_embed=dims["n_embed"],
        ).double()  # fmt: skip
        names = ("pool", "scenarios", "task_mf")
        if any(k not in state for k in names):
            raise ModelError(f"few-shot model in {d} was written by another version; retrain")
        arrays = [state.pop(k).numpy() for k in names]
        model.load_state_dict(state)
        model.eval()
        self.model_, self.losses_ = model, []
        self.pool_, self.scenarios_, self.task_mf_ = arrays
        self.space_ = Space.from_json(sidecar["space"])
        self.scaler_ = MetaFeatureScaler.from_json(sidecar["metafeatures"])
        self.tasks_, self.meta_ = sidecar["tasks"], sidecar["meta"]
        return self


def meta_train(data: Any, *, seed: int = 0) -> FewShotSurrogate:
    """The few-shot surrogate of a space, meta-trained on ``data``'s tasks
    (:data:`FEWSHOT_PARAMS` settings)."""
    return FewShotSurrogate(**{"seed": seed, **FEWSHOT_PARAMS}).fit(data)


def meta_train_noted(data: Any, *, seed: int = 0) -> tuple[FewShotSurrogate | None, str]:
    """For ``retrain``: :func:`meta_train` (``None`` below two tasks) and a note for its report."""
    if len(data.tasks) < 2:
        return None, ""
    start = time.perf_counter()
    few = meta_train(data, seed=seed)
    took = time.perf_counter() - start
    return few, f"; few-shot model meta-trained on {len(data.tasks)} tasks ({took:.0f} s)"
