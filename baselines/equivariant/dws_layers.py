"""Linear layers on the weights of one-hidden-layer MLPs (d0, h, d2), equivariant to permutations of the h hidden
neurons, and an invariant network built from them: DWSNets ("Equivariant Architectures for Learning in Deep Weight
Spaces", Navon et al., ICML 2023; arXiv:2301.12780).

Derivation. Under S_h the weight space splits into m = d0 + 1 + d2 copies of the permutation representation R^h
(the columns of W1, the bias b1 and the rows of W2, each indexed by the hidden neuron) and d2 invariant numbers
(b2). Hom_{S_h}(R^h, R^h) is spanned by the identity and the all-ones matrix (h >= 2), Hom(R^h, R) by the sum and
Hom(R, R^h) by the broadcast, so with the neuron feature u_i = (W1[i, :], b1[i], W2[:, i]) in R^m and t = b2 every
equivariant linear map is

    u'_i = A u_i + B mean_j u_j + C t,        t' = D mean_j u_j + E t,

with A, B in R^{m x m}, C in R^{m x d2}, D in R^{d2 x m}, E in R^{d2 x d2}: 2 m^2 + 2 m d2 + d2^2 free numbers
(74 for (2, h, 2)). The 16 blocks between W1, b1, W2, b2 of the paper are the sub-blocks of A (per-neuron FC), B
(pool over the hidden axis, then broadcast), C (broadcast of b2), D (pool into b2) and E (FC on b2). The affine layer
adds the invariant vectors c_u (one per feature, the same for every neuron) and c_t.
"""
from __future__ import annotations

from typing import Sequence

import torch

from baselines.equivariant.mlp_weights import pack, random_weights, unpack
from harness.equivariance import Subject
from harness.groups.weight_space import group_name

def feature_slices(dims: Sequence[int]) -> dict[str, slice]:
    """Where W1, b1 and W2 sit inside a neuron feature u_i of length m = d0 + 1 + d2."""
    d0, _, d2 = dims
    return {"W1": slice(0, d0), "b1": slice(d0, d0 + 1), "W2": slice(d0 + 1, d0 + 1 + d2)}


def theta_size(dims: Sequence[int]) -> tuple[int, int]:
    """(linear, bias) parameter counts of the layer: (2 m^2 + 2 m d2 + d2^2, m + d2)."""
    d0, _, d2 = dims
    m = d0 + 1 + d2
    return 2 * m * m + 2 * m * d2 + d2 * d2, m + d2


