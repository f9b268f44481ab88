"""Short textual witnesses: the exact input where a claim broke, printable on one line."""
from __future__ import annotations

from typing import Any

import torch


def fmt(x: Any, digits: int = 4, max_items: int = 8) -> str:
    """A compact one-line rendering of a tensor or number."""
    if isinstance(x, torch.Tensor):
        flat = x.detach().cpu().reshape(-1).tolist()
        items = [f"{v:.{digits}g}" if isinstance(v, float) else str(v) for v in flat[:max_items]]
        more = f", ... ({len(flat)} values)" if len(flat) > max_items else ""
        return "[" + ", ".join(items) + more + "]"
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return str(x)
