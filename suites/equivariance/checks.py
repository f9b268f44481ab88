"""Verdict helpers the equivariance claims share: judge a bound subject's error under its group (or another one)."""
from __future__ import annotations

import torch

from harness import Context, Measurement
from harness.equivariance import BoundSubject, default_tolerance, relative_errors
from harness.witness import fmt


def tolerance(bs: BoundSubject, ctx: Context, tol: float | None = None) -> tuple[float, str]:
    """The claim's tolerance: the `tol` param (a soft bound) if given, else the dtype's exactness budget."""
    given = ctx.params.get("tol") if tol is None else tol
    if given is not None:
        return float(given), "the stated bound"
    return default_tolerance(bs.dtype), f"the {str(bs.dtype)[6:]} exactness budget"


def input_excerpt(xs: tuple[torch.Tensor, ...], j: int) -> str:
    """The first values of sample j's inputs, for a witness."""
    return "; ".join(f"input {k} {fmt(x[j], digits=3, max_items=6)}" for k, x in enumerate(xs))


def judge_equivariance(bs: BoundSubject, ctx: Context, *, tol: float | None = None, elements: int | None = None,
                       samples: int | None = None, what: str = "") -> Measurement:
    """Pass when max relative error over elements x samples <= tolerance; the witness names the worst element and sample."""
    bs = bs.on(ctx.device)
    m = int(elements or ctx.params.get("elements", 32))
    b = int(samples or ctx.params.get("samples", 16))
    threshold, source = tolerance(bs, ctx, tol)
    xs = bs.draw(ctx.generator, b)
    els = bs.group.sample(ctx.generator, m)
    table = relative_errors(bs, els, xs)
    i, j = table.worst
    count = bs.group.size(els)
    pool = "all" if count < m or getattr(bs.group, "elements_exhaustive", lambda _: False)(m) else "random"
    detail = (f"{what}{bs.group.name}: relative error max {table.max:.3g}, median {table.median:.3g} over {pool} "
              f"{count} elements x {b} samples in {str(bs.dtype)[6:]}; threshold {threshold:.3g} ({source})")
    errors = table.errors.detach().double().cpu().clamp_min(1e-18).log10().flatten()
    ctx.figure("equivariance-errors", lambda ax: (
        ax.hist(errors.numpy(), bins=40, color="#4c72b0"),
        ax.axvline(torch.tensor(threshold).log10().item(), color="#c44e52", linestyle="--", label="threshold"),
        ax.set_xlabel(f"log10 relative error under {bs.group.name} ({count} elements x {b} samples)"),
        ax.set_ylabel("count"), ax.legend()))
    outputs = ", ".join(f"output {k}: {e:.3g}" for k, e in enumerate(table.per_output))
    witness = (f"{bs.group.describe(els, i)}, sample {j} ({input_excerpt(xs, j)}): relative error {table.max:.3g} "
               f"({outputs})")
    return ctx.at_most(table.max, threshold, detail, witness)


def judge_broken_by(bs: BoundSubject, ctx: Context, group: str, floor: float, *, elements: int = 32,
                    samples: int = 16, why: str = "") -> Measurement:
    """Pass when the subject is NOT equivariant to `group`: its median relative error is at least `floor`."""
    other = bs.on(ctx.device).with_group(group)
    xs = other.draw(ctx.generator, samples)
    els = other.group.sample(ctx.generator, elements)
    table = relative_errors(other, els, xs)
    detail = (f"under {group} (a larger group than claimed{': ' + why if why else ''}): relative error median "
              f"{table.median:.3g}, max {table.max:.3g}; the claim needs median >= {floor:.3g}")
    errors = table.errors
    i_best = int(errors.min(dim=1).values.argmin())
    witness = f"{other.group.describe(els, i_best)} left the output unchanged to {float(errors[i_best].min()):.3g}"
    return ctx.at_least(table.median, floor, detail, witness)
