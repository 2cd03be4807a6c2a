"""Meta-training the few-shot model: its configuration pool and the training tasks' scores.

Used by :class:`~recommender.fewshot.surrogate.FewShotSurrogate`; see its module for the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from recommender.fewshot.encoding import FILL, config_key
from recommender.spaces.space import Space

POOL_SIZE = 2000


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
