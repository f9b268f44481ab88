"""Deliberately broken graph and set models (EGNN, Deep Sets, partition-diagram layers), each failing one claim."""
from __future__ import annotations

import torch
from torch import Tensor

from baselines.equivariant.deep_sets import METHOD as DEEP_SETS
from baselines.equivariant.deep_sets import EquivariantLayer, mlp, set_inputs
from baselines.equivariant.egnn import EGCL, egnn_permutation_subject, egnn_planar_subject, egnn_subject, silu_mlp
from baselines.equivariant.partition_layers import METHOD as PARTITION
from baselines.equivariant.partition_layers import PartitionLayer, set_partitions, tensor_inputs
from harness.equivariance import Subject
from harness.registry import failing

_HERE = "suites.equivariance.broken_graphs"


class AbsoluteCoordinateLayer(EGCL):
    """x_i + C sum_j x_i phi_x(m_ij): absolute x_i where the paper has x_i - x_j. Rotations pass, translations do not."""

    def coordinate_update(self, pos: Tensor, rel: Tensor, m: Tensor, mask: Tensor) -> Tensor:
        weights = self.phi_x(m) * mask
        return pos + (pos[:, :, None, :] * weights).sum(2) / max(pos.shape[1] - 1, 1)


class VectorBiasLayer(EGCL):
    """The coordinate update plus a fixed vector b (a bias on the output of a Linear(., d)): not rotation-equivariant."""

    def __init__(self, features: int, hidden: int, gen: torch.Generator) -> None:
        super().__init__(features, hidden, gen)
        self.shift = torch.nn.Parameter(0.5 * torch.randn(3, generator=gen, dtype=torch.float64))

    def coordinate_update(self, pos: Tensor, rel: Tensor, m: Tensor, mask: Tensor) -> Tensor:
        return super().coordinate_update(pos, rel, m, mask) + self.shift[: pos.shape[-1]]


class CrossProductLayer(EGCL):
    """x_i + C (v_i + v_i x w_i), v and w weighted sums of x_i - x_j: SE(3)-equivariant, a pseudovector under inversion."""

    def __init__(self, features: int, hidden: int, gen: torch.Generator) -> None:
        super().__init__(features, hidden, gen)
        self.phi_y = silu_mlp((hidden, hidden, 1), gen, last_activation=False)

    def coordinate_update(self, pos: Tensor, rel: Tensor, m: Tensor, mask: Tensor) -> Tensor:
        c = 1.0 / max(pos.shape[1] - 1, 1)
        v = (rel * self.phi_x(m) * mask).sum(2)
        w = (rel * self.phi_y(m) * mask).sum(2)
        return pos + c * (v + torch.linalg.cross(v, w, dim=-1))


class PlanarTurnLayer(EGCL):
    """The 2D analogue x_i + C (v_i + J v_i), J the 90-degree turn: commutes with rotations, anticommutes with reflections."""

    def coordinate_update(self, pos: Tensor, rel: Tensor, m: Tensor, mask: Tensor) -> Tensor:
        v = (rel * self.phi_x(m) * mask).sum(2) / max(pos.shape[1] - 1, 1)
        return pos + v + torch.stack([-v[..., 1], v[..., 0]], dim=-1)


class NodeIndexLayer(EGCL):
    """h_i + phi_h(h_i, m_i) + sin(i w + b): a positional encoding of the node index, so relabelling nodes changes h."""

    def __init__(self, features: int, hidden: int, gen: torch.Generator) -> None:
        super().__init__(features, hidden, gen)
        self.freq = torch.nn.Parameter(torch.randn(features, generator=gen, dtype=torch.float64))
        self.phase = torch.nn.Parameter(torch.randn(features, generator=gen, dtype=torch.float64))

    def node_update(self, h: Tensor, m_i: Tensor) -> Tensor:
        index = torch.arange(h.shape[1], dtype=h.dtype, device=h.device)[:, None]
        return super().node_update(h, m_i) + torch.sin(index * self.freq + self.phase)


class GramMessageLayer(EGCL):
    """phi_e fed the inner product <x_i, x_j> instead of ||x_i - x_j||^2: rotation-invariant, not translation-invariant."""

    def edge_scalar(self, pos: Tensor, rel: Tensor) -> Tensor:
        return (pos[:, :, None, :] * pos[:, None, :, :]).sum(-1, keepdim=True)


def egnn_absolute_coordinates() -> Subject:
    """EGNN whose coordinate update uses x_i instead of x_i - x_j."""
    return egnn_subject(layer=AbsoluteCoordinateLayer)


def egnn_vector_bias() -> Subject:
    """EGNN whose coordinate update adds a fixed vector."""
    return egnn_subject(layer=VectorBiasLayer)


def egnn_cross_product() -> Subject:
    """EGNN with a cross product in the coordinate update: correct for SE(3), wrong under reflections."""
    return egnn_subject(layer=CrossProductLayer)


