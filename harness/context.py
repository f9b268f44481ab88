"""The context a check receives: seeded draws, params, dtype-aware tolerances, verdict helpers, figures."""
from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

import torch

from harness.draws import Draws
from harness.model import Measurement

T = TypeVar("T")


@dataclass(frozen=True)
class Tolerance:
    """Tolerances derived from a dtype's machine epsilon; claims state which multiple they use and why."""

    dtype: torch.dtype

    @property
    def eps(self) -> float:
        """Machine epsilon of the dtype."""
        return torch.finfo(self.dtype).eps

    def rounding(self, magnitude: float | torch.Tensor, ops: float = 16.0) -> float | torch.Tensor:
        """Rounding budget of `ops` operations on numbers of this magnitude."""
        return ops * self.eps * magnitude


@dataclass
class Context:
    """Everything a check needs besides the implementation."""

    seed: int
    params: dict[str, Any]
    dtype: torch.dtype = torch.float64
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    want_figures: bool = False
    figures: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.generator = torch.Generator().manual_seed(self.seed)
        self.draw = Draws(self.generator, self.device)
        self.tol = Tolerance(self.dtype)

    def at_most(self, value: float, threshold: float, detail: str, witness: str = "") -> Measurement:
        """Pass when value <= threshold (NaN fails)."""
        ok = not math.isnan(value) and value <= threshold
        return Measurement("pass" if ok else "fail", float(value), float(threshold), detail,
                           "" if ok else witness, dict(self.figures))

    def at_least(self, value: float, threshold: float, detail: str, witness: str = "") -> Measurement:
        """Pass when value >= threshold (NaN fails)."""
        ok = not math.isnan(value) and value >= threshold
        return Measurement("pass" if ok else "fail", float(value), float(threshold), detail,
                           "" if ok else witness, dict(self.figures))

    def figure(self, name: str, draw: Callable[[Any], None]) -> None:
        """Render `draw(ax)` to a PNG attached to the measurement, only when the run keeps figures."""
        if not self.want_figures:
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5.0, 3.6), dpi=100)
        try:
            draw(ax)
            fig.tight_layout()
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
            self.figures[name] = buf.getvalue()
        finally:
            plt.close(fig)

    def find_counterexample(self, strategy: Any, violates: Callable[[T], bool], max_examples: int = 200) -> T | None:
        """Search with hypothesis for an example where `violates` holds; return the shrunk one, or None."""
        from hypothesis import HealthCheck, find, settings
        from hypothesis.errors import NoSuchExample

        cfg = settings(max_examples=max_examples, database=None, deadline=None, derandomize=False,
                       suppress_health_check=list(HealthCheck))
        try:
            return find(strategy, violates, settings=cfg, random=random.Random(self.seed))
        except NoSuchExample:
            return None
