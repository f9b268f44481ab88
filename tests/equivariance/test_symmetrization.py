"""Unit tests of the symmetrization baselines: frame averaging, stochastic FA, canonicalization, orbit symmetrization."""
import math

import pytest
import torch

from baselines.equivariant import canonicalization as canon
from baselines.equivariant import frame_averaging as fa
from baselines.equivariant import orbit_symmetrization as orbit
from baselines.equivariant.backbones import random_mlp, small_cnn
from harness.equivariance import SubjectError, bind_subject
from harness.jobs import Job
from harness.registry import get_claim
from harness.runner import measure
from suites.equivariance.frame_averaging import mean_over_draws


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _random_rotation(seed=0):
    q, r = torch.linalg.qr(torch.randn(3, 3, generator=_gen(seed), dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r))
    return q if torch.linalg.det(q) > 0 else -q


@pytest.mark.parametrize("proper,size", [(False, 8), (True, 4)])
def test_pca_frame_elements_are_orthogonal_with_the_right_determinants(proper, size):
    frames = fa.pca_frames(fa.generic_clouds(_gen(), 32), proper=proper)
    assert frames.R.shape == (32, size, 3, 3)
    eye = torch.eye(3, dtype=torch.float64)
    assert torch.allclose(frames.R.transpose(-1, -2) @ frames.R, eye.expand_as(frames.R), atol=1e-13)
    det = torch.linalg.det(frames.R)
    if proper:
        assert torch.allclose(det, torch.ones_like(det))
    else:
        assert int((det > 0).sum(1).min()) == 4 and int((det < 0).sum(1).min()) == 4


def test_planar_frame_keeps_the_z_axis():
    frames = fa.planar_pca_frames(fa.generic_clouds(_gen(), 8))
    assert frames.R.shape == (8, 4, 3, 3)
    assert torch.equal(frames.R[..., 2, :], torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64).expand(8, 4, 3))
    assert fa.planar_pca_frames(fa.generic_clouds(_gen(), 8), proper=True).R.shape[1] == 2


def test_canonical_clouds_of_a_moved_cloud_are_the_same_set():
    pos = fa.generic_clouds(_gen(), 4)
    Q, s = -_random_rotation(1), torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    a = fa.canonical_points(pos, fa.pca_frames(pos))
    b = fa.canonical_points(pos @ Q.T + s, fa.pca_frames(pos @ Q.T + s))
    dist = (a[:, :, None] - b[:, None]).flatten(3).norm(dim=-1)
    assert float(dist.min(-1).values.max()) < 1e-12


def test_stochastic_fa_averaged_over_every_frame_index_is_full_fa():
    pos = fa.generic_clouds(_gen(), 16)
    mlp = random_mlp(3 * fa.N_POINTS, 4, seed=3)
    sfa = fa.StochasticFrameAveraged(mlp, fa.FRAMES["O3"])
    with torch.no_grad():
        mean = torch.stack([sfa(pos, torch.full((16, 1), (k + 0.5) / 8, dtype=torch.float64)) for k in range(8)]).mean(0)
        full = fa.FrameAveraged(mlp, fa.FRAMES["O3"])(pos)
    assert float((mean - full).abs().max()) < 1e-14


def test_mean_over_draws_needs_the_draw_as_last_input():
    with pytest.raises(SubjectError):
        mean_over_draws(bind_subject(fa.fa_invariant_subject()), 24)


def _rotated_error(model, pos, Q):
    with torch.no_grad():
        return float(((model(pos @ Q.T) - model(pos)).norm() / model(pos).norm()))


def test_degenerate_covariance_breaks_frame_averaging():
    """An octahedron has covariance (1/4) I: eigh returns an arbitrary basis, so FA is not invariant (documented)."""
    eye = torch.eye(3, dtype=torch.float64)
    octahedron = torch.cat([eye, -eye, torch.zeros(2, 3, dtype=torch.float64)])[None]
    model = fa.fa_invariant_subject().model
    assert _rotated_error(model, octahedron, _random_rotation(2)) > 1e-3
    assert _rotated_error(model, fa.generic_clouds(_gen(), 1), _random_rotation(2)) < 1e-13


