"""Claims of "On the Continuity of Rotation Representations in Neural Networks" (Zhou, Barnes, Lu, Yang & Li, CVPR 2019;
arXiv:1812.07035) on the 6D representation: its Gram-Schmidt decoder and its encoder.

Rotations travel as their columns stacked along axis -2 (R^T, [B, 3, 3], "1x1o" on the last axis); the 6D code is the
first two columns ([B, 2, 3], "1x1o"). A decoder Subject maps codes to columns, an encoder Subject columns to codes.
"""
from __future__ import annotations

import math

import torch

from baselines.equivariant.rotation_repr import axis_angle_matrix, euler_zyx_matrix
from harness import Context, Measurement, Reference, claim
from harness.equivariance import BoundSubject
from harness.groups import parse_group
from harness.witness import fmt
from suites.equivariance.checks import judge_equivariance, tolerance

PAPER = ("On the Continuity of Rotation Representations in Neural Networks (Zhou, Barnes, Lu, Yang & Li, CVPR 2019; "
         "arXiv:1812.07035)")
_ROT = "baselines.equivariant.rotation_repr"
_DECODER = (Reference("Gram-Schmidt 6D decoder", f"{_ROT}:gram_schmidt_subject"),)
NEEDS = ("method:rotation-6d",)


def _shape_problem(subject: BoundSubject, shape_in: tuple[int, ...], shape_out: tuple[int, ...] | None,
                   gen: torch.Generator) -> str:
    xs = subject.draw(gen, 1)
    ys = subject(*xs)
    if len(xs) != 1 or len(ys) != 1 or tuple(xs[0].shape[1:]) != shape_in or (
            shape_out is not None and tuple(ys[0].shape[1:]) != shape_out):
        want = f"{shape_in} -> {shape_out or 'a code'}"
        got = f"{[tuple(x.shape[1:]) for x in xs]} -> {[tuple(y.shape[1:]) for y in ys]}"
        return f"this claim needs one tensor per sample of shape {want} (rotation columns / 6D codes); got {got}"
    return ""


@claim(
    "equivariance/rotation-6d/gram-schmidt-equivariant",
    paper=PAPER,
    statement="The Gram-Schmidt map from the 6D representation to SO(3) commutes with rotations: rotating both input "
              "vectors by Q rotates every output column by Q, to the dtype's exactness budget.",
    contract="equivariant", needs=NEEDS, params={"elements": 32, "samples": 16},
    references=_DECODER,
)
def gram_schmidt_equivariant(subject: BoundSubject, ctx: Context) -> Measurement:
    """The checker under the subject's group."""
    return judge_equivariance(subject, ctx)


@claim(
    "equivariance/rotation-6d/round-trip",
    paper=PAPER,
    statement="The 6D mapping is a representation of SO(3): Gram-Schmidt applied to the first two columns of any "
              "rotation R returns R, to the dtype's exactness budget, over Haar-random rotations.",
    contract="equivariant", needs=NEEDS, params={"samples": 256},
    references=_DECODER,
)
def round_trip(subject: BoundSubject, ctx: Context) -> Measurement:
    """||decode(R[:, :2]) - R||_F / sqrt(3) for Haar-random R."""
    problem = _shape_problem(subject, (2, 3), (3, 3), ctx.generator)
    if problem:
        return Measurement("skip", detail=problem)
    threshold, source = tolerance(subject, ctx)
    b = int(ctx.params["samples"])
    cols = parse_group("SO3").sample(ctx.generator, b).R.transpose(-1, -2).to(subject.dtype)
    out = subject(cols[:, :2].contiguous())[0].double()
    err = (out - cols.double()).flatten(1).norm(dim=1) / math.sqrt(3)
    j = int(err.argmax())
    detail = (f"relative Frobenius error of decode(first two columns) over {b} Haar rotations: max "
              f"{float(err.max()):.3g}, median {float(err.median()):.3g}; threshold {threshold:.3g} ({source})")
    witness = f"R with columns {fmt(cols[j], 3, 9)} came back as {fmt(out[j], 3, 9)}"
    return ctx.at_most(float(err.max()), threshold, detail, witness)


@claim(
    "equivariance/rotation-6d/decodes-to-rotation",
    paper=PAPER,
    statement="Every 6D code (two linearly independent vectors) decodes to a rotation: the Gram-Schmidt output "
              "columns are orthonormal with determinant +1, to the dtype's exactness budget.",
    contract="equivariant", needs=NEEDS, params={"samples": 256},
    references=_DECODER,
)
def decodes_to_rotation(subject: BoundSubject, ctx: Context) -> Measurement:
    """max(||C C^T - I||_F, |det C - 1|) over codes from the subject's sampler."""
    problem = _shape_problem(subject, (2, 3), (3, 3), ctx.generator)
    if problem:
        return Measurement("skip", detail=problem)
    threshold, source = tolerance(subject, ctx)
    b = int(ctx.params["samples"])
    (v,) = subject.draw(ctx.generator, b)
    c = subject(v)[0].double()
    ortho = (c @ c.transpose(-1, -2) - torch.eye(3, dtype=torch.float64)).flatten(1).norm(dim=1)
    det = (torch.linalg.det(c) - 1).abs()
    err = torch.maximum(ortho, det)
    j = int(err.argmax())
    detail = (f"over {b} codes: max ||C C^T - I|| {float(ortho.max()):.3g}, max |det C - 1| {float(det.max()):.3g}; "
              f"threshold {threshold:.3g} ({source})")
    witness = (f"code {fmt(v[j], 3, 6)} decoded to columns {fmt(c[j], 3, 9)}: ||C C^T - I|| {float(ortho[j]):.3g}, "
               f"det {float(torch.linalg.det(c[j])):.3g}")
    return ctx.at_most(float(err.max()), threshold, detail, witness)