def egnn_gram_messages() -> Subject:
    """EGNN whose messages see <x_i, x_j> (an uncentred Gram matrix)."""
    return egnn_subject(layer=GramMessageLayer)


def egnn_node_index() -> Subject:
    """EGNN with a node-index positional encoding in the node update, judged under S5."""
    return egnn_permutation_subject(layer=NodeIndexLayer)


def egnn_planar_turn() -> Subject:
    """2D EGNN with a 90-degree-rotated update term, judged under O(2)."""
    return egnn_planar_subject(layer=PlanarTurnLayer)


def egnn_planar_vector_bias() -> Subject:
    """2D EGNN whose coordinate update adds a fixed vector, judged under O(2)."""
    return egnn_planar_subject(layer=VectorBiasLayer)


class PooledOverFeatures(torch.nn.Module):
    """rho(sum over the FEATURE axis of phi(X)): the sum taken over dim 2 where the set axis is dim 1."""

    def __init__(self, n: int, features: int, hidden: int, out: int, seed: int = 0) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.phi = mlp((features, hidden, hidden), gen)
        self.rho = mlp((n, hidden, out), gen)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rho(self.phi(x).sum(dim=2))


def deep_sets_pooled_over_features(n: int = 6) -> Subject:
    """A Deep Sets model pooling over the wrong axis, declared S<n>-invariant."""
    return Subject(PooledOverFeatures(n, 3, 16, 4), f"S{n}", set_inputs(n, 3), "perm:0", "inv", method=DEEP_SETS)


def deep_sets_flattened_mlp(n: int = 6) -> Subject:
    """An MLP on the concatenated set elements, declared S<n>-invariant."""
    net = mlp((3 * n, 16, 4), torch.Generator().manual_seed(0))
    return Subject(lambda x: net(x.flatten(1)), f"S{n}", set_inputs(n, 3), "perm:0", "inv", method=DEEP_SETS)


