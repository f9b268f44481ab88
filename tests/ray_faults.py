"""Faults only an executor can contain: a hang SIGALRM cannot stop (as in a long C call), a dying worker."""
import os
import signal
import time

import torch.nn.functional as F


def hangs(logits, target):
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    time.sleep(1e6)
    return F.cross_entropy(logits, target, reduction="none")


def crashes(logits, target):
    os._exit(3)
