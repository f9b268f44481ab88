"""Claims of "Regularizing Towards Soft Equivariance Under Mixed Symmetries" (Kim, Lee, Lee, Lim & Hong, ICML 2023;
arXiv:2306.00356): the equivariance regularizer vanishes exactly on equivariant models, and a larger regularization
weight lambda gives a more equivariant trained model.

A family of models trained at several lambdas enters as one Subject, model(lambda [B, 1] ('inv'), x) -> f_lambda(x),
whose group and reps are those of the task.
"""
from __future__ import annotations

import torch

from baselines.equivariant.soft_equivariance import equivariance_regularizer
from harness import Context, Measurement, Reference, claim
from harness.equivariance import BoundSubject, relative_errors
from suites.equivariance.checks import input_excerpt, tolerance

PAPER = ("Regularizing Towards Soft Equivariance Under Mixed Symmetries (Kim, Lee, Lee, Lim & Hong, ICML 2023; "
         "arXiv:2306.00356)")
_SOFT = "baselines.equivariant.soft_equivariance"
NEEDS = ("method:soft-equivariance",)


@claim(
    "equivariance/soft-equivariance/regularizer-zero-iff-equivariant",
    paper=PAPER,
    statement="The equivariance regularizer E_g ||f(g x) - g f(x)||^2 is zero for an exactly equivariant model (its "
              "square root relative to the RMS output stays below the dtype's exactness budget) and positive for a "
              "model that is not.",
    contract="equivariant", needs=NEEDS, params={"elements": 32, "samples": 64},
    references=(Reference("x * MLP(|x|), exactly SO(3)-equivariant", f"{_SOFT}:gated_vector_subject"),),
)
def regularizer_zero_iff_equivariant(subject: BoundSubject, ctx: Context) -> Measurement:
    """sqrt(regularizer / E||f(x)||^2) with the baseline regularizer, on the subject's single input and output."""
    if len(subject.in_reps) != 1 or len(subject.out_reps) != 1:
        return Measurement("skip", detail="the regularizer is defined for a model with one input and one output")
    threshold, source = tolerance(subject, ctx)
    m, b = int(ctx.params["elements"]), int(ctx.params["samples"])
    (x,) = subject.draw(ctx.generator, b)
    els = subject.group.sample(ctx.generator, m)

    def model(inputs: torch.Tensor) -> torch.Tensor:
        return subject(inputs)[0]

    with torch.no_grad():
        reg = equivariance_regularizer(model, subject.group, subject.in_reps[0], subject.out_reps[0], els, x)
        power = model(x).double().pow(2).reshape(b, -1).sum(1).mean()
    value = float((reg.double().sum() / power.clamp_min(1e-300)).sqrt())
    detail = (f"{subject.group.name}: sqrt(regularizer / mean ||f(x)||^2) = {value:.3g} over {subject.group.size(els)} "
              f"elements x {b} samples; threshold {threshold:.3g} ({source})")
    table = relative_errors(subject, els, (x,))
    i, j = table.worst
    witness = (f"{subject.group.describe(els, i)}, sample {j} ({input_excerpt((x,), j)}) contributes relative error "
               f"{table.max:.3g}")
    return ctx.at_most(value, threshold, detail, witness)


@claim(
    "equivariance/soft-equivariance/error-decreases-with-lambda",
    paper=PAPER,
    statement="A larger equivariance-regularization weight gives a more equivariant model: over models trained with "
              "lambda in {0, 0.1, 1, 10}, the median relative equivariance error falls as lambda grows (Spearman "
              "correlation <= -0.8, i.e. at most one adjacent pair out of order) and the largest lambda's error is "
              "below half of the unregularized one's.",
    false_alarm_rate=0.08,
    contract="equivariant", needs=NEEDS, params={"lams": (0.0, 0.1, 1.0, 10.0), "elements": 32, "samples": 64},
    references=(Reference("tanh MLPs on a softly SO(3)-equivariant toy task", f"{_SOFT}:soft_equivariant_family"),),
)
def error_decreases_with_lambda(subject: BoundSubject, ctx: Context) -> Measurement:
    """Median relative error per lambda, same inputs and elements for every lambda; Spearman correlation with lambda.

    False alarms: the reference's training is seeded, so only the check's draws vary; with 32 x 64 (element, sample)
    pairs the median moves by a few percent, while adjacent lambdas differ by 15-60%. Over 12 training seeds x 3
    check seeds all 36 runs gave Spearman -1 and last/first 0.12-0.24; one swap (Spearman -0.8) would still pass;
    0 failures in 36 runs bounds the false-alarm rate by 3/36 = 0.08 (rule of three), the rate the claim states.
    """
    kinds = [r.kind for r in subject.in_reps]
    if len(kinds) != 2 or kinds[0] != "inv":
        return Measurement("skip", detail="this claim needs a family model(lambda ('inv'), x) -> f_lambda(x)")
    lams = [float(v) for v in ctx.params["lams"]]
    m, b = int(ctx.params["elements"]), int(ctx.params["samples"])
    lam_draw, x = subject.draw(ctx.generator, b)
    if tuple(lam_draw.shape[1:]) != (1,):
        return Measurement("skip", detail=f"the lambda input must be one number per sample; the subject draws "
                                          f"{tuple(lam_draw.shape[1:])}")
    els = subject.group.sample(ctx.generator, m)
    medians = []
    for lam in lams:
        table = relative_errors(subject, els, (torch.full((b, 1), lam, dtype=subject.dtype), x))
        medians.append(table.median)
    rank_lam = torch.tensor(lams).argsort().argsort().double()
    rank_err = torch.tensor(medians).argsort().argsort().double()
    n = len(lams)
    rho = 1 - 6 * float((rank_lam - rank_err).pow(2).sum()) / (n * (n * n - 1))
    ratio = medians[-1] / max(medians[0], 1e-300)
    listing = ", ".join(f"lambda {lam:g}: {e:.3g}" for lam, e in zip(lams, medians))
    detail = (f"{subject.group.name}: median relative equivariance error over {subject.group.size(els)} elements x {b} "
              f"samples: {listing}; Spearman {rho:.2f} (needs <= -0.8), last/first {ratio:.3g} (needs < 0.5)")
    ok = rho <= -0.8 + 1e-12 and ratio < 0.5
    witness = "" if ok else f"errors by lambda: {listing}"
    return Measurement("pass" if ok else "fail", rho, -0.8, detail, witness)
