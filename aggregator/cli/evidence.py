"""`giamsat evidence build|verify|key`: the inspector's bundle on the command line.

``build`` reads the configuration and the database and writes the audit log
(who: ``cli:<user>``); ``verify`` needs neither a configuration nor a
database, only the ZIP; ``key`` prints the aggregator's public signing key
and the fingerprint to publish.

Wiring: :func:`register` is called by ``giamsat.aggregator.cli.main.build_parser`` with its
subparsers and its ``command(name, handler, help, parent)`` factory.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from giamsat.aggregator.compliance import Period
from giamsat.aggregator.evidence import keys, verify
from giamsat.aggregator.evidence.progress import Progress, table
from giamsat.aggregator.evidence.records import BundleError
from giamsat.contract.config import ConfigError

if TYPE_CHECKING:  # the build's modules (PDF, map) load only when a bundle is built
    from giamsat.aggregator.evidence.assemble import BuildResult

Handler = Callable[[argparse.Namespace], int]
CommandFactory = Callable[..., argparse.ArgumentParser]


def parse_period(start: str, end: str) -> Period:
    """``--from``/``--to`` as a period; a mistake is a ConfigError naming both options."""
    try:
        return Period(date.fromisoformat(start), date.fromisoformat(end))
    except ValueError as exc:
        raise ConfigError("--from/--to", f"{start}..{end}", str(exc)) from None


def summary(result: BuildResult) -> str:
    """The short table a build ends with: where the bundle is, its hash, and the verdicts."""
    a = result.assessment
    rows = [
        ("bundle", f"{result.path} ({result.size:,} bytes)"),
        ("SHA-256", result.sha256),
        ("case", f"{a.standard_id} · {a.operator} · {a.area} · {a.period_start}..{a.period_end}"),
        ("records", f"{result.records:,} from {result.probes} probes in {result.cells} cells"),
        ("verdict", result.verdict.value),
        ("map picture", result.map_picture),
        ("signed by", result.fingerprint),
    ]
    kpis = [
        (
            k.kpi_id,
            f"{k.comparator} {k.limit:g} {k.unit}",
            "-" if k.value is None else f"{k.value:.2f}",
            "-" if k.ci_low is None else f"[{k.ci_low:.2f}, {k.ci_high:.2f}]",
            f"{k.samples:,}",
            k.verdict.value,
            k.grade,
        )
        for k in a.kpis
    ]
    return (
        table(("item", "value"), rows)
        + "\n"
        + table(("KPI", "limit", "value", "95% CI", "samples", "verdict", "grade"), kpis)
    )


def cmd_build(args: argparse.Namespace) -> int:
    from giamsat.aggregator import settings
    from giamsat.aggregator.evidence.bundle import build_from_database, case_config
    from giamsat.aggregator.store import db
    from giamsat.aggregator.store.tokens import Caller, audit

    cfg = settings.load(args.config)
    period = parse_period(args.date_from, args.date_to)
    progress = Progress(None if args.quiet else sys.stderr)
    try:
        standard, operator = case_config(cfg.compliance, args.standard, args.operator)
        key = keys.load_or_create(
            Path(args.key_dir) if args.key_dir else cfg.state_dir / "evidence"
        )
        with db.connect(cfg.dsn, autocommit=True) as conn:
            result = build_from_database(
                conn, standard=standard, operator=operator,
                operators_file=cfg.compliance.operators_file, area=args.area, period=period,
                out=Path(args.out), key=key, progress=progress, map_picture=not args.no_picture,
            )  # fmt: skip
            who = Caller(f"cli:{getpass.getuser()}", "admin")
            audit(conn, who, "evidence.build", result.audit_detail(args.area))
    except BundleError as exc:
        print(f"giamsat: error: {exc}", file=sys.stderr)
        return 1
    print(summary(result), end="")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    return verify.run(args)


def cmd_key(args: argparse.Namespace) -> int:
    from giamsat.aggregator import settings

    default = settings.load(args.config).state_dir / "evidence"
    key = keys.load_or_create(Path(args.key_dir) if args.key_dir else default)
    public = keys.public_key_b64(key)
    print(f"public key   {public}")
    print(f"fingerprint  {keys.fingerprint(public)}")
    return 0


def _key_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--key-dir",
        help="directory of the aggregator's signing key (default: <[state] dir>/evidence"
        " from the aggregator config); created on first use",
    )


def register(subparsers: Any, command: CommandFactory) -> None:
    """Add ``evidence build``, ``evidence verify`` and ``evidence key`` to the giamsat parser."""
    parser = subparsers.add_parser(
        "evidence", help="evidence bundles for inspectors", description="evidence bundles"
    )
    sub = parser.add_subparsers(dest="evidence_command", required=True, metavar="COMMAND")
    build = command(
        "build", cmd_build, "write a signed evidence bundle for one operator, area, standard"
        " and period", sub,
    )  # fmt: skip
    build.add_argument("--standard", required=True, help="e.g. QCVN-126:2021/BTTTT")
    build.add_argument("--operator", required=True, help="e.g. Viettel")
    build.add_argument("--area", default="all", help="area id, an H3 cell, or all (default)")
    build.add_argument("--from", dest="date_from", required=True, help="first day, YYYY-MM-DD")
    build.add_argument("--to", dest="date_to", required=True, help="last day, YYYY-MM-DD")
    build.add_argument("--out", required=True, help="the bundle to write, e.g. bundle.zip")
    build.add_argument(
        "--no-picture", action="store_true", help="skip Chromium; draw the map in the PDF"
    )
    build.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    _key_dir(build)
    check = command(
        "verify", cmd_verify, "verify a bundle offline: no config, database or network", sub
    )
    verify.add_arguments(check)
    key = command("key", cmd_key, "print the aggregator's signing key and its fingerprint", sub)
    _key_dir(key)
