"""Seeded float64 backbones with no symmetry at all: what frame averaging and canonicalization must make equivariant.

"Frame Averaging for Invariant and Equivariant Network Design" (Puny et al., ICLR 2022; arXiv:2110.03336) and
"Equivariance with Learned Canonicalization Functions" (Kaba et al., ICML 2023; arXiv:2211.06489) both claim
exactness for an ARBITRARY backbone; these are the arbitrary backbones (biases included, so none is odd or
linear, and the CNNs carry a per-pixel bias map, so none commutes with rot90).
"""
from __future__ import annotations

import torch
from torch import nn


def _param(gen: torch.Generator, *shape: int, scale: float) -> nn.Parameter:
    return nn.Parameter(scale * torch.randn(*shape, generator=gen, dtype=torch.float64))


class RandomMLP(nn.Module):
    """tanh MLP on the last axis, weights N(0, 1/fan_in) and biases N(0, 0.25) drawn from `seed` (Puny et al. 2022)."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 64, depth: int = 2, seed: int = 0) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        dims = [in_dim] + [hidden] * depth + [out_dim]
        self.weights = nn.ParameterList(_param(gen, a, b, scale=a ** -0.5) for a, b in zip(dims[:-1], dims[1:]))
        self.biases = nn.ParameterList(_param(gen, b, scale=0.5) for b in dims[1:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = x @ w.to(x.dtype) + b.to(x.dtype)
            if i < len(self.weights) - 1:
                x = torch.tanh(x)
        return x


class SmallCNN(nn.Module):
    """Two 3x3 convolutions with a per-pixel bias map, then either a linear read-out or an image (Kaba et al. 2023).

    `out_dim` set: [B, C, S, S] -> [B, out_dim] (flatten + linear: position-dependent, hence not rotation-invariant);
    `out_dim` None: [B, C, S, S] -> [B, C, S, S] (an image-to-image map that is not rotation-equivariant).
    """

    def __init__(self, channels: int, size: int, out_dim: int | None = 4, hidden: int = 8, seed: int = 0) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        out_channels = channels if out_dim is None else hidden
        self.w1 = _param(gen, hidden, channels, 3, 3, scale=(9 * channels) ** -0.5)
        self.w2 = _param(gen, out_channels, hidden, 3, 3, scale=(9 * hidden) ** -0.5)
        self.bias_map = _param(gen, hidden, size, size, scale=0.5)
        self.head = None if out_dim is None else _param(gen, out_channels * size * size, out_dim,
                                                        scale=(out_channels * size * size) ** -0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(nn.functional.conv2d(x, self.w1.to(x.dtype), padding=1) + self.bias_map.to(x.dtype))
        h = nn.functional.conv2d(h, self.w2.to(x.dtype), padding=1)
        if self.head is None:
            return h
        return torch.tanh(h).flatten(1) @ self.head.to(x.dtype)


def random_mlp(in_dim: int, out_dim: int, hidden: int = 64, depth: int = 2, seed: int = 0) -> RandomMLP:
    """A seeded float64 tanh MLP, the arbitrary backbone of frame averaging (Puny et al. 2022)."""
    return RandomMLP(in_dim, out_dim, hidden, depth, seed)


def small_cnn(channels: int, size: int, out_dim: int | None = 4, seed: int = 0) -> SmallCNN:
    """A seeded float64 CNN, the arbitrary (frozen, "pretrained") image backbone of Mondal et al. 2023 (arXiv:2310.01647)."""
    return SmallCNN(channels, size, out_dim, seed=seed)
