"""Canonicalization: f(x) = rho_out(h(x)) p(rho_in(h(x))^-1 x) with an equivariant h and an unconstrained backbone p.

"Equivariance with Learned Canonicalization Functions" (Kaba et al., ICML 2023; arXiv:2211.06489): when the
canonicalizer is equivariant, h(g x) = g h(x), the canonical input h(x)^-1 x is invariant and f is exactly
equivariant for ANY backbone p. Canonicalizers here:
- E(3): t = centroid, R = Gram-Schmidt of equivariant vectors from a one-layer EGNN-style vector net; SO(3)/SE(3)
  completes the frame with e3 = e1 x e2 (det R = +1); O(3)/E(3) orients e1 x e2 by the sign of a third vector's
  triple product (the cross product is a pseudo-vector: alone it does not flip under x -> -x, so it cannot serve O(3)).
- S_n on sets: sort by equivariant scores. Exact only without ties: tied scores make the sorted order (and the
  canonical input) depend on the input's labelling. Continuous generic features have no ties.
- C4 on images: argmax over the four rotations of a rot90 lifting group convolution pooled over space. A tie in
  the argmax caused by a C4-symmetric image is harmless (every choice gives the same canonical image); ties for
  every image (a rotation-symmetric filter) make h constant and f not invariant.

"Equivariant Adaptation of Large Pretrained Models" (Mondal et al., NeurIPS 2023; arXiv:2310.01647): a C4
canonicalizer in front of a frozen backbone, trained with the canonicalization prior, a cross-entropy that pushes
h(x) to the identity on upright training images.
"""
from __future__ import annotations

import math
from functools import lru_cache

import torch
from torch import nn

from baselines.equivariant.backbones import RandomMLP, random_mlp, small_cnn
from baselines.equivariant.frame_averaging import generic_clouds
from harness.equivariance import Subject

N_POINTS = 8
N_SET, SET_FEATURES = 5, 2
IMAGE_SIZE = 9


class EquivariantVectors(nn.Module):
    """K E(3)-equivariant vectors v_k = sum_i w_k(|y_i|^2, mean_j |x_i - x_j|^2) y_i, y = x - centroid (Kaba et al. 2023)."""

    def __init__(self, count: int, hidden: int = 16, seed: int = 0) -> None:
        super().__init__()
        self.weights = RandomMLP(2, count, hidden=hidden, depth=1, seed=seed)

    def forward(self, pos: torch.Tensor) -> torch.Tensor:
        y = pos - pos.mean(1, keepdim=True)
        spread = (pos[:, :, None] - pos[:, None]).pow(2).sum(-1).mean(-1)
        w = self.weights(torch.stack([y.pow(2).sum(-1), spread], -1))
        return torch.einsum("bnk,bnd->bkd", w, y)


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm(dim=-1, keepdim=True)


def gram_schmidt(vectors: torch.Tensor, proper: bool) -> torch.Tensor:
    """Orthonormal columns e1, e2, e3 from equivariant vectors [B, K, 3] (Kaba et al. 2023).

    e1, e2 by Gram-Schmidt of v1, v2; e3 = e1 x e2 (SO(3)), or for O(3) e3 = sign(v3 . (e1 x e2)) e1 x e2: the triple
    product is a pseudo-scalar, so the sign flips under inversion exactly when the cross product fails to. (Third
    Gram-Schmidt step instead: also O(3)-equivariant, but its error grows like 1/sigma_min of [v1 v2 v3], and point
    clouds flat along one axis make that small.)
    """
    e1 = _unit(vectors[:, 0])
    e2 = _unit(vectors[:, 1] - (vectors[:, 1] * e1).sum(-1, keepdim=True) * e1)
    e3 = torch.linalg.cross(e1, e2)
    if not proper:
        e3 = e3 * torch.sign((vectors[:, 2] * e3).sum(-1, keepdim=True))
    return torch.stack([e1, e2, e3], -1)


