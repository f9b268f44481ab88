"""What a run records about where it ran: versions, device, seed, git commit."""
from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch


def git_commit(path: Path) -> str:
    """The commit checked out at `path` (with '+dirty' if the tree has changes), or '' outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return ""
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=path,
                               capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return ""


def device_name(device: str) -> str:
    """A human name for the device."""
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    return platform.processor() or platform.machine()


def collect_env(seed: int, device: str, argv: list[str] | None = None) -> dict[str, Any]:
    """The env.json of a run."""
    import numpy
    import pandas

    import harness

    return {
        "claimbench": harness.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": device,
        "device_name": device_name(device),
        "seed": seed,
        "git_commit": git_commit(Path(harness.__file__).resolve().parent.parent),
        "started_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "argv": argv if argv is not None else sys.argv,
    }
