"""Deep Sets: the invariant model rho(sum_x phi(x)) and the equivariant layer sigma((lambda I + gamma 1 1^T) x).

"Deep Sets" (Zaheer, Kottur, Ravanbakhsh, Poczos, Salakhutdinov & Smola, NeurIPS 2017; arXiv:1703.06114): Theorem 2
(every permutation-invariant function of a countable set is rho(sum phi(x))) and Lemma 3 (a linear map
Theta: R^n -> R^n is S_n-equivariant iff Theta = lambda I + gamma 1 1^T), with the multi-channel layer
sigma(X Lambda + 1 1^T X Gamma) of its Eq. (5) (the sum-pooling form).
"""
from __future__ import annotations

import torch

from harness.equivariance import Subject

METHOD = "deep-sets"


def linear(fan_in: int, fan_out: int, gen: torch.Generator) -> torch.nn.Linear:
    """A float64 nn.Linear drawn from `gen` (Gaussian weights scaled by 1/sqrt(fan_in), Gaussian bias scaled by 0.1)."""
    layer = torch.nn.Linear(fan_in, fan_out, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(fan_out, fan_in, generator=gen, dtype=torch.float64) / fan_in**0.5)
        layer.bias.copy_(0.1 * torch.randn(fan_out, generator=gen, dtype=torch.float64))
    return layer


def mlp(sizes: tuple[int, ...], gen: torch.Generator) -> torch.nn.Sequential:
    """Linear layers of the given widths with tanh between them, float64, drawn from `gen`."""
    layers: list[torch.nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(linear(a, b, gen))
        if i < len(sizes) - 2:
            layers.append(torch.nn.Tanh())
    return torch.nn.Sequential(*layers)


class DeepSetsInvariant(torch.nn.Module):
    """f(X) = rho(sum_{x in X} phi(x)) on sets [B, n, D] -> [B, K] (Zaheer et al. 2017, Theorem 2)."""

    def __init__(self, features: int, hidden: int, out: int, seed: int = 0) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.phi = mlp((features, hidden, hidden), gen)
        self.rho = mlp((hidden, hidden, out), gen)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rho(self.phi(x).sum(dim=1))


class EquivariantLayer(torch.nn.Module):
    """sigma(X Lambda + 1 1^T X Gamma + 1 b^T) on sets [B, n, D] -> [B, n, D'] (Zaheer et al. 2017, Lemma 3 / Eq. 5).

    With one channel, no bias and no activation it is the linear map x -> (lambda I + gamma 1 1^T) x on [B, n].
    """

    def __init__(self, features: int = 1, out: int = 1, seed: int = 0, activation: bool = True, bias: bool = True,
                 channels: bool = True) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.channels = channels
        self.lam = torch.nn.Parameter(torch.randn(features, out, generator=gen, dtype=torch.float64) / features**0.5)
        self.gamma = torch.nn.Parameter(torch.randn(features, out, generator=gen, dtype=torch.float64) / features**0.5)
        self.bias = torch.nn.Parameter(0.1 * torch.randn(out, generator=gen, dtype=torch.float64)) if bias else None
        self.activation = torch.tanh if activation else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xc = x if self.channels else x.unsqueeze(-1)
        y = xc @ self.lam + xc.sum(dim=1, keepdim=True) @ self.gamma
        if self.bias is not None:
            y = y + self.bias
        if self.activation is not None:
            y = self.activation(y)
        return y if self.channels else y.squeeze(-1)


def set_inputs(n: int, features: int | None):
    """Sets of n Gaussian elements: [B, n, features], or [B, n] when features is None."""
    shape = (n,) if features is None else (n, features)

    def inputs(gen: torch.Generator, batch: int) -> tuple[torch.Tensor]:
        return (torch.randn(batch, *shape, generator=gen, dtype=torch.float64),)

    return inputs


def invariant_subject(n: int = 6, features: int = 3, hidden: int = 16, out: int = 4, seed: int = 0) -> Subject:
    """rho(sum phi(x)) on sets of n elements in R^features, judged S<n>-invariant (Zaheer et al. 2017)."""
    return Subject(DeepSetsInvariant(features, hidden, out, seed), f"S{n}", set_inputs(n, features), "perm:0", "inv",
                   method=METHOD)


def equivariant_layer_subject(n: int = 6, features: int = 3, out: int = 5, seed: int = 0) -> Subject:
    """The multi-channel layer tanh(X Lambda + 1 1^T X Gamma + 1 b^T), judged S<n>-equivariant (Zaheer et al. 2017)."""
    return Subject(EquivariantLayer(features, out, seed), f"S{n}", set_inputs(n, features), "perm:0", "perm:0",
                   method=METHOD)


def linear_layer_subject(n: int = 6, seed: int = 0) -> Subject:
    """The linear layer x -> (lambda I + gamma 1 1^T) x on R^n, parameters (lambda, gamma) (Zaheer et al. 2017, Lemma 3)."""
    layer = EquivariantLayer(1, 1, seed, activation=False, bias=False, channels=False)
    return Subject(layer, f"S{n}", set_inputs(n, None), "perm:0", "perm:0", method=METHOD)
