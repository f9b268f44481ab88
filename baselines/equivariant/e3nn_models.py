"""e3nn's own building blocks as Subjects: its O(3) tensor product, spherical harmonics and example point network.

"e3nn: Euclidean Neural Networks" (Geiger & Smidt 2022, arXiv:2207.09453): third-party code that claimbench
validates, not reimplementations. Modules are built with float64 as torch's default dtype: e3nn computes its
Clebsch-Gordan constants in the default dtype, so a module built in float32 and then `.double()`-ed is
equivariant only to ~1e-8 (see `tensor_product_built_in_float32`).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from e3nn import o3

from harness.equivariance import Subject

TP_IRREPS = "8x0e+8x1o+4x2e"


@contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """Build modules with this default dtype, then restore the previous one."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def _irreps_inputs(irreps: str, count: int):
    dim = o3.Irreps(irreps).dim

    def inputs(gen: torch.Generator, batch: int) -> tuple[torch.Tensor, ...]:
        return tuple(torch.randn(batch, dim, generator=gen, dtype=torch.float64) for _ in range(count))

    return inputs


def tensor_product_subject(irreps: str = TP_IRREPS, build_dtype: torch.dtype = torch.float64) -> Subject:
    """e3nn's FullyConnectedTensorProduct irreps x irreps -> irreps, claimed O(3)-equivariant (e3nn)."""
    with default_dtype(build_dtype):
        torch.manual_seed(0)
        tp = o3.FullyConnectedTensorProduct(irreps, irreps, irreps)
    return Subject(tp, "O3", _irreps_inputs(irreps, 2), (irreps, irreps), irreps)


def tensor_product_built_in_float32(irreps: str = TP_IRREPS) -> Subject:
    """The same tensor product built under torch's float32 default and converted: float32 constants in float64 (e3nn)."""
    return tensor_product_subject(irreps, torch.float32)


def spherical_harmonics_subject(lmax: int = 4) -> Subject:
    """e3nn's real spherical harmonics of unit vectors up to lmax, claimed O(3)-equivariant with parity (-1)^l (e3nn)."""
    irreps = o3.Irreps.spherical_harmonics(lmax)

    def model(vec: torch.Tensor) -> torch.Tensor:
        return o3.spherical_harmonics(irreps, vec, normalize=True, normalization="component")

    def inputs(gen: torch.Generator, batch: int) -> tuple[torch.Tensor]:
        return (torch.randn(batch, 3, generator=gen, dtype=torch.float64),)

    return Subject(model, "O3", inputs, "1x1o", str(irreps))


def exact_radius_graph(pos: torch.Tensor, r_max: float, batch: torch.Tensor) -> torch.Tensor:
    """Edges i != j of one cloud closer than r_max, with distances computed pairwise (no matmul expansion)."""
    r = torch.cdist(pos, pos, compute_mode="donot_use_mm_for_euclid_dist")
    same = batch[:, None] == batch[None, :]
    off_diagonal = ~torch.eye(pos.shape[0], dtype=torch.bool, device=pos.device)
    return ((r < r_max) & same & off_diagonal).nonzero().T


@contextmanager
def exact_self_distances() -> Iterator[None]:
    """Run gate_points_2101 with `exact_radius_graph` in place of its cdist-based `radius_graph`."""
    import e3nn.nn.models.gate_points_2101 as gate_points

    original = gate_points.radius_graph
    gate_points.radius_graph = exact_radius_graph
    try:
        yield
    finally:
        gate_points.radius_graph = original


class GatePointsEnergy(torch.nn.Module):
    """e3nn's example network gate_points_2101 on batched clouds [B, N, 3] -> one scalar and one vector per cloud (e3nn).

    Its `radius_graph` keeps pairs with 0 < cdist < r_max; past 25 points torch.cdist takes a matmul path whose
    self-distances are ~1e-4 (float32) or ~1e-8 (float64) instead of 0, so self-loops with zero edge vectors enter
    the graph depending on the batch. `exact_graph=True` runs it with exact pairwise distances instead.
    """

    def __init__(self, num_points: int, exact_graph: bool = False) -> None:
        super().__init__()
        self.exact_graph = exact_graph
        from e3nn.nn.models.gate_points_2101 import Network

        with default_dtype(torch.float64):
            torch.manual_seed(0)
            self.net = Network(irreps_in=None, irreps_hidden="8x0e+8x0o+4x1e+4x1o", irreps_out="1x0e+1x1o",
                               irreps_node_attr=None, irreps_edge_attr="0e+1o+2e", layers=2, max_radius=2.5,
                               number_of_basis=8, radial_layers=1, radial_neurons=16, num_neighbors=4.0,
                               num_nodes=float(num_points), reduce_output=True)

    def forward(self, pos: torch.Tensor) -> torch.Tensor:
        b, n, _ = pos.shape
        data = {"pos": pos.reshape(b * n, 3), "batch": torch.arange(b, device=pos.device).repeat_interleave(n)}
        if not self.exact_graph:
            return self.net(data)
        with exact_self_distances():
            return self.net(data)


def gate_points_subject(num_points: int = 8, exact_graph: bool = False) -> Subject:
    """e3nn's example point-cloud network, claimed E(3)-equivariant for a 0e+1o output (e3nn)."""

    def inputs(gen: torch.Generator, batch: int) -> tuple[torch.Tensor]:
        return (torch.randn(batch, num_points, 3, generator=gen, dtype=torch.float64),)

    return Subject(GatePointsEnergy(num_points, exact_graph), "E3", inputs, "pos", "1x0e+1x1o")


def gate_points_exact_graph_subject(num_points: int = 8) -> Subject:
    """The same network with exact pairwise distances in its radius graph (e3nn; the fix for the self-loop bug)."""
    return gate_points_subject(num_points, exact_graph=True)
