"""Four user-style Subjects, one per kind of input, as `claimbench check 'equivariance/*' --impl examples/subjects.py:<name>`.

Each is the smallest honest model of its kind; the README's equivariance section runs them.
"""
from __future__ import annotations

import torch

from harness.equivariance import Subject

_GEN = torch.Generator().manual_seed(0)
_W_NODE = torch.randn(4, 8, generator=_GEN, dtype=torch.float64)
_W_EDGE = torch.randn(8, 8, generator=_GEN, dtype=torch.float64) / 8 ** 0.5
_KERNEL = torch.randn(1, 1, 3, 3, generator=_GEN, dtype=torch.float64)


def point_cloud() -> Subject:
    """E(3): a pair-potential energy and per-point forces-like vectors sum_j exp(-|x_i - x_j|^2) (x_i - x_j)."""
    def model(pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        diff = pos[:, :, None, :] - pos[:, None, :, :]
        weight = torch.exp(-diff.pow(2).sum(-1))
        return weight.sum((1, 2))[:, None], (weight[..., None] * diff).sum(2)

    def inputs(gen: torch.Generator, batch: int) -> tuple[torch.Tensor]:
        return (torch.randn(batch, 7, 3, generator=gen, dtype=torch.float64),)

    return Subject(model, "E3", inputs, "pos", ("inv", "1x1o"))


def graph() -> Subject:
    """S_n on graphs: one round of message passing on a weighted adjacency [B, n, n] with node features [B, n, 4]."""
    def model(adj: torch.Tensor, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.tanh(feats @ _W_NODE)
        h = torch.tanh(adj @ h @ _W_EDGE + h)
        return h, h.sum(1)

    def inputs(gen: torch.Generator, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        a = torch.rand(batch, 6, 6, generator=gen, dtype=torch.float64)
        return (a + a.transpose(1, 2), torch.randn(batch, 6, 4, generator=gen, dtype=torch.float64))

    return Subject(model, "S6", inputs, ("perm:0,1", "perm:0"), ("perm:0", "inv"))


def image() -> Subject:
    """C4 on images: a convolution averaged over the four rot90 copies of its kernel, then global pooling."""
    def model(img: torch.Tensor) -> torch.Tensor:
        kernels = torch.cat([torch.rot90(_KERNEL, k, dims=(-2, -1)) for k in range(4)])
        feats = torch.relu(torch.nn.functional.conv2d(img, kernels, padding=1))
        return feats.mean((1, 2, 3))[:, None]

    def inputs(gen: torch.Generator, batch: int) -> tuple[torch.Tensor]:
        return (torch.randn(batch, 1, 12, 12, generator=gen, dtype=torch.float64),)

    return Subject(model, "C4", inputs, "grid", "inv")


def point_set() -> Subject:
    """S_n on sets: Deep Sets rho(sum_i phi(x_i)) on sets of 5 points in R^3."""
    def model(x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(torch.tanh(x @ _W_NODE[:3]).sum(1) @ _W_EDGE)

    def inputs(gen: torch.Generator, batch: int) -> tuple[torch.Tensor]:
        return (torch.randn(batch, 5, 3, generator=gen, dtype=torch.float64),)

    return Subject(model, "S5", inputs, "perm:0", "inv")
