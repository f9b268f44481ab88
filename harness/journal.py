"""The run journal: one JSON line per finished job, appended and fsynced by the driver as each row arrives.

A run folder holds `plan.json` (what the run is: command, patterns, implementations, params, tier, seed,
device) and `journal.jsonl`; a killed run (Ctrl-C, SIGKILL) keeps every finished row, and `--resume` runs
only the jobs the journal lacks. A torn last line (killed mid-write) is ignored.
"""
from __future__ import annotations

import base64
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness.jobs import Job
from harness.model import Measurement
from harness.results import atomic_write_bytes
from harness.runner import Result

JOURNAL = "journal.jsonl"
PLAN = "plan.json"


def row_id(job: Job) -> str:
    """What identifies a finished job in the journal: its key and the run's root seed."""
    return f"{job.key}:{job.root_seed}"


class Journal:
    """Appends finished jobs to `<run>/journal.jsonl`, each line flushed and fsynced before the next job is recorded."""

    def __init__(self, run_dir: Path) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / JOURNAL
        self._fh = open(self.path, "a", encoding="utf-8")

    def append(self, result: Result) -> None:
        """Record one finished job durably."""
        m = result.measurement
        line = json.dumps({
            "id": row_id(result.job), "claim": result.job.claim_id, "impl": result.job.impl,
            "measurement": {k: v for k, v in asdict(m).items() if k != "figures"},
            "duration_s": result.duration_s,
            "figures": {name: base64.b64encode(png).decode() for name, png in result.figures.items()},
        })
        self._fh.write(line + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        """Close the file."""
        self._fh.close()


def read_journal(run_dir: Path) -> dict[str, tuple[Measurement, float, dict[str, bytes]]]:
    """The recorded rows of a run by row id (the last one wins; a torn line is skipped)."""
    path = run_dir / JOURNAL
    rows: dict[str, tuple[Measurement, float, dict[str, bytes]]] = {}
    if not path.is_file():
        return rows
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
            m = Measurement(**rec["measurement"])
            figures = {k: base64.b64decode(v) for k, v in rec.get("figures", {}).items()}
            rows[rec["id"]] = (m, float(rec["duration_s"]), figures)
        except (ValueError, KeyError, TypeError):
            continue
    return rows


def resumed_results(jobs: list[Job], run_dir: Path) -> tuple[list[Result], list[Job]]:
    """The journal's Results for these jobs, and the jobs it has no row for."""
    rows = read_journal(run_dir)
    done, todo = [], []
    for job in jobs:
        row = rows.get(row_id(job))
        if row is None:
            todo.append(job)
        else:
            done.append(Result(job, row[0], row[1], row[2]))
    return done, todo


def write_plan(run_dir: Path, plan: dict[str, Any]) -> None:
    """Record what the run is, so `--resume` can rebuild its job list."""
    atomic_write_bytes(run_dir / PLAN, (json.dumps(plan, indent=2, sort_keys=True) + "\n").encode())


def read_plan(run_dir: Path) -> dict[str, Any]:
    """The plan of a recorded run."""
    return json.loads((run_dir / PLAN).read_text(encoding="utf-8"))