def test_sort_frame_size_is_the_product_of_tie_factorials():
    adj, labels = fa.random_graphs(_gen(), 64)
    scores = fa.degree_label_scores(adj, labels)
    _, sample = fa.sort_frames(scores)
    sizes = torch.bincount(sample, minlength=64)
    expected = [math.prod(math.factorial(int(c)) for c in torch.unique(row, return_counts=True)[1]) for row in scores]
    assert sizes.tolist() == expected
    assert max(expected) > 1


def test_backbones_are_seeded_float64_and_not_invariant():
    a, b = random_mlp(6, 2, seed=4), random_mlp(6, 2, seed=4)
    x = torch.randn(5, 6, generator=_gen(), dtype=torch.float64)
    assert torch.equal(a(x), b(x)) and a(x).dtype == torch.float64
    img = torch.randn(2, 1, 9, 9, generator=_gen(), dtype=torch.float64)
    cnn = small_cnn(1, 9, 4)
    assert float((cnn(torch.rot90(img, 1, dims=(-2, -1))) - cnn(img)).detach().abs().max()) > 1e-2


def test_o3_canonicalizer_flips_with_inversion_and_so3_is_proper():
    pos = fa.generic_clouds(_gen(), 8)
    R_o3, _ = canon.RotationCanonicalizer(proper=False)(pos)
    R_neg, _ = canon.RotationCanonicalizer(proper=False)(-pos)
    assert torch.allclose(R_neg, -R_o3, atol=1e-13)
    R_so3, _ = canon.RotationCanonicalizer(proper=True)(pos)
    assert torch.allclose(torch.linalg.det(R_so3), torch.ones(8, dtype=torch.float64))


def test_c4_scores_shift_cyclically_with_the_image():
    h = canon.C4Canonicalizer()
    (x,) = canon.random_images(_gen(), 8)
    with torch.no_grad():
        s = h.scores(x)
        s1 = h.scores(torch.rot90(x, 1, dims=(-2, -1)))
    assert torch.allclose(s1, torch.roll(s, 1, dims=1), atol=1e-14)


def _identity_fraction(h):
    (x,) = canon.upright_images(_gen(123), 512)
    with torch.no_grad():
        return float((h(x) == 0).double().mean())


def test_prior_training_maps_upright_images_to_the_identity():
    before = _identity_fraction(canon.prior_trained_canonicalizer(prior_steps=0))
    after = _identity_fraction(canon.prior_trained_canonicalizer(prior_steps=100))
    assert before < 0.5 < 0.9 < after


def test_orbit_descent_reaches_the_closed_form_minimizer():
    subject = orbit.orbit_subject()
    model = subject.model
    (pos,) = subject.inputs(_gen(), 64)
    with torch.no_grad():
        phi = model.features(pos)
        ref = torch.view_as_complex(model.reference.contiguous())
        best = torch.angle((ref.conj()[None] * torch.view_as_complex(phi.contiguous())).sum(1))
        theta = torch.zeros(64, dtype=torch.float64)
        scale = 2 * model.reference.norm() * phi.flatten(1).norm(dim=1)
        for _ in range(200):
            theta = theta - orbit.orbit_distance_grad(theta, model.reference, phi) / scale
    gap = torch.remainder(theta - best + math.pi, 2 * math.pi) - math.pi
    assert float(gap.abs().median()) < 1e-12


def _verdict(claim_id, impl):
    claim = get_claim(claim_id)
    return measure(Job(claim_id, impl, impl, tuple(sorted(claim.params.items())))).verdict


def test_left_handed_canonicalizer_is_caught_only_by_the_group_membership_claim():
    """e3 = e2 x e1 still rotates with the cloud: invariance holds, h(x) is just not a rotation."""
    here = "suites.equivariance.broken_symmetrization"
    assert _verdict("equivariance/canonicalization/invariant", f"{here}:left_handed_canonicalized_invariant") == "pass"
    assert _verdict("equivariance/canonicalization/canonicalizer-equivariant", f"{here}:left_handed_canonicalizer") == "pass"
    assert _verdict("equivariance/canonicalization/canonicalizer-in-group", f"{here}:left_handed_canonicalizer") == "fail"
