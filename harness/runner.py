"""The runner: judges each job in isolation, so that one broken implementation or claim never stops a run."""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import torch

from harness.context import Context
from harness.contracts import ContractMismatch, ImplementationError, get_contract
from harness.jobs import Job
from harness.loading import ImplLoadError, load
from harness.model import Measurement
from harness.registry import get_claim
from harness.timelimit import ClaimTimeout, time_limit

COLUMNS = ["claim", "suite", "paper", "statement", "contract", "tier", "impl", "impl_name", "params", "seed", "device",
           "verdict", "value", "threshold", "detail", "witness", "duration_s", "figures", "job_key", "false_alarm_rate"]


@dataclass
class Result:
    """One row of claims.csv: a job and what its check measured."""

    job: Job
    measurement: Measurement
    duration_s: float
    figures: dict[str, bytes] = field(default_factory=dict)

    def record(self, figure_paths: Iterable[str] = ()) -> dict[str, Any]:
        """The row as a flat record (figures by relative path)."""
        c = get_claim(self.job.claim_id)
        m = self.measurement
        return {
            "claim": c.id, "suite": c.suite, "paper": c.paper, "statement": c.statement, "contract": c.contract, "tier": c.tier,
            "impl": self.job.impl, "impl_name": self.job.impl_name,
            "params": json.dumps(self.job.params_dict, sort_keys=True), "seed": self.job.seed,
            "device": self.job.device, "verdict": m.verdict, "value": m.value, "threshold": m.threshold,
            "detail": m.detail, "witness": m.witness, "duration_s": round(self.duration_s, 4),
            "figures": ";".join(figure_paths), "job_key": self.job.key,
            "false_alarm_rate": "" if c.false_alarm_rate is None else c.false_alarm_rate,
        }


def _error(detail: str) -> Measurement:
    return Measurement("error", detail=detail)


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def measure(job: Job, want_figures: bool = False) -> Measurement:
    """Judge one job; every failure mode becomes a Measurement, never an exception."""
    claim = get_claim(job.claim_id)
    if job.device.startswith("cuda") and not torch.cuda.is_available():
        return Measurement("skip", detail="device cuda requested but torch sees no CUDA device")
    try:
        impl = load(job.impl)
    except ImplLoadError as exc:
        return _error(f"{claim.id}: {exc}")
    contract = get_contract(claim.contract)
    params = job.params_dict
    try:
        fit = contract.fit(impl, params, dict(job.bind), claim.needs)
    except ContractMismatch as exc:
        return _error(f"{claim.id}: does not fit the contract: {exc}")
    ctx = Context(seed=job.seed, params=params, dtype=fit.dtype, device=torch.device(job.device),
                  want_figures=want_figures)
    wrapped = contract.wrap(fit, claim.allow_nonfinite)
    try:
        with time_limit(job.limit_s(claim.time_limit_s)):
            m = claim.check(wrapped, ctx)
    except ImplementationError as exc:
        return _error(f"{claim.id}: {exc}")
    except ClaimTimeout as exc:
        return _error(f"{claim.id}: {exc}")
    except Exception as exc:
        return _error(f"{claim.id}: the check crashed with {_one_line(exc)}")
    if not isinstance(m, Measurement):
        return _error(f"{claim.id}: the check returned {type(m).__name__}, not a Measurement")
    if fit.note:
        m = Measurement(m.verdict, m.value, m.threshold, f"{m.detail} [{fit.note}]", m.witness, m.figures)
    return m


def execute(job: Job, want_figures: bool = False) -> Result:
    """Run one job and time it."""
    start = time.perf_counter()
    m = measure(job, want_figures)
    figures = m.figures
    if figures:
        m = Measurement(m.verdict, m.value, m.threshold, m.detail, m.witness)
    return Result(job, m, time.perf_counter() - start, figures)


def run_serial(jobs: list[Job], want_figures: bool = False,
               on_result: Callable[[Result], None] | None = None) -> list[Result]:
    """Run jobs one after another in this process."""
    results = []
    for job in jobs:
        r = execute(job, want_figures)
        results.append(r)
        if on_result is not None:
            on_result(r)
    return results


def exit_code(results: list[Result]) -> int:
    """0 when every verdict is pass (or skip), 1 when any is fail or error."""
    return 1 if any(r.measurement.verdict in ("fail", "error") for r in results) else 0


def format_value(x: float) -> str:
    """A short human form of a measured number."""
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3g}"
