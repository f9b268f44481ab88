"""Two machines' asv results on one box merge into one dashboard, as the README tells cluster users to do."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MACHINES = ("cpu-2core-ci", "gpu-h100-node7")


def asv(*args: str, config: Path) -> subprocess.CompletedProcess:
    """asv with its machine file (~/.asv-machine.json) kept in the test's folder, not the user's home."""
    env = {**os.environ, "HOME": str(config.parent)}
    return subprocess.run([sys.executable, "-m", "asv", *args, "--config", str(config)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env=env)


def test_results_of_two_machines_are_published_together(tmp_path):
    conf = json.loads((ROOT / "asv.conf.json").read_text())
    conf.update(repo=str(ROOT), benchmark_dir=str(ROOT / "suites" / "benchmarks"),
                results_dir=str(tmp_path / "results"), html_dir=str(tmp_path / "html"), env_dir=str(tmp_path / "env"))
    config = tmp_path / "asv.conf.json"
    config.write_text(json.dumps(conf))
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    for machine in MACHINES:
        assert asv("machine", "--machine", machine, "--yes", config=config).returncode == 0
        run = asv("run", "--machine", machine, "--python=same", "--quick", "--set-commit-hash", commit,
                  "--bench", "bench_losses.ClaimCheckTime", config=config)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "results").iterdir() if p.is_dir()) == sorted(MACHINES)
    assert asv("publish", config=config).returncode == 0
    index = json.loads((tmp_path / "html" / "index.json").read_text())
    assert set(MACHINES) <= set(index["params"]["machine"])
