"""Symmetries of an MLP's weights: permuting or positively rescaling hidden units leaves the function unchanged, and
the functional dimension this costs (Git Re-Basin; Grigsby, Lindsey & Rolnick).

The subjects are MLPs as functions of their weights, model(weights [B, P], x [B, M, d0]) -> outputs, with the
weights in the canonical layout of harness.groups.weight_space; the subject's group (HiddenPerm, HiddenScale or
HiddenPermScale of its widths) names the architecture, and each claim judges it under the symmetry it is about.
"""
from __future__ import annotations

import math

import torch

from harness import Context, Measurement, Reference, claim
from harness.equivariance import BoundSubject
from harness.groups.weight_space import group_name
from suites.equivariance.checks import judge_equivariance

REBASIN = ("Git Re-Basin: Merging Models modulo Permutation Symmetries (Ainsworth, Hayase & Srinivasa, ICLR 2023; "
           "arXiv:2209.04836)")
HIDDEN = "Hidden Symmetries of ReLU Networks (Grigsby, Lindsey & Rolnick, ICML 2023; arXiv:2306.06179)"
_MLP = "baselines.equivariant.mlp_weights:mlp_subject"
NEEDS = ("method:hidden-symmetries",)


def weight_space_view(subject: BoundSubject, family: str) -> BoundSubject | Measurement:
    """The subject judged under `family` of its own widths, or a skip saying why it has no weight-space group."""
    widths = getattr(subject.group, "widths", None)
    if widths is None or not any(r.kind == "weights" for r in subject.in_reps):
        return Measurement("skip", detail="this claim needs a subject whose group is HiddenPerm/HiddenScale/"
                                          "HiddenPermScale(d0,...,dL) with a 'weights' input; got "
                                          f"{subject.group.name}")
    return subject.with_group(group_name(family, widths))


def network_view(subject: BoundSubject, family: str) -> BoundSubject | Measurement:
    """`weight_space_view` for an MLP as a function of its weights: model(weights, inputs ('inv')...) -> 'inv'."""
    ins, outs = [r.kind for r in subject.in_reps], [r.kind for r in subject.out_reps]
    if ins[:1] != ["weights"] or any(k != "inv" for k in ins[1:] + outs):
        return Measurement("skip", detail=f"this claim needs a network model(weights ('weights'), x ('inv')) -> 'inv'; "
                                          f"the subject's reps are {ins} -> {outs}")
    return weight_space_view(subject, family)


@claim(
    "equivariance/hidden-symmetries/permutation-preserves-function",
    paper=REBASIN,
    statement="Permuting the hidden units of an MLP (rows of W_l and b_l, columns of W_(l+1)) 'produces a "
              "functionally equivalent set of weights': f(g.theta, x) = f(theta, x) for random hidden permutations g, "
              "to the dtype's exactness budget (1e-10 in float64).",
    contract="equivariant", needs=NEEDS, params={"elements": 32, "samples": 16},
    references=(Reference("ReLU MLP (2,4,4,1)", _MLP, bind={"widths": (2, 4, 4, 1)}),
                Reference("GELU MLP (2,4,4,1)", _MLP, bind={"widths": (2, 4, 4, 1), "activation": "gelu"})),
)
def permutation_preserves_function(subject: BoundSubject, ctx: Context) -> Measurement:
    """The checker under HiddenPerm of the subject's widths; any pointwise activation keeps this symmetry."""
    view = network_view(subject, "HiddenPerm")
    return view if isinstance(view, Measurement) else judge_equivariance(view, ctx)


@claim(
    "equivariance/hidden-symmetries/scaling-preserves-function",
    paper=HIDDEN,
    statement="Positive scaling of parameters at a neuron is a symmetry of a ReLU network: multiplying a hidden "
              "unit's incoming weights and bias by s > 0 and dividing its outgoing weights by s leaves f unchanged, "
              "to the dtype's exactness budget, for random per-neuron scales exp(N(0,1)).",
    contract="equivariant", needs=NEEDS, params={"elements": 32, "samples": 16},
    references=(Reference("ReLU MLP (2,4,4,1)", _MLP, bind={"widths": (2, 4, 4, 1)}),
                Reference("leaky-ReLU MLP (2,4,4,1), also positively homogeneous", _MLP,
                          bind={"widths": (2, 4, 4, 1), "activation": "leaky_relu"})),
)
def scaling_preserves_function(subject: BoundSubject, ctx: Context) -> Measurement:
    """The checker under HiddenScale of the subject's widths; only positively homogeneous activations keep it."""
    view = network_view(subject, "HiddenScale")
    return view if isinstance(view, Measurement) else judge_equivariance(view, ctx)


