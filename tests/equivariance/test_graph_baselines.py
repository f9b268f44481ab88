"""Internals of the graph and set baselines: EGNN in any dimension, the diagram basis, the commutant oracle."""
from __future__ import annotations

import itertools

import pytest
import torch

from baselines.equivariant.deep_sets import linear_layer_subject
from baselines.equivariant.egnn import EGNN, egnn_subject
from baselines.equivariant.partition_layers import (_null_space_basis, _orbit_basis, commutant_basis, diagram_basis,
                                                    index_maps, numerical_rank, pair_maps, partition_count,
                                                    set_partitions, tensor_rep)
from harness import Context
from harness.equivariance import batch_dependence, bind_subject
from suites.equivariance.broken_graphs import AbsoluteCoordinateLayer, CrossProductLayer
from suites.equivariance.checks import judge_equivariance

GEN = torch.Generator().manual_seed(0)


def test_set_partitions_are_the_bell_numbers():
    assert [len(set_partitions(m)) for m in range(7)] == [1, 1, 2, 5, 15, 52, 203]
    assert len(set(set_partitions(4))) == 15


@pytest.mark.parametrize("n, counts", [(1, [1, 1, 1, 1]), (2, [2, 4, 8, 16]), (3, [2, 5, 14, 41]),
                                       (4, [2, 5, 15, 51]), (5, [2, 5, 15, 52])])
def test_partition_counts_match_the_catalogue_table(n, counts):
    assert [partition_count(m, n) for m in (2, 3, 4, 5)] == counts


def _orbit_count(n: int, in_rep: str, in_shape: tuple[int, ...], out_rep: str, out_shape: tuple[int, ...]) -> int:
    """Orbits of all of S_n on (output index, input index) pairs: the commutant dimension of a permutation rep."""
    perms = torch.tensor(list(itertools.permutations(range(n))))
    idx_in, idx_out = index_maps(n, in_rep, in_shape, perms), index_maps(n, out_rep, out_shape, perms)
    d_in = idx_in.shape[1]
    pairs = idx_out[:, :, None] * d_in + idx_in[:, None, :]
    return len({tuple(sorted(set(pairs[:, a, b].tolist()))) for a in range(pairs.shape[1]) for b in range(d_in)})


@pytest.mark.parametrize("n, k, l", [(2, 2, 2), (3, 2, 2), (4, 2, 2), (3, 1, 2), (3, 2, 1), (4, 1, 1), (3, 0, 2)])
def test_commutant_null_space_matches_orbit_count_and_partitions(n, k, l):
    shape_in, shape_out = (n,) * k, (n,) * l
    dim = commutant_basis(n, tensor_rep(k), shape_in, tensor_rep(l), shape_out)[0].shape[0]
    assert dim == _orbit_count(n, tensor_rep(k), shape_in, tensor_rep(l), shape_out) == partition_count(k + l, n)


def test_commutant_with_channels_multiplies_by_channel_counts():
    dim = commutant_basis(4, "perm:0", (4, 3), "perm:0", (4, 2))[0].shape[0]
    assert dim == 3 * 2 * partition_count(2, 4) == _orbit_count(4, "perm:0", (4, 3), "perm:0", (4, 2))


def test_diagram_basis_holds_identity_ones_and_transpose():
    n = 3
    first_order = diagram_basis(n, 1, 1)
    assert torch.equal(first_order[0], torch.eye(n, dtype=torch.float64))
    assert torch.equal(first_order[1], torch.ones(n, n, dtype=torch.float64))
    x = torch.randn(n, n, generator=GEN, dtype=torch.float64)
    transpose = diagram_basis(n, 2, 2)[set_partitions(4).index((0, 1, 1, 0))]
    assert torch.equal((transpose @ x.reshape(-1)).view(n, n), x.T)


def test_every_diagram_commutes_with_every_permutation():
    n = 4
    basis = diagram_basis(n, 2, 2)
    for p in itertools.permutations(range(n)):
        P = torch.eye(n, dtype=torch.float64)[list(p)]
        PP = torch.kron(P, P)
        assert torch.equal(PP @ basis, basis @ PP)


def test_diagram_basis_rank_is_partition_count():
    for n in (2, 3, 4):
        assert numerical_rank(diagram_basis(n, 2, 2).reshape(15, -1)) == partition_count(4, n)


