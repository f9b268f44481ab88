"""asv: wall time of a run under each executor on this machine's cores, and each executor's per-job overhead."""
import importlib.util
import os

from harness.executors import get_executor
from harness.jobs import Job, reference_jobs
from harness.registry import select

EXECUTORS = ["serial", "process"] + (["ray"] if importlib.util.find_spec("ray") else [])
WORKERS = os.cpu_count() or 1
TRIVIAL = Job("consistency/comp-sum/shift-invariant", "baselines.losses.comp_sum:logistic_loss", "ce",
              (("tau", 1.0),))


class FastTierWallTime:
    """Seconds to run the fast tier's comp-sum and generic equivariance jobs (start-up of the workers included)."""

    params = EXECUTORS
    param_names = ["executor"]
    timeout = 600
    number = 1
    repeat = 1

    def setup(self, executor):
        self.jobs = reference_jobs(select(["consistency/comp-sum", "equivariance/generic"], tier="fast"), 0, "cpu")

    def time_run(self, executor):
        get_executor(executor, WORKERS).run(self.jobs)


class PerJobOverhead:
    """Seconds per job on top of the job itself: 40 seeds of a quick claim job, wall / 40 less its time / workers."""

    params = EXECUTORS
    param_names = ["executor"]
    unit = "seconds"
    timeout = 600

    def track_overhead_per_job(self, executor):
        import time

        from harness.runner import execute

        execute(TRIVIAL)
        start = time.perf_counter()
        execute(TRIVIAL)
        alone = time.perf_counter() - start
        jobs = [Job(TRIVIAL.claim_id, TRIVIAL.impl, TRIVIAL.impl_name, TRIVIAL.params, root_seed=s) for s in range(40)]
        start = time.perf_counter()
        get_executor(executor, WORKERS).run(jobs)
        wall = time.perf_counter() - start
        parallel = 1 if executor == "serial" else WORKERS
        return wall / len(jobs) - alone / parallel
