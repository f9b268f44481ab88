"""The ray executor: each job is a Ray task on a local or remote Ray cluster (the `claimbench[ray]` extra).

Workers import the project through PYTHONPATH (the driver's own sys.path entries, sent in the job's
runtime_env) and run in the driver's working directory, so `--impl path.py:attr` resolves as it does locally.
Ray's retries are off: a task that dies or overruns costs only its own job. The driver keeps no more tasks in
flight than the cluster has CPUs (and GPUs for GPU jobs), so a task starts about when it is submitted, and the
hard limit counts from then.
"""
from __future__ import annotations

import os
import socket
import sys
import time
from dataclasses import dataclass
from typing import Any

from harness.executors.base import (GRACE_S, Executor, ExecutorError, OnResult, error_result, job_limit_s, skip_result,
                                    timed_out_result)
from harness.jobs import Job
from harness.runner import Result

_LOOPBACK_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
_DEFAULT_PORT = 6379
_POLL_S = 1.0


def _run_job(cwd: str, job: Job, want_figures: bool) -> Result:
    """The Ray task: run one job in the driver's working directory."""
    if os.path.isdir(cwd):
        os.chdir(cwd)
    from harness.runner import execute

    return execute(job, want_figures)


def _one_line(exc: BaseException) -> str:
    """`Type: first line of the message` of an exception (of its cause, for a task's error)."""
    cause = getattr(exc, "cause", None)
    exc = cause if isinstance(cause, BaseException) else exc
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _python_path() -> str:
    """The driver's sys.path entries outside the interpreter's own tree (its PYTHONPATH among them)."""
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    entries: list[str] = []
    for p in sys.path:
        full = os.path.realpath(p or os.getcwd())
        if os.path.isdir(full) and full not in entries and not any(full.startswith(pre + os.sep) for pre in prefixes):
            entries.append(full)
    return os.pathsep.join(entries)


def _host_port(address: str) -> tuple[str, int]:
    """Split `[SCHEME://]HOST[:PORT]`, Ray's default port when none is given."""
    host, sep, port = address.split("://", 1)[-1].rpartition(":")
    if not sep:
        return port.strip("[]"), _DEFAULT_PORT
    return host.strip("[]"), int(port)


