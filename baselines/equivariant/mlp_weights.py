"""MLPs held as flat parameter vectors in the canonical weight-space layout, and Subjects over them.

Layout (see harness.groups.weight_space): [W1 (d1 x d0, row-major), b1, W2 (d2 x d1), b2, ..., WL, bL], layer l
computing h_l = act(W_l h_(l-1) + b_l), no activation after the last layer. The symmetries these Subjects carry are
the ones of Git Re-Basin (Ainsworth, Hayase & Srinivasa, ICLR 2023; arXiv:2209.04836) and of "Hidden symmetries
of ReLU networks" (Grigsby, Lindsey & Rolnick, ICML 2023; arXiv:2306.06179).
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from harness.equivariance import Subject
from harness.groups.weight_space import group_name, param_layout

Activation = Callable[[torch.Tensor], torch.Tensor]
ACTIVATIONS: dict[str, Activation] = {
    "relu": torch.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, 0.1),
    "gelu": F.gelu,
    "tanh": torch.tanh,
}


def unpack(flat: torch.Tensor, widths: Sequence[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Flat parameters [..., P] -> [(W_l [..., d_l, d_(l-1)], b_l [..., d_l]) for l = 1..L] (views, no copy)."""
    lead = flat.shape[:-1]
    return [(flat[..., w].reshape(*lead, d_out, d_in), flat[..., b])
            for (w, b), d_in, d_out in zip(param_layout(widths), widths[:-1], widths[1:])]


def pack(layers: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """[(W_l [..., d_l, d_(l-1)], b_l [..., d_l])] -> flat parameters [..., P] in the canonical layout."""
    parts = []
    for w, b in layers:
        parts += [w.reshape(*w.shape[:-2], -1), b]
    return torch.cat(parts, -1)


def mlp_forward(flat: torch.Tensor, x: torch.Tensor, widths: Sequence[int], activation: str = "relu") -> torch.Tensor:
    """A batch of MLPs on their own inputs: flat [B, P], x [B, M, d0] -> [B, M, dL] (activation on hidden layers)."""
    act = ACTIVATIONS[activation]
    layers = unpack(flat, widths)
    h = x
    for l, (w, b) in enumerate(layers):
        h = torch.einsum("bmi,boi->bmo", h, w) + b[:, None, :]
        if l < len(layers) - 1:
            h = act(h)
    return h


def random_weights(gen: torch.Generator, widths: Sequence[int], batch: int, bias_std: float = 0.1) -> torch.Tensor:
    """Flat parameters [batch, P]: W_l ~ N(0, 2 / d_(l-1)) (He), b_l ~ N(0, bias_std^2), in float64."""
    layers = []
    for d_in, d_out in zip(widths[:-1], widths[1:]):
        w = torch.randn(batch, d_out, d_in, generator=gen, dtype=torch.float64) * (2.0 / d_in) ** 0.5
        layers.append((w, bias_std * torch.randn(batch, d_out, generator=gen, dtype=torch.float64)))
    return pack(layers)


Sampler = Callable[[torch.Generator, int], tuple[torch.Tensor, ...]]


def weights_and_points(widths: Sequence[int], points: int) -> Sampler:
    """Input sampler (weights [B, P], x [B, points, d0]) with standard normal inputs."""
    def inputs(gen: torch.Generator, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        w = random_weights(gen, widths, batch)
        return w, torch.randn(batch, points, widths[0], generator=gen, dtype=torch.float64)

    return inputs


def mlp_subject(widths: Sequence[int] = (2, 4, 4, 1), activation: str = "relu", family: str = "HiddenPermScale",
                points: int = 16) -> Subject:
    """The MLP as a function of its weights: model(weights [B, P], x [B, M, d0]) -> outputs [B, M, dL], invariant
    under the weight-space group `family` (hidden permutations; positive rescalings only for a ReLU network)."""
    widths = tuple(int(d) for d in widths)

    def model(flat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return mlp_forward(flat, x, widths, activation)

    return Subject(model, group_name(family, widths), weights_and_points(widths, points), ("weights", "inv"), "inv",
                   method="hidden-symmetries")
