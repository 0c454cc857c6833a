"""`giamsat evidence build|verify|key`: the inspector's bundle on the command line.

``build`` reads the configuration and the database and writes the audit log
(who: ``cli:<user>``); ``verify`` needs neither a configuration nor a
database, only the ZIP, and trusts only the keys it is given; ``key`` prints
the aggregator's public signing key and the fingerprint to publish, and
writes the trust file to publish.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from giamsat.aggregator.cli.common import add_period, command, group, period
from giamsat.aggregator.evidence import keys, verify
from giamsat.aggregator.evidence.progress import Progress, table
from giamsat.aggregator.evidence.records import BundleError
from giamsat.contract.timezone import VIETNAM_TZ

if TYPE_CHECKING:  # the build's modules (PDF, map) load only when a bundle is built
    from giamsat.aggregator.cli.common import Subparsers
    from giamsat.aggregator.evidence.assemble import BuildResult


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
    """Build, sign and audit a bundle; a bundle that cannot be built is exit 1, not a trace."""
    from giamsat.aggregator import settings
    from giamsat.aggregator.evidence.bundle import build_from_database, case_config
    from giamsat.aggregator.store import db
    from giamsat.aggregator.store.tokens import Caller, audit

    cfg = settings.load(args.config)
    judged = period(args)
    progress = Progress(None if args.quiet else sys.stderr)
    try:
        standard, operator = case_config(cfg.compliance, args.standard, args.operator)
        key = keys.load_or_create(
            Path(args.key_dir) if args.key_dir else cfg.state_dir / "evidence"
        )
        with db.connect(cfg.dsn, autocommit=True) as conn:
            result = build_from_database(
                conn, standard=standard, operator=operator,
                operators_file=cfg.compliance.operators_file, area=args.area, period=judged,
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
    """Verify as an inspector would, with the same code as the standalone verifier."""
    return verify.run(args)


def cmd_key(args: argparse.Namespace) -> int:
    """Print the key inspectors check bundles against; created here if it does not exist yet.

    With ``--trust-file``, also write it into the trust file the regulator
    publishes; with ``--rotate``, first retire the current key: the trust file
    then lists it up to today and the new key from today.
    """
    from giamsat.aggregator import settings
    from giamsat.aggregator.evidence import trust

    default = settings.load(args.config).state_dir / "evidence"
    directory = Path(args.key_dir) if args.key_dir else default
    out = Path(args.trust_file) if args.trust_file else None
    if args.rotate and out is None:
        print("giamsat: error: --rotate needs --trust-file: the retired key must stay"
              " trusted for the bundles it signed", file=sys.stderr)  # fmt: skip
        return 2
    today = datetime.now(VIETNAM_TZ).date()
    try:
        if out is not None and out.exists():
            trust.load(out)
        if args.rotate and out is not None:
            old = keys.public_key_b64(keys.load_or_create(directory))
            retired = keys.retire(directory)
            trust.add_key(out, old, valid_from=_kept_from(out, old), valid_to=today,
                          label=args.label or "")  # fmt: skip
            print(f"retired      {keys.fingerprint(old)} (last day {today}; key kept in {retired})")
        key = keys.load_or_create(directory)
        public = keys.public_key_b64(key)
        if out is not None:
            since = args.valid_from or (today if args.rotate else None)
            trust.add_key(out, public, valid_from=since, valid_to=args.valid_to,
                          label=args.label or "", issuer=args.issuer)  # fmt: skip
    except trust.TrustFileError as exc:
        print(f"giamsat: error: {exc}", file=sys.stderr)
        return 2
    print(f"public key   {public}")
    print(f"fingerprint  {keys.fingerprint(public)}")
    if out is not None:
        print(f"trust file   {out} (publish it; verify with --trust {out.name})")
    return 0


def _kept_from(path: Path, public: str) -> date | None:
    """The first day the trust file at ``path`` already gives ``public``, if any."""
    from giamsat.aggregator.evidence import trust

    if not path.exists():
        return None
    mine = keys.fingerprint(public)
    found = [k.valid_from for k in trust.load(path).keys if k.fingerprint == mine]
    return found[0] if found else None


def _key_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--key-dir",
        help="directory of the aggregator's signing key (default: <[state] dir>/evidence"
        " from the aggregator config); created on first use",
    )


def register(subparsers: Subparsers) -> None:
    """Add ``evidence build``, ``evidence verify`` and ``evidence key``."""
    sub = group(
        subparsers,
        "evidence",
        "evidence bundles for inspectors",
        dest="evidence_command",
        description="evidence bundles",
    )
    build = command(
        sub, "build", cmd_build, "write a signed evidence bundle for one operator, area, standard"
        " and period",
    )  # fmt: skip
    build.add_argument("--standard", required=True, help="e.g. QCVN-126:2021/BTTTT")
    build.add_argument("--operator", required=True, help="e.g. Viettel")
    build.add_argument(
        "--area", default="all",
        help="area id, an H3 cell, zone:<sha>:<n> (a declared zone), or all (default)",
    )  # fmt: skip
    add_period(build, first="first day, YYYY-MM-DD", last="last day, YYYY-MM-DD")
    build.add_argument("--out", required=True, help="the bundle to write, e.g. bundle.zip")
    build.add_argument(
        "--no-picture", action="store_true", help="skip Chromium; draw the map in the PDF"
    )
    build.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    _key_dir(build)
    check = command(
        sub, "verify", cmd_verify, "verify a bundle offline: no config, database or network"
    )
    verify.add_arguments(check)
    key = command(sub, "key", cmd_key, "print the aggregator's signing key and its fingerprint")
    _key_dir(key)
    key.add_argument(
        "--trust-file", metavar="FILE",
        help="write the key into this trust file (created if absent, other keys kept): the"
        " file the regulator publishes and `evidence verify --trust` reads",
    )  # fmt: skip
    key.add_argument("--valid-from", type=_day, help="first day the key may sign (YYYY-MM-DD)")
    key.add_argument("--valid-to", type=_day, help="last day the key may sign (YYYY-MM-DD)")
    key.add_argument("--label", help="a name for the key in the trust file")
    key.add_argument("--issuer", help="who publishes the trust file, e.g. Cục Viễn thông")
    key.add_argument(
        "--rotate", action="store_true",
        help="retire the current key (trusted up to today) and make a new one (from today);"
        " needs --trust-file",
    )  # fmt: skip


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from exc