def hard_pairs(gen: torch.Generator, k: int, delta: float) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Pairs of nearby rotations [n, 3, 3] at the places where <= 4D representations break: rotation angle pi
    (quaternion sign flip), pitch +-pi/2 (gimbal lock), yaw and roll +-pi (Euler branch cuts), plus random places."""
    def uniform(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(k, generator=gen, dtype=torch.float64)

    axes = torch.randn(k, 3, generator=gen, dtype=torch.float64)
    axes = axes / axes.norm(dim=1, keepdim=True)
    pi = torch.full((k,), math.pi, dtype=torch.float64)
    r1, r2, labels = [axis_angle_matrix(axes, pi - delta)], [axis_angle_matrix(axes, pi + delta)], []
    labels += [f"rotations by pi -/+ {delta:.2g} about {fmt(a, 3)}" for a in axes]
    yaw, roll, pitch = uniform(-math.pi, math.pi), uniform(-math.pi, math.pi), uniform(-1.0, 1.0)
    for sign in (1.0, -1.0):
        p = torch.full((k,), sign * math.pi / 2, dtype=torch.float64)
        r1.append(euler_zyx_matrix(torch.stack([yaw, p - delta, roll], -1)))
        r2.append(euler_zyx_matrix(torch.stack([yaw, p + delta, roll], -1)))
        labels += [f"ZYX angles (yaw {y:.3g}, pitch {sign:+.0f}pi/2 -/+ {delta:.2g}, roll {r:.3g})"
                   for y, r in zip(yaw.tolist(), roll.tolist())]
    for slot, name in ((0, "yaw"), (2, "roll")):
        angles = torch.stack([yaw, pitch, roll], -1)
        a1, a2 = angles.clone(), angles.clone()
        a1[:, slot], a2[:, slot] = math.pi - delta, math.pi + delta
        r1.append(euler_zyx_matrix(a1))
        r2.append(euler_zyx_matrix(a2))
        labels += [f"ZYX angles {fmt(a, 3)} with {name} = pi -/+ {delta:.2g}" for a in a1]
    base = parse_group("SO3").sample(gen, k).R
    r1.append(base)
    r2.append(base @ axis_angle_matrix(axes.roll(1, 0), torch.full((k,), 2 * delta, dtype=torch.float64)))
    labels += [f"a random rotation and itself turned by {2 * delta:.2g}" for _ in range(k)]
    return torch.cat(r1), torch.cat(r2), labels


@claim(
    "equivariance/rotation-6d/continuous-representation",
    paper=PAPER,
    statement="The 6D representation is continuous, unlike every representation in 4 or fewer dimensions (Euler "
              "angles, quaternions): pairs of rotations about 2.8e-6 apart, taken at angle pi, at gimbal lock, at the "
              "+-pi branch cuts and at random, never have codes more than `max_slope` (1e3) times farther apart, "
              "relative to the code's typical size, than the rotations are relative to theirs.",
    contract="equivariant", needs=NEEDS, params={"pairs": 16, "max_slope": 1e3},
    references=(Reference("6D encoder (first two columns)", f"{_ROT}:six_d_encoder_subject"),),
)
def continuous_representation(subject: BoundSubject, ctx: Context) -> Measurement:
    """Largest relative slope ||c(R1) - c(R2)|| / rms||c|| over ||R1 - R2||_F / sqrt(3) at the known trouble spots."""
    problem = _shape_problem(subject, (3, 3), None, ctx.generator)
    if problem:
        return Measurement("skip", detail=problem)
    delta = max(1e-6, 1e3 * torch.finfo(subject.dtype).eps)
    r1, r2, labels = hard_pairs(ctx.generator, int(ctx.params["pairs"]), delta)
    n = r1.shape[0]
    codes = subject(torch.cat([r1, r2]).transpose(-1, -2).contiguous().to(subject.dtype))[0].double().flatten(1)
    c1, c2 = codes[:n], codes[n:]
    scale = codes.pow(2).sum(1).mean().sqrt().clamp_min(1e-300)
    dist = (r1 - r2).flatten(1).norm(dim=1)
    slope = ((c1 - c2).norm(dim=1) / scale) / (dist / math.sqrt(3))
    j = int(slope.argmax())
    jumps = (c1 - c2).norm(dim=1)
    limit = float(ctx.params["max_slope"])
    detail = (f"{n} pairs at Frobenius distance {float(dist.min()):.2g}..{float(dist.max()):.2g} in "
              f"{str(subject.dtype)[6:]}: relative slope max {float(slope.max()):.3g}, median "
              f"{float(slope.median()):.3g} "
              f"(a jump of the code's size at this distance gives ~{1 / float(dist.median() / math.sqrt(3)):.2g}); "
              f"code changes {float(jumps.min()):.2g}..{float(jumps.max()):.2g} (code RMS {float(scale):.3g}); "
              f"threshold {limit:.3g}")
    witness = (f"{labels[j]}, {float(dist[j]):.2g} apart: codes {fmt(c1[j], 4)} and {fmt(c2[j], 4)} differ by "
               f"{float((c1[j] - c2[j]).norm()):.3g} (relative slope {float(slope[j]):.3g})")
    return ctx.at_most(float(slope.max()), limit, detail, witness)