class DenseSetLayer(torch.nn.Module):
    """tanh(W X Lambda + b) with a dense n x n W mixing set positions: a generic layer, not lambda I + gamma 1 1^T.

    With channels=False it is the bare linear map x -> W x on R^n (n^2 parameters).
    """

    def __init__(self, n: int, features: int = 3, out: int = 5, channels: bool = True) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(1)
        self.channels = channels
        self.mix = torch.nn.Parameter(torch.randn(n, n, generator=gen, dtype=torch.float64) / n**0.5)
        if channels:
            self.lam = torch.nn.Parameter(torch.randn(features, out, generator=gen, dtype=torch.float64))
            self.bias = torch.nn.Parameter(0.1 * torch.randn(out, generator=gen, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mixed = torch.einsum("ij,bj...->bi...", self.mix, x)
        return torch.tanh(mixed @ self.lam + self.bias) if self.channels else mixed


class BatchPooledLayer(EquivariantLayer):
    """tanh(X Lambda + 1 mean_batch(X) Gamma + b): the pooled term averaged over the batch axis, not the set axis."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x @ self.lam + x.mean(dim=0, keepdim=True) @ self.gamma + self.bias
        return torch.tanh(y)


class ScaledIdentityLayer(torch.nn.Module):
    """x -> lambda x only (the gamma 1 1^T term forgotten): equivariant, but a 1-dimensional family."""

    def __init__(self) -> None:
        super().__init__()
        self.lam = torch.nn.Parameter(torch.tensor(0.7, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lam * x


def deep_sets_dense_layer(n: int = 6) -> Subject:
    """A dense set-mixing layer on [B, n, 3] -> [B, n, 5], declared S<n>-equivariant."""
    return Subject(DenseSetLayer(n), f"S{n}", set_inputs(n, 3), "perm:0", "perm:0", method=DEEP_SETS)


def deep_sets_batch_pooled_layer(n: int = 6) -> Subject:
    """The Deep Sets layer with its pooling over the batch axis."""
    return Subject(BatchPooledLayer(3, 5), f"S{n}", set_inputs(n, 3), "perm:0", "perm:0", method=DEEP_SETS)


def deep_sets_linear_dense(n: int = 6) -> Subject:
    """A dense linear map W x on R^n offered as the Deep Sets linear layer."""
    return Subject(DenseSetLayer(n, channels=False), f"S{n}", set_inputs(n, None), "perm:0", "perm:0", method=DEEP_SETS)


def deep_sets_linear_identity_only(n: int = 6) -> Subject:
    """lambda I alone offered as the Deep Sets linear layer."""
    return Subject(ScaledIdentityLayer(), f"S{n}", set_inputs(n, None), "perm:0", "perm:0", method=DEEP_SETS)


TRANSPOSE = set_partitions(4).index((0, 1, 1, 0))


def partition_missing_transpose(n: int = 5) -> Subject:
    """The graph-to-graph diagram layer without the transpose diagram {o1,i2}{o2,i1}: 14 of the 15 maps at n >= 4."""
    return Subject(PartitionLayer(n, 2, 2, drop=(TRANSPOSE,)), f"S{n}", tensor_inputs(n, 2), "perm:0,1", "perm:0,1",
                   method=PARTITION)


class AntiDiagonalLayer(PartitionLayer):
    """The diagonal-to-diagonal diagram read at x[i, n-1-i] (a reversed index): every other diagram is right."""

    def __init__(self, n: int, seed: int = 0) -> None:
        super().__init__(n, 2, 2, seed)
        i = torch.arange(n)
        wrong = torch.zeros(n * n, n * n, dtype=torch.float64)
        wrong[i * n + i, i * n + (n - 1 - i)] = 1.0
        self.basis[0] = wrong


ROW_SUMS = set_partitions(4).index((0, 1, 0, 2))


class UpperTriangleRowSumLayer(PartitionLayer):
    """The row-sum diagram {o1,i1}{o2}{i2} summed over j > i only (triu, 'each undirected edge once'): order-dependent."""

    def __init__(self, n: int, seed: int = 0) -> None:
        super().__init__(n, 2, 2, seed)
        col = torch.arange(n * n) % n
        row = torch.arange(n * n) // n
        self.basis[ROW_SUMS] *= (col > row).to(torch.float64)[None, :]


def partition_anti_diagonal(n: int = 5) -> Subject:
    """The graph-to-graph layer with one diagram applied on the anti-diagonal."""
    return Subject(AntiDiagonalLayer(n), f"S{n}", tensor_inputs(n, 2), "perm:0,1", "perm:0,1", method=PARTITION)


def partition_upper_triangle_row_sums(n: int = 5) -> Subject:
    """The graph-to-graph layer whose row sums cover only the upper triangle."""
    return Subject(UpperTriangleRowSumLayer(n), f"S{n}", tensor_inputs(n, 2), "perm:0,1", "perm:0,1", method=PARTITION)


for _claim, _impl, _why in (
    ("e3-equivariant", "egnn_absolute_coordinates", "x_i instead of x_i - x_j in the coordinate update (translations)"),
    ("e3-equivariant", "egnn_vector_bias", "a fixed vector added to the coordinate update (rotations)"),
    ("e3-equivariant", "egnn_cross_product", "a cross product in the update: SE(3)-equivariant, wrong under reflections"),
    ("e3-equivariant", "egnn_gram_messages", "messages on <x_i, x_j> instead of ||x_i - x_j||^2 (translations)"),
    ("features-invariant", "egnn_gram_messages", "messages on <x_i, x_j>: h depends on the origin"),
    ("features-invariant", "egnn_cross_product", "reflected layer-1 coordinates change layer-2 distances"),
    ("permutation-equivariant", "egnn_node_index", "a positional encoding of the node index in the node update"),
    ("planar-equivariant", "egnn_planar_turn", "a 90-degree-rotated update term: SO(2) but not O(2)"),
    ("planar-equivariant", "egnn_planar_vector_bias", "a fixed 2D vector added to the coordinate update"),
):
    failing(f"equivariance/egnn/{_claim}", f"{_HERE}:{_impl}", _why)

for _claim, _impl, _why in (
    ("invariant", "deep_sets_pooled_over_features", "sum over the feature axis instead of the set axis"),
    ("invariant", "deep_sets_flattened_mlp", "an MLP on the concatenated elements"),
    ("layer-equivariant", "deep_sets_dense_layer", "a dense n x n mixing of set positions"),
    ("layer-equivariant", "deep_sets_batch_pooled_layer", "the pooled term averaged over the batch axis"),
    ("layer-complete", "deep_sets_linear_identity_only", "lambda I without gamma 1 1^T: rank 1 of 2"),
    ("layer-complete", "deep_sets_linear_dense", "a dense W: n^2 dimensions, most outside the commutant"),
):
    failing(f"equivariance/deep-sets/{_claim}", f"{_HERE}:{_impl}", _why)

for _claim, _impl, _why in (
    ("equivariant", "partition_anti_diagonal", "one diagram applied with a reversed index (anti-diagonal)"),
    ("equivariant", "partition_upper_triangle_row_sums", "row sums over the upper triangle only (j > i)"),
    ("spans-commutant", "partition_missing_transpose", "the transpose diagram left out: 14 of 15 at n = 5"),
    ("spans-commutant", "partition_anti_diagonal", "one map outside the commutant"),
    ("spans-commutant", "partition_upper_triangle_row_sums", "one map outside the commutant"),
):
    failing(f"equivariance/partition-layers/{_claim}", f"{_HERE}:{_impl}", _why)

failing("equivariance/generic/batch-independent", f"{_HERE}:deep_sets_batch_pooled_layer",
        "a Deep Sets layer pooling over the batch axis: a sample's output depends on the rest of the batch")
