"""Rotations, reflections and translations: SO(2), O(2), C<n>/D<n> on coordinates, SO(3), O(3), SE(3), E(3).

Elements are stored in float64 as a rotation (axis-angle vector in 3D, angle in 2D), a reflection flag and a
translation; Haar-uniform rotations come from uniform unit quaternions (Shoemake 1992).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from harness.groups.base import Group, linear_on_last
from harness.groups.reps import Rep, RepError
from harness.groups.wigner import algebra_matrices, so3_generators64, wigner_matrices

TRANSLATION_SCALE = 3.0


@dataclass(frozen=True)
class Motions:
    """m rigid motions x -> R x + t; `a` the axis-angle (3D) or angle (2D) of the rotation part, `flip` reflections."""

    a: torch.Tensor
    flip: torch.Tensor
    R: torch.Tensor
    t: torch.Tensor


def _haar_axis_angle(gen: torch.Generator, m: int) -> torch.Tensor:
    q = torch.randn(m, 4, generator=gen, dtype=torch.float64)
    q = q / q.norm(dim=1, keepdim=True)
    q = torch.where(q[:, :1] < 0, -q, q)
    angle = 2 * torch.atan2(q[:, 1:].norm(dim=1), q[:, 0])
    axis = q[:, 1:] / q[:, 1:].norm(dim=1, keepdim=True).clamp_min(1e-300)
    return axis * angle[:, None]


def _fmt_vec(v: torch.Tensor) -> str:
    return "(" + ", ".join(f"{x:.3g}" for x in v.tolist()) + ")"


class Euclidean3(Group):
    """SO(3), O(3) (with inversion), SE(3) and E(3) (with translations of "pos" tensors only)."""

    continuous = True

    def __init__(self, name: str, inversion: bool, translation: bool) -> None:
        self.name, self.inversion, self.translation = name, inversion, translation
        self.supported = ("inv", "pos", "irreps")

    def check(self, rep: Rep, shape: tuple[int, ...]) -> None:
        super().check(rep, shape)
        if rep.kind == "pos" and (not shape or shape[-1] != 3):
            raise RepError(f"{self.name} acts on 3D coordinates; a 'pos' tensor's last axis has size {shape[-1:] or 'none'}")

    def sample(self, gen: torch.Generator, m: int) -> Motions:
        a = _haar_axis_angle(gen, m)
        flip = (torch.rand(m, generator=gen) < 0.5) if self.inversion else torch.zeros(m, dtype=torch.bool)
        if self.inversion and m >= 2:
            flip[0], flip[1] = False, True
        R = torch.linalg.matrix_exp(torch.einsum("mi,ijk->mjk", a, so3_generators64(1)))
        R = torch.where(flip[:, None, None], -R, R)
        t = (TRANSLATION_SCALE * torch.randn(m, 3, generator=gen, dtype=torch.float64) if self.translation
             else torch.zeros(m, 3, dtype=torch.float64))
        return Motions(a, flip, R, t)

    def size(self, elements: Motions) -> int:
        return elements.a.shape[0]

    def describe(self, elements: Motions, i: int) -> str:
        a = elements.a[i]
        angle = float(a.norm())
        text = f"rotation by {math.degrees(angle):.1f} deg about {_fmt_vec(a / max(angle, 1e-300))}"
        if bool(elements.flip[i]):
            text += " composed with inversion x -> -x"
        if self.translation:
            text += f", then translation by {_fmt_vec(elements.t[i])}"
        return text

    def act_on(self, elements: Motions, rep: Rep, x: torch.Tensor) -> torch.Tensor:
        if rep.kind == "pos":
            out = linear_on_last(elements.R, x)
            return out + elements.t.to(x.device).view(-1, *([1] * (x.dim() - 1)), 3)
        return linear_on_last(wigner_matrices(rep.irreps, elements.a, elements.flip), x)

    def sample_algebra(self, gen: torch.Generator, m: int) -> tuple[torch.Tensor, torch.Tensor]:
        a = torch.randn(m, 3, generator=gen, dtype=torch.float64)
        a = a / a.norm(dim=1, keepdim=True)
        v = torch.randn(m, 3, generator=gen, dtype=torch.float64) if self.translation else torch.zeros(m, 3, dtype=torch.float64)
        return a, v

    def act_algebra(self, directions: tuple[torch.Tensor, torch.Tensor], rep: Rep, x: torch.Tensor) -> torch.Tensor:
        a, v = directions
        if rep.kind == "inv":
            return torch.zeros(a.shape[0], *x.shape, dtype=x.dtype, device=x.device)
        xd = x.double()
        if rep.kind == "pos":
            out = linear_on_last(torch.einsum("mi,ijk->mjk", a, so3_generators64(1)), xd)
            out = out + v.to(x.device).view(-1, *([1] * (x.dim() - 1)), 3)
        else:
            out = linear_on_last(algebra_matrices(rep.irreps, a), xd)
        return out.to(x.dtype)

    def describe_algebra(self, directions: tuple[torch.Tensor, torch.Tensor], i: int) -> str:
        a, v = directions
        text = f"infinitesimal rotation about {_fmt_vec(a[i])}"
        return text + (f" with translation velocity {_fmt_vec(v[i])}" if self.translation else "")


class Planar(Group):
    """SO(2) and O(2), and their finite subgroups C<n>/D<n>, on 2D coordinates or on 3D ones about the z axis."""

    def __init__(self, name: str, reflections: bool, order: int | None) -> None:
        self.name, self.reflections, self.order = name, reflections, order
        self.continuous = order is None
        self.supported = ("inv", "pos", "grid") if order is not None and 4 % order == 0 else ("inv", "pos")

    def check(self, rep: Rep, shape: tuple[int, ...]) -> None:
        if rep.kind == "grid" and "grid" not in self.supported:
            raise RepError(f"{self.name} does not act exactly on a pixel grid: only C1, C2, C4, D1, D2, D4 do (rot90)")
        super().check(rep, shape)
        if rep.kind == "grid" and (len(shape) < 2 or shape[-1] != shape[-2]):
            raise RepError(f"{self.name} rotates the last two axes of an image; they must be equal, got {shape}")
        if rep.kind == "pos" and (not shape or shape[-1] not in (2, 3)):
            raise RepError(f"{self.name} acts on 2D coordinates (or 3D ones about z); a 'pos' tensor's last axis "
                           f"has size {shape[-1:] or 'none'}")

    def elements_exhaustive(self, m: int) -> bool:
        """A finite group small enough to check every element."""
        return self.order is not None and self.order * (2 if self.reflections else 1) <= m

    def sample(self, gen: torch.Generator, m: int) -> Motions:
        if self.order is None:
            theta = 2 * math.pi * torch.rand(m, generator=gen, dtype=torch.float64)
            flip = (torch.rand(m, generator=gen) < 0.5) if self.reflections else torch.zeros(m, dtype=torch.bool)
        elif self.elements_exhaustive(m):
            k = torch.arange(self.order).repeat(2 if self.reflections else 1)
            theta = 2 * math.pi * k.double() / self.order
            flip = torch.arange(k.numel()) >= self.order
        else:
            k = torch.randint(0, self.order, (m,), generator=gen)
            theta = 2 * math.pi * k.double() / self.order
            flip = (torch.rand(m, generator=gen) < 0.5) if self.reflections else torch.zeros(m, dtype=torch.bool)
        c, s = torch.cos(theta), torch.sin(theta)
        R = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)
        reflect = torch.diag(torch.tensor([1.0, -1.0], dtype=torch.float64))
        R = torch.where(flip[:, None, None], R @ reflect, R)
        return Motions(theta, flip, R, torch.zeros(theta.shape[0], 2, dtype=torch.float64))

    def size(self, elements: Motions) -> int:
        return elements.a.shape[0]

    def describe(self, elements: Motions, i: int) -> str:
        text = f"rotation by {math.degrees(float(elements.a[i])):.2f} deg"
        return text + (" after reflecting y -> -y" if bool(elements.flip[i]) else "")

    def act_on(self, elements: Motions, rep: Rep, x: torch.Tensor) -> torch.Tensor:
        if rep.kind == "grid":
            return torch.stack([self._act_grid(float(t), bool(f), x) for t, f in zip(elements.a, elements.flip)])
        if x.shape[-1] == 2:
            return linear_on_last(elements.R, x)
        m = elements.R.shape[0]
        R3 = torch.zeros(m, 3, 3, dtype=torch.float64)
        R3[:, :2, :2] = elements.R
        R3[:, 2, 2] = 1.0
        return linear_on_last(R3, x)

    @staticmethod
    def _act_grid(theta: float, flip: bool, x: torch.Tensor) -> torch.Tensor:
        """Reflect rows (y -> -y), then rotate counter-clockwise by theta, a multiple of 90 degrees."""
        if flip:
            x = torch.flip(x, dims=(-2,))
        return torch.rot90(x, k=round(theta / (math.pi / 2)) % 4, dims=(-2, -1))

    def sample_algebra(self, gen: torch.Generator, m: int) -> torch.Tensor:
        if not self.continuous:
            return super().sample_algebra(gen, m)
        return torch.where(torch.rand(m, generator=gen) < 0.5, -1.0, 1.0).double()

    def act_algebra(self, directions: torch.Tensor, rep: Rep, x: torch.Tensor) -> torch.Tensor:
        if rep.kind == "inv":
            return torch.zeros(directions.shape[0], *x.shape, dtype=x.dtype, device=x.device)
        J = torch.zeros(directions.shape[0], x.shape[-1], x.shape[-1], dtype=torch.float64)
        J[:, 0, 1], J[:, 1, 0] = -directions, directions
        return linear_on_last(J, x.double()).to(x.dtype)

    def describe_algebra(self, directions: torch.Tensor, i: int) -> str:
        return "infinitesimal " + ("counter-" if float(directions[i]) > 0 else "") + "clockwise rotation"
