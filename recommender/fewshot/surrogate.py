"""The few-shot surrogate: meta-trained across a store's tasks, adapted to a new task's runs.

Meta-training maximises the GP marginal likelihood (:mod:`recommender.fewshot.gp`) of
random batches of configurations of random training tasks, with each task's values
replaced by their Gaussian-copula scores (normal scores of within-task ranks), which
spread the good configurations apart. Near the good end the raw metric is close to an
affine map of those scores, so a new task's raw values are modelled as ``o + s * y``
with unknown offset ``o`` and scale ``s``; :meth:`FewShotSurrogate.adapt` finds them,
with the task's latent ``w`` and a kernel amplitude, by maximising the posterior of its
first ``k`` observations (priors from the training tasks), then conditions the GP
exactly.

Saved as ``fewshot.safetensors`` (weights) and ``fewshot.json`` (everything else).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from recommender.errors import ModelError, NotFittedError
from recommender.normalize import normalize_values
from recommender.space import Space
from recommender.surrogate.features import MetaFeatureScaler

FILL = -1.0  # an inactive (NaN) encoded cell; valid cells are in [0, 1]
ADAPT_STEPS = 30
FEWSHOT_PARAMS: dict[str, Any] = {}  # settings of the few-shot surrogate (defaults when empty)
FORMAT = 2  # 2: the training tasks' scenario scores on the pool are saved too
POOL_SIZE = 2000


def fill(x: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Encoded configs with inactive cells set to ``FILL``."""
    return np.nan_to_num(np.asarray(x, dtype=float), nan=FILL)


def config_key(x: npt.NDArray[np.float64]) -> bytes:
    """Hashable identity of one encoded configuration."""
    return np.round(fill(x), 9).tobytes()


