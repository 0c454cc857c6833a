"""`giamsat cases open|list|show|advance|respond|close`: escalation cases from FAIL to sanction.

Advancing goes through :func:`giamsat.aggregator.compliance.cases.advance_case`, the
workflow the API uses too, so a case advances by the same rules from either side.
``respond`` records an operator's answer received on paper, as the API records
one the operator sends itself. Every step is written to the audit log as
``cli:<user>``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from giamsat.aggregator.cli.common import (
    add_period,
    assess_area,
    command,
    decision_date,
    group,
    load_settings,
    period,
    standard_and_operator,
)
from giamsat.aggregator.compliance import cases
from giamsat.aggregator.store import bundles, db
from giamsat.aggregator.store.tokens import Caller, audit
from giamsat.contract.config import ConfigError

if TYPE_CHECKING:
    import psycopg

    from giamsat.aggregator.cli.common import Subparsers
    from giamsat.aggregator.compliance import Policy

ON_HELP = "date of the decision (default today)"


def register(subparsers: Subparsers) -> None:
    """Add the ``cases`` commands."""
    sub = group(
        subparsers,
        "cases",
        "escalation cases",
        dest="cases_command",
        description="escalation cases",
    )
    opened = command(sub, "open", cmd_open, "assess and open a case for every FAIL")
    opened.add_argument("--standard", required=True)
    opened.add_argument("--operator", required=True)
    opened.add_argument("--area", required=True, help="area id or H3 cell")
    add_period(opened)
    opened.add_argument("--on", help=ON_HELP)
    listed = command(sub, "list", cmd_list, "list cases")
    listed.add_argument("--state", help="only cases in this state")
    shown = command(sub, "show", cmd_show, "a case's history and notices")
    shown.add_argument("case_id", type=int)
    shown.add_argument("--notices", action="store_true", help="print the notices' full text")
    advanced = command(sub, "advance", cmd_advance, "apply a new verdict: escalate or close")
    advanced.add_argument("case_id", type=int)
    add_period(advanced, first="monitoring period start", last="monitoring period end")
    advanced.add_argument("--on", help=ON_HELP)
    advanced.add_argument("--bundle", help="evidence bundle ZIP the notice cites")
    answered = command(sub, "respond", cmd_respond, "record the operator's answer to a notice")
    answered.add_argument("case_id", type=int)
    answered.add_argument("--text", required=True, help="the answer, or its summary")
    answered.add_argument(
        "--file", action="append", default=[], metavar="FILE",
        help="a document the operator sent (its own drive-test logs...); repeat for several",
    )  # fmt: skip
    closed = command(sub, "close", cmd_close, "close a case by decision")
    closed.add_argument("case_id", type=int)
    closed.add_argument("--reason", required=True)
    closed.add_argument("--on", help=ON_HELP)


def _who() -> Caller:
    return Caller(f"cli:{getpass.getuser()}", "admin")


def print_case(stored: cases.StoredCase, policy: Policy) -> None:
    """A case's state, when it may next advance, and its dated history with each finding."""
    from giamsat.aggregator.compliance import next_due
    from giamsat.aggregator.compliance.escalation import response_window

    case = stored.case
    due = next_due(case, policy)
    print(f"case {stored.id}: {case.id}")
    print(f"  state: {case.state.value}   opened {case.opened_on}   next step from: {due or '-'}")
    window = response_window(case, policy)
    if window is not None:
        print(f"  the operator may answer the {case.state.value} of {window[0]} until {window[1]}")
    for entry in case.history:
        v = entry.verdict
        finding = (
            f"{v.verdict.value} {v.value:.2f} [{v.ci_low:.2f}, {v.ci_high:.2f}] {v.unit} "
            f"({v.period_start}..{v.period_end}, {v.grade})"
            if v is not None and v.value is not None and v.ci_low is not None
            else "-"
        )
        source = entry.from_state.value if entry.from_state else "-"
        print(f"  {entry.on}  {source:>20} -> {entry.to_state.value:<20} {finding}  {entry.note}")


def no_such_case(case_id: int) -> ConfigError:
    """An unknown case id is a usage mistake (exit 2), like any other wrong argument."""
    return ConfigError("case", str(case_id), "no such case")


def stored_case(conn: psycopg.Connection, case_id: int) -> cases.StoredCase:
    """The case ``case_id`` names, or :func:`no_such_case`."""
    stored = cases.get(conn, case_id)
    if stored is None:
        raise no_such_case(case_id)
    return stored


