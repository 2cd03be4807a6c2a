"""A deep-kernel Gaussian process with a task-conditioned mean, in PyTorch.

The response of a task is modelled as ``y(x) = m(x, z, w) + f(x) + noise`` where ``x``
is an encoded configuration, ``z`` the task's scaled meta-features, ``w`` a small latent
vector for the task (learned per training task, inferred from observations for a new
one), ``m`` an MLP and ``f`` a zero-mean GP whose RBF kernel acts on an MLP embedding of
``x`` (a deep kernel, as in FSBO, Wistuba & Grabocka 2021). Everything here is batched
over tasks: tensors are ``(B, n, ...)``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

JITTER = 1e-5


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(n_in, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
        nn.Linear(hidden, n_out),
    )  # fmt: skip


class DeepKernelGP(nn.Module):
    """Mean network, embedding network, kernel hyperparameters and training-task latents."""

    def __init__(
        self,
        n_x: int,
        n_mf: int,
        n_latent: int,
        n_tasks: int,
        *,
        hidden: int = 64,
        n_embed: int = 8,
    ) -> None:
        super().__init__()
        self.dims = {
            "n_x": n_x, "n_mf": n_mf, "n_latent": n_latent, "n_tasks": n_tasks,
            "hidden": hidden, "n_embed": n_embed,
        }  # fmt: skip
        self.mean_net = _mlp(n_x + n_mf + n_latent, hidden, 1)
        self.embed_net = _mlp(n_x, hidden, n_embed)
        self.log_outputscale = nn.Parameter(torch.tensor(math.log(0.5)))
        self.log_noise = nn.Parameter(torch.tensor(math.log(0.05)))
        self.latents = nn.Parameter(torch.zeros(n_tasks, n_latent))

    def mean(self, x: Tensor, mf: Tensor, w: Tensor) -> Tensor:
        """``m(x, z, w)``: ``x (B, n, D)``, ``mf (B, M)``, ``w (B, L)`` -> ``(B, n)``."""
        task = torch.cat([mf, w], dim=-1).unsqueeze(-2)
        task = task.expand(*x.shape[:-1], task.shape[-1])
        return self.mean_net(torch.cat([x, task], dim=-1)).squeeze(-1)  # type: ignore[no-any-return]

    def kernel(self, x1: Tensor, x2: Tensor) -> Tensor:
        """RBF kernel on the embeddings: ``(B, n1, D)``, ``(B, n2, D)`` -> ``(B, n1, n2)``."""
        e1 = self.embed_net(x1)
        e2 = e1 if x2 is x1 else self.embed_net(x2)
        d2 = torch.cdist(e1, e2).pow(2)
        return self.log_outputscale.exp() * torch.exp(-0.5 * d2)  # type: ignore[no-any-return]

    def noise(self) -> Tensor:
        return self.log_noise.exp() + JITTER

    def config(self) -> dict[str, Any]:
        return dict(self.dims)


def gp_nll(
    model: DeepKernelGP, x: Tensor, y: Tensor, mf: Tensor, w: Tensor, amp: Tensor | float = 1.0
) -> Tensor:
    """Negative log marginal likelihood of each task's ``y (B, n)``, summed over points: ``(B,)``.

    ``amp`` multiplies the kernel: a new task may vary more around the mean than the
    training tasks did around theirs (their latents were fitted on all their runs).
    """
    n = x.shape[-2]
    K = amp * model.kernel(x, x) + model.noise() * torch.eye(n, dtype=x.dtype)
    L = torch.linalg.cholesky(K)
    r = (y - model.mean(x, mf, w)).unsqueeze(-1)
    alpha = torch.cholesky_solve(r, L)
    fit = 0.5 * (r * alpha).sum(dim=(-2, -1))
    logdet = torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)
    return fit + logdet + 0.5 * n * math.log(2 * math.pi)
