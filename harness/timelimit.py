"""A per-claim wall-clock limit that interrupts the check (main thread on POSIX; otherwise not enforced)."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator


class ClaimTimeout(Exception):
    """The check ran past its time limit."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise ClaimTimeout inside the block once `seconds` have passed."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread() and seconds > 0
    if not usable:
        yield
        return

    def on_alarm(signum: int, frame: object) -> None:
        raise ClaimTimeout(f"timed out after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