def test_deep_sets_linear_layer_is_lambda_identity_plus_gamma_ones():
    subject = linear_layer_subject(n=4)
    layer = subject.model
    lam, gamma = float(layer.lam.detach()), float(layer.gamma.detach())
    with torch.no_grad():
        W = layer(torch.eye(4, dtype=torch.float64)).T
    assert torch.allclose(W, lam * torch.eye(4, dtype=torch.float64) + gamma * torch.ones(4, 4, dtype=torch.float64))


def _haar_orthogonal(d: int, m: int) -> torch.Tensor:
    q, r = torch.linalg.qr(torch.randn(m, d, d, generator=GEN, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))[:, None, :]


@pytest.mark.parametrize("d", [2, 3, 5, 8])
def test_egnn_is_equivariant_to_orthogonal_maps_translations_and_permutations_in_any_dimension(d):
    net = EGNN(features=4, layers=3, seed=1)
    m, b, nodes = 8, 4, 6
    Q = _haar_orthogonal(d, m)
    assert bool((torch.linalg.det(Q) < 0).any()), "some draws must be reflections"
    t = 3 * torch.randn(m, 1, 1, d, generator=GEN, dtype=torch.float64)
    perm = torch.randperm(nodes, generator=GEN)
    pos = torch.randn(b, nodes, d, generator=GEN, dtype=torch.float64)
    h = torch.randn(b, nodes, 4, generator=GEN, dtype=torch.float64)
    x1, h1 = net(pos, h)
    moved = torch.einsum("mij,bnj->mbni", Q, pos) + t
    x2, h2 = net(moved[:, :, perm].reshape(m * b, nodes, d), h[:, perm].repeat(m, 1, 1))
    expected = (torch.einsum("mij,bnj->mbni", Q, x1) + t)[:, :, perm]
    assert (x2.view(m, b, nodes, d) - expected).abs().max() < 1e-12 * expected.abs().max()
    assert (h2.view(m, b, nodes, 4) - h1[None, :, perm]).abs().max() < 1e-12 * h1.abs().max()


def _judge(subject, group: str):
    bs = bind_subject(subject).with_group(group)
    return judge_equivariance(bs, Context(seed=0, params={}))


def test_cross_product_bug_passes_se3_and_is_caught_only_by_reflections():
    subject = egnn_subject(layer=CrossProductLayer)
    assert _judge(subject, "SE3").verdict == "pass"
    caught = _judge(subject, "E3")
    assert caught.verdict == "fail" and "inversion" in caught.witness


def test_absolute_coordinate_bug_passes_o3_and_is_caught_by_translations():
    subject = egnn_subject(layer=AbsoluteCoordinateLayer)
    assert _judge(subject, "O3").verdict == "pass"
    caught = _judge(subject, "E3")
    assert caught.verdict == "fail" and "translation" in caught.witness


def test_egnn_is_batch_independent():
    bs = bind_subject(egnn_subject())
    rel, _ = batch_dependence(bs, bs.draw(torch.Generator().manual_seed(0), 3))
    assert float(rel.max()) < 1e-13


def test_egcl_matches_the_papers_equations_written_pair_by_pair():
    layer = EGNN(features=3, hidden=8, layers=1, seed=2).layers[0]
    nodes = 4
    pos = torch.randn(1, nodes, 3, generator=GEN, dtype=torch.float64)
    h = torch.randn(1, nodes, 3, generator=GEN, dtype=torch.float64)
    x_new, h_new = layer(pos, h)
    for i in range(nodes):
        dx, m_i = torch.zeros(3, dtype=torch.float64), torch.zeros(8, dtype=torch.float64)
        for j in range(nodes):
            if j == i:
                continue
            rel = pos[0, i] - pos[0, j]
            m_ij = layer.phi_e(torch.cat([h[0, i], h[0, j], rel.pow(2).sum().view(1)]))
            dx += rel * layer.phi_x(m_ij)
            m_i += m_ij
        assert torch.allclose(x_new[0, i], pos[0, i] + dx / (nodes - 1), atol=1e-14)
        assert torch.allclose(h_new[0, i], h[0, i] + layer.phi_h(torch.cat([h[0, i], m_i])), atol=1e-14)


@pytest.mark.parametrize("n, k, l", [(3, 2, 2), (5, 2, 2), (4, 1, 2), (3, 0, 2)])
def test_null_space_and_orbit_oracles_span_the_same_space(n, k, l):
    maps = pair_maps(n, tensor_rep(k), (n,) * k, tensor_rep(l), (n,) * l)
    null, orbits = _null_space_basis(maps, 1e-9), _orbit_basis(maps)
    assert null.shape[0] == orbits.shape[0] == numerical_rank(torch.cat([null, orbits]))
