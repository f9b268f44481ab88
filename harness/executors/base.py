"""The executor seam: a list of jobs in, exactly one Result per job out, in the jobs' order."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Callable

from harness.jobs import Job
from harness.model import Measurement
from harness.registry import get_claim
from harness.runner import Result

OnResult = Callable[[Result], None]
GRACE_S = 10.0


class ExecutorError(Exception):
    """The executor cannot start (unknown name, missing extra, unreachable cluster); the message is one line."""


class Executor(ABC):
    """Runs jobs; `on_result` is called in the driver as each one finishes (in completion order)."""

    name = ""

    @abstractmethod
    def run(self, jobs: list[Job], want_figures: bool = False, on_result: OnResult | None = None) -> list[Result]:
        """One Result per job, in the order of `jobs`; never raises for a job's own failure."""


def job_limit_s(job: Job) -> float:
    """The job's time limit: its own override, else its claim's; executors stop it from outside a grace later."""
    return job.limit_s(get_claim(job.claim_id).time_limit_s)


def error_result(job: Job, detail: str, duration_s: float = 0.0) -> Result:
    """A Result with an `error` verdict naming the claim."""
    return Result(job, Measurement("error", detail=f"{job.claim_id}: {detail}"), duration_s)


def timed_out_result(job: Job, elapsed: float) -> Result:
    """The error Result of a job the executor stopped from outside."""
    return error_result(job, f"timed out after {job_limit_s(job):g} s (stopped by the executor)", elapsed)


def skip_result(job: Job, detail: str) -> Result:
    """A Result with a `skip` verdict (the job asked for a resource that is not there)."""
    return Result(job, Measurement("skip", detail=detail), 0.0)
