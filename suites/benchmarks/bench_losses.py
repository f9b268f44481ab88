"""asv: comp-sum losses forward + backward against torch's cross-entropy and the naive softmax formulas."""
import torch
import torch.nn.functional as F

from baselines.losses.comp_sum import comp_sum_loss, generalized_cross_entropy
from suites.consistency.broken_comp_sum import ce_log_of_softmax, gce_through_softmax_pow

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _torch_ce(logits, target):
    return F.cross_entropy(logits, target, reduction="none")


IMPLS = {
    "comp_sum tau=1 (ours)": lambda x, y: comp_sum_loss(x, y, 1.0),
    "torch cross_entropy": _torch_ce,
    "naive -log softmax": ce_log_of_softmax,
    "gce q=0.5 (ours)": lambda x, y: generalized_cross_entropy(x, y, 0.5),
    "naive gce q=0.5": gce_through_softmax_pow,
}


class CompSumForwardBackward:
    """Time of loss(logits).sum().backward() for N x K float32 logits."""

    params = (DEVICES, [(4096, 10), (4096, 1000)], list(IMPLS))
    param_names = ["device", "n_by_k", "impl"]

    def setup(self, device, n_by_k, impl):
        n, k = n_by_k
        g = torch.Generator().manual_seed(0)
        self.logits = (torch.randn(n, k, generator=g) * 5).to(device).requires_grad_(True)
        self.target = torch.randint(0, k, (n,), generator=g).to(device)
        self.fn = IMPLS[impl]

    def time_forward_backward(self, device, n_by_k, impl):
        self.logits.grad = None
        self.fn(self.logits, self.target).sum().backward()
        if device == "cuda":
            torch.cuda.synchronize()

    def peakmem_forward_backward(self, device, n_by_k, impl):
        self.fn(self.logits, self.target).sum().backward()


class ClaimCheckTime:
    """Wall time of the h-consistency-bound check on the logistic baseline (the slowest fast-tier claim)."""

    timeout = 120

    def setup(self):
        from harness.jobs import Job

        self.job = Job("consistency/comp-sum/h-consistency-bound", "baselines.losses.comp_sum:logistic_loss",
                       "logistic", (("tau", 1.0),))

    def time_h_consistency_bound(self):
        from harness.runner import measure

        measure(self.job)
