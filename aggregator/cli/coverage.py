"""`giamsat coverage import|list`: the service areas operators declared (Annex B).

A declaration is the operator's published map of where it serves a
technology, with its declared speeds; verdicts are given inside it.
"""

from __future__ import annotations

import argparse
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from giamsat.aggregator.cli.common import command, group, load_settings
from giamsat.aggregator.compliance import load_operators
from giamsat.aggregator.store import db, declarations
from giamsat.contract.config import ConfigError

if TYPE_CHECKING:
    from giamsat.aggregator.cli.common import Subparsers


def register(subparsers: Subparsers) -> None:
    """Add ``coverage import`` and ``coverage list``."""
    sub = group(
        subparsers,
        "coverage",
        "operators' declared service areas",
        dest="coverage_command",
        description="the service areas operators declared (QCVN 81/126 Annex B)",
    )
    imp = command(sub, "import", cmd_import, "store a declared service area (GeoJSON or KML)")
    imp.add_argument("--operator", required=True, help="the operator, as in operators.toml")
    imp.add_argument("--technology", required=True, choices=declarations.TECHNOLOGIES)
    imp.add_argument("--valid-from", required=True, help="first day in force (YYYY-MM-DD)")
    imp.add_argument("--valid-to", help="last day in force (default: until the next one)")
    for speed, what in (
        ("vd", "declared mean download"),
        ("vu", "declared mean upload"),
        ("vdmin", "declared minimum download"),
    ):
        imp.add_argument(
            f"--{speed}",
            help=f"{what} in Mbit/s for zones whose file gives none (e.g. 2.5 or 0.256)",
        )
    imp.add_argument("file", type=Path, help="the operator's published map")
    show = command(sub, "list", cmd_list, "list the stored declarations")
    show.add_argument("--operator", help="only this operator's")


def _day(option: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(option, value, "must be a date, YYYY-MM-DD") from None


def cmd_import(args: argparse.Namespace) -> int:
    """Read, check and store one declaration; print what it holds and what it ended."""
    cfg = load_settings(args)
    operators = load_operators(cfg.compliance.operators_file)
    if args.operator not in operators:
        raise ConfigError("--operator", args.operator, f"unknown; one of {', '.join(operators)}")
    speeds: dict[str, Decimal] = {}
    for key in declarations.SPEEDS:
        value = getattr(args, key)
        if value is not None:
            speeds[key] = declarations.parse_speed(f"--{key}", value)
    valid_from = _day("--valid-from", args.valid_from)
    valid_to = _day("--valid-to", args.valid_to) if args.valid_to else None
    with db.connect(cfg.dsn, autocommit=True) as conn:
        stored, ended = declarations.import_declaration(
            conn,
            args.file,
            operator=args.operator,
            technology=args.technology,
            valid_from=valid_from,
            valid_to=valid_to,
            speeds=speeds,
        )
    print(f"declaration {stored.sha256}")
    print(f"  {stored.operator} {stored.technology} from {stored.valid_from}", end="")
    print(f" to {stored.valid_to}" if stored.valid_to else " until the next declaration")
    print(f"  {stored.zones} zone(s), {stored.cells} H3 cells, from {stored.file_name}")
    for old in ended:
        print(f"  ended {old.sha256[:12]} ({old.file_name}) on {old.valid_to}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    cfg = load_settings(args)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        found = declarations.list_declarations(conn, args.operator)
    for d in found:
        until = d.valid_to.isoformat() if d.valid_to else "-"
        print(
            f"{d.sha256[:12]}  {d.operator:<12} {d.technology}  {d.valid_from} .. {until:<10}"
            f"  {d.zones:>3} zone(s) {d.cells:>7} cells  {d.file_name}"
        )
    print(f"{len(found)} declaration(s)")
    return 0