def _is_loopback(address: str) -> bool:
    """Whether the cluster address is this machine's loopback interface."""
    try:
        host = _host_port(address)[0]
    except ValueError:
        return False
    return host in ("localhost", "::1") or host.startswith("127.")


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Raise ExecutorError unless something listens at HOST[:PORT] (`auto` is left to Ray)."""
    if address == "auto":
        return
    try:
        with socket.create_connection(_host_port(address), timeout=timeout_s):
            pass
    except (OSError, ValueError) as exc:
        raise ExecutorError(f"cannot reach the Ray cluster at {address}: {_one_line(exc)}") from None


def _gpus(job: Job) -> int:
    """GPUs the job asks of Ray: one for a CUDA job, none otherwise."""
    return 1 if job.device.startswith("cuda") else 0


@dataclass
class _Task:
    """A submitted job: its index in the run, its GPUs, when it was submitted, and when it was cancelled."""

    index: int
    gpus: int
    submitted: float
    cancelled: float | None = None


class RayExecutor(Executor):
    """Runs each job as a Ray task: on a local cluster of `workers` CPUs, or on the cluster at `address`.

    The cluster is started or joined on construction (so a failure is an ExecutorError there) and stopped or
    left at the end of `run`; a later `run` starts or joins it again. With `address`, `workers` (when given)
    caps the tasks in flight. When Ray is already initialized in this process, its runtime is used as it is.
    """

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None, grace_s: float = GRACE_S) -> None:
        if address is None or _is_loopback(address):
            for key, value in _LOOPBACK_ENV.items():
                os.environ.setdefault(key, value)
        try:
            import ray
        except ImportError:
            raise ExecutorError("the ray executor needs the ray extra: pip install 'claimbench[ray]'") from None
        if address is not None:
            _check_reachable(address)
        self._ray: Any = ray
        self.workers = workers
        self.address = address
        self.grace_s = grace_s
        self._owns_runtime = self._connect()

    def _connect(self) -> bool:
        """Start or join the cluster unless Ray is already up; True when this call did it."""
        if self._ray.is_initialized():
            return False
        options: dict[str, Any] = {
            "include_dashboard": False, "logging_level": "ERROR", "log_to_driver": False,
            "runtime_env": {"env_vars": {"PYTHONPATH": _python_path()}},
        }
        if self.address is None:
            options.update(address="local", num_cpus=self.workers or os.cpu_count() or 1)
        else:
            options.update(address=self.address)
        try:
            self._ray.init(**options)
        except Exception as exc:
            where = f"the Ray cluster at {self.address}" if self.address else "a local Ray cluster"
            raise ExecutorError(f"cannot start or join {where}: {_one_line(exc)}") from None
        return True

    def _outcome(self, ref: Any, task: _Task, job: Job) -> Result:
        """A finished task's Result: its own, or an error when the executor stopped it or its worker died."""
        elapsed = time.monotonic() - task.submitted
        try:
            result = self._ray.get(ref)
        except Exception as exc:
            if task.cancelled is not None:
                return timed_out_result(job, elapsed)
            return error_result(job, f"worker crashed ({_one_line(exc)}) after {elapsed:.3g} s", elapsed)
        if isinstance(result, Result):
            return result
        return error_result(job, f"worker crashed (the task returned {type(result).__name__})", elapsed)

    def _unplaceable(self, jobs: list[Job]) -> dict[int, str]:
        """Why each job that no live node can ever run (no CPU, or no GPU for a CUDA job) cannot run."""
        nodes = [n["Resources"] for n in self._ray.nodes() if n.get("Alive")]
        reasons = {}
        for i, job in enumerate(jobs):
            gpus = _gpus(job)
            if not any(n.get("CPU", 0) >= 1 and n.get("GPU", 0) >= gpus for n in nodes):
                need = "a GPU" if gpus else "a CPU"
                reasons[i] = f"device {job.device} needs {need} and no node of the Ray cluster has one"
        return reasons

    def run(self, jobs: list[Job], want_figures: bool = False, on_result: OnResult | None = None) -> list[Result]:
        ray = self._ray
        if not ray.is_initialized():
            self._owns_runtime = self._connect()
        results: list[Result | None] = [None] * len(jobs)
        in_flight: dict[Any, _Task] = {}

        def done(index: int, result: Result) -> None:
            results[index] = result
            if on_result is not None:
                on_result(result)

        try:
            total = ray.cluster_resources()
            cpu_slots = max(1, min(int(total.get("CPU", 0)), self.workers or sys.maxsize))
            gpu_slots = int(total.get("GPU", 0))
            task = ray.remote(max_retries=0, retry_exceptions=False, num_cpus=1)(_run_job)
            cwd = os.getcwd()
            unplaceable = self._unplaceable(jobs)
            for i, reason in unplaceable.items():
                done(i, skip_result(jobs[i], reason))
            pending = [i for i in range(len(jobs)) if i not in unplaceable]
            while pending or in_flight:
                gpus_busy = sum(t.gpus for t in in_flight.values())
                for i in list(pending):
                    gpus = _gpus(jobs[i])
                    if len(in_flight) < cpu_slots and gpus_busy + gpus <= gpu_slots:
                        ref = task.options(num_gpus=gpus, name=f"claimbench {jobs[i].claim_id}").remote(
                            cwd, jobs[i], want_figures)
                        in_flight[ref] = _Task(i, gpus, time.monotonic())
                        gpus_busy += gpus
                        pending.remove(i)
                for ref in self._wait(in_flight, jobs):
                    t = in_flight.pop(ref)
                    done(t.index, self._outcome(ref, t, jobs[t.index]))
                for ref, t in list(in_flight.items()):
                    if self._stop(ref, t, jobs[t.index]):
                        del in_flight[ref]
                        done(t.index, timed_out_result(jobs[t.index], time.monotonic() - t.submitted))
        finally:
            for ref in in_flight:
                ray.cancel(ref, force=True)
            if self._owns_runtime:
                ray.shutdown()
                self._owns_runtime = False
        return [r for r in results if r is not None]

    def _deadline(self, task: _Task, job: Job) -> float:
        """When the executor next acts on a task: cancel it at its hard limit, give up on it a grace later."""
        if task.cancelled is None:
            return task.submitted + job_limit_s(job) + self.grace_s
        return task.cancelled + self.grace_s

    def _wait(self, in_flight: dict[Any, _Task], jobs: list[Job]) -> list[Any]:
        """The finished tasks, waiting for the first until the next deadline (at most a poll interval)."""
        refs = list(in_flight)
        if not refs:
            return []
        now = time.monotonic()
        timeout = min([_POLL_S, *(self._deadline(t, jobs[t.index]) - now for t in in_flight.values())])
        ready, _ = self._ray.wait(refs, num_returns=1, timeout=max(0.0, timeout))
        if ready:
            ready, _ = self._ray.wait(refs, num_returns=len(refs), timeout=0)
        return ready

    def _stop(self, ref: Any, task: _Task, job: Job) -> bool:
        """Cancel a task past its hard limit (killing its worker); True once a cancelled one is given up on."""
        if time.monotonic() < self._deadline(task, job):
            return False
        if task.cancelled is None:
            self._ray.cancel(ref, force=True)
            task.cancelled = time.monotonic()
            return False
        return True
