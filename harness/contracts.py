"""Contracts: what an implementation must look like to be judged, how it is probed, and how it is wrapped.

A wrapped implementation validates every call: an exception inside it, a wrong shape or dtype, or a
non-finite output (unless the claim studies non-finiteness itself) raises `ImplementationError`, which
the runner turns into an `error` verdict naming the claim.
"""
from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable

import torch


class ContractMismatch(Exception):
    """The implementation does not fit the contract; the message is one line."""


class ImplementationError(Exception):
    """The implementation raised or returned garbage while a claim ran it; the message is one line."""


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def accepted_kwargs(fn: Callable[..., Any]) -> tuple[set[str], bool]:
    """The keyword names `fn` accepts, and whether it takes **kwargs."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return set(), False
    names = {
        p.name for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    var_kw = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    return names, var_kw


@dataclass(frozen=True)
class Fit:
    """How an implementation fits a contract: its callable with bound keywords and the dtype it computes in."""

    fn: Callable[..., Any]
    bound: dict[str, Any]
    dtype: torch.dtype
    note: str = ""


class Contract(ABC):
    """A contract: name, one-line description, a probe that checks fit and a wrapper that guards calls."""

    name: str = ""
    description: str = ""

    @abstractmethod
    def fit(self, impl: Any, params: dict[str, Any], bind: dict[str, Any], needs: tuple[str, ...]) -> Fit:
        """Check `impl` fits; raise ContractMismatch in one line if not."""

    @abstractmethod
    def wrap(self, fit: Fit, allow_nonfinite: bool) -> Callable[..., Any]:
        """The guarded callable a claim's check receives."""


class MulticlassLoss(Contract):
    """`fn(logits: Tensor[N, K], target: LongTensor[N]) -> Tensor[N]`, differentiable in logits."""

    name = "multiclass-loss"
    description = "fn(logits: Tensor[N, K], target: LongTensor[N]) -> Tensor[N] per-sample loss"

    def fit(self, impl: Any, params: dict[str, Any], bind: dict[str, Any], needs: tuple[str, ...]) -> Fit:
        if not callable(impl):
            raise ContractMismatch(f"{self.name}: the implementation is a {type(impl).__name__}, not a callable")
        names, var_kw = accepted_kwargs(impl)
        missing = [k for k in needs if k not in names and not var_kw]
        if missing:
            raise ContractMismatch(f"{self.name}: this claim calls the loss with keyword {', '.join(missing)}, "
                                   "which the implementation does not accept")
        bound = {k: v for k, v in params.items() if k in names}
        bound.update(bind)
        if "reduction" in names:
            bound["reduction"] = "none"
        fn = _bind(impl, bound)
        logits = torch.tensor([[0.5, -1.0, 2.0], [0.0, 0.0, 0.0], [3.0, 1.0, -2.0], [-0.3, 0.2, 0.1]])
        target = torch.tensor([2, 0, 1, 1])
        errors = []
        for dtype in (torch.float64, torch.float32):
            x = logits.to(dtype).requires_grad_(True)
            try:
                out = fn(x, target)
            except Exception as exc:
                errors.append(f"in {str(dtype)[6:]} it raised {_first_line(exc)}")
                continue
            problem = _loss_output_problem(out, 4)
            if problem:
                raise ContractMismatch(f"{self.name}: on logits [4, 3] it {problem}")
            if not out.requires_grad:
                raise ContractMismatch(f"{self.name}: the loss is not differentiable in the logits (no autograd graph)")
            note = "" if dtype == torch.float64 else "judged in float32: the implementation refuses float64"
            return Fit(fn=fn, bound=bound, dtype=dtype, note=note)
        raise ContractMismatch(f"{self.name}: calling it on logits [4, 3] failed; " + "; ".join(errors))

    def wrap(self, fit: Fit, allow_nonfinite: bool) -> Callable[..., Any]:
        def loss(logits: torch.Tensor, target: torch.Tensor, **kwargs: Any) -> torch.Tensor:
            x = logits if logits.dtype == fit.dtype or logits.dtype != torch.float64 else logits.to(fit.dtype)
            try:
                out = fit.fn(x, target, **kwargs)
            except Exception as exc:
                raise ImplementationError(f"the implementation raised {_first_line(exc)} "
                                          f"on logits {tuple(logits.shape)} {str(logits.dtype)[6:]}") from None
            problem = _loss_output_problem(out, logits.shape[0])
            if problem:
                raise ImplementationError(f"the implementation {problem}")
            if not allow_nonfinite:
                bad = ~torch.isfinite(out.detach())
                if bad.any():
                    i = int(bad.nonzero()[0, 0])
                    raise ImplementationError(
                        f"the implementation returned {out[i].item()} for {int(bad.sum())} of {out.shape[0]} samples, "
                        f"first at logits row {i} (max |logit| {logits[i].detach().abs().max().item():.3g}, "
                        f"target {int(target[i])})")
            return out.to(logits.dtype) if out.dtype != logits.dtype else out

        return loss


