"""Weight-space symmetries of an MLP: permutations and positive rescalings of its hidden neurons.

Names: `HiddenPerm(d0,d1,...,dL)` (the product of S_{d_l} over the hidden layers l = 1..L-1; input and output
neurons stay fixed), `HiddenScale(d0,...,dL)` (a positive factor per hidden neuron: its incoming row and bias are
multiplied by s, its outgoing column divided by s, which leaves a ReLU network's function unchanged) and
`HiddenPermScale(d0,...,dL)` (both). Groups of the Git Re-Basin (arXiv:2209.04836), DWSNets (arXiv:2301.12780) and
hidden-symmetry (Grigsby, Lindsey & Rolnick 2023, arXiv:2306.06179) papers.

Rep "weights" is the flat parameter vector of that MLP in the canonical layout
    [W1 (d1 x d0, row-major), b1 (d1), W2 (d2 x d1, row-major), b2 (d2), ..., WL (dL x d(L-1)), bL (dL)],
layer l computing h_l = act(W_l h_(l-1) + b_l); `param_layout(widths)` gives the slices. The group acts on the
last axis (any leading per-sample axes are kept) and trivially on "inv". Every element is a monomial map of
the flat vector: out = x[..., index] * factor, with neuron i of hidden layer l moved to position perm[i] after
its incoming weights and bias are scaled by exp(log_scale[i]).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Sequence

import torch

from harness.groups.base import Group
from harness.groups.reps import Rep, RepError

FAMILIES: dict[str, tuple[bool, bool]] = {"HiddenPerm": (True, False), "HiddenScale": (False, True),
                                          "HiddenPermScale": (True, True)}
NAME_PATTERN = r"^(HiddenPerm|HiddenScale|HiddenPermScale)\(\s*([1-9]\d*(?:\s*,\s*[1-9]\d*){2,})\s*\)$"


def param_layout(widths: Sequence[int]) -> list[tuple[slice, slice]]:
    """(slice of W_l, slice of b_l) in the flat canonical layout, for l = 1..L."""
    out, start = [], 0
    for d_in, d_out in zip(widths[:-1], widths[1:]):
        w = slice(start, start + d_out * d_in)
        b = slice(w.stop, w.stop + d_out)
        out.append((w, b))
        start = b.stop
    return out


def num_params(widths: Sequence[int]) -> int:
    """Length of the flat parameter vector of an MLP with these widths."""
    return sum(d_out * (d_in + 1) for d_in, d_out in zip(widths[:-1], widths[1:]))


def group_name(family: str, widths: Sequence[int]) -> str:
    """The registered name of a weight-space group, e.g. group_name("HiddenPerm", (2, 4, 1)) == "HiddenPerm(2,4,1)"."""
    return f"{family}({','.join(str(int(d)) for d in widths)})"


@dataclass(frozen=True)
class WeightMaps:
    """m weight-space transformations: per hidden layer a permutation [m, d_l] and log-scales [m, d_l], plus the
    gather index [m, P] and positive factor [m, P] they induce on the flat vector."""

    perms: tuple[torch.Tensor, ...]
    log_scales: tuple[torch.Tensor, ...]
    index: torch.Tensor
    factor: torch.Tensor


def _fmt_list(values: list[float] | list[int], limit: int = 8) -> str:
    items = [f"{v:.3g}" if isinstance(v, float) else str(v) for v in values[:limit]]
    return "(" + ", ".join(items) + (", ..." if len(values) > limit else "") + ")"


class HiddenSymmetry(Group):
    """Hidden-neuron permutations and/or positive rescalings of an MLP with widths (d0, ..., dL), on rep "weights"."""

    supported = ("inv", "weights")

    def __init__(self, family: str, widths: Sequence[int]) -> None:
        if family not in FAMILIES:
            raise ValueError(f"unknown weight-space family {family!r}")
        if len(widths) < 3 or any(int(d) < 1 for d in widths):
            raise ValueError("a weight-space group needs widths (d0, d1, ..., dL) with at least one hidden layer")
        self.family = family
        self.widths = tuple(int(d) for d in widths)
        self.hidden = self.widths[1:-1]
        self.permute, self.scale = FAMILIES[family]
        self.continuous = self.scale
        self.orthogonal = not self.scale
        self.name = group_name(family, self.widths)
        self.num_params = num_params(self.widths)
        self._layout = param_layout(self.widths)

    @property
    def order(self) -> int | None:
        """The number of elements of a finite (permutation-only) group; None for a continuous one."""
        return math.prod(math.factorial(d) for d in self.hidden) if not self.scale else None

    def elements_exhaustive(self, m: int) -> bool:
        """A permutation group small enough to check every element."""
        return self.order is not None and self.order <= m

    def check(self, rep: Rep, shape: tuple[int, ...]) -> None:
        super().check(rep, shape)
        if rep.kind == "weights" and (not shape or shape[-1] != self.num_params):
            raise RepError(f"{self.name} acts on the flat parameters of a {self.widths} MLP ({self.num_params} numbers "
                           f"[W1 row-major, b1, W2, b2, ...]); the tensor's last axis has size {shape[-1:] or 'none'}")

    def make(self, perms: Sequence[torch.Tensor] | None = None,
             log_scales: Sequence[torch.Tensor] | None = None) -> WeightMaps:
        """Elements from per-hidden-layer permutations [m, d_l] (neuron i -> perm[i]) and log-scales [m, d_l]."""
        ref = (perms or log_scales)[0]
        m = ref.shape[0]
        if perms is None:
            perms = [torch.arange(d).expand(m, d).clone() for d in self.hidden]
        if log_scales is None:
            log_scales = [torch.zeros(m, d, dtype=torch.float64) for d in self.hidden]
        perms = tuple(p.long() for p in perms)
        log_scales = tuple(s.double() for s in log_scales)
        index, factor = self._monomial(perms, log_scales)
        return WeightMaps(perms, log_scales, index, factor)

    def _monomial(self, perms: tuple[torch.Tensor, ...],
                  log_scales: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        m = perms[0].shape[0]
        inv = [torch.arange(self.widths[0]).expand(m, -1)] + [torch.argsort(p, dim=1) for p in perms]
        inv.append(torch.arange(self.widths[-1]).expand(m, -1))
        logs = ([torch.zeros(m, self.widths[0], dtype=torch.float64)] + list(log_scales)
                + [torch.zeros(m, self.widths[-1], dtype=torch.float64)])
        pieces_i, pieces_f = [], []
        for l, (w, b) in enumerate(self._layout, start=1):
            d_out, d_in = self.widths[l], self.widths[l - 1]
            rows, cols = inv[l], inv[l - 1]
            src_w = torch.arange(w.start, w.stop).view(d_out, d_in)
            pieces_i.append(src_w[rows[:, :, None], cols[:, None, :]].reshape(m, -1))
            s_out = torch.gather(logs[l], 1, rows)
            s_in = torch.gather(logs[l - 1], 1, cols)
            pieces_f.append((s_out[:, :, None] - s_in[:, None, :]).reshape(m, -1))
            pieces_i.append(torch.arange(b.start, b.stop)[rows])
            pieces_f.append(s_out)
        return torch.cat(pieces_i, 1), torch.cat(pieces_f, 1).exp()

    def sample(self, gen: torch.Generator, m: int) -> WeightMaps:
        if self.elements_exhaustive(m):
            return self._all_elements()
        perms = log_scales = None
        if self.permute:
            perms = [torch.stack([torch.randperm(d, generator=gen) for _ in range(m)]) for d in self.hidden]
            if m >= 2:
                for l, d in enumerate(self.hidden):
                    perms[l][0] = torch.arange(d)
                    perms[l][1] = torch.roll(torch.arange(d), 1)
                if self.hidden[0] >= 2:
                    perms[0][0, :2] = torch.tensor([1, 0])
        if self.scale:
            log_scales = [torch.randn(m, d, generator=gen, dtype=torch.float64) for d in self.hidden]
            for s in log_scales:
                s[0] = 0.0
            log_scales[0][0, 0] = math.log(2.0)
        return self.make(perms, log_scales)

    def generators(self) -> WeightMaps:
        """Elements generating the permutation part: per hidden layer of width d >= 2, the swap (0 1) and (if d >= 3)
        the d-cycle, acting on that layer only (the identity when every hidden layer has width 1)."""
        if not self.permute:
            raise ValueError(f"{self.name} has no permutation part")
        rows: list[list[torch.Tensor]] = [[] for _ in self.hidden]
        for l, d in enumerate(self.hidden):
            layer_gens = []
            if d >= 2:
                swap = torch.arange(d)
                swap[:2] = torch.tensor([1, 0])
                layer_gens.append(swap)
            if d >= 3:
                layer_gens.append(torch.roll(torch.arange(d), 1))
            for g in layer_gens:
                for k, dk in enumerate(self.hidden):
                    rows[k].append(g if k == l else torch.arange(dk))
        if not rows[0]:
            return self.make([torch.arange(d)[None] for d in self.hidden])
        return self.make([torch.stack(r) for r in rows])

    def _all_elements(self) -> WeightMaps:
        per_layer = [list(itertools.permutations(range(d))) for d in self.hidden]
        combos = list(itertools.product(*per_layer))
        perms = [torch.tensor([c[l] for c in combos], dtype=torch.long) for l in range(len(self.hidden))]
        return self.make(perms)

    def size(self, elements: WeightMaps) -> int:
        return elements.index.shape[0]

    def describe(self, elements: WeightMaps, i: int) -> str:
        parts = []
        for l, (p, s) in enumerate(zip(elements.perms, elements.log_scales), start=1):
            words = []
            if self.scale and bool((s[i] != 0).any()):
                words.append(f"rescale neurons by {_fmt_list(s[i].exp().tolist())}")
            if self.permute:
                moved = [(j, q) for j, q in enumerate(p[i].tolist()) if j != q]
                if moved and len(moved) <= 6:
                    words.append("permute " + ", ".join(f"{j}->{q}" for j, q in moved))
                elif moved:
                    words.append(f"permute neurons to {_fmt_list(p[i].tolist(), 12)}")
            if words:
                parts.append(f"hidden layer {l}: " + " then ".join(words))
        return f"{self.family} of {self.widths}: " + ("; ".join(parts) if parts else "identity")

    def act_on(self, elements: WeightMaps, rep: Rep, x: torch.Tensor) -> torch.Tensor:
        m, p = elements.index.shape
        flat = x.reshape(-1, p)
        out = flat[:, elements.index] * elements.factor
        return out.transpose(0, 1).reshape(m, *x.shape)

    def act_dual(self, elements: WeightMaps, rep: Rep, x: torch.Tensor) -> torch.Tensor:
        """The contragredient action rho(g)^(-T) that gradients follow (f(g.w) = f(w) gives grad f(g.w) =
        rho(g)^(-T) grad f(w)): the same gather, the factor inverted; equal to `act` for permutations only."""
        m = self.size(elements)
        if rep.kind == "inv":
            return x.unsqueeze(0).expand(m, *x.shape)
        flat = x.double().reshape(-1, elements.index.shape[1])
        out = flat[:, elements.index] / elements.factor
        return out.transpose(0, 1).reshape(m, *x.shape).to(x.dtype)

    def sample_algebra(self, gen: torch.Generator, m: int) -> tuple[torch.Tensor, ...]:
        if not self.scale:
            return super().sample_algebra(gen, m)
        a = torch.randn(m, sum(self.hidden), generator=gen, dtype=torch.float64)
        a = a / a.norm(dim=1, keepdim=True)
        return tuple(a.split(list(self.hidden), dim=1))

    def algebra_factor(self, directions: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """d/dt of the factor of exp(t a) at t = 0, [m, P]: a_i on neuron i's row and bias, -a_j on its column."""
        m = directions[0].shape[0]
        logs = ([torch.zeros(m, self.widths[0], dtype=torch.float64)] + [a.double() for a in directions]
                + [torch.zeros(m, self.widths[-1], dtype=torch.float64)])
        pieces = []
        for l in range(1, len(self.widths)):
            pieces.append((logs[l][:, :, None] - logs[l - 1][:, None, :]).reshape(m, -1))
            pieces.append(logs[l])
        return torch.cat(pieces, 1)

    def act_algebra(self, directions: tuple[torch.Tensor, ...], rep: Rep, x: torch.Tensor) -> torch.Tensor:
        if not self.scale:
            return super().act_algebra(directions, rep, x)
        m = directions[0].shape[0]
        if rep.kind == "inv":
            return torch.zeros(m, *x.shape, dtype=x.dtype)
        d = self.algebra_factor(directions)
        out = x.double().unsqueeze(0) * d.view(m, *([1] * (x.dim() - 1)), -1)
        return out.to(x.dtype)

    def describe_algebra(self, directions: tuple[torch.Tensor, ...], i: int) -> str:
        parts = [f"layer {l} log-rates {_fmt_list(a[i].tolist())}" for l, a in enumerate(directions, start=1)]
        return "infinitesimal rescaling of hidden neurons: " + "; ".join(parts)


def _factory(match) -> HiddenSymmetry:
    return HiddenSymmetry(match[1], [int(d) for d in match[2].split(",")])


def _register() -> None:
    from harness.groups import register_group

    register_group(NAME_PATTERN, _factory)


_register()
