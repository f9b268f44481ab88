"""Seeded draws of the inputs claims judge: logits with saturated and boundary rows, labels, simplex points."""
from __future__ import annotations

import math

import torch


class Draws:
    """Random inputs from one seeded generator; every draw is reproducible from the job's seed."""

    def __init__(self, generator: torch.Generator, device: torch.device | str = "cpu") -> None:
        self.g = generator
        self.device = torch.device(device)

    def uniform(self, *shape: int, low: float = 0.0, high: float = 1.0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """Uniform draws on [low, high)."""
        u = torch.rand(*shape, generator=self.g, dtype=dtype)
        return (low + (high - low) * u).to(self.device)

    def log_uniform(self, *shape: int, low: float, high: float, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """Draws whose logarithm is uniform on [log low, log high]."""
        u = torch.rand(*shape, generator=self.g, dtype=torch.float64)
        return torch.exp(math.log(low) + (math.log(high) - math.log(low)) * u).to(self.device, dtype)

    def normal(self, *shape: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """Standard normal draws."""
        return torch.randn(*shape, generator=self.g, dtype=dtype).to(self.device)

    def labels(self, n: int, k: int) -> torch.Tensor:
        """Uniform labels in [0, k)."""
        return torch.randint(0, k, (n,), generator=self.g).to(self.device)

    def simplex(self, n: int, k: int, concentration: tuple[float, float] = (0.05, 5.0),
                dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """Points on the simplex: Dirichlet rows with a log-uniform concentration, plus one-hot and uniform rows."""
        alpha = self.log_uniform(n, 1, low=concentration[0], high=concentration[1], dtype=torch.float64)
        gam = torch._standard_gamma(alpha.cpu().expand(n, k).contiguous(), generator=self.g).clamp_min(1e-300)
        p = (gam / gam.sum(1, keepdim=True)).to(self.device, dtype)
        if n >= 4 * k:
            p[:k] = torch.eye(k, dtype=dtype, device=self.device)
            p[k] = 1.0 / k
        return p

    def logits(self, n: int, k: int, scale: tuple[float, float] = (1e-3, 1e3),
               dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits [n, k] whose row magnitudes are log-uniform in `scale`, and labels [n].

        The first rows are the boundary cases where implementations break: all-equal logits (ties),
        perfect and worst predictions at the top magnitude, two tied maxima, a single huge wrong logit.
        """
        lo, hi = scale
        mag = self.log_uniform(n, 1, low=lo, high=hi, dtype=torch.float64)
        x = (self.normal(n, k, dtype=torch.float64) * mag).to(dtype)
        y = self.labels(n, k)
        cases = self._boundary_rows(k, hi, dtype)
        m = min(len(cases), n)
        for i in range(m):
            row, label = cases[i]
            x[i], y[i] = row, label
        return x, y

    def _boundary_rows(self, k: int, hi: float, dtype: torch.dtype) -> list[tuple[torch.Tensor, int]]:
        dev = self.device
        full = lambda v: torch.full((k,), v, dtype=dtype, device=dev)  # noqa: E731
        rows: list[tuple[torch.Tensor, int]] = [(full(0.0), 0), (full(hi), k - 1), (full(-hi), 0)]
        perfect = full(-hi)
        perfect[0] = hi
        rows.append((perfect, 0))
        rows.append((perfect.clone(), 1))
        worst = full(hi)
        worst[0] = -hi
        rows.append((worst, 0))
        if k >= 2:
            tied = full(0.0)
            tied[0] = tied[1] = hi
            rows.append((tied, 1))
            spike = full(0.0)
            spike[k - 1] = hi
            rows.append((spike, 0))
        return rows
