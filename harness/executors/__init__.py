"""Executors: who runs a run's jobs. Each returns exactly one Result per job, in the jobs' order.

`serial` runs them in this process, `process` in a pool of local worker processes, `ray` on a Ray cluster
(the `claimbench[ray]` extra). Seeds come from each job's key, so every executor gives the same rows.
"""
from __future__ import annotations

from harness.executors.base import Executor, ExecutorError, OnResult
from harness.executors.serial import SerialExecutor

EXECUTORS = ("serial", "process", "ray")


def get_executor(name: str, workers: int | None = None, address: str | None = None) -> Executor:
    """The executor called `name` (serial, process or ray), with its worker count and cluster address."""
    if name == "serial":
        return SerialExecutor()
    if name == "process":
        from harness.executors.process import ProcessExecutor

        return ProcessExecutor(workers)
    if name == "ray":
        from harness.executors.ray_executor import RayExecutor

        return RayExecutor(workers, address)
    raise ExecutorError(f"unknown executor {name!r} (one of {', '.join(EXECUTORS)})")


__all__: list[str] = ["EXECUTORS", "Executor", "ExecutorError", "OnResult", "get_executor"]
