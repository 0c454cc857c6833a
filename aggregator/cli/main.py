"""`giamsat`: the aggregator's command line.

This module builds the top-level parser, sets up logging and turns the errors a user can
cause (configuration, database, probe registry, tokens) into one line and exit code 2.
Each command group lives in its own module with a ``register(subparsers)`` that adds its
parsers and handlers; the order below is the order ``giamsat --help`` lists them in.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from giamsat.aggregator.cli import (
    areas,
    broker,
    cases,
    compliance,
    coverage,
    db,
    deadletter,
    evidence,
    probes,
    serve,
    tokens,
)
from giamsat.aggregator.cli.common import Handler
from giamsat.aggregator.compliance.standards import VersionSpanError
from giamsat.aggregator.store.db import DatabaseError
from giamsat.aggregator.store.probes import RegistryError
from giamsat.aggregator.store.tokens import TokenError
from giamsat.contract import logs
from giamsat.contract.config import ConfigError

GROUPS = (
    db,
    areas,
    coverage,
    compliance,
    cases,
    serve,
    probes,
    broker,
    tokens,
    evidence,
    deadletter,
)


def build_parser() -> argparse.ArgumentParser:
    """The whole `giamsat` parser; every command sets ``handler`` in its namespace."""
    parser = argparse.ArgumentParser(
        prog="giamsat",
        description="giamsat aggregator: ingest probe records, store them in TimescaleDB, "
        "serve the API and the speed server.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    parser.add_argument(
        "--log-format", choices=logs.FORMATS, help="text (default) or json lines for collectors"
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its return value is the exit status."""
    args = build_parser().parse_args(argv)
    logs.setup(args.verbose, args.log_format)
    try:
        handler: Handler = args.handler
        return handler(args)
    except (ConfigError, DatabaseError, RegistryError, TokenError, VersionSpanError) as exc:
        print(f"giamsat: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