class Equivariant(Contract):
    """A `harness.equivariance.Subject`, or a factory returning one (called with the claim params it accepts)."""

    name = "equivariant"
    description = "a harness.equivariance.Subject(model, group, inputs, in_reps, out_reps), or a factory returning one"

    def fit(self, impl: Any, params: dict[str, Any], bind: dict[str, Any], needs: tuple[str, ...]) -> Fit:
        from harness.equivariance import Subject, SubjectError, bind_subject
        from harness.groups import GroupError, RepError

        subject, kwargs = impl, {}
        if not isinstance(impl, Subject):
            if not callable(impl):
                raise ContractMismatch(f"{self.name}: the implementation is a {type(impl).__name__}, "
                                       "not a Subject or a factory returning one")
            names, var_kw = accepted_kwargs(impl)
            kwargs = {k: v for k, v in params.items() if k in names}
            kwargs.update(bind)
            try:
                subject = impl(**kwargs)
            except Exception as exc:
                raise ContractMismatch(f"{self.name}: calling the subject factory raised {_first_line(exc)}") from None
            if not isinstance(subject, Subject):
                raise ContractMismatch(f"{self.name}: the factory returned a {type(subject).__name__}, not a "
                                       "harness.equivariance.Subject")
        errors = []
        for dtype in (torch.float64, torch.float32):
            try:
                bs = bind_subject(subject, dtype)
                xs = bs.draw(torch.Generator().manual_seed(0), 2)
                ys = bs(*xs)
            except (GroupError, RepError) as exc:
                raise ContractMismatch(f"{self.name}: {exc}") from None
            except SubjectError as exc:
                errors.append(f"in {str(dtype)[6:]}: {exc}")
                continue
            except Exception as exc:
                raise ContractMismatch(f"{self.name}: preparing the subject raised {_first_line(exc)}") from None
            out_dtypes = {y.dtype for y in ys}
            if out_dtypes != {dtype}:
                bs.dtype = max(out_dtypes, key=lambda d: torch.finfo(d).eps)
                bs.notes.append(f"outputs are {', '.join(sorted(str(d)[6:] for d in out_dtypes))} for {str(dtype)[6:]} "
                                f"inputs, judged in {str(bs.dtype)[6:]}")
            elif dtype != torch.float64:
                bs.notes.append("judged in float32: the model refuses float64")
            self._check_needs(bs, xs, needs)
            return Fit(fn=bs, bound=kwargs, dtype=bs.dtype, note="; ".join(bs.notes))
        raise ContractMismatch(f"{self.name}: running the subject on a batch of 2 failed; " + "; ".join(errors))

    def _check_needs(self, bs: Any, xs: tuple[torch.Tensor, ...], needs: tuple[str, ...]) -> None:
        if "continuous" in needs and not bs.group.continuous:
            raise ContractMismatch(f"{self.name}: this claim needs a continuous group; {bs.group.name} is discrete")
        if "gradient" in needs:
            movable = [x.is_floating_point() and r.kind != "inv" for x, r in zip(xs, bs.in_reps)]
            if not any(movable):
                raise ContractMismatch(f"{self.name}: this claim differentiates through a floating input that the "
                                       "group moves; the subject has none")
        for token in needs:
            if token.startswith("method:") and bs.subject.method != token[7:]:
                raise ContractMismatch(f"{self.name}: a paper's method claims judge only subjects that implement it "
                                       f"(Subject(method=...), e.g. 'egnn' or 'frame-averaging'); this subject says "
                                       f"{bs.subject.method or 'none'!r}")
        if "grid" in needs and not any(r.kind == "grid" for r in bs.in_reps):
            raise ContractMismatch(f"{self.name}: this claim needs an image ('grid') input")

    def wrap(self, fit: Fit, allow_nonfinite: bool) -> Callable[..., Any]:
        return fit.fn


def _bind(fn: Callable[..., Any], bound: dict[str, Any]) -> Callable[..., Any]:
    if not bound:
        return fn

    def bound_fn(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **{**bound, **kwargs})

    return bound_fn


def _loss_output_problem(out: Any, n: int) -> str:
    if not isinstance(out, torch.Tensor):
        return f"returned a {type(out).__name__}, not a Tensor"
    if tuple(out.shape) != (n,):
        hint = " (a reduced loss? return per-sample losses, e.g. reduction='none')" if out.dim() == 0 else ""
        return f"returned shape {tuple(out.shape)} for {n} samples, expected ({n},){hint}"
    if not out.is_floating_point():
        return f"returned dtype {out.dtype}, expected a floating dtype"
    return ""


def fitting_claims(claims: list[Any], impl: Any, overrides: dict[str, Any]) -> tuple[list[Any], list[str]]:
    """The claims whose contract `impl` fits at their params overridden by `overrides`, and why the others don't."""
    fits, reasons = [], []
    for c in claims:
        try:
            CONTRACTS[c.contract].fit(impl, {**c.params, **overrides}, {}, c.needs)
            fits.append(c)
        except ContractMismatch as exc:
            reasons.append(f"{c.id}: {exc}")
    return fits, reasons


CONTRACTS: dict[str, Contract] = {c.name: c for c in (MulticlassLoss(), Equivariant())}


def get_contract(name: str) -> Contract:
    """The contract with this name."""
    return CONTRACTS[name]
