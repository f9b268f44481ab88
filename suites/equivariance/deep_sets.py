"""Claims of "Deep Sets" (Zaheer, Kottur, Ravanbakhsh, Poczos, Salakhutdinov & Smola, NeurIPS 2017; arXiv:1703.06114)."""
from __future__ import annotations

from harness import Context, Measurement, Reference, claim
from harness.equivariance import BoundSubject
from suites.equivariance.checks import judge_equivariance
from suites.equivariance.partition_layers import judge_spans_commutant

PAPER = ("Deep Sets (Zaheer, Kottur, Ravanbakhsh, Poczos, Salakhutdinov & Smola, NeurIPS 2017; "
         "arXiv:1703.06114)")
_DS = "baselines.equivariant.deep_sets"
NEEDS = ("method:deep-sets",)


@claim(
    "equivariance/deep-sets/invariant",
    paper=PAPER,
    statement="A function of the form rho(sum_{x in X} phi(x)) is invariant to permutations of the set X "
              "(Theorem 2): reordering the n elements leaves the output unchanged, to the float64 budget 1e-10.",
    contract="equivariant", params={"elements": 32, "samples": 16}, needs=NEEDS,
    references=(Reference("rho(sum phi), sets of 6 elements in R^3 (S6)", f"{_DS}:invariant_subject"),),
)
def invariant(subject: BoundSubject, ctx: Context) -> Measurement:
    """32 random permutations of 720 (the transposition (0 1) and the 6-cycle among them) x 16 sets."""
    return judge_equivariance(subject, ctx)


@claim(
    "equivariance/deep-sets/layer-equivariant",
    paper=PAPER,
    statement="The layer f(x) = sigma((lambda I + gamma 1 1^T) x), in its multi-channel form "
              "sigma(X Lambda + 1 1^T X Gamma), is permutation-equivariant (Lemma 3): f(pi x) = pi f(x) for every "
              "permutation pi of the set, to the float64 budget 1e-10.",
    contract="equivariant", params={"elements": 32, "samples": 16}, needs=NEEDS,
    references=(Reference("tanh(X Lambda + 1 1^T X Gamma + b), 6 elements, 3 -> 5 channels (S6)",
                          f"{_DS}:equivariant_layer_subject"),),
)
def layer_equivariant(subject: BoundSubject, ctx: Context) -> Measurement:
    """The permutation acts on the set axis of input and output; the channel axis is left alone."""
    return judge_equivariance(subject, ctx)


@claim(
    "equivariance/deep-sets/layer-complete",
    paper=PAPER,
    statement="A linear map Theta: R^n -> R^n is permutation-equivariant iff Theta = lambda I + gamma 1 1^T "
              "(Lemma 3): the layer's maps over all parameters span exactly the 2-dimensional commutant of S_n "
              "(rank 2, every equivariant linear map in the span, no map outside it).",
    contract="equivariant", params={}, needs=NEEDS,
    references=(Reference("(lambda I + gamma 1 1^T) x on R^6 (S6)", f"{_DS}:linear_layer_subject"),
                Reference("(lambda I + gamma 1 1^T) x on R^3 (S3)", f"{_DS}:linear_layer_subject", bind={"n": 3}),),
)
def layer_complete(subject: BoundSubject, ctx: Context) -> Measurement:
    """The family is read by redrawing (lambda, gamma) and probing with e_1..e_n; the commutant by an SVD null space."""
    return judge_spans_commutant(subject, ctx, "Deep Sets linear layer")
