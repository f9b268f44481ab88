"""Deliberately broken comp-sum losses, each a bug seen in practice, and the claim that must catch it."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from harness.registry import failing

_HERE = "suites.consistency.broken_comp_sum"


def gce_wrong_exponent(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """GCE meant as tau = 1.5 (q = 0.5) but written with exponent tau: (1 - q_y^1.5) / 1.5."""
    q_y = torch.softmax(logits, -1).gather(1, target[:, None]).squeeze(1)
    return (1 - q_y**1.5) / 1.5


def gce_through_softmax_pow(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """GCE q = 0.5 as softmax(...)**q: right values, but q_y underflows to 0 and d/dq q^0.5 is inf -> NaN gradient."""
    q_y = torch.softmax(logits, -1).gather(1, target[:, None]).squeeze(1)
    return (1 - q_y**0.5) / 0.5


def ce_clamped_probability(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """-log(clamp(softmax, 1e-7)): caps the loss near 16.1 and zeroes the gradient of confident mistakes."""
    q_y = torch.softmax(logits, -1).gather(1, target[:, None]).squeeze(1)
    return -torch.log(q_y.clamp_min(1e-7))


def ce_log_of_softmax(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """-log(softmax) instead of log_softmax: inf once q_y underflows (|margin| past about 104 in float32)."""
    return -torch.log(torch.softmax(logits, -1).gather(1, target[:, None]).squeeze(1))


def comp_sum_without_tau_one_branch(logits: torch.Tensor, target: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """(q_y^(tau-1) - 1)/(1 - tau) with no tau = 1 case: 0/0 = NaN exactly at cross-entropy."""
    q_y = torch.softmax(logits.double(), -1).gather(1, target[:, None]).squeeze(1)
    return ((q_y ** (tau - 1) - 1) / (1 - tau)).to(logits.dtype)


def comp_sum_first_order(logits: torch.Tensor, target: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """A 'cheap' comp-sum L + (1 - tau) L^2: a truncated series with twice the true second-order coefficient."""
    neg_log_q = -torch.log_softmax(logits, -1).gather(1, target[:, None]).squeeze(1)
    return neg_log_q + (1 - tau) * neg_log_q**2


def one_vs_all_logistic(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Sum of per-class sigmoid BCEs: a sound loss, but not softmax-based, so not shift-invariant."""
    onehot = F.one_hot(target, logits.shape[1]).to(logits.dtype)
    return F.binary_cross_entropy_with_logits(logits, onehot, reduction="none").sum(1)


def crammer_singer_hinge(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """max(0, 1 - (h_y - max_{y' != y} h_y')): not Bayes-consistent for n >= 3 (Zhang 2004), so no T_tau bound."""
    h_y = logits.gather(1, target[:, None]).squeeze(1)
    others = logits.masked_fill(F.one_hot(target, logits.shape[1]).bool(), float("-inf"))
    return torch.relu(1 - (h_y - others.max(1).values))


def twice_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """2 x CE: still consistent, but its regret is twice T_1's, so the paper's bound is no longer attained."""
    return 2 * F.cross_entropy(logits, target, reduction="none")


failing("consistency/comp-sum/equals-phi-tau", f"{_HERE}:gce_wrong_exponent", "exponent tau instead of tau - 1",
        {"tau": 1.5})
failing("consistency/comp-sum/equals-phi-tau", f"{_HERE}:twice_cross_entropy", "scaled by 2", {"tau": 1.0})
failing("consistency/comp-sum/h-consistency-bound-attained", f"{_HERE}:gce_wrong_exponent",
        "exponent tau instead of tau - 1", {"tau": 1.5})
failing("consistency/comp-sum/h-consistency-bound-attained", f"{_HERE}:twice_cross_entropy",
        "scaled by 2: regret 2 T_1(t)", {"tau": 1.0})
failing("consistency/comp-sum/finite-at-extreme-logits", f"{_HERE}:gce_through_softmax_pow",
        "NaN gradient where softmax underflows", {"tau": 1.5})
failing("consistency/comp-sum/finite-at-extreme-logits", f"{_HERE}:ce_clamped_probability",
        "probability clamp caps the loss", {"tau": 1.0})
failing("consistency/comp-sum/finite-at-extreme-logits", f"{_HERE}:ce_log_of_softmax",
        "log of an underflowed softmax is inf", {"tau": 1.0})
failing("consistency/comp-sum/continuous-at-ce", f"{_HERE}:comp_sum_without_tau_one_branch", "0/0 at tau = 1")
failing("consistency/comp-sum/continuous-at-ce", f"{_HERE}:comp_sum_first_order",
        "second-order term (1 - tau) L^2 where the series has (1 - tau) L^2 / 2")
failing("consistency/comp-sum/shift-invariant", f"{_HERE}:one_vs_all_logistic", "sigmoid per class, not softmax")
failing("consistency/comp-sum/h-consistency-bound", f"{_HERE}:crammer_singer_hinge",
        "ties minimize its conditional risk when no class has p > 1/2", {"tau": 1.0})
failing("consistency/comp-sum/h-consistency-bound", f"{_HERE}:gce_wrong_exponent",
        "its conditional risk drops below the tau = 1.5 infimum", {"tau": 1.5})
