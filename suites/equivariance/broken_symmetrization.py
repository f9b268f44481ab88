"""Broken symmetrizations, each a mistake that is easy to make, and the claims that must catch them.

Frame averaging (Puny et al. 2022; FAENet, Duval et al. 2023), canonicalization (Kaba et al. 2023; Mondal et al.
2023) and orbit-distance symmetrization (Nguyen et al. 2023).
"""
from __future__ import annotations

import torch
from torch import nn

from baselines.equivariant import canonicalization as canon
from baselines.equivariant import frame_averaging as fa
from baselines.equivariant import orbit_symmetrization as orbit
from baselines.equivariant.backbones import RandomMLP, random_mlp, small_cnn
from harness.equivariance import Subject
from harness.registry import failing

_HERE = "suites.equivariance.broken_symmetrization"
N = fa.N_POINTS


def one_sign_frame(pos: torch.Tensor) -> fa.Frames:
    """eigh's eigenvectors as they come: one sign choice, which does not follow the cloud when it moves."""
    t = pos.mean(1)
    centred = pos - t[:, None]
    _, U = torch.linalg.eigh(centred.transpose(1, 2) @ centred)
    return fa.Frames(U[:, None], t[:, None])


def uncentred_frame(pos: torch.Tensor) -> fa.Frames:
    """All 8 sign choices of the second-moment matrix's eigenvectors about the ORIGIN, origin t = 0: translations break it."""
    _, U = torch.linalg.eigh(pos.transpose(1, 2) @ pos)
    s = fa.sign_vectors(3).to(pos.dtype)
    return fa.Frames(U[:, None] * s[None, :, None, :], torch.zeros(pos.shape[0], s.shape[0], 3, dtype=pos.dtype))


def row_eigenvector_frame(pos: torch.Tensor) -> fa.Frames:
    """All 8 sign choices of the centred frame, but eigenvectors read as ROWS of eigh's output (U^T instead of U)."""
    frames = fa.pca_frames(pos)
    return fa.Frames(frames.R.transpose(-1, -2), frames.t)


class _Flat(nn.Module):
    """The backbone on the flattened cloud, reshaped like the cloud when it returns one value per coordinate."""

    def __init__(self, backbone: nn.Module, points: bool) -> None:
        super().__init__()
        self.backbone, self.points = backbone, points

    def forward(self, pos: torch.Tensor) -> torch.Tensor:
        y = self.backbone(pos.flatten(1))
        return y.view_as(pos) if self.points else y


def raw_backbone_invariant() -> Subject:
    """The MLP alone, no frame, declared E(3)-invariant."""
    return Subject(_Flat(random_mlp(3 * N, 4), False), "E3", fa.cloud_inputs, "pos", "inv", method="frame-averaging")


def raw_backbone_points() -> Subject:
    """The MLP alone, one point per point, declared E(3)-equivariant."""
    return Subject(_Flat(random_mlp(3 * N, 3 * N), True), "E3", fa.cloud_inputs, "pos", "pos", method="frame-averaging")


def _fa(frame_fn: fa.FrameFn, output: str, out_dim: int) -> fa.FrameAveraged:
    return fa.FrameAveraged(random_mlp(3 * N, out_dim), frame_fn, output)


def fa_one_sign() -> Subject:
    """FA over eigh's single sign choice, declared E(3)-invariant."""
    return Subject(_fa(one_sign_frame, "invariant", 4), "E3", fa.cloud_inputs, "pos", "inv", method="frame-averaging")


def fa_uncentred() -> Subject:
    """FA over an uncentred frame, declared E(3)-invariant."""
    return Subject(_fa(uncentred_frame, "invariant", 4), "E3", fa.cloud_inputs, "pos", "inv", method="frame-averaging")


def fa_rows() -> Subject:
    """FA over eigenvectors read as rows, declared E(3)-invariant."""
    return Subject(_fa(row_eigenvector_frame, "invariant", 4), "E3", fa.cloud_inputs, "pos", "inv",
                   method="frame-averaging")


def fa_points_one_sign() -> Subject:
    """Equivariant FA over eigh's single sign choice."""
    return Subject(_fa(one_sign_frame, "points", 3 * N), "E3", fa.cloud_inputs, "pos", "pos", method="frame-averaging")


def fa_points_uncentred() -> Subject:
    """Equivariant FA over an uncentred frame."""
    return Subject(_fa(uncentred_frame, "points", 3 * N), "E3", fa.cloud_inputs, "pos", "pos", method="frame-averaging")


