"""The runner turns every fault of an implementation into a verdict naming the claim, never an exception."""
import dataclasses

import pytest

from harness.jobs import Job, impl_jobs
from harness.registry import get_claim, select
from harness.runner import measure, run_serial

SHIFT = "consistency/comp-sum/shift-invariant"
EXTREME = "consistency/comp-sum/finite-at-extreme-logits"


def job(claim_id, impl, **params):
    c = get_claim(claim_id)
    return Job(claim_id, f"impls:{impl}", impl, tuple(sorted({**c.params, **params}.items())))


def test_raising_implementation_gives_error_naming_the_claim_and_the_run_goes_on():
    jobs = [job(EXTREME, "raises_on_large_logits"), job(SHIFT, "ce")]
    results = run_serial(jobs)
    assert [r.measurement.verdict for r in results] == ["error", "pass"]
    assert results[0].measurement.detail.startswith(EXTREME)
    assert "ValueError: logits too large" in results[0].measurement.detail


@pytest.mark.parametrize("impl, words", [
    ("reduced", "returned shape () for 4 samples"),
    ("wrong_length", "returned shape (3,) for 4 samples"),
    ("not_differentiable", "not differentiable"),
])
def test_contract_misfit_is_an_error_with_one_line(impl, words):
    m = measure(job(SHIFT, impl))
    assert m.verdict == "error"
    assert words in m.detail and "\n" not in m.detail


def test_nan_output_is_an_error_unless_the_claim_studies_finiteness():
    m = measure(job(SHIFT, "nan_on_ties"))
    assert m.verdict == "error" and "returned nan" in m.detail
    m = measure(job(EXTREME, "nan_on_ties"))
    assert m.verdict == "fail" and "loss nan" in m.witness


def test_float32_only_implementation_is_judged_in_float32_and_says_so():
    m = measure(job(SHIFT, "float32_only"))
    assert m.verdict == "pass"
    assert "judged in float32" in m.detail


def test_time_limit_stops_the_check(monkeypatch):
    claim = get_claim(SHIFT)
    import harness.runner as runner

    monkeypatch.setattr(runner, "get_claim", lambda _id: dataclasses.replace(claim, time_limit_s=0.5))
    m = measure(job(SHIFT, "slow"))
    assert m.verdict == "error" and "timed out after 0.5 s" in m.detail


def test_missing_import_is_an_error_verdict():
    m = measure(Job(SHIFT, "impls:no_such_function", "x", (("tau", 1.0),)))
    assert m.verdict == "error" and "has no attribute" in m.detail


def test_job_seed_depends_on_root_seed_and_key_not_order():
    claims = select(["consistency/*"])
    a = impl_jobs(claims, "impls:ce", "ce", {}, 7, "cpu")
    b = impl_jobs(list(reversed(claims)), "impls:ce", "ce", {}, 7, "cpu")
    assert sorted(j.seed for j in a) == sorted(j.seed for j in b)
    assert len({j.seed for j in a}) == len(a)
    assert impl_jobs(claims, "impls:ce", "ce", {}, 8, "cpu")[0].seed != a[0].seed


def test_same_job_gives_the_same_measurement():
    assert measure(job(EXTREME, "ce")) == measure(job(EXTREME, "ce"))


def test_cuda_job_without_cuda_is_skipped_with_reason():
    import torch

    if torch.cuda.is_available():
        assert measure(dataclasses.replace(job(SHIFT, "ce"), device="cuda")).verdict == "pass"
    else:
        m = measure(dataclasses.replace(job(SHIFT, "ce"), device="cuda"))
        assert m.verdict == "skip" and "no CUDA" in m.detail
