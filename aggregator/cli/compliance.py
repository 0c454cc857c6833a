"""`giamsat compliance`: one operator's verdicts against a standard, as a table, JSON or CSV."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from giamsat.aggregator.cli.common import (
    add_period,
    assess_area,
    command,
    load_settings,
    period,
    standard_and_operator,
)
from giamsat.aggregator.store import db

if TYPE_CHECKING:
    from giamsat.aggregator.cli.common import Subparsers


def register(subparsers: Subparsers) -> None:
    """Add ``compliance``."""
    parser = command(
        subparsers, "compliance", cmd_compliance, "verdicts of one operator against a standard"
    )
    parser.add_argument("--standard", required=True, help="e.g. QCVN-126:2021/BTTTT")
    parser.add_argument("--operator", required=True, help="e.g. Viettel")
    parser.add_argument(
        "--area",
        default="all",
        help="area id, an H3 cell, zone:<sha>:<n> (a declared zone, with its own Vd/Vu),"
        " probe:<id> (its village), or all",
    )
    add_period(parser, first="first day, YYYY-MM-DD", last="last day, YYYY-MM-DD")
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table")


def cmd_compliance(args: argparse.Namespace) -> int:
    """Print the assessment; it changes nothing, so anyone may run it at any time."""
    from giamsat.aggregator.compliance import render_table, to_csv, to_json

    cfg = load_settings(args)
    standard, operator = standard_and_operator(cfg, args.standard, args.operator)
    judged = period(args)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        result = assess_area(conn, standard, operator, args.area, judged)
    if args.format == "json":
        print(to_json(result))
    elif args.format == "csv":
        print(to_csv([result]), end="")
    else:
        print(render_table(result))
    return 0