def fa_points_rows() -> Subject:
    """Equivariant FA over eigenvectors read as rows."""
    return Subject(_fa(row_eigenvector_frame, "points", 3 * N), "E3", fa.cloud_inputs, "pos", "pos",
                   method="frame-averaging")


def full_frame_declared_se3() -> Subject:
    """FA over all 8 sign choices (improper ones included) where the proper SE(3) frame was meant: reflection-invariant."""
    subject = fa.fa_invariant_subject("O3")
    return Subject(subject.model, "SE3", subject.inputs, subject.in_reps, subject.out_reps, method="frame-averaging")


def _frame_output(frame_fn: fa.FrameFn):
    def model(pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        frames = frame_fn(pos)
        return frames.R.transpose(-1, -2), frames.t

    return model


def frame_set_one_sign() -> Subject:
    """eigh's single sign choice as the frame."""
    return Subject(_frame_output(one_sign_frame), "E3", fa.cloud_inputs, "pos", ("1x1o", "pos"),
                   method="frame-averaging")


def frame_set_uncentred() -> Subject:
    """The uncentred frame (origin 0, second moments about the origin)."""
    return Subject(_frame_output(uncentred_frame), "E3", fa.cloud_inputs, "pos", ("1x1o", "pos"),
                   method="frame-averaging")


def frame_set_rows() -> Subject:
    """The frame with eigenvectors read as rows."""
    return Subject(_frame_output(row_eigenvector_frame), "E3", fa.cloud_inputs, "pos", ("1x1o", "pos"),
                   method="frame-averaging")


def proper_frame_set_declared_e3() -> Subject:
    """The 4-element proper frame declared E(3): -F(X) has det -1 elements, so F(-X) != -F(X)."""
    return Subject(_frame_output(fa.FRAMES["SO3"]), "E3", fa.cloud_inputs, "pos", ("1x1o", "pos"),
                   method="frame-averaging")


def graph_raw_backbone() -> Subject:
    """The graph MLP on the flattened adjacency and labels as given, no frame."""
    mlp = random_mlp(fa.N_NODES * fa.N_NODES + fa.N_NODES, 4)
    return Subject(lambda adj, x: mlp(torch.cat([adj.flatten(1), x.flatten(1)], 1)), f"S{fa.N_NODES}",
                   fa.random_graphs, ("perm:0,1", "perm:0"), "inv", method="frame-averaging")


def sort_with_ties_broken_by_index(scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One ordering per graph, argsort's: tied nodes stay in input order, so the frame depends on the labelling."""
    return torch.argsort(scores, dim=1, stable=True), torch.arange(scores.shape[0])


def graph_ties_broken_by_index() -> Subject:
    """The sort frame without its tie rule."""
    model = fa.GraphFrameAveraged(random_mlp(fa.N_NODES * fa.N_NODES + fa.N_NODES, 4), sort_with_ties_broken_by_index)
    return Subject(model, f"S{fa.N_NODES}", fa.random_graphs, ("perm:0,1", "perm:0"), "inv", method="frame-averaging")


class _AllFramesIgnoringDraw(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fa = _fa(fa.FRAMES["O3"], "invariant", 4)

    def forward(self, pos: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return self.fa(pos)


def sfa_averaging_all_frames() -> Subject:
    """"SFA" that ignores its draw and averages every frame: deterministic full FA, invariant sample by sample."""
    return Subject(_AllFramesIgnoringDraw(), "E3", fa.cloud_and_draw_inputs, ("pos", "inv"), "inv",
                   method="frame-averaging")


class _SquaredDraw(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.sfa = fa.StochasticFrameAveraged(random_mlp(3 * N, 4), fa.FRAMES["O3"])

    def forward(self, pos: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return self.sfa(pos, u * u)


def sfa_nonuniform_draw() -> Subject:
    """SFA drawing frame index floor(|F| u^2): low indices favoured, so the mean over u weighs frames unequally."""
    return Subject(_SquaredDraw(), "E3", fa.cloud_and_draw_inputs, ("pos", "inv"), "inv", method="frame-averaging")


def sfa_uncentred() -> Subject:
    """SFA over the uncentred frame."""
    return Subject(fa.StochasticFrameAveraged(random_mlp(3 * N, 4), uncentred_frame), "E3", fa.cloud_and_draw_inputs,
                   ("pos", "inv"), "inv", method="frame-averaging")


def planar_one_sign_frame(pos: torch.Tensor) -> fa.Frames:
    """FAENet's 2D frame with eigh's single sign choice."""
    xy = pos[..., :2] - pos[..., :2].mean(1, keepdim=True)
    _, U2 = torch.linalg.eigh(xy.transpose(1, 2) @ xy)
    R = torch.zeros(pos.shape[0], 1, 3, 3, dtype=pos.dtype)
    R[:, 0, :2, :2] = U2
    R[:, 0, 2, 2] = 1.0
    return fa.Frames(R, pos.mean(1)[:, None])


def planar_fa_one_sign() -> Subject:
    """2D-frame FA with eigh's single sign choice, declared invariant to rotations about z."""
    return Subject(_fa(planar_one_sign_frame, "invariant", 4), "SO2", fa.cloud_inputs, "pos", "inv",
                   method="frame-averaging")


def raw_backbone_about_z() -> Subject:
    """The MLP alone, declared invariant to rotations about z."""
    return Subject(_Flat(random_mlp(3 * N, 4), False), "SO2", fa.cloud_inputs, "pos", "inv", method="frame-averaging")


def spatial_frame_declared_planar() -> Subject:
    """The full 3D PCA frame where the 2D one was meant: SO(3)-invariant, so not the planar model the claim is about."""
    subject = fa.fa_invariant_subject("O3")
    return Subject(subject.model, "SO2", subject.inputs, subject.in_reps, subject.out_reps, method="frame-averaging")


def _forces(frame_fn: fa.FrameFn | None) -> Subject:
    energy = _Flat(random_mlp(3 * N, 1), False) if frame_fn is None else _fa(frame_fn, "invariant", 1)
    return Subject(fa.EnergyForces(energy), "E3", fa.cloud_inputs, "pos", "1x1o", method="frame-averaging")


def forces_raw_backbone() -> Subject:
    """Forces of the raw MLP energy."""
    return _forces(None)


def forces_one_sign() -> Subject:
    """Forces of the single-sign-frame energy."""
    return _forces(one_sign_frame)


def forces_rows() -> Subject:
    """Forces of the rows-for-columns frame energy."""
    return _forces(row_eigenvector_frame)


class MLPVectors(nn.Module):
    """K vectors [B, K, d] read off an MLP on the flattened cloud: not equivariant."""

    def __init__(self, n_points: int, dim: int, count: int) -> None:
        super().__init__()
        self.count, self.dim = count, dim
        self.mlp = RandomMLP(n_points * dim, count * dim, hidden=16, depth=1, seed=5)

    def forward(self, pos: torch.Tensor) -> torch.Tensor:
        return self.mlp(pos.flatten(1)).view(pos.shape[0], self.count, self.dim)


def _mlp_canonicalizer() -> canon.RotationCanonicalizer:
    h = canon.RotationCanonicalizer(proper=True)
    h.vectors = MLPVectors(canon.N_POINTS, 3, 2)
    return h


def _points_model(h: nn.Module, output: str) -> canon.CanonicalizedPoints:
    out_dim = 4 if output == "invariant" else 3 * canon.N_POINTS
    return canon.CanonicalizedPoints(h, random_mlp(3 * canon.N_POINTS, out_dim, seed=1), output)


def mlp_canonicalized_invariant() -> Subject:
    """Canonicalization by Gram-Schmidt of vectors from a plain MLP, declared SE(3)-invariant."""
    return Subject(_points_model(_mlp_canonicalizer(), "invariant"), "SE3", canon.cloud_inputs, "pos", "inv",
                   method="canonicalization")


def mlp_canonicalized_points() -> Subject:
    """The same non-equivariant canonicalizer, point outputs declared SE(3)-equivariant."""
    return Subject(_points_model(_mlp_canonicalizer(), "points"), "SE3", canon.cloud_inputs, "pos", "pos",
                   method="canonicalization")


def mlp_canonicalizer() -> Subject:
    """The non-equivariant canonicalizer itself."""
    return Subject(canon.CanonicalizerOutput(_mlp_canonicalizer()), "SE3", canon.cloud_inputs, "pos", ("1x1o", "pos"),
                   method="canonicalization")


def cross_product_declared_e3_invariant() -> Subject:
    """SO(3) canonicalizer (e3 = e1 x e2) used for E(3): the cross product does not flip under inversion."""
    model = _points_model(canon.RotationCanonicalizer(proper=True), "invariant")
    return Subject(model, "E3", canon.cloud_inputs, "pos", "inv", method="canonicalization")


def cross_product_declared_e3_points() -> Subject:
    """The same, point outputs declared E(3)-equivariant."""
    return Subject(_points_model(canon.RotationCanonicalizer(proper=True), "points"), "E3", canon.cloud_inputs, "pos", "pos",
                   method="canonicalization")


def cross_product_canonicalizer_declared_e3() -> Subject:
    """The cross-product canonicalizer itself, declared E(3)-equivariant."""
    return Subject(canon.CanonicalizerOutput(canon.RotationCanonicalizer(proper=True)), "E3", canon.cloud_inputs, "pos",
                   ("1x1o", "pos"), method="canonicalization")


class LeftHandedCanonicalizer(canon.RotationCanonicalizer):
    """Gram-Schmidt completed in the wrong order, e3 = e2 x e1: an orthonormal frame with det -1."""

    def forward(self, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        R, t = super().forward(pos)
        return torch.cat([R[..., :2], torch.linalg.cross(R[..., 1], R[..., 0])[..., None]], -1), t


def left_handed_canonicalizer() -> Subject:
    """The left-handed canonicalizer declared SE(3): still SO(3)-equivariant, but h(X) is not in SO(3)."""
    return Subject(canon.CanonicalizerOutput(LeftHandedCanonicalizer(proper=True)), "SE3", canon.cloud_inputs, "pos",
                   ("1x1o", "pos"), method="canonicalization")


def left_handed_canonicalized_invariant() -> Subject:
    """A random MLP behind the left-handed canonicalizer, declared SE(3)-invariant (which it is)."""
    return Subject(_points_model(LeftHandedCanonicalizer(proper=True), "invariant"), "SE3", canon.cloud_inputs, "pos", "inv",
                   method="canonicalization")


class RoundedScoreSort(canon.SortCanonicalizer):
    """Sort by a quantized score (the first feature rounded): distinct elements tie, argsort keeps input order."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.argsort(x[..., 0].round(), dim=1, stable=True)


def _set_model(output: str) -> canon.CanonicalizedSet:
    out_dim = 4 if output == "invariant" else canon.N_SET * 3
    return canon.CanonicalizedSet(RoundedScoreSort(canon.SET_FEATURES),
                                  random_mlp(canon.N_SET * canon.SET_FEATURES, out_dim, seed=1), output)


def set_sorted_with_ties_invariant() -> Subject:
    """Sort canonicalization with tied scores, declared S_n-invariant."""
    return Subject(_set_model("invariant"), f"S{canon.N_SET}", canon.set_inputs, "perm:0", "inv",
                   method="canonicalization")


def set_sorted_with_ties_equivariant() -> Subject:
    """Sort canonicalization with tied scores, declared S_n-equivariant."""
    return Subject(_set_model("equivariant"), f"S{canon.N_SET}", canon.set_inputs, "perm:0", "perm:0",
                   method="canonicalization")


def set_canonicalizer_with_ties() -> Subject:
    """The tied sort canonicalizer itself."""
    return Subject(canon.CanonicalizerOutput(RoundedScoreSort(canon.SET_FEATURES)), f"S{canon.N_SET}", canon.set_inputs,
                   "perm:0", "perm:0", method="canonicalization")


class IsotropicC4Canonicalizer(canon.C4Canonicalizer):
    """Rotation-symmetric filters exp(-c r^2): the four rotated filters are identical, every score ties, argmax says 0."""

    def lifted_filters(self) -> torch.Tensor:
        k = self.filters.shape[-1]
        r2 = (torch.arange(k, dtype=torch.float64) - k // 2).pow(2)
        radial = torch.exp(-(r2[:, None] + r2[None, :]) * self.filters[:, :, :1, :1].abs())
        return radial.repeat(4, 1, 1, 1)


def _image_subject(h: nn.Module, output: str) -> Subject:
    backbone = small_cnn(1, canon.IMAGE_SIZE, 4 if output == "invariant" else None, seed=1)
    out_rep = "inv" if output == "invariant" else "grid"
    return Subject(canon.CanonicalizedImage(h, backbone, output), "C4", canon.random_images, "grid", out_rep,
                   method="canonicalization")


def image_tied_scores_invariant() -> Subject:
    """A random CNN behind the tied-argmax canonicalizer, declared C4-invariant."""
    return _image_subject(IsotropicC4Canonicalizer(), "invariant")


def image_tied_scores_equivariant() -> Subject:
    """An image-to-image CNN behind the tied-argmax canonicalizer, declared C4-equivariant."""
    return _image_subject(IsotropicC4Canonicalizer(), "equivariant")


def image_canonicalizer_with_ties() -> Subject:
    """The tied-argmax canonicalizer itself."""
    return Subject(canon.CanonicalizerOutput(IsotropicC4Canonicalizer()), "C4", canon.random_images, "grid", "pos",
                   method="canonicalization")


def raw_cnn_invariant() -> Subject:
    """The frozen CNN alone, declared C4-invariant."""
    return Subject(small_cnn(1, canon.IMAGE_SIZE, 4, seed=1), "C4", canon.random_images, "grid", "inv",
                   method="canonicalization")


def raw_cnn_image() -> Subject:
    """The image-to-image CNN alone, declared C4-equivariant."""
    return Subject(small_cnn(1, canon.IMAGE_SIZE, None, seed=1), "C4", canon.random_images, "grid", "grid",
                   method="canonicalization")


def canonicalizer_without_prior() -> Subject:
    """The C4 canonicalizer at initialization: equivariant, but its preferred orientation is arbitrary."""
    return canon.prior_canonicalizer_subject(prior_steps=0)


def canonicalizer_prior_towards_quarter_turn() -> Subject:
    """The prior's target off by one (quarter turn 1 instead of the identity)."""
    h = canon.train_with_prior(canon.C4Canonicalizer(), 100, seed=100, target=1)
    return Subject(canon.CanonicalizerOutput(h), "C4", canon.upright_images, "grid", "pos", method="canonicalization")


class _AlwaysIdentity(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return canon.quarter_turns_as_vectors(torch.zeros(x.shape[0], dtype=torch.long), x.dtype)


def canonicalizer_always_identity() -> Subject:
    """h(x) = identity for every image: perfect on upright data, not equivariant."""
    return Subject(_AlwaysIdentity(), "C4", canon.upright_images, "grid", "pos", method="canonicalization")


def orbit_unstable_step() -> Subject:
    """Orbit-distance descent with step 5: c = 5 rho exceeds the stability limit 2 of e <- e - c sin(e) unless rho < 0.4."""
    return orbit.orbit_subject(step_size=5.0)


def orbit_nonequivariant_features() -> Subject:
    """Orbit-distance descent towards features of a plain MLP: it converges, to a non-equivariant angle."""
    subject = orbit.orbit_subject()
    model = subject.model
    model.features = MLPVectors(orbit.N_POINTS, 2, 2)
    return Subject(model, subject.group, subject.inputs, subject.in_reps, subject.out_reps,
                   method="orbit-distance-symmetrization")


_FRAME_BUGS = (
    ("one_sign", "eigh's single sign choice instead of all 2^d"),
    ("uncentred", "frame not centred: second moments about the origin, translations break it"),
    ("rows", "eigenvectors read as rows of eigh's output instead of columns"),
)
for name, why in (("raw_backbone_invariant", "the raw MLP, no frame"),) + tuple((f"fa_{k}", w) for k, w in _FRAME_BUGS):
    failing("equivariance/frame-averaging/invariant", f"{_HERE}:{name}", why)
for name, why in (("raw_backbone_points", "the raw MLP, no frame"),) + tuple((f"fa_points_{k}", w) for k, w in _FRAME_BUGS):
    failing("equivariance/frame-averaging/equivariant", f"{_HERE}:{name}", why)
failing("equivariance/frame-averaging/proper-frame-is-chiral", f"{_HERE}:full_frame_declared_se3",
        "all 8 sign choices where the proper frame was meant: the model is reflection-invariant")
for name, why in tuple((f"frame_set_{k}", w) for k, w in _FRAME_BUGS) + (
        ("proper_frame_set_declared_e3", "the proper frame is not closed under inversion"),):
    failing("equivariance/frame-averaging/frame-is-equivariant", f"{_HERE}:{name}", why)
failing("equivariance/frame-averaging/graph-sort-frame-invariant", f"{_HERE}:graph_raw_backbone", "the raw MLP, no frame")
failing("equivariance/frame-averaging/graph-sort-frame-invariant", f"{_HERE}:graph_ties_broken_by_index",
        "ties in the node score broken by node index instead of enlarging the frame")
failing("equivariance/stochastic-frame-averaging/single-frame-not-invariant", f"{_HERE}:sfa_averaging_all_frames",
        "averages every frame and ignores the draw: not stochastic FA")
failing("equivariance/stochastic-frame-averaging/mean-over-frames-invariant", f"{_HERE}:sfa_nonuniform_draw",
        "frame index floor(|F| u^2): frames drawn with unequal probabilities")
failing("equivariance/stochastic-frame-averaging/mean-over-frames-invariant", f"{_HERE}:sfa_uncentred",
        "frame not centred: translations break it")
failing("equivariance/stochastic-frame-averaging/planar-frame-invariant", f"{_HERE}:planar_fa_one_sign",
        "eigh's single sign choice of the 2D frame")
failing("equivariance/stochastic-frame-averaging/planar-frame-invariant", f"{_HERE}:raw_backbone_about_z",
        "the raw MLP, no frame")
failing("equivariance/stochastic-frame-averaging/planar-frame-not-so3-invariant", f"{_HERE}:spatial_frame_declared_planar",
        "the 3D frame where the 2D one was meant: fully rotation-invariant")
failing("equivariance/stochastic-frame-averaging/forces-equivariant", f"{_HERE}:forces_raw_backbone", "forces of the raw MLP")
failing("equivariance/stochastic-frame-averaging/forces-equivariant", f"{_HERE}:forces_one_sign",
        "forces of a single-sign-frame energy")
failing("equivariance/stochastic-frame-averaging/forces-equivariant", f"{_HERE}:forces_rows",
        "forces of a rows-for-columns frame energy")

for claim_id, names in (
    ("equivariance/canonicalization/invariant",
     ("mlp_canonicalized_invariant", "cross_product_declared_e3_invariant", "set_sorted_with_ties_invariant",
      "image_tied_scores_invariant", "raw_cnn_invariant")),
    ("equivariance/canonicalization/equivariant",
     ("mlp_canonicalized_points", "cross_product_declared_e3_points", "set_sorted_with_ties_equivariant",
      "image_tied_scores_equivariant", "raw_cnn_image")),
    ("equivariance/canonicalization/canonicalizer-equivariant",
     ("mlp_canonicalizer", "cross_product_canonicalizer_declared_e3", "set_canonicalizer_with_ties",
      "image_canonicalizer_with_ties")),
):
    for name in names:
        failing(claim_id, f"{_HERE}:{name}", {
            "mlp": "canonicalizer vectors from a plain MLP (not equivariant)",
            "cro": "SO(3) canonicalizer (e3 = e1 x e2) used for E(3): the cross product ignores inversion",
            "set": "sort by a quantized score: distinct elements tie, argsort keeps input order",
            "ima": "rotation-symmetric filters: all four scores tie, argmax always says 0",
            "raw": "the backbone alone, no canonicalizer",
        }[name[:3]])
failing("equivariance/canonicalization/canonicalizer-in-group", f"{_HERE}:left_handed_canonicalizer",
        "Gram-Schmidt completed as e2 x e1: det R = -1 (still SO(3)-equivariant)")
failing("equivariance/equivariant-adaptation/c4-invariant", f"{_HERE}:raw_cnn_invariant",
        "the frozen backbone alone, no canonicalizer")
failing("equivariance/equivariant-adaptation/c4-invariant", f"{_HERE}:image_tied_scores_invariant",
        "rotation-symmetric canonicalizer filters: argmax ties")
failing("equivariance/equivariant-adaptation/prior-maps-upright-to-identity", f"{_HERE}:canonicalizer_without_prior",
        "no prior training: the preferred orientation is arbitrary")
failing("equivariance/equivariant-adaptation/prior-maps-upright-to-identity",
        f"{_HERE}:canonicalizer_prior_towards_quarter_turn", "the prior's target off by one quarter turn")
failing("equivariance/equivariant-adaptation/prior-maps-upright-to-identity", f"{_HERE}:canonicalizer_always_identity",
        "a constant identity 'canonicalizer': right on upright images, wrong on rotated ones")
failing("equivariance/orbit-distance-symmetrization/error-decreases-with-steps", f"{_HERE}:orbit_unstable_step",
        "inner step size 5, beyond the stability limit 2 for most clouds: the descent oscillates")
failing("equivariance/orbit-distance-symmetrization/error-decreases-with-steps",
        f"{_HERE}:orbit_nonequivariant_features", "orbit distance to features of a plain MLP: converges, not invariant")
