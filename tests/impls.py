"""Implementations with engine-level faults, for the runner and CLI tests."""
import time

import torch
import torch.nn.functional as F


def ce(logits, target):
    return F.cross_entropy(logits, target, reduction="none")


def raises_on_large_logits(logits, target):
    if logits.abs().max() > 100:
        raise ValueError("logits too large")
    return ce(logits, target)


def reduced(logits, target):
    return F.cross_entropy(logits, target)


def wrong_length(logits, target):
    return ce(logits, target)[:-1]


def nan_on_ties(logits, target):
    out = ce(logits, target)
    tied = (logits == logits[:, :1]).all(1)
    return torch.where(tied, torch.full_like(out, float("nan")), out)


def float32_only(logits, target):
    if logits.dtype != torch.float32:
        raise TypeError("only float32 is supported")
    return ce(logits, target)


def slow(logits, target):
    if logits.shape[0] > 4:
        time.sleep(30)
    return ce(logits, target)


def not_differentiable(logits, target):
    return ce(logits, target).detach()


def ignores_alarm(logits, target):
    import signal

    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    time.sleep(1e6)
    return ce(logits, target)


def exits_process(logits, target):
    import os

    os._exit(3)
