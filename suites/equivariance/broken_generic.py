"""Subjects that break the generic claims, each a bug seen in practice (two of them in released e3nn code)."""
from __future__ import annotations

import torch

from baselines.equivariant.e3nn_models import TP_IRREPS, gate_points_subject, tensor_product_built_in_float32
from harness.equivariance import Subject
from harness.registry import failing

_HERE = "suites.equivariance.broken_generic"
N_POINTS = 6


def _clouds(gen: torch.Generator, batch: int) -> tuple[torch.Tensor]:
    return (torch.randn(batch, N_POINTS, 3, generator=gen, dtype=torch.float64),)


def _sq_distances(pos: torch.Tensor) -> torch.Tensor:
    diff = pos[:, :, None, :] - pos[:, None, :, :]
    return diff.pow(2).sum(-1)


def _pair_energy(d2: torch.Tensor) -> torch.Tensor:
    return torch.exp(-d2).sum((1, 2))[:, None]


def mlp_on_coordinates() -> Subject:
    """A plain MLP on the flattened coordinates, declared E(3)-invariant: what the checker exists to catch."""
    gen = torch.Generator().manual_seed(0)
    w1 = torch.randn(3 * N_POINTS, 32, generator=gen, dtype=torch.float64) / (3 * N_POINTS) ** 0.5
    w2 = torch.randn(32, 1, generator=gen, dtype=torch.float64) / 32 ** 0.5
    return Subject(lambda pos: torch.tanh(pos.flatten(1) @ w1) @ w2, "E3", _clouds, "pos", "inv")


def swapped_output_layout() -> Subject:
    """An O(3) layer whose output is laid out 1x1o+1x0e but declared 1x0e+1x1o (an e3nn-style layout swap)."""
    def model(vec: torch.Tensor) -> torch.Tensor:
        return torch.cat([vec, vec.norm(dim=1, keepdim=True)], dim=1)

    return Subject(model, "O3", lambda g, b: (torch.randn(b, 3, generator=g, dtype=torch.float64),), "1x1o", "1x0e+1x1o")


def nearly_invariant_energy() -> Subject:
    """An invariant pair energy plus 1e-6 times the first coordinate: a tiny leak the Lie derivative must see."""
    return Subject(lambda pos: _pair_energy(_sq_distances(pos)) + 1e-6 * pos[:, :1, 0], "E3", _clouds, "pos", "inv")


def energy_with_straight_through_term() -> Subject:
    """Invariant value, non-invariant gradient: E + (h - h.detach()) with h = sum of x coordinates (a detach bug)."""
    def model(pos: torch.Tensor) -> torch.Tensor:
        h = pos[..., 0].sum(1, keepdim=True)
        return _pair_energy(_sq_distances(pos)) + (h - h.detach())

    return Subject(model, "E3", _clouds, "pos", "inv")


def energy_of_distances_with_sqrt() -> Subject:
    """Energy of sqrt(squared distance) over all pairs, self-pairs included: finite value, NaN gradient at d = 0."""
    return Subject(lambda pos: torch.exp(-_sq_distances(pos).sqrt()).sum((1, 2))[:, None], "E3", _clouds, "pos", "inv")


def batch_centred_features() -> Subject:
    """Features centred with the batch mean (batch norm in training mode, written by hand): depends on the batch."""
    def model(pos: torch.Tensor) -> torch.Tensor:
        d2 = _sq_distances(pos).flatten(1)
        return (d2 - d2.mean(0, keepdim=True)).pow(2).sum(1, keepdim=True)

    return Subject(model, "E3", _clouds, "pos", "inv")


failing("equivariance/generic/equivariant", f"{_HERE}:mlp_on_coordinates", "a plain MLP on coordinates")
failing("equivariance/generic/equivariant", f"{_HERE}:swapped_output_layout", "output irreps declared in the wrong order")
failing("equivariance/generic/equivariant", "baselines.equivariant.e3nn_models:tensor_product_built_in_float32",
        "e3nn tensor product built under a float32 default: float32 Clebsch-Gordan constants, error ~7e-9 in float64")
failing("equivariance/generic/equivariant", "baselines.equivariant.e3nn_models:gate_points_subject",
        "e3nn's example network: torch.cdist's matmul path gives nonzero self-distances, so self-loops enter its graph")
failing("equivariance/generic/lie-derivative-zero", f"{_HERE}:nearly_invariant_energy", "a 1e-6 symmetry leak")
failing("equivariance/generic/lie-derivative-zero", f"{_HERE}:mlp_on_coordinates", "a plain MLP on coordinates")
failing("equivariance/generic/gradient-equivariant", f"{_HERE}:energy_with_straight_through_term",
        "invariant value but a non-invariant gradient")
failing("equivariance/generic/gradient-equivariant", f"{_HERE}:energy_of_distances_with_sqrt",
        "NaN gradient of sqrt at the zero self-distance")
failing("equivariance/generic/batch-independent", f"{_HERE}:batch_centred_features", "statistics over the batch")
failing("equivariance/generic/batch-independent", "baselines.equivariant.e3nn_models:gate_points_subject",
        "e3nn's example network: whether self-loops enter the graph depends on the batch size")
