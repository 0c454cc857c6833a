"""What the `giamsat` command groups share, so that every command reads its options alike.

Every command takes the same ``--config``; ``compliance``, ``cases`` and ``evidence`` take
the same ``--from``/``--to`` period and name a standard, an operator and an area the same
way. A mistake in any of them is a :class:`ConfigError`, which
:func:`giamsat.aggregator.cli.main.main` prints as one line with exit code 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, TypeAlias

from giamsat.aggregator import settings
from giamsat.aggregator.compliance import Period
from giamsat.aggregator.store import areas
from giamsat.contract.config import ConfigError

if TYPE_CHECKING:
    import psycopg

    from giamsat.aggregator.compliance import Assessment, Operator, Standard

    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

Handler: TypeAlias = Callable[[argparse.Namespace], int]


def group(
    subparsers: Subparsers, name: str, help: str, *, dest: str, description: str | None = None
) -> Subparsers:
    """Add a command group (``giamsat db``, ``giamsat cases`` …); its commands go in the result.

    A group without a command is a usage error (exit 2) that lists the group's commands.
    """
    parser = subparsers.add_parser(name, help=help, description=description)
    return parser.add_subparsers(dest=dest, required=True, metavar="COMMAND")


def command(
    subparsers: Subparsers, name: str, handler: Handler, help: str
) -> argparse.ArgumentParser:
    """Add a command that reads the aggregator config; ``main`` calls ``handler`` with its args."""
    parser = subparsers.add_parser(name, help=help, description=help)
    parser.add_argument(
        "--config", "-c", help="aggregator TOML config (default: built-in defaults)"
    )
    parser.set_defaults(handler=handler)
    return parser


def load_settings(args: argparse.Namespace) -> settings.Settings:
    """The configuration ``--config`` names, or the built-in defaults without one."""
    return settings.load(args.config)


def add_period(
    parser: argparse.ArgumentParser, *, first: str | None = None, last: str | None = None
) -> None:
    """Add the required ``--from``/``--to`` days; ``first``/``last`` are their help texts."""
    parser.add_argument("--from", dest="date_from", required=True, help=first)
    parser.add_argument("--to", dest="date_to", required=True, help=last)


def parse_period(start: str, end: str) -> Period:
    """``--from``/``--to`` as a period; a mistake is a ConfigError naming both options."""
    try:
        return Period(date.fromisoformat(start), date.fromisoformat(end))
    except ValueError as exc:
        raise ConfigError("--from/--to", f"{start}..{end}", str(exc)) from None


def period(args: argparse.Namespace) -> Period:
    """The period of a command that took :func:`add_period`."""
    return parse_period(args.date_from, args.date_to)


def decision_date(on: str | None) -> date:
    """The date an ``--on`` option gives a decision: today unless stated."""
    return date.fromisoformat(on) if on else date.today()


def standard_and_operator(
    cfg: settings.Settings, standard_id: str, operator: str
) -> tuple[Standard, Operator]:
    """The configured standard and operator these options name; an unknown one lists the known."""
    from giamsat.aggregator.compliance import load_operators, load_standards

    standards = load_standards(cfg.compliance.standards_dir)
    operators = load_operators(cfg.compliance.operators_file)
    if standard_id not in standards:
        raise ConfigError("--standard", standard_id, f"unknown; one of {', '.join(standards)}")
    if operator not in operators:
        raise ConfigError("--operator", operator, f"unknown; one of {', '.join(operators)}")
    return standards[standard_id], operators[operator]


def assess_area(
    conn: psycopg.Connection,
    standard: Standard,
    operator: Operator,
    area: str,
    period: Period,
) -> Assessment:
    """The verdicts on an ``--area``: an id, H3 cell, ``zone:<sha>:<n>``, ``probe:<id>``, ``all``.

    An area id is shown by its name, as verdicts and cases name areas; a
    declared zone by its operator, technology and name.
    """
    from giamsat.aggregator.compliance import assess
    from giamsat.aggregator.store.declarations import zone_area

    zone = zone_area(conn, area)
    name = conn.execute("SELECT name FROM areas WHERE id = %s", (area,)).fetchone()
    if zone is not None:
        name = (zone.name,)
    return assess.assess(
        conn, standard, operator, areas.resolve(conn, area), period,
        area_name=name[0] if name else area,
    )  # fmt: skip
