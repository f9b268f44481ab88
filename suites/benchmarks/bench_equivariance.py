"""asv: the equivariance checker against e3nn's `equivariance_error` on the same model, elements and samples.

Model: e3nn FullyConnectedTensorProduct 8x0e+8x1o+4x2e (x2 -> itself), batch 256, 20 trials with and without
parity (40 group elements). Target: claimbench at least 5x faster (it stacks every element into one no-grad
call and reuses f(x); e3nn calls the model twice per element with autograd on).
"""
import time

import torch
from e3nn import o3
from e3nn.util.test import equivariance_error

from harness.equivariance import Subject, bind_subject, relative_errors

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
IRREPS = o3.Irreps("8x0e+8x1o+4x2e")
BATCH, TRIALS = 256, 20


def _setup(device):
    torch.manual_seed(0)
    tp = o3.FullyConnectedTensorProduct(IRREPS, IRREPS, IRREPS).to(device)
    g = torch.Generator().manual_seed(0)
    args = [torch.randn(BATCH, IRREPS.dim, generator=g).to(device) for _ in range(2)]
    subject = Subject(tp, "O3", lambda gen, b: tuple(a[:b] for a in args), (str(IRREPS), str(IRREPS)), str(IRREPS))
    return tp, args, bind_subject(subject, torch.float32).on(device)


def _ours(bs, device):
    g = torch.Generator().manual_seed(1)
    table = relative_errors(bs, bs.group.sample(g, 2 * TRIALS), bs.draw(g, BATCH))
    if device == "cuda":
        torch.cuda.synchronize()
    return table


def _e3nn(tp, args, device):
    out = equivariance_error(tp, args, irreps_in=[IRREPS, IRREPS], irreps_out=[IRREPS], ntrials=TRIALS)
    if device == "cuda":
        torch.cuda.synchronize()
    return out


class EquivarianceCheckVsE3nn:
    """Seconds for one full check of the tensor product (40 elements x 256 samples), float32."""

    params = (DEVICES, ["claimbench", "e3nn equivariance_error"])
    param_names = ["device", "checker"]
    timeout = 300

    def setup(self, device, checker):
        self.tp, self.args, self.bs = _setup(device)

    def time_check(self, device, checker):
        if checker == "claimbench":
            _ours(self.bs, device)
        else:
            _e3nn(self.tp, self.args, device)

    def peakmem_check(self, device, checker):
        self.time_check(device, checker)


class SpeedupOverE3nn:
    """e3nn time / claimbench time on the same check (best of 5 each); the target is >= 5."""

    params = DEVICES
    param_names = ["device"]
    unit = "ratio"
    timeout = 300

    def setup(self, device):
        self.tp, self.args, self.bs = _setup(device)

    def track_speedup(self, device):
        def best(fn):
            times = []
            for _ in range(5):
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
            return min(times)

        return best(lambda: _e3nn(self.tp, self.args, device)) / best(lambda: _ours(self.bs, device))


class GenericClaimTime:
    """Wall time of each generic claim on e3nn's tensor product (what a user waits for per claim)."""

    params = ["equivariant", "lie-derivative-zero", "gradient-equivariant", "batch-independent"]
    param_names = ["claim"]
    timeout = 120

    def setup(self, claim):
        from harness.jobs import Job
        from harness.registry import get_claim

        cid = f"equivariance/generic/{claim}"
        self.job = Job(cid, "baselines.equivariant.e3nn_models:tensor_product_subject", "tp",
                       tuple(sorted(get_claim(cid).params.items())))

    def time_claim(self, claim):
        from harness.runner import measure

        measure(self.job)
