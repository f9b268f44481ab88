"""The claim registry: the `@claim` decorator and discovery of the claims defined under `suites/`."""
from __future__ import annotations

import fnmatch
import importlib
import pkgutil
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from harness.contracts import CONTRACTS
from harness.model import TIERS, Claim, Measurement, Reference

_ID = re.compile(r"^[a-z0-9_]+(?:/[a-z0-9][a-z0-9.\-]*){2,}$")
_REGISTRY: dict[str, Claim] = {}
_FAILING: list["FailingCase"] = []
_discovered = False


@dataclass(frozen=True)
class FailingCase:
    """A deliberately broken implementation that must get `expected` from a claim: proof the claim discriminates."""

    claim_id: str
    impl: str
    why: str
    params: dict[str, Any] = field(default_factory=dict)
    expected: str = "fail"


class RegistryError(Exception):
    """A claim definition or a suite module is malformed."""


def claim(
    id: str,
    *,
    paper: str,
    statement: str,
    contract: str,
    params: dict[str, Any] | None = None,
    tier: str = "fast",
    references: Sequence[Reference] = (),
    needs: Sequence[str] = (),
    allow_nonfinite: bool = False,
    time_limit_s: float = 120.0,
    false_alarm_rate: float | None = None,
) -> Callable[[Callable[..., Measurement]], Callable[..., Measurement]]:
    """Register `check(impl, ctx) -> Measurement` as the claim `id` (see DESIGN.md, 'A claim')."""
    if not _ID.match(id):
        raise RegistryError(f"claim id {id!r} is not <suite>/<method-slug>/<property> in lower case")
    if contract not in CONTRACTS:
        raise RegistryError(f"claim {id}: unknown contract {contract!r} (known: {', '.join(sorted(CONTRACTS))})")
    if tier not in TIERS:
        raise RegistryError(f"claim {id}: tier must be one of {TIERS}")
    if not references:
        raise RegistryError(f"claim {id}: needs at least one baseline reference to run on")

    def register(check: Callable[..., Measurement]) -> Callable[..., Measurement]:
        if id in _REGISTRY and _REGISTRY[id].check is not check:
            raise RegistryError(f"claim {id} is defined twice")
        _REGISTRY[id] = Claim(
            id=id, paper=paper, statement=statement, contract=contract, check=check,
            params=dict(params or {}), tier=tier, references=tuple(references),
            needs=tuple(needs), allow_nonfinite=allow_nonfinite, time_limit_s=time_limit_s,
            false_alarm_rate=false_alarm_rate,
        )
        return check

    return register


def failing(claim_id: str, impl: str, why: str, params: dict[str, Any] | None = None,
            expected: str = "fail") -> None:
    """Register a broken implementation (`MODULE:ATTR`) that claim `claim_id` must judge `expected`."""
    _FAILING.append(FailingCase(claim_id, impl, why, dict(params or {}), expected))


def failing_cases() -> list[FailingCase]:
    """Every registered failing case."""
    discover()
    return list(_FAILING)


def discover() -> None:
    """Import every claim module of every suite package (not tests, not benchmarks) once."""
    global _discovered
    if _discovered:
        return
    import suites

    for info in pkgutil.walk_packages(suites.__path__, prefix="suites."):
        leaf = info.name.rsplit(".", 1)[-1]
        if leaf.startswith(("test_", "conftest")) or ".benchmarks" in info.name or leaf == "benchmarks":
            continue
        try:
            importlib.import_module(info.name)
        except Exception as exc:
            raise RegistryError(f"suite module {info.name} failed to import: {type(exc).__name__}: {exc}") from exc
    _discovered = True


def all_claims() -> list[Claim]:
    """Every registered claim, sorted by id."""
    discover()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def get_claim(claim_id: str) -> Claim:
    """The claim with this exact id."""
    discover()
    try:
        return _REGISTRY[claim_id]
    except KeyError:
        raise RegistryError(f"no claim with id {claim_id!r}") from None


def select(patterns: Iterable[str] = (), tier: str | None = None) -> list[Claim]:
    """Claims whose id matches any glob (a plain id or id prefix up to a '/'; all when none); tier 'fast' keeps fast ones."""
    pats: list[str] = []
    for p in patterns:
        pats += [p] if any(ch in p for ch in "*?[") else [p.rstrip("/"), f"{p.rstrip('/')}/*"]
    pats = pats or ["*"]
    chosen = [c for c in all_claims() if any(fnmatch.fnmatchcase(c.id, p) for p in pats)]
    if tier == "fast":
        chosen = [c for c in chosen if c.tier == "fast"]
    return chosen
