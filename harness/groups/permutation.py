"""The symmetric group S<n> permuting the set, node or edge axes of a tensor."""
from __future__ import annotations

import itertools
import math

import torch

from harness.groups.base import Group
from harness.groups.reps import Rep, RepError


class Symmetric(Group):
    """S<n>: element sigma moves entry i of every listed axis to position sigma[i] ("perm:0,1" for adjacency)."""

    continuous = False
    supported = ("inv", "perm")

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError("S<n> needs n >= 1")
        self.n = n
        self.name = f"S{n}"

    def check(self, rep: Rep, shape: tuple[int, ...]) -> None:
        super().check(rep, shape)
        if rep.kind == "perm":
            bad = [a for a in rep.axes if shape[a] != self.n]
            if bad:
                raise RepError(f"rep {rep.spec!r}: axis {bad[0]} has size {shape[bad[0]]}, but the group is S{self.n}")

    def sample(self, gen: torch.Generator, m: int) -> torch.Tensor:
        if math.factorial(self.n) <= m:
            return torch.tensor(list(itertools.permutations(range(self.n))), dtype=torch.long)
        perms = torch.stack([torch.randperm(self.n, generator=gen) for _ in range(m)])
        if m >= 2 and self.n >= 2:
            perms[0] = torch.arange(self.n)
            perms[0, :2] = torch.tensor([1, 0])
            perms[1] = torch.roll(torch.arange(self.n), 1)
        return perms

    def size(self, elements: torch.Tensor) -> int:
        return elements.shape[0]

    def describe(self, elements: torch.Tensor, i: int) -> str:
        p = elements[i].tolist()
        moved = [(j, q) for j, q in enumerate(p) if j != q]
        if len(moved) <= 6:
            return "permutation " + (", ".join(f"{j}->{q}" for j, q in moved) or "identity")
        return f"permutation {p[:12]}{'...' if len(p) > 12 else ''}"

    def act_on(self, elements: torch.Tensor, rep: Rep, x: torch.Tensor) -> torch.Tensor:
        m = elements.shape[0]
        inverse = torch.argsort(elements, dim=1).to(x.device)
        out = x.unsqueeze(0).expand(m, *x.shape)
        for axis in rep.axes:
            dim = axis + 2
            shape = [m] + [1] * (out.dim() - 1)
            shape[dim] = self.n
            out = torch.take_along_dim(out, inverse.view(shape), dim=dim)
        return out