class RotationCanonicalizer(nn.Module):
    """h(X) = (R, t): centroid and Gram-Schmidt frame of equivariant vectors, R in SO(3) or O(3) (Kaba et al. 2023)."""

    def __init__(self, proper: bool, seed: int = 0) -> None:
        super().__init__()
        self.proper = proper
        self.vectors = EquivariantVectors(2 if proper else 3, seed=seed)

    def forward(self, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return gram_schmidt(self.vectors(pos), self.proper), pos.mean(1)


class CanonicalizedPoints(nn.Module):
    """p on the canonical cloud R^T (x - t): invariant output, or R p(.) + t per point ("points") (Kaba et al. 2023)."""

    def __init__(self, canonicalizer: nn.Module, backbone: nn.Module, output: str = "invariant") -> None:
        super().__init__()
        self.canonicalizer, self.backbone, self.output = canonicalizer, backbone, output

    def forward(self, pos: torch.Tensor) -> torch.Tensor:
        R, t = self.canonicalizer(pos)
        canon = (pos - t[:, None]) @ R
        y = self.backbone(canon.flatten(1))
        if self.output == "invariant":
            return y
        return y.view_as(pos) @ R.transpose(1, 2) + t[:, None]


class SortCanonicalizer(nn.Module):
    """h(X) for S_n on sets [B, n, d]: the order sorting DeepSets scores s_i = psi(x_i, mean_j x_j) (Kaba et al. 2023)."""

    def __init__(self, features: int, seed: int = 0) -> None:
        super().__init__()
        self.score = RandomMLP(2 * features, 1, hidden=16, depth=1, seed=seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = x.mean(1, keepdim=True).expand_as(x)
        return torch.argsort(self.score(torch.cat([x, pooled], -1))[..., 0], dim=1)


class CanonicalizedSet(nn.Module):
    """p on the sorted set: invariant output, or p's n rows put back in the input's order ("equivariant")."""

    def __init__(self, canonicalizer: nn.Module, backbone: nn.Module, output: str = "invariant") -> None:
        super().__init__()
        self.canonicalizer, self.backbone, self.output = canonicalizer, backbone, output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        order = self.canonicalizer(x)
        y = self.backbone(torch.take_along_dim(x, order[:, :, None], 1).flatten(1))
        if self.output == "invariant":
            return y
        y = y.view(x.shape[0], x.shape[1], -1)
        return torch.zeros_like(y).scatter_(1, order[:, :, None].expand_as(y), y)


def rotations_c4(x: torch.Tensor) -> torch.Tensor:
    """The four rot90 rotations of images [B, C, S, S]: [4, B, C, S, S], entry k = rot90(x, k)."""
    return torch.stack([torch.rot90(x, k, dims=(-2, -1)) for k in range(4)])


class C4Canonicalizer(nn.Module):
    """Scores [B, 4] of a rot90 lifting group convolution pooled over space; h(x) = argmax (Kaba et al.; Mondal et al.).

    Score k correlates the image with the filters rotated by k quarter turns, so rotating the image by j quarter
    turns shifts the scores cyclically by j, and the argmax with them.
    """

    def __init__(self, channels: int = 1, hidden: int = 8, kernel: int = 5, seed: int = 0) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.filters = nn.Parameter(torch.randn(hidden, channels, kernel, kernel, generator=gen, dtype=torch.float64)
                                    / (kernel * kernel * channels) ** 0.5)
        self.bias = nn.Parameter(0.5 * torch.randn(hidden, generator=gen, dtype=torch.float64))
        self.readout = nn.Parameter(torch.randn(hidden, generator=gen, dtype=torch.float64))

    def lifted_filters(self) -> torch.Tensor:
        """The filters at the four rotations, [4 hidden, C, k, k] (rotation-major)."""
        w = self.filters
        return torch.cat([torch.rot90(w, k, dims=(-2, -1)) for k in range(4)])

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        w = self.lifted_filters().to(x.dtype)
        y = nn.functional.conv2d(x, w, padding=w.shape[-1] // 2)
        y = y.view(x.shape[0], 4, -1, *y.shape[-2:])
        y = torch.tanh(y + self.bias.to(x.dtype)[None, None, :, None, None]).mean((-2, -1))
        return y @ self.readout.to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scores(x).argmax(1)


def quarter_turns_as_vectors(k: torch.Tensor, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The rotation by k quarter turns as the unit vector (cos, sin) [B, 2]: it transforms under C4 like a 2D point."""
    angle = k.to(dtype) * (math.pi / 2)
    return torch.stack([torch.cos(angle), torch.sin(angle)], -1).round()


def undo_rotation(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """rot90(x_b, -k_b) per sample: the canonical images [B, C, S, S]."""
    return rotations_c4(x)[(-k) % 4, torch.arange(x.shape[0])]


class CanonicalizedImage(nn.Module):
    """p on rot90(x, -h(x)): invariant output, or rot90(p(.), h(x)) for image outputs ("equivariant") (Kaba et al. 2023)."""

    def __init__(self, canonicalizer: nn.Module, backbone: nn.Module, output: str = "invariant") -> None:
        super().__init__()
        self.canonicalizer, self.backbone, self.output = canonicalizer, backbone, output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.canonicalizer(x)
        y = self.backbone(undo_rotation(x, k))
        if self.output == "invariant":
            return y
        return undo_rotation(y, -k)


class CanonicalizerOutput(nn.Module):
    """h(x) as tensors a Subject can declare: (R^T [B, 3, 3], t [B, 3]), a one-hot order [B, n, n], or (cos, sin) [B, 2]."""

    def __init__(self, canonicalizer: nn.Module) -> None:
        super().__init__()
        self.canonicalizer = canonicalizer

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        h = self.canonicalizer(x)
        if isinstance(h, tuple):
            R, t = h
            return R.transpose(1, 2), t
        if isinstance(self.canonicalizer, C4Canonicalizer):
            return quarter_turns_as_vectors(h, x.dtype)
        return nn.functional.one_hot(torch.argsort(h, dim=1), h.shape[1]).to(x.dtype)


def cloud_inputs(gen: torch.Generator, batch: int) -> tuple[torch.Tensor]:
    """One generic 8-point cloud per sample."""
    return (generic_clouds(gen, batch, N_POINTS),)


def set_inputs(gen: torch.Generator, batch: int) -> tuple[torch.Tensor]:
    """One set of 5 elements with 2 Gaussian features per sample: tie-free scores almost surely."""
    return (torch.randn(batch, N_SET, SET_FEATURES, generator=gen, dtype=torch.float64),)


def random_images(gen: torch.Generator, batch: int) -> tuple[torch.Tensor]:
    """Gaussian-noise images [B, 1, 9, 9]."""
    return (torch.randn(batch, 1, IMAGE_SIZE, IMAGE_SIZE, generator=gen, dtype=torch.float64),)


GROUPS = {"SO3": "SE3", "O3": "E3"}


def _rotation_canonicalizer(group: str, seed: int) -> RotationCanonicalizer:
    if group not in GROUPS:
        raise ValueError(f"group must be SO3 or O3, not {group!r}")
    return RotationCanonicalizer(proper=group == "SO3", seed=seed)


def points_invariant_subject(group: str = "SO3", seed: int = 0) -> Subject:
    """A random MLP on the canonical cloud, SE(3)- ("SO3") or E(3)-invariant ("O3") (Kaba et al. 2023)."""
    model = CanonicalizedPoints(_rotation_canonicalizer(group, seed), random_mlp(3 * N_POINTS, 4, seed=seed + 1))
    return Subject(model, GROUPS[group], cloud_inputs, "pos", "inv", method="canonicalization")


def points_equivariant_subject(group: str = "SO3", seed: int = 0) -> Subject:
    """R p(R^T (x - t)) + t per point with a random MLP p: SE(3)- or E(3)-equivariant (Kaba et al. 2023)."""
    model = CanonicalizedPoints(_rotation_canonicalizer(group, seed), random_mlp(3 * N_POINTS, 3 * N_POINTS, seed=seed + 1),
                                "points")
    return Subject(model, GROUPS[group], cloud_inputs, "pos", "pos", method="canonicalization")


def rotation_canonicalizer_subject(group: str = "SO3", seed: int = 0) -> Subject:
    """h(X) = (R, t) itself: R^T [B, 3, 3], whose rows are R's columns and rotate like vectors ("1x1o"), and t ("pos").

    h(gX) = g h(X) is (Q R, Q t + s) for g = (Q, s): each column of R is rotated (and flipped by an inversion), which
    is Q acting on the last axis of R^T; t moves like a point.
    """
    return Subject(CanonicalizerOutput(_rotation_canonicalizer(group, seed)), GROUPS[group], cloud_inputs, "pos",
                   ("1x1o", "pos"), method="canonicalization")


def set_invariant_subject(seed: int = 0) -> Subject:
    """A random MLP on the set sorted by equivariant scores: S_n-invariant for tie-free inputs (Kaba et al. 2023)."""
    model = CanonicalizedSet(SortCanonicalizer(SET_FEATURES, seed), random_mlp(N_SET * SET_FEATURES, 4, seed=seed + 1))
    return Subject(model, f"S{N_SET}", set_inputs, "perm:0", "inv", method="canonicalization")


def set_equivariant_subject(seed: int = 0) -> Subject:
    """A random MLP's n output rows on the sorted set, unsorted back: S_n-equivariant (Kaba et al. 2023)."""
    model = CanonicalizedSet(SortCanonicalizer(SET_FEATURES, seed),
                             random_mlp(N_SET * SET_FEATURES, N_SET * 3, seed=seed + 1), "equivariant")
    return Subject(model, f"S{N_SET}", set_inputs, "perm:0", "perm:0", method="canonicalization")


def set_canonicalizer_subject(seed: int = 0) -> Subject:
    """h(X) as a one-hot [B, n, n], row i = the sorted position of element i: it permutes with the elements ("perm:0")."""
    return Subject(CanonicalizerOutput(SortCanonicalizer(SET_FEATURES, seed)), f"S{N_SET}", set_inputs, "perm:0", "perm:0",
                   method="canonicalization")


def image_invariant_subject(seed: int = 0) -> Subject:
    """A random CNN on rot90(x, -h(x)): exactly C4-invariant (Kaba et al. 2023)."""
    return Subject(CanonicalizedImage(C4Canonicalizer(seed=seed), small_cnn(1, IMAGE_SIZE, 4, seed=seed + 1)),
                   "C4", random_images, "grid", "inv", method="canonicalization")


def image_equivariant_subject(seed: int = 0) -> Subject:
    """rot90(q(rot90(x, -h(x))), h(x)) with a random image-to-image CNN q: exactly C4-equivariant (Kaba et al. 2023)."""
    return Subject(CanonicalizedImage(C4Canonicalizer(seed=seed), small_cnn(1, IMAGE_SIZE, None, seed=seed + 1),
                                      "equivariant"), "C4", random_images, "grid", "grid", method="canonicalization")


def image_canonicalizer_subject(seed: int = 0) -> Subject:
    """h(x) as the unit vector of its rotation angle [B, 2]; rotating the image by 90 degrees rotates it by 90 degrees."""
    return Subject(CanonicalizerOutput(C4Canonicalizer(seed=seed)), "C4", random_images, "grid", "pos",
                   method="canonicalization")


def upright_images(gen: torch.Generator, batch: int, size: int = IMAGE_SIZE) -> tuple[torch.Tensor]:
    """A toy upright dataset [B, 1, S, S]: a 'T' (bar on top) at a random offset and brightness, plus N(0, 0.3^2) noise."""
    img = 0.3 * torch.randn(batch, 1, size, size, generator=gen, dtype=torch.float64)
    top = torch.randint(1, size - 5, (batch,), generator=gen)
    left = torch.randint(1, size - 5, (batch,), generator=gen)
    bright = 0.5 + torch.rand(batch, generator=gen, dtype=torch.float64)
    rows, cols = torch.arange(size), torch.arange(size)
    r = rows[None, :, None] - top[:, None, None]
    c = cols[None, None, :] - left[:, None, None]
    bar = (r == 0) & (c >= 0) & (c < 5)
    stem = (r >= 0) & (r < 5) & (c == 2)
    return (img + bright[:, None, None, None] * (bar | stem)[:, None].double(),)


def train_with_prior(canonicalizer: C4Canonicalizer, steps: int, batch: int = 64, lr: float = 0.1,
                     seed: int = 0, target: int = 0) -> C4Canonicalizer:
    """Minimize the canonicalization prior, cross-entropy of the scores against the identity on upright images (Mondal et al.).

    `target` is the quarter turn the prior favours: 0, the identity, in the paper. The tensors are tiny, so the loop
    runs on one intra-op thread (on a loaded 2-core machine two threads made it ten times slower).
    """
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(canonicalizer.parameters(), lr=lr)
    labels = torch.full((batch,), target, dtype=torch.long)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.enable_grad():
            for _ in range(steps):
                (x,) = upright_images(gen, batch)
                loss = nn.functional.cross_entropy(canonicalizer.scores(x), labels)
                opt.zero_grad()
                loss.backward()
                opt.step()
    finally:
        torch.set_num_threads(threads)
    return canonicalizer


@lru_cache(maxsize=8)
def _trained_state(prior_steps: int, seed: int) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in
            train_with_prior(C4Canonicalizer(seed=seed), prior_steps, seed=seed + 100).state_dict().items()}


def prior_trained_canonicalizer(prior_steps: int = 100, seed: int = 0) -> C4Canonicalizer:
    """A C4 canonicalizer after `prior_steps` Adam steps on the canonicalization prior (Mondal et al. 2023)."""
    model = C4Canonicalizer(seed=seed)
    model.load_state_dict(_trained_state(prior_steps, seed))
    return model


def prior_canonicalizer_subject(prior_steps: int = 100, seed: int = 0) -> Subject:
    """The prior-trained C4 canonicalizer on held-out upright images: h(x) as (cos, sin) of its angle (Mondal et al. 2023)."""
    return Subject(CanonicalizerOutput(prior_trained_canonicalizer(prior_steps, seed)), "C4", upright_images,
                   "grid", "pos", method="canonicalization")


def adapted_backbone_subject(prior_steps: int = 100, seed: int = 0) -> Subject:
    """A frozen random CNN behind the prior-trained C4 canonicalizer, on random images (Mondal et al. 2023)."""
    backbone = small_cnn(1, IMAGE_SIZE, 4, seed=seed + 1).requires_grad_(False)
    return Subject(CanonicalizedImage(prior_trained_canonicalizer(prior_steps, seed), backbone), "C4",
                   random_images, "grid", "inv", method="canonicalization")
