"""The weight-space groups (HiddenPerm / HiddenScale / HiddenPermScale) and the MLP weight layout they act on."""
import itertools

import pytest
import torch

from baselines.equivariant.dws_layers import dws_linear, theta_size
from baselines.equivariant.mlp_weights import mlp_forward, pack, random_weights, unpack
from baselines.equivariant.rebasin import permute_hidden
from harness.groups import GroupError, RepError, parse_group, parse_rep
from harness.groups.weight_space import HiddenSymmetry, num_params, param_layout
from suites.equivariance.dws import commutant_dimension

WEIGHTS = parse_rep("weights")


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", ["HiddenPerm(2,4,4,1)", "HiddenScale(2, 4, 1)", "HiddenPermScale(3,5,2)"])
def test_names_parse(name):
    g = parse_group(name)
    assert isinstance(g, HiddenSymmetry) and g.name == name.replace(" ", "")


@pytest.mark.parametrize("name", ["HiddenPerm(2,1)", "HiddenPerm(0,3,1)", "HiddenPerm()", "HiddenShift(2,3,1)"])
def test_bad_names_are_refused(name):
    with pytest.raises(GroupError):
        parse_group(name)


def test_layout_is_row_major_weights_then_bias():
    widths = (3, 2, 1)
    w1 = torch.arange(6.0).view(2, 3)
    b1, w2, b2 = torch.tensor([10.0, 11.0]), torch.tensor([[20.0, 21.0]]), torch.tensor([30.0])
    flat = pack([(w1, b1), (w2, b2)])
    assert flat.tolist() == [0, 1, 2, 3, 4, 5, 10, 11, 20, 21, 30]
    assert num_params(widths) == 11 and param_layout(widths)[1] == (slice(8, 10), slice(10, 11))
    (u1, c1), (u2, c2) = unpack(flat, widths)
    assert torch.equal(u1, w1) and torch.equal(c1, b1) and torch.equal(u2, w2) and torch.equal(c2, b2)


def test_permutation_action_matches_an_independent_implementation():
    widths = (3, 5, 4, 2)
    g = parse_group("HiddenPerm(3,5,4,2)")
    w = random_weights(gen(), widths, 3)
    els = g.sample(gen(1), 6)
    moved = g.act(els, WEIGHTS, w)
    for i in range(6):
        expected = torch.stack([permute_hidden(w[j], widths, [p[i] for p in els.perms]) for j in range(3)])
        assert torch.equal(moved[i], expected)


def test_scaling_action_multiplies_rows_and_divides_columns():
    widths = (2, 3, 1)
    g = parse_group("HiddenScale(2,3,1)")
    w = random_weights(gen(), widths, 1)
    s = torch.tensor([[0.5, 2.0, 3.0]], dtype=torch.float64)
    els = g.make(log_scales=[s.log()])
    (w1, b1), (w2, b2) = unpack(g.act(els, WEIGHTS, w)[0], widths)
    (v1, c1), (v2, c2) = unpack(w, widths)
    torch.testing.assert_close(w1, v1 * s[0][:, None])
    torch.testing.assert_close(b1, c1 * s[0])
    torch.testing.assert_close(w2, v2 / s[0])
    torch.testing.assert_close(b2, c2)


def test_inverse_elements_undo_the_action():
    w = random_weights(gen(), (2, 4, 3, 1), 5)
    perm, scale = parse_group("HiddenPerm(2,4,3,1)"), parse_group("HiddenScale(2,4,3,1)")
    p = perm.sample(gen(2), 8)
    back = perm.make([torch.argsort(q, dim=1) for q in p.perms])
    once = perm.act(p, WEIGHTS, w)
    twice = torch.stack([perm.act(back, WEIGHTS, once[i])[i] for i in range(8)])
    assert torch.equal(twice, w.expand(8, *w.shape))
    s = scale.sample(gen(3), 8)
    undo = scale.make(log_scales=[-x for x in s.log_scales])
    again = torch.stack([scale.act(undo, WEIGHTS, scale.act(s, WEIGHTS, w)[i])[i] for i in range(8)])
    torch.testing.assert_close(again, w.expand(8, *w.shape), rtol=1e-14, atol=1e-14)


def test_relu_function_preserved_and_gelu_not_under_scaling():
    widths = (2, 4, 4, 1)
    g = parse_group("HiddenPermScale(2,4,4,1)")
    w = random_weights(gen(), widths, 4)
    x = torch.randn(4, 32, 2, generator=gen(5), dtype=torch.float64)
    els = g.sample(gen(6), 8)
    moved = g.act(els, WEIGHTS, w)
    for act, exact in (("relu", True), ("gelu", False)):
        base = mlp_forward(w, x, widths, act)
        out = torch.stack([mlp_forward(moved[i], x, widths, act) for i in range(8)])
        err = float((out - base).abs().max() / base.abs().max())
        assert (err < 1e-13) == exact, (act, err)


