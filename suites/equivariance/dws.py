"""DWSNets claims: linear layers on MLP weights that commute with hidden-neuron permutations, complete (they span
every equivariant linear map), and invariant heads ("Equivariant Architectures for Learning in Deep Weight Spaces",
Navon et al., ICML 2023; arXiv:2301.12780).

A layer family enters as a Subject whose model takes the layer's parameters as an invariant input:
model(theta [B, n] ('inv'), weights [B, P] ('weights')) -> weights [B, P], so one subject carries every member.
"""
from __future__ import annotations

import torch

from harness import Context, Measurement, Reference, claim
from harness.equivariance import BoundSubject, default_tolerance
from harness.groups.weight_space import HiddenSymmetry
from suites.equivariance.checks import judge_equivariance
from suites.equivariance.hidden_symmetries import weight_space_view

PAPER = ("Equivariant Architectures for Learning in Deep Weight Spaces (Navon, Shamsian, Achituve, Maron, Fetaya & "
         "Chechik, ICML 2023; arXiv:2301.12780)")
_DWS = "baselines.equivariant.dws_layers"
NEEDS = ("method:dws",)


def commutant_dimension(group: HiddenSymmetry) -> int:
    """dim{L : rho(g) L = L rho(g) for all g} for the permutation rep on the flat weights: the number of orbits of the
    group on index pairs (i, j), found by propagating the smallest label along the generators until stable."""
    gens = group.generators().index
    p = group.num_params
    labels = torch.arange(p * p).view(p, p)
    inverse = torch.argsort(gens, dim=1)
    while True:
        new = labels
        for idx in torch.cat([gens, inverse]):
            new = torch.minimum(new, new[idx][:, idx])
        if torch.equal(new, labels):
            return int(labels.unique().numel())
        labels = new


def one_hidden_layer_formula(widths: tuple[int, ...]) -> int | None:
    """The derived count 2 m^2 + 2 m d2 + d2^2, m = d0 + 1 + d2, for a (d0, h, d2) MLP with h >= 2 (74 for (2,h,2))."""
    if len(widths) != 3 or widths[1] < 2:
        return None
    d0, _, d2 = widths
    m = d0 + 1 + d2
    return 2 * m * m + 2 * m * d2 + d2 * d2


def _family_shape(subject: BoundSubject) -> str:
    kinds = tuple(r.kind for r in subject.in_reps), tuple(r.kind for r in subject.out_reps)
    if kinds != (("inv", "weights"), ("weights",)):
        return (f"this claim needs a layer family model(theta ('inv'), weights ('weights')) -> weights; the subject's "
                f"reps are {[r.spec for r in subject.in_reps]} -> {[r.spec for r in subject.out_reps]}")
    return ""


@claim(
    "equivariance/dws/layer-equivariant",
    paper=PAPER,
    statement="DWS layers are equivariant to the permutation symmetry of the hidden neurons: for every parameter "
              "setting theta, L_theta(g.w) = g.L_theta(w) for hidden permutations g, to the dtype's exactness budget "
              "(every element of S_4 for a (2,4,2) MLP).",
    contract="equivariant", needs=NEEDS, params={"elements": 32, "samples": 16},
    references=(Reference("DWS linear layer (2,4,2)", f"{_DWS}:dws_layer_subject"),),
)
def layer_equivariant(subject: BoundSubject, ctx: Context) -> Measurement:
    """The checker under HiddenPerm of the subject's widths, theta drawn with the weights."""
    view = weight_space_view(subject, "HiddenPerm")
    return view if isinstance(view, Measurement) else judge_equivariance(view, ctx)


@claim(
    "equivariance/dws/invariant-head",
    paper=PAPER,
    statement="The invariant DWS network (equivariant layers, then pooling over the hidden neurons, then a head) gives "
              "the same output for every hidden-neuron permutation of its input weights, to the dtype's budget.",
    contract="equivariant", needs=NEEDS, params={"elements": 32, "samples": 16},
    references=(Reference("DWSNet: 2 DWS layers + ReLU + invariant pooling (2,4,2)", f"{_DWS}:dws_invariant_subject"),),
)
def invariant_head(subject: BoundSubject, ctx: Context) -> Measurement:
    """The checker under HiddenPerm; the outputs must be declared 'inv'."""
    view = weight_space_view(subject, "HiddenPerm")
    if isinstance(view, Measurement):
        return view
    if any(r.kind != "inv" for r in subject.out_reps):
        return Measurement("skip", detail="this claim is about invariant outputs; the subject declares "
                                          f"{[r.spec for r in subject.out_reps]}")
    return judge_equivariance(view, ctx)