@dataclass
class TaskPosterior:
    """The surrogate adapted to one task: predicts on the task's standardised scale.

    ``u = (y - offset) / scale`` where ``y`` is the raw value (negated when minimised).
    """

    surrogate: FewShotSurrogate
    x_obs: npt.NDArray[np.float64]
    u_obs: npt.NDArray[np.float64]
    mf: npt.NDArray[np.float64]
    latent: npt.NDArray[np.float64]
    offset: float
    scale: float
    amp: float = 1.0

    def predict(
        self, x: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Posterior mean and standard deviation at encoded configs ``x`` (``u`` scale)."""
        import torch

        from recommender.fewshot.gp import gp_posterior

        t = torch.as_tensor
        with torch.no_grad():
            mu, sd = gp_posterior(
                self.surrogate.model_,
                t(fill(self.x_obs)), t(self.u_obs), t(fill(x)), t(self.mf), t(self.latent),
                self.amp,
            )  # fmt: skip
        return mu.numpy(), sd.numpy()


class FewShotSurrogate:
    """Deep-kernel GP meta-learned on a store's tasks; adapts to a new task's observations.

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
        xs, ys, offsets, scales = [], [], [], []
        for t in tasks:
            mask = task_col == t
            v = values[mask] if data.maximize else -values[mask]
            z = normalize_values(v, maximize=True, method="copula")
            xs.append(fill(data.X[mask]))
            ys.append(z)
            offset, scale = _affine_fit(z, v)
            offsets.append(offset)
            scales.append(scale)
        mfs = np.stack([scaler.transform(data.metafeatures[t])[0] for t in tasks])
        self.space_, self.scaler_, self.tasks_ = data.space, scaler, list(tasks)
        self.meta_ = {"metric": data.metric, "maximize": bool(data.maximize),
                      "fidelity": data.fidelity}  # fmt: skip
        self.prior_ = _scale_prior(np.array(offsets), np.array(scales))
        self.pool_ = _pool(data.space, np.concatenate(xs), np.concatenate(ys))
        self.model_, self.losses_ = _meta_train(self, xs, ys, mfs)
        self.task_mf_ = mfs
        self.scenarios_ = self._predict_tasks(self.pool_)
        _measured_scores(self.scenarios_, self.pool_, data.space, xs, ys)
        return self

    # -- scenarios ---------------------------------------------------------------------
    def scenario_scores(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """``(T, c)``: each training task's score at encoded configs ``x`` (measured where
        the task ran the config, else the meta-learned model's prediction for the task)."""
        self._check_fitted()
        x = np.asarray(x, dtype=float).reshape(-1, self.pool_.shape[1])
        if not hasattr(self, "_pool_index"):
            self._pool_index = {config_key(r): i for i, r in enumerate(self.pool_)}
        idx = np.array([self._pool_index.get(config_key(r), -1) for r in x], dtype=int)
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

    def adapt(
        self,
        x_obs: npt.ArrayLike,
        y_obs: npt.ArrayLike,
        mf: npt.NDArray[np.float64] | None = None,
        *,
        n_steps: int = ADAPT_STEPS,
    ) -> TaskPosterior:
        """Condition on a new task's observations.

        Args:
            x_obs: ``(k, D)`` encoded configs (``k`` may be 0).
            y_obs: ``(k,)`` raw values, larger is better (negate a minimised metric).
            mf: the task's :meth:`task_vector` (``None``: unknown).
            n_steps: optimisation steps for the latent, offset and scale.
        """
        self._check_fitted()
        import torch

        x = fill(np.asarray(x_obs, dtype=float).reshape(-1, len(self.space_.feature_names)))
        y = np.asarray(y_obs, dtype=float).reshape(-1)
        mf = np.zeros(len(self.scaler_.names)) if mf is None else np.asarray(mf, dtype=float)
        log_s0, log_s_sd, o0, o_sd = (self.prior_[k] for k in ("log_s", "log_s_sd", "o", "o_sd"))
        latent, offset, scale, amp = np.zeros(self.n_latent), o0, math.exp(log_s0), 1.0
        if len(y):
            with torch.no_grad():
                m0 = self.model_.mean(
                    torch.as_tensor(x)[None], torch.as_tensor(mf)[None],
                    torch.zeros(1, self.n_latent, dtype=torch.float64),
                )[0].numpy()  # fmt: skip
            o_init = float(np.mean(y) - scale * np.mean(m0))
            latent, offset, scale, amp = _map_task(
                self.model_, x, y, mf, n_steps, log_s0, log_s_sd, o_init, o0, o_sd
            )
        u = (y - offset) / scale
        return TaskPosterior(self, x, u, mf, latent, offset, scale, amp)

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
            "tasks": self.tasks_, "meta": self.meta_, "prior": self.prior_,
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
        self.tasks_, self.meta_, self.prior_ = sidecar["tasks"], sidecar["meta"], sidecar["prior"]
        return self


def meta_train(data: Any, *, seed: int = 0) -> FewShotSurrogate:
    """The few-shot surrogate of a space, meta-trained on ``data``'s tasks
    (:data:`FEWSHOT_PARAMS` settings)."""
    return FewShotSurrogate(**{"seed": seed, **FEWSHOT_PARAMS}).fit(data)


def _affine_fit(z: npt.NDArray[np.float64], v: npt.NDArray[np.float64]) -> tuple[float, float]:
    """``v ~ o + s * z`` by least squares over the better half of a task's runs."""
    top = z >= np.median(z)
    if top.sum() < 2 or np.ptp(z[top]) == 0:
        return float(np.median(v)), max(float(np.std(v)), 1e-12)
    s, o = np.polyfit(z[top], v[top], 1)
    return float(o), max(float(s), 1e-12)


def _scale_prior(
    offsets: npt.NDArray[np.float64], scales: npt.NDArray[np.float64]
) -> dict[str, float]:
    """Priors for a new task's offset and log-scale, from the training tasks'."""
    log_s = np.log(scales)
    s0 = float(np.exp(np.median(log_s)))
    return {
        "log_s": float(np.median(log_s)),
        "log_s_sd": max(float(np.std(log_s)), 0.5),
        "o": float(np.median(offsets)),
        "o_sd": max(2.0 * float(np.std(offsets)), 2.0 * s0),
    }


def _pool(
    space: Space, x: npt.NDArray[np.float64], score: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Up to ``POOL_SIZE`` distinct evaluated configs, best scores first, canonical."""
    order = np.argsort(-score, kind="stable")
    _, first = np.unique(np.round(x[order], 9), axis=0, return_index=True)
    rows = order[np.sort(first)[:POOL_SIZE]]
    return space.encode(space.decode(np.where(x[rows] == FILL, np.nan, x[rows])))


def _measured_scores(
    scenarios: npt.NDArray[np.float64],
    pool: npt.NDArray[np.float64],
    space: Space,
    xs: list[npt.NDArray[np.float64]],
    ys: list[npt.NDArray[np.float64]],
) -> None:
    """Overwrite predictions with each task's measured scores where it ran a pool config
    (the mean where it ran one several times)."""
    index = {config_key(r): i for i, r in enumerate(pool)}
    for t, (x, y) in enumerate(zip(xs, ys, strict=True)):
        canon = space.encode(space.decode(np.where(x == FILL, np.nan, x)))
        cols = np.array([index.get(config_key(r), -1) for r in canon], dtype=int)
        ok = cols >= 0
        total = np.bincount(cols[ok], weights=y[ok], minlength=len(pool))
        count = np.bincount(cols[ok], minlength=len(pool))
        ran = count > 0
        scenarios[t, ran] = total[ran] / count[ran]


def _meta_train(
    est: FewShotSurrogate,
    xs: list[npt.NDArray[np.float64]],
    ys: list[npt.NDArray[np.float64]],
    mfs: npt.NDArray[np.float64],
) -> tuple[Any, list[float]]:
    import torch

    from recommender.fewshot.gp import DeepKernelGP, gp_nll

    gen = torch.Generator().manual_seed(est.seed or 0)
    torch.manual_seed(est.seed or 0)  # network initialisation
    T, D = len(xs), xs[0].shape[1]
    counts = torch.tensor([len(x) for x in xs])
    n = int(min(est.batch_points, counts.min().item()))
    X = torch.full((T, int(counts.max()), D), FILL, dtype=torch.float64)
    Y = torch.zeros(T, int(counts.max()), dtype=torch.float64)
    for t, (x, y) in enumerate(zip(xs, ys, strict=True)):
        X[t, : len(x)], Y[t, : len(y)] = torch.as_tensor(x), torch.as_tensor(y)
    MF = torch.as_tensor(mfs, dtype=torch.float64)
    model = DeepKernelGP(
        D, MF.shape[1], est.n_latent, T, hidden=est.hidden, n_embed=est.n_embed
    ).double()
    opt = torch.optim.Adam(model.parameters(), lr=est.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, est.n_steps)
    valid = torch.arange(X.shape[1])[None] < counts[:, None]
    losses = []
    for _ in range(est.n_steps):
        tb = torch.randint(T, (est.batch_tasks,), generator=gen)
        keys = torch.rand(est.batch_tasks, X.shape[1], generator=gen) + valid[tb].double()
        idx = keys.argsort(dim=1, descending=True)[:, :n]
        xb, yb = X[tb[:, None], idx], Y[tb[:, None], idx]
        keep = (torch.rand(est.batch_tasks, 1, generator=gen) >= est.mf_dropout).double()
        w = model.latents[tb]
        nll = gp_nll(model, xb, yb, MF[tb] * keep, w)
        loss = (nll.sum() + 0.5 * w.pow(2).sum()) / (est.batch_tasks * n)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
    model.eval()
    return model, losses


def _map_task(
    model: Any,
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    mf: npt.NDArray[np.float64],
    n_steps: int,
    log_s0: float,
    log_s_sd: float,
    o_init: float,
    o0: float,
    o_sd: float,
) -> tuple[npt.NDArray[np.float64], float, float, float]:
    """MAP latent, offset, scale and kernel amplitude of a new task from its observations."""
    import torch

    from recommender.fewshot.gp import gp_nll

    s0 = math.exp(log_s0)
    xt, yt, mft = torch.as_tensor(x)[None], torch.as_tensor(y)[None], torch.as_tensor(mf)[None]
    w = torch.zeros(1, model.dims["n_latent"], dtype=torch.float64, requires_grad=True)
    eps = torch.zeros((), dtype=torch.float64, requires_grad=True)  # log s - log s0
    delta = torch.zeros((), dtype=torch.float64, requires_grad=True)  # (o - o_init) / s0
    log_amp = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w, eps, delta, log_amp], lr=0.08)
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        for _ in range(n_steps):
            log_s = log_s0 + eps
            o = o_init + s0 * delta
            u = (yt - o) / log_s.exp()
            loss = (
                gp_nll(model, xt, u, mft, w, log_amp.exp()).sum() + len(y) * log_s
                + 0.5 * w.pow(2).sum() + 0.5 * log_amp**2
                + 0.5 * (eps / log_s_sd) ** 2 + 0.5 * ((o - o0) / o_sd) ** 2
            )  # fmt: skip
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        for p in model.parameters():
            p.requires_grad_(True)
    return (
        w.detach()[0].numpy().copy(),
        float(o_init + s0 * delta.detach()),
        float(math.exp(log_s0 + float(eps.detach()))),
        float(log_amp.detach().exp()),
    )