def test_algebra_is_the_derivative_of_the_action():
    g = parse_group("HiddenScale(3,4,2,2)")
    w = random_weights(gen(), (3, 4, 2, 2), 2)
    dirs = g.sample_algebra(gen(7), 5)
    t = 1e-6
    plus = g.act(g.make(log_scales=[t * a for a in dirs]), WEIGHTS, w)
    minus = g.act(g.make(log_scales=[-t * a for a in dirs]), WEIGHTS, w)
    torch.testing.assert_close(g.act_algebra(dirs, WEIGHTS, w), (plus - minus) / (2 * t), rtol=1e-7, atol=1e-8)
    assert torch.count_nonzero(g.act_algebra(dirs, parse_rep("inv"), w)) == 0


def test_small_permutation_groups_are_enumerated():
    g = parse_group("HiddenPerm(2,3,2,1)")
    els = g.sample(gen(), 32)
    assert g.order == 12 and g.size(els) == 12 and g.elements_exhaustive(32)
    assert len({tuple(torch.cat([p[i] for p in els.perms]).tolist()) for i in range(12)}) == 12
    assert g.size(g.sample(gen(), 8)) == 8 and "permute 0->1, 1->0" in g.describe(g.sample(gen(), 8), 0)


def test_rep_checks():
    g = parse_group("HiddenPerm(2,4,1)")
    g.check(WEIGHTS, (17,))
    g.check(WEIGHTS, (3, 17))
    with pytest.raises(RepError):
        g.check(WEIGHTS, (16,))
    with pytest.raises(RepError):
        g.check(parse_rep("pos"), (3,))


def test_generators_give_the_same_commutant_as_the_whole_group():
    g = parse_group("HiddenPerm(1,3,3,1)")
    everything = g.sample(gen(), 100)
    p = g.num_params
    pairs = {(i, j) for i in range(p) for j in range(p)}
    orbits = 0
    while pairs:
        i, j = pairs.pop()
        orbit = {(int(everything.index[k, i]), int(everything.index[k, j])) for k in range(g.size(everything))}
        pairs -= orbit
        orbits += 1
    assert commutant_dimension(g) == orbits == 55


@pytest.mark.parametrize("widths, dim", [((2, 3, 2), 74), ((2, 5, 2), 74), ((1, 4, 4, 1), 55), ((2, 3, 3, 2), 114)])
def test_commutant_dimensions_match_the_catalogue(widths, dim):
    assert commutant_dimension(parse_group(f"HiddenPerm{widths}".replace(" ", ""))) == dim


@pytest.mark.parametrize("h", [2, 3, 5])
def test_dws_layer_spans_the_commutant(h):
    dims, p = (2, h, 2), num_params((2, h, 2))
    n = sum(theta_size(dims)) + 8
    theta = torch.randn(n, sum(theta_size(dims)), generator=gen(), dtype=torch.float64)
    basis = torch.cat([torch.zeros(1, p, dtype=torch.float64), torch.eye(p, dtype=torch.float64)])
    out = dws_linear(theta.repeat_interleave(p + 1, 0), basis.repeat(n, 1), dims).view(n, p + 1, p)
    assert int(torch.linalg.matrix_rank((out[:, 1:] - out[:, :1]).reshape(n, -1))) == 74


def test_all_hidden_permutations_of_a_tiny_net_preserve_it():
    widths = (2, 3, 1)
    w = random_weights(gen(), widths, 1)[0]
    x = torch.randn(1, 16, 2, generator=gen(1), dtype=torch.float64)
    base = mlp_forward(w[None], x, widths)
    for perm in itertools.permutations(range(3)):
        moved = permute_hidden(w, widths, [torch.tensor(perm)])
        torch.testing.assert_close(mlp_forward(moved[None], x, widths), base, rtol=0, atol=1e-14)


def test_gradients_follow_the_dual_action():
    widths = (2, 4, 4, 1)
    g = parse_group("HiddenPermScale(2,4,4,1)")
    w = random_weights(gen(), widths, 3)
    x = torch.randn(3, 16, 2, generator=gen(1), dtype=torch.float64)
    els = g.sample(gen(2), 4)

    def grad_at(weights):
        weights = weights.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(mlp_forward(weights, x, widths).pow(2).sum(), weights)
        return grad

    moved = g.act(els, WEIGHTS, w)
    at_moved = torch.stack([grad_at(moved[i]) for i in range(4)])
    torch.testing.assert_close(at_moved, g.act_dual(els, WEIGHTS, grad_at(w)), rtol=1e-10, atol=1e-12)
    assert not torch.allclose(at_moved, g.act(els, WEIGHTS, grad_at(w)))