def _layer_matrices(subject: BoundSubject, theta: torch.Tensor, p: int) -> torch.Tensor:
    """The linear part of w -> L_theta(w) for each theta [n, k]: [n, P, P] (row j is L(e_j) - L(0))."""
    n = theta.shape[0]
    basis = torch.cat([torch.zeros(1, p, dtype=subject.dtype), torch.eye(p, dtype=subject.dtype)])
    out = subject(theta.repeat_interleave(p + 1, 0), basis.repeat(n, 1))[0].view(n, p + 1, p)
    return (out[:, 1:] - out[:, :1]).double()


def _affine_error(subject: BoundSubject, theta: torch.Tensor, w: torch.Tensor) -> tuple[float, int]:
    """Largest relative violation of L(a + 2b) - L(0) = (L(a) - L(0)) + 2 (L(b) - L(0)) over the draws, and where."""
    n = theta.shape[0]
    a, b = w, w.roll(1, 0)
    zero = torch.zeros_like(w)
    ys = subject(theta.repeat(4, 1), torch.cat([zero, a, b, a + 2 * b]))[0].view(4, n, -1).double()
    lhs, rhs = ys[3] - ys[0], (ys[1] - ys[0]) + 2 * (ys[2] - ys[0])
    rel = (lhs - rhs).norm(dim=1) / torch.maximum(lhs.norm(dim=1), rhs.norm(dim=1)).clamp_min(1e-300)
    return float(rel.max()), int(rel.argmax())


@claim(
    "equivariance/dws/complete",
    paper=PAPER,
    statement="DWS layers give 'a full characterization of all affine equivariant and invariant layers': the linear "
              "maps a layer family spans (rank of its parameters -> linear map, probed on basis weights) equal the "
              "whole commutant of the hidden-neuron permutation group, 74-dimensional for a (2,h,2) MLP.",
    contract="equivariant", needs=NEEDS, params={"extra_draws": 8},
    references=(Reference("DWS linear layer (2,4,2)", f"{_DWS}:dws_layer_subject"),
                Reference("DWS linear layer (1,3,3)", f"{_DWS}:dws_layer_subject", bind={"dims": (1, 3, 3)})),
)
def complete(subject: BoundSubject, ctx: Context) -> Measurement:
    """Rank of the stacked linear maps of n_theta + extra random members vs the orbit count of index pairs."""
    view = weight_space_view(subject, "HiddenPerm")
    if isinstance(view, Measurement):
        return view
    problem = _family_shape(subject)
    if problem:
        return Measurement("skip", detail=problem)
    group = view.group
    p = group.num_params
    target = commutant_dimension(group)
    formula = one_hidden_layer_formula(group.widths)
    theta, w = subject.draw(ctx.generator, 1)
    n = theta[0].numel() + int(ctx.params["extra_draws"])
    theta, w = subject.draw(ctx.generator, n)
    tol = default_tolerance(subject.dtype)
    err, j = _affine_error(subject, theta, w)
    if err > tol:
        return Measurement("fail", float("nan"), target,
                           f"{group.name}: the layer is not affine in the weights (relative violation {err:.3g} > "
                           f"{tol:.3g}), so it has no linear map to compare with the commutant",
                           f"theta draw {j}: L(a + 2b) - L(0) differs from (L(a) - L(0)) + 2 (L(b) - L(0)) by "
                           f"{err:.3g}")
    mats = _layer_matrices(subject, theta, p)
    s = torch.linalg.svdvals(mats.reshape(n, -1))
    rank = int((s > s[0] * max(n, p * p) * torch.finfo(subject.dtype).eps).sum())
    via = f"; the formula 2m^2 + 2m d2 + d2^2 gives {formula}" if formula is not None else ""
    detail = (f"{group.name}: {theta.shape[1]} layer parameters; the linear maps of {n} random members span a "
              f"{rank}-dimensional space; the commutant (orbits of the group on index pairs of the {p} weights) has "
              f"dimension {target}{via}")
    if rank == target:
        return Measurement("pass", rank, target, detail)
    if rank < target:
        witness = (f"the family spans {rank} of the {target} dimensions: {target - rank} independent equivariant maps "
                   f"are missing (a block between W1, b1, W2, b2 left out?); s_{rank} = {float(s[rank - 1]):.3g}, "
                   f"s_{rank + 1} = {float(s[rank]):.3g}")
    else:
        witness = (f"the family spans {rank} > {target} dimensions, so some member is not equivariant "
                   f"(s_{target + 1} = {float(s[target]):.3g})")
    return Measurement("fail", rank, target, detail, witness)