def neuron_features(flat: torch.Tensor, dims: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat weights [B, P] of a (d0, h, d2) MLP -> neuron features u [B, h, m] and output bias t [B, d2]."""
    (w1, b1), (w2, b2) = unpack(flat, dims)
    return torch.cat([w1, b1[..., None], w2.transpose(-1, -2)], -1), b2


def from_neuron_features(u: torch.Tensor, t: torch.Tensor, dims: Sequence[int]) -> torch.Tensor:
    """Inverse of `neuron_features`: u [B, h, m], t [B, d2] -> flat weights [B, P]."""
    s = feature_slices(dims)
    return pack([(u[..., s["W1"]], u[..., s["b1"]].squeeze(-1)), (u[..., s["W2"]].transpose(-1, -2), t)])


def split_theta(theta: torch.Tensor, dims: Sequence[int]) -> dict[str, torch.Tensor]:
    """theta [B, n] -> A, B [B, m, m], C [B, m, d2], D [B, d2, m], E [B, d2, d2], c_u [B, m], c_t [B, d2]."""
    d0, _, d2 = dims
    m = d0 + 1 + d2
    shapes = {"A": (m, m), "B": (m, m), "C": (m, d2), "D": (d2, m), "E": (d2, d2), "c_u": (m,), "c_t": (d2,)}
    out, start = {}, 0
    for name, shape in shapes.items():
        n = 1
        for s in shape:
            n *= s
        out[name] = theta[:, start:start + n].reshape(theta.shape[0], *shape)
        start += n
    if start != theta.shape[1]:
        raise ValueError(f"theta has {theta.shape[1]} numbers; a {tuple(dims)} DWS layer takes {start}")
    return out


def block_mask(dims: Sequence[int], drop: Sequence[tuple[str, str]] = ()) -> torch.Tensor:
    """[m, m] mask of A and B that zeroes the (target, source) blocks in `drop`, e.g. [("W1", "W2")]."""
    d0, _, d2 = dims
    m = d0 + 1 + d2
    s = feature_slices(dims)
    mask = torch.ones(m, m, dtype=torch.float64)
    for target, source in drop:
        mask[s[target], s[source]] = 0.0
    return mask


def dws_linear(theta: torch.Tensor, flat: torch.Tensor, dims: Sequence[int],
               drop: Sequence[tuple[str, str]] = ()) -> torch.Tensor:
    """The DWS affine layer with per-sample parameters theta [B, n] on flat weights [B, P] -> [B, P]."""
    p = split_theta(theta, dims)
    mask = block_mask(dims, drop).to(flat.dtype)
    u, t = neuron_features(flat, dims)
    pooled = u.mean(1)
    u_new = (torch.einsum("bij,bhj->bhi", p["A"] * mask, u) + torch.einsum("bij,bj->bi", p["B"] * mask, pooled)[:, None]
             + torch.einsum("bij,bj->bi", p["C"], t)[:, None] + p["c_u"][:, None])
    t_new = torch.einsum("bij,bj->bi", p["D"], pooled) + torch.einsum("bij,bj->bi", p["E"], t) + p["c_t"]
    return from_neuron_features(u_new, t_new, dims)


def invariant_readout(flat: torch.Tensor, dims: Sequence[int]) -> torch.Tensor:
    """The invariant pooling of DWSNets: mean neuron feature and output bias, [B, m + d2]."""
    u, t = neuron_features(flat, dims)
    return torch.cat([u.mean(1), t], -1)


def _theta_draw(gen: torch.Generator, dims: Sequence[int], batch: int) -> torch.Tensor:
    n_lin, n_bias = theta_size(dims)
    m = dims[0] + 1 + dims[2]
    return torch.randn(batch, n_lin + n_bias, generator=gen, dtype=torch.float64) / m ** 0.5


def dws_layer_subject(dims: Sequence[int] = (2, 4, 2), drop: Sequence[tuple[str, str]] = ()) -> Subject:
    """The DWS layer family as a Subject: model(theta [B, n] (its parameters, 'inv'), weights [B, P]) -> weights."""
    dims = tuple(int(d) for d in dims)
    drop = tuple(tuple(d) for d in drop)

    def model(theta: torch.Tensor, flat: torch.Tensor) -> torch.Tensor:
        return dws_linear(theta, flat, dims, drop)

    def inputs(gen: torch.Generator, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        return _theta_draw(gen, dims, batch), random_weights(gen, dims, batch)

    return Subject(model, group_name("HiddenPerm", dims), inputs, ("inv", "weights"), "weights", method="dws")


def dws_invariant_subject(dims: Sequence[int] = (2, 4, 2), out: int = 3, seed: int = 0) -> Subject:
    """A DWSNet: DWS layer, ReLU, DWS layer, invariant pooling, linear head; fixed random parameters."""
    dims = tuple(int(d) for d in dims)
    gen = torch.Generator().manual_seed(seed)
    theta1, theta2 = _theta_draw(gen, dims, 1), _theta_draw(gen, dims, 1)
    m = dims[0] + 1 + dims[2]
    head = torch.randn(m + dims[2], out, generator=gen, dtype=torch.float64) / (m + dims[2]) ** 0.5

    def model(flat: torch.Tensor) -> torch.Tensor:
        n = flat.shape[0]
        h = torch.relu(dws_linear(theta1.expand(n, -1).to(flat.dtype), flat, dims))
        h = dws_linear(theta2.expand(n, -1).to(flat.dtype), h, dims)
        return invariant_readout(h, dims) @ head.to(flat.dtype)

    def inputs(gen: torch.Generator, batch: int) -> tuple[torch.Tensor]:
        return (random_weights(gen, dims, batch),)

    return Subject(model, group_name("HiddenPerm", dims), inputs, "weights", "inv", method="dws")
