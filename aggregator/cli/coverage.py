"""`giamsat coverage import|list|recount|gaps`: the service areas operators declared (Annex B).

A declaration is the operator's published map of where it serves a
technology, with its declared speeds; verdicts are given inside it.
A new declaration changes which stored records reach their declared minimum
download (Vdmin); ``coverage import`` counts them again, and ``coverage
recount`` does so for any operator, technology and start.
``coverage gaps`` lists the hexagons inside it that were measured dead
(:mod:`giamsat.aggregator.compliance.gaps`), the list an operator is handed
to eliminate dead zones.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from giamsat.aggregator.cli.common import command, group, load_settings, parse_period
from giamsat.aggregator.compliance import Period, load_operators
from giamsat.aggregator.compliance import gaps as gaps_mod
from giamsat.aggregator.store import db, declarations
from giamsat.contract.config import ConfigError

if TYPE_CHECKING:
    import psycopg

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
    again = command(
        sub, "recount", cmd_recount,
        "count stored records again against the declared Vdmin (after a new declaration)",
    )  # fmt: skip
    again.add_argument("--operator", help="only this operator's records (default: all)")
    again.add_argument("--technology", choices=declarations.TECHNOLOGIES)
    again.add_argument("--since", help="from this local day (YYYY-MM-DD; default: every record)")
    gaps = command(
        sub,
        "gaps",
        cmd_gaps,
        "hexagons declared covered and measured dead (the list to eliminate dead zones)",
    )
    gaps.add_argument(
        "--operator",
        required=True,
        action="append",
        help="the operator, as in operators.toml (repeat for several)",
    )
    gaps.add_argument("--technology", required=True, choices=tuple(gaps_mod.TECHNOLOGY_FAMILY))
    gaps.add_argument(
        "--from", dest="date_from", metavar="DATE", help="first local day (YYYY-MM-DD)"
    )
    gaps.add_argument("--to", dest="date_to", metavar="DATE", help="last local day (YYYY-MM-DD)")
    gaps.add_argument("--month", help="a calendar month (YYYY-MM) instead of --from/--to")
    gaps.add_argument("--area", help="a province or commune id, e.g. gso-19 (default: all)")
    gaps.add_argument("--weak", action="store_true", help="list hexagons measured weak too")
    gaps.add_argument("--format", choices=gaps_mod.FORMATS, default="table")


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
        [area] = [
            d
            for d in declarations.declared_areas(
                conn, stored.operator, stored.technology, stored.valid_from, stored.valid_from
            )
            if d.sha256 == stored.sha256
        ]
        for zone in area.zones:
            given = ", ".join(f"{k} {v}" for k, v in sorted(zone.speeds.items())) or "no speeds"
            print(
                f"  --area {declarations.zone_id(stored.sha256, zone.index)}  {zone.name}"
                f" ({given}; {len(zone.cells)} cells)"
            )
        for old in ended:
            print(f"  ended {old.sha256[:12]} ({old.file_name}) on {old.valid_to}")
        _recount(conn, args.operator, args.technology, valid_from)
    return 0


def _recount(
    conn: psycopg.Connection, operator: str | None, technology: str | None, since: date | None
) -> None:
    began = time.monotonic()
    changed = declarations.recount(conn, operator=operator, technology=technology, since=since)
    print(
        f"recounted stored records against the declared Vdmin: {changed} hourly rollup row(s)"
        f" changed in {time.monotonic() - began:.1f} s"
    )


def cmd_recount(args: argparse.Namespace) -> int:
    """Bring the Vdmin counts of stored records up to date with the declarations."""
    cfg = load_settings(args)
    since = _day("--since", args.since) if args.since else None
    with db.connect(cfg.dsn, autocommit=True) as conn:
        _recount(conn, args.operator, args.technology, since)
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


_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def _gaps_period(args: argparse.Namespace) -> Period:
    """``--month``, or ``--from`` with ``--to``; anything else names the options at fault."""
    if args.month is not None:
        if args.date_from or args.date_to:
            raise ConfigError("--month", args.month, "give either --month or --from/--to")
        match = _MONTH.match(args.month)
        if match is None:
            raise ConfigError("--month", args.month, "must be a month, YYYY-MM")
        first = date(int(match.group(1)), int(match.group(2)), 1)
        after = (first + timedelta(days=32)).replace(day=1)
        return Period(first, after - timedelta(days=1))
    if not args.date_from or not args.date_to:
        raise ConfigError("--from/--to", "-", "give both days, or --month YYYY-MM")
    return parse_period(args.date_from, args.date_to)


def cmd_gaps(args: argparse.Namespace) -> int:
    """Print the gaps in the chosen format; say so when an operator declared nothing.

    Notes (an operator with no declaration, nothing measured) go to standard
    output in the table and to standard error with the machine formats, whose
    output stays one parseable document.
    """
    cfg = load_settings(args)
    operators = load_operators(cfg.compliance.operators_file)
    unknown = [op for op in args.operator if op not in operators]
    if unknown:
        raise ConfigError("--operator", unknown[0], f"unknown; one of {', '.join(operators)}")
    period = _gaps_period(args)
    coverage = gaps_mod.coverage_in(cfg.compliance.standards_dir)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        try:
            report = gaps_mod.find_gaps(
                conn, coverage, args.operator, args.technology, period,
                area=args.area, weak=args.weak,
            )  # fmt: skip
        except gaps_mod.GapQueryError as exc:
            raise ConfigError(f"--{exc.parameter}", exc.value, exc.message) from None
    if args.format == "table":
        sys.stdout.write(gaps_mod.render_table(report))
        return 0
    for note in report.notes():
        print(f"giamsat: {note}", file=sys.stderr)
    if args.format == "csv":
        sys.stdout.write(gaps_mod.to_csv(report))
    else:
        doc = gaps_mod.to_json(report) if args.format == "json" else gaps_mod.to_geojson(report)
        print(json.dumps(doc, ensure_ascii=False, indent=1))
    return 0
