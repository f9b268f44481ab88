"""Git Re-Basin claims on a weight matcher ("Git Re-Basin: Merging Models modulo Permutation Symmetries", Ainsworth,
Hayase & Srinivasa, ICLR 2023; arXiv:2209.04836).

A matcher enters as a Subject model(A [B, P] ('inv'), B [B, P] ('weights')) -> B aligned to A ('inv'), its group
HiddenPerm of the MLP's widths: aligning is invariant to how B's hidden units are ordered. The claims plant a
permutation themselves: they draw A from the subject's sampler, permute it, and align.
"""
from __future__ import annotations

from typing import Any

import torch

from baselines.equivariant.mlp_weights import mlp_forward, unpack
from harness import Context, Measurement, Reference, claim
from harness.equivariance import BoundSubject
from suites.equivariance.checks import tolerance
from suites.equivariance.hidden_symmetries import weight_space_view

PAPER = ("Git Re-Basin: Merging Models modulo Permutation Symmetries (Ainsworth, Hayase & Srinivasa, ICLR 2023; "
         "arXiv:2209.04836)")
_REF = (Reference("weight matching (5,32,32,3)", "baselines.equivariant.rebasin:weight_matching_subject"),)
NEEDS = ("method:rebasin",)


def _planted(subject: BoundSubject, ctx: Context) -> Measurement | tuple[BoundSubject, torch.Tensor, torch.Tensor, Any]:
    """(view, A [m*b, P], aligned copy of g.A [m*b, P], elements) for m planted elements x b networks, or a skip."""
    view = weight_space_view(subject, "HiddenPerm")
    if isinstance(view, Measurement):
        return view
    kinds = tuple(r.kind for r in subject.in_reps), tuple(r.kind for r in subject.out_reps)
    if kinds != (("inv", "weights"), ("inv",)):
        return Measurement("skip", detail="this claim needs a matcher model(A ('inv'), B ('weights')) -> aligned B "
                                          f"('inv'); the subject's reps are {kinds}")
    m, b = int(ctx.params["elements"]), int(ctx.params["samples"])
    a = subject.draw(ctx.generator, b)[0]
    els = view.group.sample(ctx.generator, m)
    moved = view.group.act(els, view.in_reps[1], a).reshape(-1, a.shape[1])
    a_rep = a.unsqueeze(0).expand(view.group.size(els), *a.shape).reshape(-1, a.shape[1])
    aligned = subject(a_rep, moved)[0]
    return view, a_rep, aligned, els


@claim(
    "equivariance/rebasin/recovers-planted-permutation",
    paper=PAPER,
    statement="Weight matching recovers a planted permutation: aligning B = g.A (A's hidden units permuted by a "
              "random g) to A returns A exactly, for a (5,32,32,3) MLP, to the dtype's exactness budget.",
    contract="equivariant", needs=NEEDS, params={"elements": 8, "samples": 4},
    references=_REF,
)
def recovers_planted_permutation(subject: BoundSubject, ctx: Context) -> Measurement:
    """Relative distance between the aligned copy and A, per planted element and network."""
    planted = _planted(subject, ctx)
    if isinstance(planted, Measurement):
        return planted
    view, a, aligned, els = planted
    threshold, source = tolerance(subject, ctx)
    b = int(ctx.params["samples"])
    rel = ((aligned.double() - a.double()).norm(dim=1) / a.double().norm(dim=1)).view(-1, b)
    i, j = divmod(int(rel.argmax()), b)
    wrong = _misplaced_units(view, a[i * b + j], aligned[i * b + j])
    detail = (f"{view.group.name}: relative distance between A and the alignment of g.A: max {float(rel.max()):.3g}, "
              f"median {float(rel.median()):.3g} over {rel.shape[0]} planted permutations x {b} networks; "
              f"threshold {threshold:.3g} ({source})")
    witness = f"planted {view.group.describe(els, i)}, network {j}: distance {float(rel[i, j]):.3g}, {wrong}"
    return ctx.at_most(float(rel.max()), threshold, detail, witness)


def _misplaced_units(view: BoundSubject, a: torch.Tensor, aligned: torch.Tensor) -> str:
    """How many hidden units of each layer ended up with incoming weights that differ from A's at their position."""
    widths = view.group.widths
    parts = []
    for l, ((wa, ba), (wb, bb)) in enumerate(zip(unpack(a, widths)[:-1], unpack(aligned, widths)[:-1]), start=1):
        bad = int(((wa - wb).abs().amax(1) + (ba - bb).abs() > 0).sum())
        parts.append(f"layer {l}: {bad} of {widths[l]} units misplaced")
    return "; ".join(parts)


@claim(
    "equivariance/rebasin/merge-permuted-copy",
    paper=PAPER,
    statement="Merging A with a permuted copy of itself after weight matching, (A + align(g.A))/2, computes A's "
              "function exactly (to the dtype's budget), whereas naive weight averaging (A + g.A)/2 does not: "
              "permutation symmetry is what separates the two models' basins.",
    contract="equivariant", needs=NEEDS, params={"elements": 8, "samples": 4, "points": 64},
    references=_REF,
)
def merge_permuted_copy(subject: BoundSubject, ctx: Context) -> Measurement:
    """Outputs of the merged ReLU network on Gaussian probe inputs against A's, with the naive average for contrast."""
    planted = _planted(subject, ctx)
    if isinstance(planted, Measurement):
        return planted
    view, a, aligned, els = planted
    threshold, source = tolerance(subject, ctx)
    widths, b = view.group.widths, int(ctx.params["samples"])
    n = a.shape[0]
    x = torch.randn(n, int(ctx.params["points"]), widths[0], generator=ctx.generator, dtype=torch.float64)
    a64 = a.double()
    moved = view.group.act(els, view.in_reps[1], a[:b]).reshape(n, -1).double()
    f_a = mlp_forward(a64, x, widths)

    def deviation(w: torch.Tensor) -> torch.Tensor:
        return ((mlp_forward(w, x, widths) - f_a).norm(dim=(1, 2)) / f_a.norm(dim=(1, 2))).view(-1, b)

    merged, naive = deviation((a64 + aligned.double()) / 2), deviation((a64 + moved) / 2)
    i, j = divmod(int(merged.argmax()), b)
    detail = (f"{view.group.name} ReLU networks on {x.shape[1]} Gaussian inputs: relative output deviation of the "
              f"merged model from A: max {float(merged.max()):.3g}; of the naive average: median "
              f"{float(naive.median()):.3g}, min {float(naive.min()):.3g}; threshold {threshold:.3g} ({source})")
    witness = (f"planted {view.group.describe(els, i)}, network {j}: the merged model's outputs deviate by "
               f"{float(merged[i, j]):.3g} (naive average: {float(naive[i, j]):.3g})")
    return ctx.at_most(float(merged.max()), threshold, detail, witness)
