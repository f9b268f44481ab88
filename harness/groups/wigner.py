"""Float64-exact real Wigner matrices of e3nn irreps, from e3nn's so(3) generators.

e3nn's `Irreps.D_from_matrix` goes through Euler angles and float32 constants, so it is only ~1e-7 accurate
even in float64; a float64 checker needs D(exp(a.L)) = exp(a.X^l) with float64 generators instead.
"""
from __future__ import annotations

from functools import lru_cache

import torch
from e3nn import o3


@lru_cache(maxsize=None)
def so3_generators64(l: int) -> torch.Tensor:
    """e3nn's real so(3) generators of irrep l in float64, [3, 2l+1, 2l+1] (l = 1 gives the xyz cross-product maps)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return o3.so3_generators(l).to(torch.float64).contiguous()
    finally:
        torch.set_default_dtype(previous)


def algebra_matrices(irreps: o3.Irreps, a: torch.Tensor) -> torch.Tensor:
    """The block-diagonal so(3) action a.X on an irreps vector, for axis-angle vectors a [m, 3]: [m, dim, dim]."""
    m = a.shape[0]
    out = torch.zeros(m, irreps.dim, irreps.dim, dtype=torch.float64)
    start = 0
    for mul, ir in irreps:
        gen = torch.einsum("mi,ijk->mjk", a, so3_generators64(ir.l))
        d = 2 * ir.l + 1
        for _ in range(mul):
            out[:, start:start + d, start:start + d] = gen
            start += d
    return out


def wigner_matrices(irreps: o3.Irreps, a: torch.Tensor, inversion: torch.Tensor) -> torch.Tensor:
    """D(g) on an irreps vector for g = exp(a.L) times inversion where `inversion` is True: [m, dim, dim]."""
    rot = torch.linalg.matrix_exp(algebra_matrices(irreps, a))
    signs = torch.cat([torch.full((mul * (2 * ir.l + 1),), float(ir.p)) for mul, ir in irreps]).double()
    flip = torch.where(inversion[:, None], signs[None, :], torch.ones_like(signs)[None, :])
    return rot * flip[:, :, None]