def cmd_open(args: argparse.Namespace) -> int:
    """Assess the area and open a case for each failing KPI that has no open case yet."""
    from giamsat.aggregator.compliance import EscalationError

    cfg = load_settings(args)
    standard, operator = standard_and_operator(cfg, args.standard, args.operator)
    on = decision_date(args.on)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        result = assess_area(conn, standard, operator, args.area, period(args))
        try:
            opened = cases.open_failing(conn, result, on, cases.policy_of(cfg.compliance))
        except EscalationError as exc:
            print(f"giamsat: no case opened: {exc}", file=sys.stderr)
            return 1
        for stored in opened:
            audit(conn, _who(), "cases.open", {"case": stored.id, "kpi": stored.case.kpi_id})
    for stored in opened:
        print_case(stored, cases.policy_of(cfg.compliance))
    print(f"{len(opened)} case(s) opened")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """One line per case, in the order they were opened; ``--state`` keeps one state."""
    cfg = load_settings(args)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        found = cases.list_cases(conn, args.state)
    for s in found:
        c = s.case
        print(f"{s.id:>5} {c.state.value:<21} {c.updated_on} {c.operator:<12} {c.area:<14} "
              f"{c.standard_id} {c.kpi_id}")  # fmt: skip
    if not found:
        print("no cases")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """A case's history, and its notices listed or (``--notices``) in full."""
    cfg = load_settings(args)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        stored = stored_case(conn, args.case_id)
        notices = cases.notices_of(conn, args.case_id)
        answers = cases.responses_of(conn, args.case_id)
    print_case(stored, cases.policy_of(cfg.compliance))
    for state, language, issued, text in notices:
        if args.notices:
            print(f"\n--- {state} ({language}, {issued}) ---\n{text}")
        else:
            print(f"  notice: {state} ({language}) issued {issued}")
    for answer in answers:
        print_response(answer)
    return 0


def print_response(answer: cases.Response) -> None:
    late = ", LATE" if answer.late else ""
    received = f"{answer.received_at:%Y-%m-%d %H:%M %Z}"
    print(f"  answer {answer.id} to the {answer.notice_state} of {answer.notice_on}: received"
          f" {received} from {answer.who} ({answer.role}{late})")  # fmt: skip
    print(f"    {answer.text}")
    for f in answer.files:
        print(f"    file {f.name}  {f.bytes:,} bytes  SHA-256 {f.sha256}")


def cmd_respond(args: argparse.Namespace) -> int:
    """Record an answer received outside the system; refused (exit 1) when there is no notice."""
    cfg = load_settings(args)
    files = []
    for name in args.file:
        path = Path(name)
        if not path.is_file():
            raise ConfigError("--file", name, "no such file")
        files.append((path.name, path.read_bytes()))
    with db.connect(cfg.dsn, autocommit=True) as conn:
        stored = stored_case(conn, args.case_id)
        try:
            answer = cases.respond(
                conn, stored, cases.policy_of(cfg.compliance), who=_who().name, role="inspector",
                text=args.text, files=files,
            )  # fmt: skip
        except cases.ResponseRefused as exc:
            print(f"giamsat: case {args.case_id}: answer not recorded: {exc}", file=sys.stderr)
            return 1
        hashes = [{"name": f.name, "sha256": f.sha256} for f in answer.files]
        audit(conn, _who(), "cases.respond",
              {"case": stored.id, "response": answer.id, "files": hashes})  # fmt: skip
    print_response(answer)
    return 0


def cmd_advance(args: argparse.Namespace) -> int:
    """Judge the case again over the period; a refused step is exit 1, the case unchanged."""
    from giamsat.aggregator.compliance import EscalationError

    cfg = load_settings(args)
    on = decision_date(args.on)
    judged = period(args)
    digest = cases.bundle_digest(Path(args.bundle)) if args.bundle else None
    with db.connect(cfg.dsn, autocommit=True) as conn:
        try:
            stored = cases.advance_case(
                conn,
                cfg.compliance,
                args.case_id,
                judged,
                on,
                bundle_sha256=digest,
                issuer=cfg.issuer,
            )
        except cases.CaseNotFound:
            raise no_such_case(args.case_id) from None
        except (EscalationError, ValueError) as exc:
            print(f"giamsat: case {args.case_id} not advanced: {exc}", file=sys.stderr)
            return 1
        if args.bundle:
            bundles.keep(conn, Path(args.bundle))  # so the notice's bundle can be fetched again
        audit(conn, _who(), "cases.advance", {"case": stored.id, "state": stored.case.state.value})
    print_case(stored, cases.policy_of(cfg.compliance))
    return 0


def cmd_close(args: argparse.Namespace) -> int:
    """Close a case by decision (withdrawn, superseded) with the reason in its history."""
    from giamsat.aggregator.compliance import EscalationError

    cfg = load_settings(args)
    on = decision_date(args.on)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        try:
            stored = cases.close(conn, stored_case(conn, args.case_id), on, args.reason)
        except EscalationError as exc:
            print(f"giamsat: {exc}", file=sys.stderr)
            return 1
        audit(conn, _who(), "cases.close", {"case": stored.id, "reason": args.reason})
    print_case(stored, cases.policy_of(cfg.compliance))
    return 0
