"""Claims of learned canonicalization (Kaba et al. 2023) and of its use on frozen pretrained backbones (Mondal et al. 2023).

The references canonicalize seeded random backbones (MLPs on coordinates and sets, CNNs on images): the papers'
exactness claims are for an ARBITRARY backbone p, given an equivariant canonicalizer h.
"""
from __future__ import annotations

import torch

from harness import Context, Measurement, Reference, claim
from harness.equivariance import BoundSubject, SubjectError
from suites.equivariance.checks import judge_equivariance, tolerance

KABA = "Equivariance with Learned Canonicalization Functions (Kaba et al., ICML 2023; arXiv:2211.06489)"
MONDAL = "Equivariant Adaptation of Large Pretrained Models (Mondal et al., NeurIPS 2023; arXiv:2310.01647)"
_C = "baselines.equivariant.canonicalization"


@claim(
    "equivariance/canonicalization/invariant",
    paper=KABA,
    statement="With an equivariant canonicalizer h, p(h(x)^-1 x) is exactly invariant for an arbitrary backbone p: "
              "a random MLP on Gram-Schmidt-canonicalized clouds is SE(3)-invariant (two equivariant vectors, e3 = e1 x e2) "
              "or E(3)-invariant (e3 oriented by a third vector), on score-sorted sets S_n-invariant, and a random CNN "
              "on argmax-canonicalized images C4-invariant.",
    contract="equivariant", needs=("method:canonicalization",), params={"elements": 32, "samples": 16},
    references=(
        Reference("MLP on SO(3)-canonicalized cloud", f"{_C}:points_invariant_subject", bind={"group": "SO3"}),
        Reference("MLP on O(3)-canonicalized cloud", f"{_C}:points_invariant_subject", bind={"group": "O3"}),
        Reference("MLP on score-sorted set, n = 5", f"{_C}:set_invariant_subject"),
        Reference("CNN on C4-canonicalized image", f"{_C}:image_invariant_subject"),
    ),
)
def invariant(subject: BoundSubject, ctx: Context) -> Measurement:
    """Max relative error over elements x samples against the dtype's exactness budget."""
    return judge_equivariance(subject, ctx)


@claim(
    "equivariance/canonicalization/equivariant",
    paper=KABA,
    statement="f(x) = rho_out(h(x)) p(rho_in(h(x))^-1 x) is exactly equivariant for an arbitrary backbone p: points "
              "mapped back by R p(.) + t move with the cloud, per-element outputs unsorted back permute with the set, "
              "and images rotated back by h(x) rotate with the input.",
    contract="equivariant", needs=("method:canonicalization",), params={"elements": 32, "samples": 16},
    references=(
        Reference("R p(R^T(x - t)) + t, SO(3) canonicalizer", f"{_C}:points_equivariant_subject", bind={"group": "SO3"}),
        Reference("R p(R^T(x - t)) + t, O(3) canonicalizer", f"{_C}:points_equivariant_subject", bind={"group": "O3"}),
        Reference("unsorted MLP rows, n = 5", f"{_C}:set_equivariant_subject"),
        Reference("rot90(CNN(rot90(x, -h)), h)", f"{_C}:image_equivariant_subject"),
    ),
)
def equivariant(subject: BoundSubject, ctx: Context) -> Measurement:
    """Max relative error over elements x samples against the dtype's exactness budget."""
    return judge_equivariance(subject, ctx)


@claim(
    "equivariance/canonicalization/canonicalizer-equivariant",
    paper=KABA,
    statement="The canonicalizer is equivariant, h(g x) = g h(x): the Gram-Schmidt frame R (columns, each a vector) "
              "and centroid of a moved cloud are the moved frame and centroid, a permuted set's sort order is the "
              "permuted order, and a rotated image's argmax rotation is the composed rotation.",
    contract="equivariant", needs=("method:canonicalization",), params={"elements": 32, "samples": 16},
    references=(
        Reference("Gram-Schmidt SO(3) canonicalizer", f"{_C}:rotation_canonicalizer_subject", bind={"group": "SO3"}),
        Reference("Gram-Schmidt O(3) canonicalizer", f"{_C}:rotation_canonicalizer_subject", bind={"group": "O3"}),
        Reference("sort canonicalizer, n = 5", f"{_C}:set_canonicalizer_subject"),
        Reference("rot90 group-conv argmax canonicalizer", f"{_C}:image_canonicalizer_subject"),
    ),
)
def canonicalizer_equivariant(subject: BoundSubject, ctx: Context) -> Measurement:
    """The subject's output is h(x) laid out so that g acts on it by its declared rep (see the baselines' docstrings)."""
    return judge_equivariance(subject, ctx)


