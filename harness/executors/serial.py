"""The serial executor: every job in this process, one after another (the default)."""
from __future__ import annotations

from harness.executors.base import Executor, OnResult
from harness.jobs import Job
from harness.runner import Result, run_serial


class SerialExecutor(Executor):
    """Runs jobs in the driver; the claim's own time limit (SIGALRM) stops a hanging check."""

    name = "serial"

    def run(self, jobs: list[Job], want_figures: bool = False, on_result: OnResult | None = None) -> list[Result]:
        return run_serial(jobs, want_figures, on_result)
