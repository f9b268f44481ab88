"""The results store: `<run>/claims.csv`, `env.json` and figure PNGs, each written atomically."""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from harness.runner import COLUMNS, Result


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")


def results_frame(results: list[Result], figure_paths: dict[str, list[str]] | None = None) -> pd.DataFrame:
    """The results as a DataFrame with the claims.csv columns, sorted by claim, implementation and params."""
    paths = figure_paths or {}
    rows = [r.record(paths.get(r.job.key, [])) for r in results]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values(["claim", "impl_name", "params", "seed"], kind="stable").reset_index(drop=True)


def seed_failures(frame: pd.DataFrame) -> list[tuple[str, str, int, int, float | None]]:
    """For each claim and implementation run at several seeds: (claim, impl_name, failed, runs, stated false-alarm rate).

    A failure is a `fail` or an `error`; the rate is the claim's `false_alarm_rate` column (None where it states none).
    """
    rows = []
    for (claim_id, impl_name), runs in frame.groupby(["claim", "impl_name"], sort=True):
        if runs["seed"].nunique() < 2:
            continue
        rate = pd.to_numeric(runs["false_alarm_rate"], errors="coerce").iloc[0]
        rows.append((str(claim_id), str(impl_name), int(runs["verdict"].isin(["fail", "error"]).sum()), len(runs),
                     None if pd.isna(rate) else float(rate)))
    return rows


def write_run(out: Path, results: list[Result], env: dict[str, Any]) -> pd.DataFrame:
    """Write figures, claims.csv and env.json under `out`; return the frame written."""
    out.mkdir(parents=True, exist_ok=True)
    figure_paths: dict[str, list[str]] = {}
    for r in results:
        for name, png in r.figures.items():
            rel = f"figures/{_slug(r.job.claim_id)}__{_slug(r.job.impl_name)}__{r.job.key[:8]}__{_slug(name)}.png"
            atomic_write_bytes(out / rel, png)
            figure_paths.setdefault(r.job.key, []).append(rel)
    frame = results_frame(results, figure_paths)
    atomic_write_bytes(out / "claims.csv", frame.to_csv(index=False).encode())
    atomic_write_bytes(out / "env.json", (json.dumps(env, indent=2, sort_keys=True) + "\n").encode())
    return frame


def read_run(run_dir: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a recorded run back."""
    frame = pd.read_csv(run_dir / "claims.csv", keep_default_na=False, na_values={"value": [""], "threshold": [""]})
    env_path = run_dir / "env.json"
    env = json.loads(env_path.read_text()) if env_path.is_file() else {}
    return frame, env
