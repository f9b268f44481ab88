"""The claim model: a claim, the measurement its check returns, and the verdicts."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

Verdict = Literal["pass", "fail", "error", "skip"]
VERDICTS: tuple[str, ...] = ("pass", "fail", "error", "skip")
TIERS: tuple[str, ...] = ("fast", "full")


@dataclass(frozen=True)
class Measurement:
    """What a check saw: a value judged against a threshold, in words, with the witness where it broke."""

    verdict: Verdict
    value: float = math.nan
    threshold: float = math.nan
    detail: str = ""
    witness: str = ""
    figures: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")


@dataclass(frozen=True)
class Reference:
    """A baseline (`MODULE:ATTR` plus keyword arguments bound to it) and the claim params it is judged at."""

    name: str
    target: str
    params: dict[str, Any] = field(default_factory=dict)
    bind: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Claim:
    """A verifiable sentence from a paper, the contract of what it judges, and the check that judges it."""

    id: str
    paper: str
    statement: str
    contract: str
    check: Callable[..., Measurement]
    params: dict[str, Any] = field(default_factory=dict)
    tier: str = "fast"
    references: tuple[Reference, ...] = ()
    needs: tuple[str, ...] = ()
    allow_nonfinite: bool = False
    time_limit_s: float = 120.0
    false_alarm_rate: float | None = None

    @property
    def suite(self) -> str:
        """The suite folder the claim belongs to (first id component)."""
        return self.id.split("/", 1)[0]

    @property
    def method(self) -> str:
        """The method slug (second id component)."""
        return self.id.split("/")[1]