@claim(
    "equivariance/canonicalization/canonicalizer-in-group",
    paper=KABA,
    statement="The canonicalizer maps into the group, h: X -> G: its rotation R is orthogonal, R^T R = I, and for "
              "SO(3)/SE(3) proper, det R = +1, within the dtype's exactness budget (a Gram-Schmidt frame completed "
              "as e2 x e1 is still SO(3)-equivariant, and only this claim sees that it is a reflection).",
    contract="equivariant", needs=("method:canonicalization",), params={"samples": 64},
    references=(
        Reference("Gram-Schmidt SO(3) canonicalizer", f"{_C}:rotation_canonicalizer_subject", bind={"group": "SO3"}),
        Reference("Gram-Schmidt O(3) canonicalizer", f"{_C}:rotation_canonicalizer_subject", bind={"group": "O3"}),
    ),
)
def canonicalizer_in_group(subject: BoundSubject, ctx: Context) -> Measurement:
    """The first output is R^T [B, 3, 3]; |R R^T - I| (max entry) plus |det R - 1| (SO3/SE3) or ||det R| - 1| (O3/E3)."""
    b = int(ctx.params["samples"])
    threshold, source = tolerance(subject, ctx)
    xs = subject.draw(ctx.generator, b)
    with torch.no_grad():
        Rt = subject(*xs)[0].double()
    if tuple(Rt.shape[1:]) != (3, 3):
        raise SubjectError(f"the first output must be h(x)'s rotation as R^T [B, 3, 3], got {tuple(Rt.shape)}")
    proper = subject.group.name in ("SO3", "SE3")
    orth = (Rt @ Rt.transpose(1, 2) - torch.eye(3, dtype=Rt.dtype)).abs().amax((1, 2))
    det = torch.linalg.det(Rt)
    det_err = (det - 1).abs() if proper else (det.abs() - 1).abs()
    dev = orth + det_err
    j = int(dev.argmax())
    detail = (f"{b} inputs: max |R R^T - I| {float(orth.max()):.3g}, det R in [{float(det.min()):.6g}, "
              f"{float(det.max()):.6g}] ({'det must be +1' if proper else '|det| must be 1'} for {subject.group.name}); "
              f"threshold {threshold:.3g} ({source})")
    witness = f"input {j}: det R = {float(det[j]):.6g}, |R R^T - I| = {float(orth[j]):.3g}"
    return ctx.at_most(float(dev.max()), threshold, detail, witness)


@claim(
    "equivariance/equivariant-adaptation/c4-invariant",
    paper=MONDAL,
    statement="A C4 canonicalizer (rot90 group convolution, trained with the canonicalization prior) in front of a "
              "frozen, non-equivariant pretrained backbone makes it exactly invariant to 90-degree rotations.",
    contract="equivariant", needs=("method:canonicalization",),
    params={"elements": 4, "samples": 64, "prior_steps": 100},
    references=(Reference("prior-trained C4 canonicalizer + frozen CNN", f"{_C}:adapted_backbone_subject"),),
)
def c4_invariant(subject: BoundSubject, ctx: Context) -> Measurement:
    """All four rotations x 64 Gaussian-noise images; the canonical image is exact, so the error is 0 up to rounding."""
    return judge_equivariance(subject, ctx)


@claim(
    "equivariance/equivariant-adaptation/prior-maps-upright-to-identity",
    paper=MONDAL,
    statement="Training the canonicalizer with the canonicalization prior (cross-entropy towards the identity on "
              "upright images) makes it map held-out upright images to the identity, and by equivariance their "
              "rotations by g to g: at least 80% for every element of C4 (here 94% after 100 steps, 23% untrained).",
    false_alarm_rate=1e-40,
    contract="equivariant", needs=("method:canonicalization",),
    params={"samples": 512, "min_fraction": 0.8, "prior_steps": 100},
    references=(Reference("C4 canonicalizer after 100 prior steps", f"{_C}:prior_canonicalizer_subject"),),
)
def prior_maps_upright_to_identity(subject: BoundSubject, ctx: Context) -> Measurement:
    """The subject: h(x) as (cos, sin) of its angle ("pos"), identity (1, 0), on held-out upright images.

    Statistical: the fraction of 512 held-out images is binomial; at the trained reference's 94% its standard error
    is 1%, so the 80% bar is 14 standard errors away; an untrained or mis-targeted canonicalizer (23% or 2%) and
    a constant one (100% upright, 0% on rotations) are as far on the other side.
    """
    b, bar = int(ctx.params["samples"]), float(ctx.params["min_fraction"])
    if subject.group.continuous or not subject.in_reps or subject.in_reps[0].kind != "grid":
        raise SubjectError("this claim needs a C<n> subject on images ('grid') whose output is h(x) as (cos, sin)")
    xs = subject.draw(ctx.generator, b)
    els = subject.group.sample(ctx.generator, 64)
    m = subject.group.size(els)
    gx = [subject.group.act(els, rep, x).reshape(-1, *x.shape[1:]) for x, rep in zip(xs, subject.in_reps)]
    h = subject(*gx)[0].view(m, b, -1)
    identity = torch.zeros(1, h.shape[-1], dtype=h.dtype)
    identity[0, 0] = 1.0
    want = subject.group.act(els, subject.out_reps[0], identity)
    hit = ((h - want).norm(dim=-1) < 0.5).double().mean(1)
    worst = int(hit.argmin())
    parts = ", ".join(f"{subject.group.describe(els, i)}: {float(hit[i]):.1%}" for i in range(m))
    detail = (f"fraction of {b} held-out upright images x, rotated by g, with h(g x) = g: {parts}; the claim needs at "
              f"least {bar:.0%} for every g")
    witness = f"{subject.group.describe(els, worst)}: only {float(hit[worst]):.1%} of rotated upright images map to it"
    return ctx.at_least(float(hit.min()), bar, detail, witness)
