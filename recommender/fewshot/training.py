"""Meta-training the few-shot model, and fitting a new task's latent, offset and scale.

Used by :class:`~recommender.fewshot.surrogate.FewShotSurrogate`; see its module for the model.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from recommender.fewshot.encoding import FILL, config_key
from recommender.spaces.space import Space

POOL_SIZE = 2000


def affine_fit(z: npt.NDArray[np.float64], v: npt.NDArray[np.float64]) -> tuple[float, float]:
    """``v ~ o + s * z`` by least squares over the better half of a task's runs."""
    top = z >= np.median(z)
    if top.sum() < 2 or np.ptp(z[top]) == 0:
        return float(np.median(v)), max(float(np.std(v)), 1e-12)
    s, o = np.polyfit(z[top], v[top], 1)
    return float(o), max(float(s), 1e-12)


def scale_prior(
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


def pool_of(
    space: Space, x: npt.NDArray[np.float64], score: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Up to ``POOL_SIZE`` distinct evaluated configs, best scores first, canonical."""
    order = np.argsort(-score, kind="stable")
    _, first = np.unique(np.round(x[order], 9), axis=0, return_index=True)
    rows = order[np.sort(first)[:POOL_SIZE]]
    return space.encode(space.decode(np.where(x[rows] == FILL, np.nan, x[rows])))


def measured_scores(
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


def train_model(
    est: Any,  # the FewShotSurrogate being fitted (its settings)
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


def map_task(
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
