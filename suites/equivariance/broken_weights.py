"""Broken implementations for the weight-space, Git Re-Basin, DWSNets, 6D-rotation and soft-equivariance claims, each a
bug seen in practice, registered with the claim that must catch it."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import torch

from baselines.equivariant.dws_layers import dws_layer_subject, neuron_features
from baselines.equivariant.mlp_weights import (mlp_forward, mlp_subject, pack, random_weights, unpack,
                                               weights_and_points)
from baselines.equivariant.rebasin import matcher_subject, weight_matching
from baselines.equivariant.rotation_repr import (euler_zyx_from_matrix, gram_schmidt, haar_columns,
                                                 quaternion_from_matrix)
from baselines.equivariant.soft_equivariance import soft_equivariant_family, unregularized_subject
from harness.equivariance import Subject
from harness.groups import Group, Rep
from harness.groups.weight_space import group_name, num_params
from harness.registry import failing

_HERE = "suites.equivariance.broken_weights"
WIDTHS = (2, 4, 4, 1)


# --- hidden symmetries of MLP weights ---------------------------------------------------------------------------

def mlp_with_external_hidden_bias() -> Subject:
    """The first hidden bias lives outside the weight vector (a module buffer), so it is not permuted or rescaled
    with its neuron; the b1 slot of the layout is ignored."""
    fixed = torch.linspace(-0.5, 0.5, WIDTHS[1], dtype=torch.float64)

    def model(flat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        layers = unpack(flat, WIDTHS)
        layers[0] = (layers[0][0], fixed.to(flat.dtype).expand_as(layers[0][1]))
        return mlp_forward(pack(layers), x, WIDTHS)

    return Subject(model, group_name("HiddenPermScale", WIDTHS), weights_and_points(WIDTHS, 16), ("weights", "inv"),
                   "inv", method="hidden-symmetries")


def mlp_reading_w1_column_major() -> Subject:
    """W1 read from the flat vector as (d0 x d1) and transposed: a column-major layout, so the group's row
    permutation of W1 scrambles the model's neurons."""
    def model(flat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        layers = unpack(flat, WIDTHS)
        w1 = layers[0][0].reshape(flat.shape[0], WIDTHS[0], WIDTHS[1]).transpose(1, 2)
        layers[0] = (w1, layers[0][1])
        return mlp_forward(pack(layers), x, WIDTHS)

    return Subject(model, group_name("HiddenPerm", WIDTHS), weights_and_points(WIDTHS, 16), ("weights", "inv"), "inv",
                   method="hidden-symmetries")


def gelu_mlp() -> Subject:
    """A GELU network: permutations still preserve it, but GELU(s z) != s GELU(z), so rescaling changes it."""
    return mlp_subject(WIDTHS, activation="gelu", family="HiddenPerm")


def gelu_mlp_241() -> Subject:
    """A (2,4,1) GELU network: no scaling symmetry, so its Jacobian reaches full rank 17 > 13."""
    return mlp_subject((2, 4, 1), activation="gelu", family="HiddenPerm")


def mlp_without_output_bias() -> Subject:
    """A (2,4,1) ReLU network that forgets the output bias b2 (its slot is ignored): one parameter the function never
    sees, so the Jacobian rank stays at 12 < 13."""
    widths = (2, 4, 1)

    def model(flat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        layers = unpack(flat, widths)
        layers[-1] = (layers[-1][0], torch.zeros_like(layers[-1][1]))
        return mlp_forward(pack(layers), x, widths)

    return Subject(model, group_name("HiddenPermScale", widths), weights_and_points(widths, 16), ("weights", "inv"),
                   "inv", method="hidden-symmetries")


failing("equivariance/hidden-symmetries/permutation-preserves-function", f"{_HERE}:mlp_with_external_hidden_bias",
        "a hidden bias not permuted along with its neuron")
failing("equivariance/hidden-symmetries/permutation-preserves-function", f"{_HERE}:mlp_reading_w1_column_major",
        "W1 read column-major: the layout disagrees with the group's")
failing("equivariance/hidden-symmetries/scaling-preserves-function", f"{_HERE}:gelu_mlp",
        "GELU is not positively homogeneous")
failing("equivariance/hidden-symmetries/scaling-preserves-function", f"{_HERE}:mlp_with_external_hidden_bias",
        "a hidden bias not rescaled along with its neuron")
failing("equivariance/hidden-symmetries/functional-dimension", f"{_HERE}:gelu_mlp_241",
        "GELU network: rank above #params - #hidden")
failing("equivariance/hidden-symmetries/functional-dimension", f"{_HERE}:mlp_without_output_bias",
        "an ignored parameter keeps the rank below the bound")


# --- DWSNets ------------------------------------------------------------------------------------------------------

DWS_DIMS = (2, 4, 2)


def dense_layer_on_flat_weights() -> Subject:
    """The negative control of DWSNets: a dense linear layer on the flattened weights, theta = (Theta [P x P], c)."""
    p = num_params(DWS_DIMS)

    def model(theta: torch.Tensor, flat: torch.Tensor) -> torch.Tensor:
        mat = theta[:, : p * p].reshape(-1, p, p)
        return torch.einsum("bij,bj->bi", mat, flat) + theta[:, p * p:]

    def inputs(gen: torch.Generator, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        return (torch.randn(batch, p * p + p, generator=gen, dtype=torch.float64) / p ** 0.5,
                random_weights(gen, DWS_DIMS, batch))

    return Subject(model, group_name("HiddenPerm", DWS_DIMS), inputs, ("inv", "weights"), "weights", method="dws")


def dws_layer_w2_misread() -> Subject:
    """The DWS layer fed with W2 read as (h x d2) instead of transposing the stored (d2 x h): neuron features mix
    entries of different hidden neurons."""
    ref = dws_layer_subject(DWS_DIMS)
    d0, h, d2 = DWS_DIMS

    def model(theta: torch.Tensor, flat: torch.Tensor) -> torch.Tensor:
        (w1, b1), (w2, b2) = unpack(flat, DWS_DIMS)
        misread = w2.reshape(-1, h, d2).transpose(1, 2)
        return ref.model(theta, pack([(w1, b1), (misread, b2)]))

    return Subject(model, ref.group, ref.inputs, ref.in_reps, ref.out_reps, method="dws")


def dws_layer_missing_block() -> Subject:
    """A DWS layer without the W2 -> W1 block (neither its per-neuron nor its pooled part): still equivariant, but
    2 * d0 * d2 = 8 equivariant maps short of complete."""
    return dws_layer_subject(DWS_DIMS, drop=[("W1", "W2")])


def dws_head_without_pooling() -> Subject:
    """An 'invariant' head that flattens the neuron features in their stored order instead of pooling over them."""
    gen = torch.Generator().manual_seed(0)
    d0, h, d2 = DWS_DIMS
    head = torch.randn(h * (d0 + 1 + d2) + d2, 3, generator=gen, dtype=torch.float64) / 5.0

    def model(flat: torch.Tensor) -> torch.Tensor:
        u, t = neuron_features(flat, DWS_DIMS)
        return torch.cat([u.flatten(1), t], 1) @ head.to(flat.dtype)

    return Subject(model, group_name("HiddenPerm", DWS_DIMS),
                   lambda gen, batch: (random_weights(gen, DWS_DIMS, batch),), "weights", "inv", method="dws")


failing("equivariance/dws/layer-equivariant", f"{_HERE}:dense_layer_on_flat_weights",
        "a dense layer on flattened weights")
failing("equivariance/dws/layer-equivariant", f"{_HERE}:dws_layer_w2_misread", "W2 read with the wrong layout")
failing("equivariance/dws/complete", f"{_HERE}:dws_layer_missing_block", "the W2 -> W1 block left out")
failing("equivariance/dws/complete", f"{_HERE}:dense_layer_on_flat_weights", "spans non-equivariant maps")
failing("equivariance/dws/invariant-head", f"{_HERE}:dws_head_without_pooling", "flattening instead of pooling")


# --- Git Re-Basin ---------------------------------------------------------------------------------------------------

REBASIN_WIDTHS = (5, 32, 32, 3)


def identity_matcher() -> Subject:
    """No alignment at all: merging then is naive weight averaging."""
    return matcher_subject(lambda a, b, widths: [torch.arange(d) for d in widths[1:-1]], REBASIN_WIDTHS)


def _inverse_matching(a: torch.Tensor, b: torch.Tensor, widths: Sequence[int]) -> list[torch.Tensor]:
    return [torch.argsort(p) for p in weight_matching(a, b, widths)]


def matcher_applying_inverse() -> Subject:
    """Weight matching whose permutations are applied inverted (P^T where P was meant)."""
    return matcher_subject(_inverse_matching, REBASIN_WIDTHS)


def _layerwise_matching(a: torch.Tensor, b: torch.Tensor, widths: Sequence[int]) -> list[torch.Tensor]:
    """One pass, each layer on its incoming weights and bias only, the previous layer's permutation never applied."""
    from scipy.optimize import linear_sum_assignment

    perms = []
    for (wa, ba), (wb, bb) in zip(unpack(a.double(), widths)[:-1], unpack(b.double(), widths)[:-1]):
        gain = (wa @ wb.T + torch.outer(ba, bb)).numpy()
        _, cols = linear_sum_assignment(gain, maximize=True)
        perms.append(torch.argsort(torch.from_numpy(cols)))
    return perms


def layerwise_matcher_without_propagation() -> Subject:
    """Matches layer by layer on incoming weights without permuting their columns by the previous layer's match."""
    return matcher_subject(_layerwise_matching, REBASIN_WIDTHS)


for _claim in ("equivariance/rebasin/recovers-planted-permutation", "equivariance/rebasin/merge-permuted-copy"):
    failing(_claim, f"{_HERE}:identity_matcher", "no alignment (naive averaging)")
    failing(_claim, f"{_HERE}:matcher_applying_inverse", "the matched permutation applied inverted")
failing("equivariance/rebasin/recovers-planted-permutation", f"{_HERE}:layerwise_matcher_without_propagation",
        "the previous layer's permutation is not propagated")


# --- 6D rotation representation -------------------------------------------------------------------------------------

def _codes(gen: torch.Generator, batch: int) -> tuple[torch.Tensor]:
    return (torch.randn(batch, 2, 3, generator=gen, dtype=torch.float64),)


def gram_schmidt_fixed_axis() -> Subject:
    """b2 orthogonalized from the world z axis instead of from a2: a valid rotation, but not equivariant."""
    def model(v: torch.Tensor) -> torch.Tensor:
        z = torch.zeros_like(v[:, 1])
        z[:, 2] = 1.0
        return gram_schmidt(torch.stack([v[:, 0], z + 1e-3 * v[:, 1]], 1))

    return Subject(model, "SO3", _codes, "1x1o", "1x1o", method="rotation-6d")


def gram_schmidt_left_handed() -> Subject:
    """b3 = b2 x b1: orthonormal columns with determinant -1 (still SO(3)-equivariant)."""
    def model(v: torch.Tensor) -> torch.Tensor:
        cols = gram_schmidt(v)
        return torch.stack([cols[:, 0], cols[:, 1], -cols[:, 2]], 1)

    return Subject(model, "SO3", _codes, "1x1o", "1x1o", method="rotation-6d")


def gram_schmidt_unorthogonalized() -> Subject:
    """b2 = a2 / |a2| without removing its b1 component: exact on true rotations, not orthonormal otherwise."""
    def model(v: torch.Tensor) -> torch.Tensor:
        b1 = v[:, 0] / v[:, 0].norm(dim=-1, keepdim=True)
        b2 = v[:, 1] / v[:, 1].norm(dim=-1, keepdim=True)
        return torch.stack([b1, b2, torch.linalg.cross(b1, b2, dim=-1)], 1)

    return Subject(model, "SO3", _codes, "1x1o", "1x1o", method="rotation-6d")


def quaternion_encoder() -> Subject:
    """The unit quaternion with w >= 0 as a code. Declared '1x0e+1x1o' (how (w, v) splits under conjugation); that
    is not how it transforms under R -> QR, and the continuity claim does not rely on the declaration."""
    return Subject(lambda cols: quaternion_from_matrix(cols.transpose(-1, -2)), "SO3",
                   lambda gen, batch: (haar_columns(gen, batch),), "1x1o", "1x0e+1x1o", method="rotation-6d")


def euler_encoder() -> Subject:
    """ZYX Euler angles as a code, declared '3x0e' (they are not invariant; the continuity claim ignores the rep)."""
    return Subject(lambda cols: euler_zyx_from_matrix(cols.transpose(-1, -2)), "SO3",
                   lambda gen, batch: (haar_columns(gen, batch),), "1x1o", "3x0e", method="rotation-6d")


failing("equivariance/rotation-6d/gram-schmidt-equivariant", f"{_HERE}:gram_schmidt_fixed_axis",
        "orthogonalizes against a fixed world axis")
failing("equivariance/rotation-6d/round-trip", f"{_HERE}:gram_schmidt_left_handed", "b3 = b2 x b1")
failing("equivariance/rotation-6d/decodes-to-rotation", f"{_HERE}:gram_schmidt_left_handed", "determinant -1")
failing("equivariance/rotation-6d/decodes-to-rotation", f"{_HERE}:gram_schmidt_unorthogonalized",
        "b2 not orthogonalized")
failing("equivariance/rotation-6d/continuous-representation", f"{_HERE}:quaternion_encoder",
        "quaternion with w >= 0: jumps by 2 at angle pi")
failing("equivariance/rotation-6d/continuous-representation", f"{_HERE}:euler_encoder",
        "Euler angles: jumps at gimbal lock and the +-pi cuts")


# --- soft equivariance ------------------------------------------------------------------------------------------------

def invariance_penalty(model: Callable[[torch.Tensor], torch.Tensor], group: Group, in_rep: Rep, out_rep: Rep,
                       elements: Any, x: torch.Tensor) -> torch.Tensor:
    """The regularizer with the output transformation forgotten: E ||f(g x) - f(x)||^2 (pushes towards invariance)."""
    m = group.size(elements)
    fx = model(x)
    f_gx = model(group.act(elements, in_rep, x).reshape(-1, *x.shape[1:])).view(m, *fx.shape)
    return (f_gx - fx.unsqueeze(0)).pow(2).sum(-1).mean((0, 1))


def family_with_invariance_penalty(lams: Sequence[float] = (0.0, 0.1, 1.0, 10.0)) -> Subject:
    """The soft-equivariance family trained with `invariance_penalty` in place of the equivariance regularizer."""
    return soft_equivariant_family(lams, regularizer=invariance_penalty)


def unregularized_mlp() -> Subject:
    """The toy-task MLP trained without the regularizer (lambda = 0), declared SO(3)-equivariant."""
    return unregularized_subject()


failing("equivariance/soft-equivariance/regularizer-zero-iff-equivariant", f"{_HERE}:unregularized_mlp",
        "a model that is not equivariant must have a positive regularizer")
failing("equivariance/soft-equivariance/error-decreases-with-lambda", f"{_HERE}:family_with_invariance_penalty",
        "the regularizer forgets to transform the output")
