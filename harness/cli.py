"""The `claimbench` command line: list, run, check, report (DESIGN.md, 'Command line')."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
from pathlib import Path
from typing import Any, Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from harness.contracts import fitting_claims
from harness.environment import collect_env
from harness.jobs import Job, impl_jobs, parse_param, reference_jobs
from harness.loading import ImplLoadError, load
from harness.registry import RegistryError, select
from harness.report import write_report
from harness.results import write_run
from harness.runner import Result, exit_code, format_value, run_serial

_COLOURS = {"pass": "green", "fail": "red", "error": "yellow", "skip": "dim"}


class UsageError(Exception):
    """A usage problem; reported in one line with exit code 2."""


def _console(stderr: bool = False) -> Console:
    """A console; when not writing to a terminal (CI logs, pipes) wide enough that ids and numbers never fold."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else 160)


def _parse_param(text: str) -> tuple[str, Any]:
    try:
        return parse_param(text)
    except ValueError as exc:
        raise UsageError(f"--param {exc}") from None


def _json_number(x: float) -> float | None:
    return None if x is None or math.isnan(x) or math.isinf(x) else x


def _progress_run(jobs: list[Job], console: Console, want_figures: bool, quiet: bool) -> list[Result]:
    if quiet or not jobs:
        return run_serial(jobs, want_figures)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("claims", total=len(jobs))

        def advance(r: Result) -> None:
            progress.update(task, advance=1, description=r.job.claim_id)

        return run_serial(jobs, want_figures, on_result=advance)


def _summary(results: list[Result], console: Console, title: str) -> None:
    table = Table(title=title, show_lines=False)
    table.add_column("claim", no_wrap=True)
    table.add_column("implementation", overflow="ellipsis", no_wrap=True, max_width=28)
    for col in ("verdict", "value", "threshold"):
        table.add_column(col, no_wrap=True, min_width=9)
    for r in sorted(results, key=lambda r: (r.job.claim_id, r.job.impl_name)):
        v = r.measurement.verdict
        table.add_row(r.job.claim_id, r.job.impl_name, f"[{_COLOURS[v]}]{v}[/]",
                      format_value(r.measurement.value), format_value(r.measurement.threshold))
    console.print(table)
    counts = {v: sum(r.measurement.verdict == v for r in results) for v in _COLOURS}
    console.print("  ".join(f"[{_COLOURS[v]}]{n} {v}[/]" for v, n in counts.items()))
    for r in results:
        if r.measurement.verdict in ("fail", "error"):
            console.print(f"[{_COLOURS[r.measurement.verdict]}]{r.measurement.verdict}[/] {r.job.claim_id} "
                          f"({r.job.impl_name}): {r.measurement.detail}")
            if r.measurement.witness:
                console.print(f"    witness: {r.measurement.witness}")


def _write(out: Path, results: list[Result], seed: int, device: str, console: Console) -> None:
    write_run(out, results, collect_env(seed, device))
    report = write_report(out)
    console.print(f"wrote {out / 'claims.csv'}, {out / 'env.json'}, {report}")


def _grouped(reasons: list[str]) -> dict[str, list[str]]:
    """'claim: reason' lines grouped by reason, so a contract mismatch shared by many claims is said once."""
    groups: dict[str, list[str]] = {}
    for line in reasons:
        claim_id, _, reason = line.partition(": ")
        groups.setdefault(reason, []).append(claim_id)
    return groups


def cmd_list(args: argparse.Namespace, console: Console) -> int:
    claims = select(args.patterns, tier=args.tier)
    if args.json:
        print(json.dumps([{"id": c.id, "contract": c.contract, "tier": c.tier, "paper": c.paper,
                           "statement": c.statement, "params": c.params} for c in claims], indent=2))
        return 0
    table = Table(title=f"{len(claims)} claims")
    id_width = max((len(c.id) for c in claims), default=2)
    contract_width = max((len(c.contract) for c in claims), default=8)
    table.add_column("id", no_wrap=True, min_width=id_width)
    table.add_column("contract", no_wrap=True, min_width=contract_width)
    table.add_column("tier", no_wrap=True, min_width=4)
    table.add_column("paper", overflow="ellipsis", no_wrap=True,
                     max_width=max(20, console.width - id_width - contract_width - 17))
    for c in claims:
        table.add_row(c.id, c.contract, c.tier, c.paper)
    console.print(table)
    return 0


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    claims = select(args.patterns, tier=args.tier)
    if not claims:
        raise UsageError(f"no claim matches {' '.join(args.patterns) or '*'} in tier {args.tier}")
    jobs = reference_jobs(claims, args.seed, args.device)
    out = Path(args.out) if args.out else Path("results") / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    results = _progress_run(jobs, console, want_figures=True, quiet=False)
    _summary(results, console, f"{len(claims)} claims on the baselines ({len(jobs)} jobs)")
    _write(out, results, args.seed, args.device, console)
    return exit_code(results)


