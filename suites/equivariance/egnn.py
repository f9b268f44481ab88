"""Claims of "E(n) Equivariant Graph Neural Networks" (Satorras, Hoogeboom & Welling, ICML 2021; arXiv:2102.09844).

Each claim judges the subject under the group the paper names, whatever narrower group the subject declares: an
EGNN declared SO3 is still judged under E(3), reflections and translations included.
"""
from __future__ import annotations

from typing import Any

from harness import Context, Measurement, Reference, claim
from harness.equivariance import BoundSubject
from harness.groups.permutation import Symmetric
from suites.equivariance.checks import judge_equivariance

PAPER = "E(n) Equivariant Graph Neural Networks (Satorras, Hoogeboom & Welling, ICML 2021; arXiv:2102.09844)"
_EGNN = "baselines.equivariant.egnn"
NEEDS = ("method:egnn",)
PARAMS = {"elements": 32, "samples": 16}
SPATIAL_3D = ("SO3", "O3", "SE3", "E3")
PLANAR = ("SO2", "O2")


def _not_applicable(bs: BoundSubject, what: str, wanted: str) -> Measurement:
    return Measurement("skip", detail=f"{what} judges a subject declared under {wanted}; this one is declared "
                                      f"{bs.group.name} (give a subject declared that way)")


def invariant_outputs(bs: BoundSubject) -> BoundSubject | None:
    """The subject restricted to its outputs declared 'inv' (None when it has none)."""
    keep = [i for i, r in enumerate(bs.out_reps) if r.kind == "inv"]
    if not keep:
        return None
    inner = bs.model

    def model(*xs: Any) -> tuple[Any, ...]:
        ys = inner(*xs)
        ys = ys if isinstance(ys, (tuple, list)) else (ys,)
        return tuple(ys[i] for i in keep)

    return BoundSubject(bs.subject, bs.group, bs.in_reps, tuple(bs.out_reps[i] for i in keep), bs.dtype, model,
                        bs.max_batch, list(bs.notes))


@claim(
    "equivariance/egnn/e3-equivariant",
    paper=PAPER,
    statement="The EGNN is equivariant to rotations, reflections and translations of the coordinates: for every "
              "g = (Q, t) in E(3), EGNN(Qx + t, h) = (Q x' + t, h') where (x', h') = EGNN(x, h), to the float64 "
              "exactness budget 1e-10 (relative).",
    contract="equivariant", params=PARAMS, needs=NEEDS,
    references=(Reference("EGNN, 3 layers, 5 nodes, 4 features (E3)", f"{_EGNN}:egnn_subject"),),
)
def e3_equivariant(subject: BoundSubject, ctx: Context) -> Measurement:
    """Random Haar rotations, half composed with the inversion x -> -x (one guaranteed), translations of scale 3."""
    if subject.group.name not in SPATIAL_3D:
        return _not_applicable(subject, "this claim", "one of " + ", ".join(SPATIAL_3D))
    return judge_equivariance(subject.with_group("E3"), ctx)


@claim(
    "equivariance/egnn/features-invariant",
    paper=PAPER,
    statement="The node embeddings h computed by the EGNN are invariant to rotations, reflections and translations "
              "of the input coordinates (they see only squared distances): every output declared 'inv' is unchanged "
              "under E(3), to the float64 budget 1e-10.",
    contract="equivariant", params=PARAMS, needs=NEEDS,
    references=(Reference("EGNN, 3 layers, 5 nodes, 4 features (E3), its h output", f"{_EGNN}:egnn_subject"),),
)
def features_invariant(subject: BoundSubject, ctx: Context) -> Measurement:
    """The subject restricted to its 'inv' outputs; any dependence on orientation, handedness or origin is an error."""
    if subject.group.name not in SPATIAL_3D:
        return _not_applicable(subject, "this claim", "one of " + ", ".join(SPATIAL_3D))
    restricted = invariant_outputs(subject)
    if restricted is None:
        return Measurement("skip", detail="the subject declares no output 'inv' (no node embeddings to judge)")
    return judge_equivariance(restricted.with_group("E3"), ctx, what="outputs declared 'inv' only, ")


@claim(
    "equivariance/egnn/permutation-equivariant",
    paper=PAPER,
    statement="The EGNN is equivariant to permutations of the nodes: relabelling the nodes relabels the output "
              "coordinates and embeddings the same way, to the float64 budget 1e-10.",
    contract="equivariant", params=PARAMS, needs=NEEDS,
    references=(Reference("EGNN on 5 nodes (S5, every tensor perm:0)", f"{_EGNN}:egnn_permutation_subject"),),
)
def permutation_equivariant(subject: BoundSubject, ctx: Context) -> Measurement:
    """The 32 random permutations include the transposition (0 1) and the n-cycle, which generate S_n."""
    if not isinstance(subject.group, Symmetric):
        return _not_applicable(subject, "this claim", "S<n> (node axes marked perm:<axis>)")
    return judge_equivariance(subject, ctx)


@claim(
    "equivariance/egnn/planar-equivariant",
    paper=PAPER,
    statement="The same layer works in any dimension n: on 2D point clouds the EGNN is equivariant to rotations and "
              "reflections O(2), to the float64 budget 1e-10.",
    contract="equivariant", params=PARAMS, needs=NEEDS,
    references=(Reference("EGNN on 2D clouds (O2)", f"{_EGNN}:egnn_planar_subject"),),
)
def planar_equivariant(subject: BoundSubject, ctx: Context) -> Measurement:
    """Uniform angles, half of them after the reflection y -> -y; the harness's O2 has no translations."""
    if subject.group.name not in PLANAR:
        return _not_applicable(subject, "this claim", "SO2 or O2 (2D coordinates)")
    return judge_equivariance(subject.with_group("O2"), ctx)
