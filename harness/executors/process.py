"""The process executor: a pool of local worker processes (standard library), one job per worker at a time.

The driver knows which job each worker holds, so a worker that dies costs only its own job ("worker crashed")
and a job past its hard limit is stopped by killing its worker; a fresh worker takes its place either way.
Workers start with `spawn` (no forked torch state) and split the cores' threads between them.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import sys
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from harness.executors.base import GRACE_S, Executor, OnResult, error_result, job_limit_s, timed_out_result
from harness.jobs import Job
from harness.runner import Result, execute


def _worker_main(conn: Connection, cwd: str, path: list[str], threads: int) -> None:
    """Worker loop: receive a job, send back its Result; None ends the loop."""
    os.chdir(cwd)
    sys.path[:0] = [p for p in path if p not in sys.path]
    import torch

    torch.set_num_threads(threads)
    while True:
        try:
            item = conn.recv()
        except EOFError:
            return
        if item is None:
            return
        job, want_figures = item
        conn.send(execute(job, want_figures))


@dataclass
class _Worker:
    process: Any
    conn: Connection
    job: Job | None = None
    index: int = -1
    started: float = field(default=0.0)


class ProcessExecutor(Executor):
    """Runs jobs on `workers` local processes (default: the CPU count)."""

    name = "process"

    def __init__(self, workers: int | None = None, grace_s: float = GRACE_S) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.grace_s = grace_s
        self._ctx = mp.get_context("spawn")

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        threads = max(1, (os.cpu_count() or 1) // self.workers)
        proc = self._ctx.Process(target=_worker_main, args=(child, os.getcwd(), list(sys.path), threads), daemon=True)
        proc.start()
        child.close()
        return _Worker(proc, parent)

    def _hard_limit(self, job: Job) -> float:
        return job_limit_s(job) + self.grace_s

    def _outcome(self, w: _Worker, ready: list[Any]) -> Result | None:
        """The finished job's Result, an error if its worker died or overran, or None while it runs."""
        assert w.job is not None
        elapsed = time.monotonic() - w.started
        if w.conn in ready:
            try:
                return w.conn.recv()
            except (EOFError, OSError):
                pass
        if w.conn in ready or w.process.sentinel in ready or not w.process.is_alive():
            w.process.join(5)
            return error_result(w.job, f"worker crashed (exit code {w.process.exitcode}) after {elapsed:.3g} s", elapsed)
        if elapsed >= self._hard_limit(w.job):
            w.process.kill()
            w.process.join(5)
            return timed_out_result(w.job, elapsed)
        return None

    def run(self, jobs: list[Job], want_figures: bool = False, on_result: OnResult | None = None) -> list[Result]:
        results: list[Result | None] = [None] * len(jobs)
        pending = list(range(len(jobs)))[::-1]
        pool = [self._spawn() for _ in range(min(self.workers, len(jobs)))]
        try:
            while any(w.job is not None for w in pool) or pending:
                for w in pool:
                    if w.job is None and pending:
                        w.index = pending.pop()
                        w.job, w.started = jobs[w.index], time.monotonic()
                        w.conn.send((w.job, want_figures))
                busy = [w for w in pool if w.job is not None]
                deadline = min(w.started + self._hard_limit(w.job) for w in busy)
                ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy],
                             timeout=max(0.0, deadline - time.monotonic()))
                for k, w in enumerate(pool):
                    outcome = self._outcome(w, ready) if w.job is not None else None
                    if outcome is None:
                        continue
                    results[w.index] = outcome
                    if on_result is not None:
                        on_result(outcome)
                    w.job = None
                    if not w.process.is_alive():
                        w.conn.close()
                        pool[k] = self._spawn()
        finally:
            for w in pool:
                _retire(w)
        return [r for r in results if r is not None]


def _retire(w: _Worker) -> None:
    """Ask an idle worker to stop, and kill it if it does not."""
    if w.process.is_alive():
        try:
            w.conn.send(None)
        except OSError:
            pass
        w.process.join(5)
        if w.process.is_alive():
            w.process.kill()
            w.process.join(5)
