"""Symmetrization by orbit-distance minimization: the canonicalizing group element is found by optimization.

"Learning Symmetrization for Equivariance with Orbit Distance Minimization" (Nguyen et al., NeurIPS 2023;
arXiv:2311.07143): instead of converting equivariant features phi(x) to a group element in closed form, find
g(x) = argmin_g d(rho(g) v0, phi(x)) for a fixed reference v0, then apply the backbone to g(x)^-1 x. The exact
minimizer is equivariant, g(h x) = h g(x), so the symmetrized model is invariant; an inner optimization stopped
early from a fixed start (theta = 0) is not, and its invariance error shrinks as the optimization converges.

Here G = SO(2) acting on 2D point clouds, d(theta) = sum_k ||R(theta) v0_k - phi_k||^2 with K = 2 equivariant
vectors phi_k, and gradient descent on theta with step `step_size` / (2 ||v0|| ||phi||). With that scaling the
update of the angle error e = theta - theta* is e <- e - c sin(e), c = step_size * |sum_k conj(v0_k) phi_k| /
(||v0|| ||phi||) in (0, step_size]: for step_size <= 1 every start except the maximizer converges monotonically.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from baselines.equivariant.backbones import random_mlp
from baselines.equivariant.canonicalization import EquivariantVectors
from harness.equivariance import Subject

N_POINTS = 8
CHECKPOINTS = (1, 4, 16, 64)


def rotation_2d(theta: torch.Tensor) -> torch.Tensor:
    """R(theta) [B, 2, 2] for angles [B]."""
    c, s = torch.cos(theta), torch.sin(theta)
    return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)


def orbit_distance_grad(theta: torch.Tensor, reference: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
    """d/dtheta sum_k ||R(theta) v0_k - phi_k||^2 = -2 sum_k <R'(theta) v0_k, phi_k>, phi [B, K, 2] (Nguyen et al. 2023)."""
    c, s = torch.cos(theta)[:, None], torch.sin(theta)[:, None]
    vx, vy = reference[None, :, 0], reference[None, :, 1]
    dx, dy = -s * vx - c * vy, c * vx - s * vy
    return -2.0 * (dx * phi[..., 0] + dy * phi[..., 1]).sum(1)


class OrbitSymmetrized(nn.Module):
    """The backbone on R(theta_t)^T x after t descent steps on the orbit distance, t in `checkpoints` (Nguyen et al. 2023).

    Returns one output per checkpoint: the same symmetrized model stopped after more and more inner steps.
    """

    def __init__(self, features: nn.Module, backbone: nn.Module, reference: torch.Tensor,
                 checkpoints: Sequence[int] = CHECKPOINTS, step_size: float = 1.0) -> None:
        super().__init__()
        self.features, self.backbone = features, backbone
        self.register_buffer("reference", reference)
        self.checkpoints, self.step_size = tuple(sorted(checkpoints)), step_size

    def forward(self, pos: torch.Tensor) -> tuple[torch.Tensor, ...]:
        phi = self.features(pos)
        ref = self.reference.to(pos.dtype)
        scale = 2.0 * ref.norm() * phi.flatten(1).norm(dim=1)
        theta = torch.zeros(pos.shape[0], dtype=pos.dtype)
        outputs = []
        for step in range(1, self.checkpoints[-1] + 1):
            theta = theta - self.step_size * orbit_distance_grad(theta, ref, phi) / scale
            if step in self.checkpoints:
                outputs.append(self.backbone((pos @ rotation_2d(theta)).flatten(1)))
        return tuple(outputs)


def planar_clouds(gen: torch.Generator, batch: int, n_points: int = N_POINTS) -> tuple[torch.Tensor]:
    """Anisotropic 2D point clouds [B, N, 2] (axis scales 2 and 1, random orientation and offset)."""
    pts = torch.randn(batch, n_points, 2, generator=gen, dtype=torch.float64) * torch.tensor([2.0, 1.0],
                                                                                             dtype=torch.float64)
    theta = 2 * torch.pi * torch.rand(batch, generator=gen, dtype=torch.float64)
    shift = torch.randn(batch, 1, 2, generator=gen, dtype=torch.float64)
    return (pts @ rotation_2d(theta).transpose(1, 2) + shift,)


def orbit_subject(step_size: float = 1.0, seed: int = 0) -> Subject:
    """A random MLP symmetrized over SO(2) by orbit-distance descent; outputs after 1, 4, 16, 64 steps (Nguyen et al.)."""
    gen = torch.Generator().manual_seed(seed + 7)
    reference = torch.randn(2, 2, generator=gen, dtype=torch.float64)
    model = OrbitSymmetrized(EquivariantVectors(2, seed=seed), random_mlp(2 * N_POINTS, 4, seed=seed + 1), reference,
                             CHECKPOINTS, step_size)
    return Subject(model, "SO2", planar_clouds, "pos", ("inv",) * len(CHECKPOINTS),
                   method="orbit-distance-symmetrization")
