"""E(n)-equivariant graph neural network layers on batched, fully connected point clouds [B, N, d].

"E(n) Equivariant Graph Neural Networks" (Satorras, Hoogeboom & Welling, ICML 2021; arXiv:2102.09844), Eqs. (3)-(6):
  m_ij = phi_e(h_i, h_j, ||x_i - x_j||^2)                       (no edge attributes a_ij: a fully connected graph)
  x_i <- x_i + C sum_{j != i} (x_i - x_j) phi_x(m_ij),  C = 1 / (N - 1)
  h_i <- h_i + phi_h(h_i, sum_{j != i} m_ij)                    (the residual form of the paper's experiments)
Only squared distances and relative vectors enter, so the layer is equivariant to rotations, reflections,
translations and node permutations in any dimension d.
"""
from __future__ import annotations

import torch

from baselines.equivariant.deep_sets import linear
from harness.equivariance import Subject

METHOD = "egnn"


def silu_mlp(sizes: tuple[int, ...], gen: torch.Generator, last_activation: bool) -> torch.nn.Sequential:
    """Linear layers with SiLU between them (and after the last when asked), float64, drawn from `gen`."""
    layers: list[torch.nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(linear(a, b, gen))
        if last_activation or i < len(sizes) - 2:
            layers.append(torch.nn.SiLU())
    return torch.nn.Sequential(*layers)


class EGCL(torch.nn.Module):
    """One E(n)-equivariant graph convolutional layer on pos [B, N, d] and h [B, N, F] (Satorras et al. 2021, Eqs. 3-6)."""

    def __init__(self, features: int, hidden: int, gen: torch.Generator) -> None:
        super().__init__()
        self.phi_e = silu_mlp((2 * features + 1, hidden, hidden), gen, last_activation=True)
        self.phi_x = silu_mlp((hidden, hidden, 1), gen, last_activation=False)
        self.phi_h = silu_mlp((features + hidden, hidden, features), gen, last_activation=False)

    def edge_scalar(self, pos: torch.Tensor, rel: torch.Tensor) -> torch.Tensor:
        """The geometric input of phi_e for every pair: ||x_i - x_j||^2, [B, N, N, 1]."""
        return rel.pow(2).sum(-1, keepdim=True)

    def messages(self, h: torch.Tensor, pos: torch.Tensor, rel: torch.Tensor) -> torch.Tensor:
        """m_ij = phi_e(h_i, h_j, ||x_i - x_j||^2), [B, N, N, hidden]."""
        n = h.shape[1]
        h_i = h[:, :, None, :].expand(-1, -1, n, -1)
        h_j = h[:, None, :, :].expand(-1, n, -1, -1)
        return self.phi_e(torch.cat([h_i, h_j, self.edge_scalar(pos, rel)], dim=-1))

    def coordinate_update(self, pos: torch.Tensor, rel: torch.Tensor, m: torch.Tensor,
                          mask: torch.Tensor) -> torch.Tensor:
        """x_i + C sum_{j != i} (x_i - x_j) phi_x(m_ij) with C = 1 / (N - 1)."""
        weights = self.phi_x(m) * mask
        return pos + (rel * weights).sum(2) / max(pos.shape[1] - 1, 1)

    def node_update(self, h: torch.Tensor, m_i: torch.Tensor) -> torch.Tensor:
        """h_i + phi_h(h_i, m_i) with m_i = sum_{j != i} m_ij."""
        return h + self.phi_h(torch.cat([h, m_i], dim=-1))

    def forward(self, pos: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = pos.shape[1]
        rel = pos[:, :, None, :] - pos[:, None, :, :]
        mask = (1.0 - torch.eye(n, dtype=pos.dtype, device=pos.device))[None, :, :, None]
        m = self.messages(h, pos, rel) * mask
        return self.coordinate_update(pos, rel, m, mask), self.node_update(h, m.sum(2))


class EGNN(torch.nn.Module):
    """EGCL layers with random seeded weights: (pos [B, N, d], h [B, N, F]) -> (pos, h) (Satorras et al. 2021)."""

    def __init__(self, features: int = 4, hidden: int = 16, layers: int = 3, seed: int = 0,
                 layer: type[EGCL] = EGCL) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.layers = torch.nn.ModuleList(layer(features, hidden, gen) for _ in range(layers))

    def forward(self, pos: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for layer in self.layers:
            pos, h = layer(pos, h)
        return pos, h


def cloud_inputs(nodes: int, dim: int, features: int):
    """Gaussian point clouds [B, nodes, dim] with Gaussian node features [B, nodes, features]."""

    def inputs(gen: torch.Generator, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        pos = torch.randn(batch, nodes, dim, generator=gen, dtype=torch.float64)
        return pos, torch.randn(batch, nodes, features, generator=gen, dtype=torch.float64)

    return inputs


def egnn_subject(nodes: int = 5, features: int = 4, layers: int = 3, seed: int = 0,
                 layer: type[EGCL] = EGCL) -> Subject:
    """A 3-layer EGNN on 3D clouds, positions 'pos' and features 'inv', judged E(3)-equivariant (Satorras et al. 2021)."""
    net = EGNN(features, layers=layers, seed=seed, layer=layer)
    return Subject(net, "E3", cloud_inputs(nodes, 3, features), ("pos", "inv"), ("pos", "inv"), method=METHOD)


def egnn_planar_subject(nodes: int = 5, features: int = 4, layers: int = 3, seed: int = 0,
                        layer: type[EGCL] = EGCL) -> Subject:
    """The same EGNN on 2D clouds [B, N, 2], judged O(2)-equivariant: any dimension works (Satorras et al. 2021)."""
    net = EGNN(features, layers=layers, seed=seed, layer=layer)
    return Subject(net, "O2", cloud_inputs(nodes, 2, features), ("pos", "inv"), ("pos", "inv"), method=METHOD)


def egnn_permutation_subject(nodes: int = 5, features: int = 4, layers: int = 3, seed: int = 0,
                             layer: type[EGCL] = EGCL) -> Subject:
    """The same EGNN judged S<nodes>-equivariant: permuting the nodes permutes pos and h (Satorras et al. 2021)."""
    net = EGNN(features, layers=layers, seed=seed, layer=layer)
    return Subject(net, f"S{nodes}", cloud_inputs(nodes, 3, features), ("perm:0", "perm:0"), ("perm:0", "perm:0"),
                   method=METHOD)
