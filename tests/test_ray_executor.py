"""The ray executor gives the serial run's rows, and turns raising, hanging, crashing and over-asking jobs into rows."""
import math
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

os.environ.update(RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", RAY_USAGE_STATS_ENABLED="0",
                  RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(16))
if not os.environ.get("CI"):
    pytest.importorskip("ray", reason="the ray executor needs the ray extra (CI installs it)")

from harness.executors import ExecutorError, get_executor  # noqa: E402
from harness.executors.ray_executor import RayExecutor  # noqa: E402
from harness.jobs import Job, reference_jobs  # noqa: E402
from harness.registry import get_claim, select  # noqa: E402
from harness.runner import Result, run_serial  # noqa: E402

SHIFT = "consistency/comp-sum/shift-invariant"
EXTREME = "consistency/comp-sum/finite-at-extreme-logits"
QUICK_EQUIVARIANT = ("Deep Sets", "partition layer", "DWS layer")
FAULTS = os.path.relpath(Path(__file__).with_name("ray_faults.py"))


def real_jobs() -> list[Job]:
    """A dozen quick claim jobs on the baselines: six comp-sum, six equivariance."""
    comp_sum = [j for j in reference_jobs(select(["consistency/comp-sum"], tier="fast"), 0, "cpu")
                if j.claim_id.endswith(("/equals-phi-tau", "/shift-invariant"))][::2]
    equivariance = [j for j in reference_jobs(select(["equivariance/generic"]), 0, "cpu")
                    if j.claim_id.endswith(("/equivariant", "/gradient-equivariant"))
                    and j.impl_name.startswith(QUICK_EQUIVARIANT)]
    return comp_sum + equivariance


def job_of(impl: str, claim_id: str = SHIFT, device: str = "cpu", time_limit_s: float | None = 2) -> Job:
    """A job of `impl` on the claim's params, by default with a 2 s time limit."""
    params = tuple(sorted(get_claim(claim_id).params.items()))
    return Job(claim_id, impl, impl.rpartition(":")[2], params, device=device, time_limit_s=time_limit_s)


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    """A Ray head on loopback (no dashboard, one fake GPU), started elsewhere than the driver's directory."""
    port = free_port()
    where = tmp_path_factory.mktemp("ray_head")
    log = (where / "head.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block", "--node-ip-address=127.0.0.1",
         f"--port={port}", "--num-cpus=3", "--num-gpus=1", "--include-dashboard=false", "--disable-usage-stats"],
        cwd=where, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "Ray runtime started" not in (where / "head.log").read_text():
            assert proc.poll() is None and time.monotonic() < deadline, (where / "head.log").read_text()
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


def same_rows(a: list[Result], b: list[Result]) -> None:
    """Rows sorted by job key agree: same jobs and seeds, verdicts, and values to 1e-9 relative."""
    a, b = sorted(a, key=lambda r: r.job.key), sorted(b, key=lambda r: r.job.key)
    assert [(r.job, r.job.seed) for r in a] == [(r.job, r.job.seed) for r in b]
    for x, y in zip(a, b):
        assert x.measurement.verdict == y.measurement.verdict, (x.job.claim_id, x.job.impl_name)
        for u, v in ((x.measurement.value, y.measurement.value), (x.measurement.threshold, y.measurement.threshold)):
            assert (math.isnan(u) and math.isnan(v)) or math.isclose(u, v, rel_tol=1e-9, abs_tol=0.0), x.job.claim_id


def test_ray_rows_equal_serial_rows_and_faults_cost_only_their_own_job(cluster: str) -> None:
    import torch

    compared = real_jobs() + [job_of("impls:raises_on_large_logits", EXTREME)]
    assert len(compared) == 13
    hang, crash = job_of(f"{FAULTS}:hangs"), job_of(f"{FAULTS}:crashes", time_limit_s=None)
    gpu = job_of("impls:ce", device="cuda", time_limit_s=None)
    jobs = [hang, *compared[:6], crash, *compared[6:], gpu]
    seen: list[Result] = []

    results = RayExecutor(None, cluster, grace_s=3).run(jobs, on_result=seen.append)

    assert [r.job for r in results] == jobs
    assert sorted(r.job.key for r in seen) == sorted(j.key for j in jobs)
    by_job = {r.job: r.measurement for r in results}
    assert by_job[hang].verdict == "error"
    assert by_job[hang].detail == f"{SHIFT}: timed out after 2 s (stopped by the executor)"
    assert by_job[crash].verdict == "error"
    assert by_job[crash].detail.startswith(f"{SHIFT}: worker crashed (") and "\n" not in by_job[crash].detail
    assert by_job[gpu].verdict == ("pass" if torch.cuda.is_available() else "skip"), by_job[gpu].detail
    assert "ValueError: logits too large" in by_job[compared[-1]].detail
    same_rows([r for r in results if r.job in compared], run_serial(compared))


def test_local_cluster_skips_an_over_asking_gpu_job_and_stops_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    cpu, gpu = real_jobs()[0], job_of("impls:ce", device="cuda")

    results = get_executor("ray", workers=1).run([gpu, cpu])

    assert [r.measurement.verdict for r in results] == ["skip", "pass"]
    assert results[0].measurement.detail == "device cuda needs a GPU and no node of the Ray cluster has one"
    assert not ray.is_initialized()


def test_an_unreachable_cluster_is_one_line() -> None:
    with pytest.raises(ExecutorError, match=r"^cannot reach the Ray cluster at 127\.0\.0\.1:\d+: .*refused"):
        RayExecutor(None, f"127.0.0.1:{free_port()}")


def test_missing_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ExecutorError, match=r"pip install 'claimbench\[ray\]'"):
        RayExecutor()
