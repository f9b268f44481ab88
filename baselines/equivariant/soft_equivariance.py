"""Soft equivariance by regularization ("Regularizing Towards Soft Equivariance Under Mixed Symmetries", Kim, Lee,
Lee, Lim & Hong, ICML 2023; arXiv:2306.00356): add lambda * E_g ||f(rho_in(g) x) - rho_out(g) f(x)||^2 to the task
loss, so that lambda trades fit against equivariance.

The toy task: SO(3) acting on vectors ("1x1o"), target y(x) = x (1 + |x|^2)^(-1/2) * 2 + eps * (x_1^2, 0, 0), an
equivariant map plus a small symmetry-breaking term. One tanh MLP 3 -> 32 -> 32 -> 3 per lambda, all trained together
(stacked parameters, independent losses summed, Adam is per-parameter so the runs do not interact).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import torch

from harness.equivariance import Subject
from harness.groups import Group, Rep, parse_group, parse_rep

LAMBDAS = (0.0, 0.1, 1.0, 10.0)
HIDDEN = 32
Regularizer = Callable[[Callable[[torch.Tensor], torch.Tensor], Group, Rep, Rep, Any, torch.Tensor], torch.Tensor]


def equivariance_regularizer(model: Callable[[torch.Tensor], torch.Tensor], group: Group, in_rep: Rep, out_rep: Rep,
                             elements: Any, x: torch.Tensor) -> torch.Tensor:
    """Kim et al.'s regularizer: the mean over elements and samples of ||f(g x) - g f(x)||^2, the norm over the rep's
    last axis; an output [N, *S, d] gives one value per index of S (e.g. per stacked model), differentiably."""
    m = group.size(elements)
    fx = model(x)
    f_gx = model(group.act(elements, in_rep, x).reshape(-1, *x.shape[1:])).view(m, *fx.shape)
    diff = f_gx - group.act(elements, out_rep, fx)
    return diff.pow(2).sum(-1).mean((0, 1))


def target(x: torch.Tensor, eps: float) -> torch.Tensor:
    """The toy regression target: an SO(3)-equivariant map plus eps times a non-equivariant term."""
    equivariant = 2 * x / (1 + x.pow(2).sum(-1, keepdim=True)).sqrt()
    breaking = torch.zeros_like(x)
    breaking[..., 0] = x[..., 0] ** 2
    return equivariant + eps * breaking


def _stacked_mlp(params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """K MLPs on their own inputs: x [K, N, 3] -> [K, N, 3]."""
    w1, b1, w2, b2, w3, b3 = params
    h = torch.tanh(torch.baddbmm(b1, x, w1))
    h = torch.tanh(torch.baddbmm(b2, h, w2))
    return torch.baddbmm(b3, h, w3)


def train_soft_equivariant(lams: Sequence[float] = LAMBDAS, eps: float = 0.1, steps: int = 300, samples: int = 128,
                           elements: int = 4, seed: int = 0,
                           regularizer: Regularizer = equivariance_regularizer) -> list[torch.Tensor]:
    """Parameters of one MLP per lambda, trained on MSE + lambda * regularizer (fresh rotations every step)."""
    gen = torch.Generator().manual_seed(seed)
    k = len(lams)
    group, vec = parse_group("SO3"), parse_rep("1x1o")
    sizes = [(3, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN, 3)]
    init = []
    for d_in, d_out in sizes:
        w = torch.randn(d_in, d_out, generator=gen, dtype=torch.float64) / d_in ** 0.5
        init += [w.expand(k, d_in, d_out).clone(), torch.zeros(k, 1, d_out, dtype=torch.float64)]
    params = [p.requires_grad_(True) for p in init]
    x = torch.randn(samples, 3, generator=gen, dtype=torch.float64)
    y = target(x, eps)
    lam = torch.tensor(list(lams), dtype=torch.float64)
    opt = torch.optim.Adam(params, lr=1e-2)

    def stacked(inputs: torch.Tensor) -> torch.Tensor:
        return _stacked_mlp(params, inputs.expand(k, *inputs.shape)).transpose(0, 1)

    for _ in range(steps):
        reg = regularizer(stacked, group, vec, vec, group.sample(gen, elements), x)
        mse = (stacked(x) - y[:, None]).pow(2).sum(-1).mean(0)
        loss = (mse + lam * reg).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return [p.detach() for p in params]


def soft_equivariant_family(lams: Sequence[float] = LAMBDAS, eps: float = 0.1, steps: int = 300, seed: int = 0,
                            regularizer: Regularizer = equivariance_regularizer) -> Subject:
    """The trained models as one Subject: model(lambda [B, 1] ('inv'), x [B, 3] ('1x1o')) -> f_lambda(x) [B, 3],
    declared SO(3)-equivariant (only the large-lambda members nearly are; that is what the claims measure)."""
    lams = tuple(float(v) for v in lams)
    params = train_soft_equivariant(lams, eps, steps, seed=seed, regularizer=regularizer)
    grid = torch.tensor(lams, dtype=torch.float64)

    def model(lam: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        match = (lam.double() - grid).abs() < 1e-9 * (1 + grid.abs())
        if not bool(match.any(-1).all()):
            raise ValueError(f"lambda must be one of the trained values {lams}")
        which = match.double().argmax(-1)
        ps = [p.to(x.dtype) for p in params]
        ys = _stacked_mlp(ps, x.expand(len(lams), *x.shape))
        return ys[which, torch.arange(x.shape[0])]

    def inputs(gen: torch.Generator, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        pick = torch.randint(0, len(lams), (batch,), generator=gen)
        return grid[pick][:, None], torch.randn(batch, 3, generator=gen, dtype=torch.float64)

    return Subject(model, "SO3", inputs, ("inv", "1x1o"), "1x1o", method="soft-equivariance")


def gated_vector_subject(seed: int = 0) -> Subject:
    """The exactly equivariant limit of the toy task: f(x) = x * MLP(|x|), a scalar gate on the vector."""
    gen = torch.Generator().manual_seed(seed)
    w1 = torch.randn(1, HIDDEN, generator=gen, dtype=torch.float64)
    w2 = torch.randn(HIDDEN, 1, generator=gen, dtype=torch.float64) / HIDDEN ** 0.5

    def model(x: torch.Tensor) -> torch.Tensor:
        return x * (torch.tanh(x.norm(dim=-1, keepdim=True) @ w1.to(x.dtype)) @ w2.to(x.dtype))

    return Subject(model, "SO3", lambda gen, batch: (torch.randn(batch, 3, generator=gen, dtype=torch.float64),),
                   "1x1o", "1x1o", method="soft-equivariance")


def unregularized_subject(eps: float = 0.1, steps: int = 300, seed: int = 0) -> Subject:
    """The toy-task MLP trained with lambda = 0 alone: model(x [B, 3]) -> [B, 3], declared SO(3)-equivariant."""
    params = train_soft_equivariant((0.0,), eps, steps, seed=seed)

    def model(x: torch.Tensor) -> torch.Tensor:
        return _stacked_mlp([p.to(x.dtype) for p in params], x[None])[0]

    return Subject(model, "SO3", lambda gen, batch: (torch.randn(batch, 3, generator=gen, dtype=torch.float64),),
                   "1x1o", "1x1o", method="soft-equivariance")
