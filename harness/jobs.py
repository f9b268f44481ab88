"""A run is a list of jobs: (claim, implementation, params, seed, device), each frozen, picklable and keyed."""
from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from harness.model import Claim


def parse_param(text: str) -> tuple[str, Any]:
    """Parse `KEY=VALUE`, VALUE as a Python literal when it is one (1.5, True, 'x'), else as a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"{text!r} is not KEY=VALUE")
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return key.strip(), value


def _canon(mapping: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(mapping.items()))


@dataclass(frozen=True)
class Job:
    """One claim judged on one implementation at one parameter setting."""

    claim_id: str
    impl: str
    impl_name: str
    params: tuple[tuple[str, Any], ...]
    bind: tuple[tuple[str, Any], ...] = ()
    root_seed: int = 0
    device: str = "cpu"
    time_limit_s: float | None = None

    @property
    def key(self) -> str:
        """A hash of what the job computes (not of who runs it or when)."""
        payload = json.dumps([self.claim_id, self.impl, self.params, self.bind, self.device], default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    @property
    def seed(self) -> int:
        """The job's seed: derived from the run's root seed and the job's key, never from order or worker."""
        return int(hashlib.sha256(f"{self.root_seed}:{self.key}".encode()).hexdigest()[:8], 16)

    def limit_s(self, claim_limit_s: float) -> float:
        """The time limit this job runs under: its own override, else its claim's."""
        return self.time_limit_s if self.time_limit_s is not None else claim_limit_s

    @property
    def params_dict(self) -> dict[str, Any]:
        """The params as a dict."""
        return dict(self.params)


def reference_jobs(claims: list[Claim], root_seed: int, device: str, seeds: int = 1) -> list[Job]:
    """The jobs of `claimbench run`: each claim on each of its baselines, at root seeds root_seed .. + seeds - 1."""
    return [
        Job(c.id, ref.target, ref.name, _canon({**c.params, **ref.params}), _canon(ref.bind), s, device)
        for c in claims for ref in c.references for s in range(root_seed, root_seed + seeds)
    ]


def impl_jobs(claims: list[Claim], impl: str, impl_name: str, overrides: dict[str, Any],
              root_seed: int, device: str, seeds: int = 1) -> list[Job]:
    """The jobs of `claimbench check`: each claim on the user's implementation, params overridden by --param."""
    return [Job(c.id, impl, impl_name, _canon({**c.params, **overrides}), (), s, device)
            for c in claims for s in range(root_seed, root_seed + seeds)]