def jacobian_ranks(subject: BoundSubject, gen: torch.Generator, draws: int,
                   min_rows: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """Rank of d outputs / d weights at `draws` weight vectors, each over at least `min_rows` output rows (inputs
    from several draws of the subject's sampler), by one backward pass; also the singular values and the weights."""
    w, x = subject.draw(gen, draws)[:2]
    out = subject(w[:1], x[:1])[0]
    per_call = out[0].numel()
    k = max(1, math.ceil(min_rows / per_call))
    xk = subject.draw(gen, draws * k)[1]
    wk = w.repeat_interleave(k, 0)
    w_rows = wk.repeat_interleave(per_call, 0).detach().requires_grad_(True)
    x_rows = xk.repeat_interleave(per_call, 0)
    with torch.enable_grad():
        y = subject(w_rows, x_rows)[0].reshape(draws * k, per_call, per_call)
        picked = y.diagonal(dim1=1, dim2=2).sum()
        (grad,) = torch.autograd.grad(picked, w_rows)
    jac = grad.view(draws, k * per_call, -1).double()
    s = torch.linalg.svdvals(jac)
    rows = jac.shape[1]
    tol = s[:, :1] * max(rows, jac.shape[2]) * torch.finfo(subject.dtype).eps
    return (s > tol).sum(1), s, w, rows


@claim(
    "equivariance/hidden-symmetries/functional-dimension",
    paper=HIDDEN,
    statement="The functional dimension of a ReLU network (the rank of the Jacobian of its outputs on a batch of "
              "inputs with respect to its parameters) is at most #params - #hidden neurons, one direction lost per "
              "positive-scaling symmetry; and when no layer is narrower than the input there exist parameters with no "
              "hidden symmetries, which attain it: for (2,4,1), 17 - 4 = 13 is reached by random parameters.",
    contract="equivariant", needs=NEEDS, params={"draws": 16},
    references=(Reference("ReLU MLP (2,4,1)", _MLP, bind={"widths": (2, 4, 1)}),),
)
def functional_dimension(subject: BoundSubject, ctx: Context) -> Measurement:
    """Every draw must stay at or below the bound; when the architecture allows it, at least one draw must reach it.

    False alarms: a correct (2,4,1) ReLU network reaches the bound in 15 of 16 draws here (catalogue: 20 of 20), so
    missing it in all 16 is practically impossible; deeper nets reach it less often (catalogue: (2,4,4,1) 25-35%,
    so 16 draws all miss with probability 0.3-1%; (2,4,4,4,1) never), hence the reference has one hidden layer.
    """
    view = network_view(subject, "HiddenScale")
    if isinstance(view, Measurement):
        return view
    if len(subject.in_reps) != 2:
        return Measurement("skip", detail="this claim needs exactly the inputs (weights, x)")
    widths = view.group.widths
    n_params, n_hidden = view.group.num_params, sum(widths[1:-1])
    bound = n_params - n_hidden
    draws = int(ctx.params["draws"])
    ranks, svals, w, rows = jacobian_ranks(subject, ctx.generator, draws, 4 * n_params)
    must_reach = min(widths[1:-1]) >= widths[0]
    counts = torch.bincount(ranks, minlength=n_params + 1)
    hist = ", ".join(f"rank {r}: {int(c)}" for r, c in enumerate(counts.tolist()) if c)
    detail = (f"{widths}: {n_params} parameters, {n_hidden} hidden neurons, bound {bound}; Jacobian ranks over {draws} "
              f"random parameter draws ({rows} output rows each, threshold s_max * max(rows, P) * eps): {hist}")
    top = int(ranks.max())
    j_top = int(ranks.argmax())
    if top > bound:
        s = svals[j_top]
        witness = (f"draw {j_top} (weights {w[j_top, :6].tolist()}...): rank {top} > {bound}; singular values "
                   f"s_{bound} = {float(s[bound - 1]):.3g}, s_{bound + 1} = {float(s[bound]):.3g}: the positive "
                   "rescalings of hidden units change the function (not a ReLU network?)")
        return Measurement("fail", top, bound, detail, witness)
    if must_reach and top < bound:
        s = svals[j_top]
        witness = (f"the best draw {j_top} reaches rank {top} < {bound}; its singular values s_{top} = "
                   f"{float(s[top - 1]):.3g}, s_{top + 1} = {float(s[top]):.3g} (a parameter the outputs ignore?)")
        return Measurement("fail", top, bound, detail, witness)
    note = "" if must_reach else "; a hidden layer is narrower than the input, so only the upper bound is claimed"
    return Measurement("pass", top, bound, detail + note)