def cmd_check(args: argparse.Namespace, console: Console) -> int:
    overrides = dict(_parse_param(p) for p in args.param)
    try:
        impl = load(args.impl)
    except ImplLoadError as exc:
        raise UsageError(str(exc)) from None
    claims = select(args.patterns, tier=args.tier)
    if not claims:
        more = select(args.patterns, tier="full")
        hint = f" ({len(more)} match in tier full: add --tier full)" if more else ""
        raise UsageError(f"no claim matches {' '.join(args.patterns)}{hint}")
    known = {k for c in claims for k in c.params}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise UsageError(f"unknown --param {', '.join(unknown)}; the matched claims take: {', '.join(sorted(known)) or 'none'}")
    fits, reasons = fitting_claims(claims, impl, overrides)
    if not fits:
        raise UsageError(f"{args.impl} fits none of the {len(claims)} matched claims: {reasons[0]}")
    for reason, ids in _grouped(reasons).items():
        shown = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
        print(f"claimbench: not run ({shown}): {reason}", file=sys.stderr)
    jobs = impl_jobs(fits, args.impl, args.impl, overrides, args.seed, args.device)
    results = _progress_run(jobs, _console(stderr=True), want_figures=bool(args.out), quiet=args.json)
    if args.json:
        print(json.dumps({"impl": args.impl, "results": [
            {"claim": r.job.claim_id, "verdict": r.measurement.verdict, "value": _json_number(r.measurement.value),
             "threshold": _json_number(r.measurement.threshold), "detail": r.measurement.detail,
             "witness": r.measurement.witness, "params": r.job.params_dict} for r in results]}, indent=2))
    else:
        _summary(results, console, f"{args.impl} against {len(jobs)} claims")
    if args.out:
        _write(Path(args.out), results, args.seed, args.device, _console(stderr=True))
    return exit_code(results)


def cmd_report(args: argparse.Namespace, console: Console) -> int:
    run_dir = Path(args.dir)
    if not (run_dir / "claims.csv").is_file():
        raise UsageError(f"{run_dir} holds no claims.csv")
    console.print(f"wrote {write_report(run_dir)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `claimbench` command."""
    parser = argparse.ArgumentParser(prog="claimbench", description="Executable checks of ML papers' claims.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list the claims")
    p.add_argument("patterns", nargs="*", metavar="PATTERN", help="glob over claim ids (a plain word is a prefix)")
    p.add_argument("--tier", choices=("fast", "full"), default="full")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("--tier", choices=("fast", "full"), default="fast")
        q.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
        q.add_argument("--seed", type=int, default=0, help="the run's root seed")

    p = sub.add_parser("run", help="run the claims on the baselines and record the results")
    p.add_argument("patterns", nargs="*", metavar="PATTERN")
    common(p)
    p.add_argument("--out", help="results folder (default results/<timestamp>)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check", help="judge your implementation against the matching claims")
    p.add_argument("patterns", nargs="+", metavar="PATTERN")
    p.add_argument("--impl", required=True, help="MODULE:ATTR or path/to/file.py:ATTR")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--json", action="store_true")
    p.add_argument("--out", help="also record the results and a report in this folder")
    common(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("report", help="rebuild report.html of a recorded run")
    p.add_argument("dir")
    p.set_defaults(func=cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 pass, 1 fail or error, 2 usage)."""
    args = build_parser().parse_args(argv)
    console = _console()
    try:
        return args.func(args, console)
    except (UsageError, RegistryError) as exc:
        print(f"claimbench: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("claimbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
