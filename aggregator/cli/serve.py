"""`giamsat serve|ingest|speedserver`: the long-running processes.

``serve`` runs the ingest worker and the API together; ``ingest`` is the same process
without the API, for running several workers on one subscription; ``speedserver`` is the
endpoint probes measure throughput against and needs neither config nor database.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
from typing import TYPE_CHECKING

from giamsat.aggregator.cli.common import command, load_settings
from giamsat.aggregator.store import db

if TYPE_CHECKING:
    from giamsat.aggregator.cli.common import Subparsers


def register(subparsers: Subparsers) -> None:
    """Add ``serve``, ``ingest`` and ``speedserver``."""
    serve = command(subparsers, "serve", cmd_serve, "run ingest worker, HTTP API and speed server")
    serve.add_argument("--no-ingest", action="store_true", help="API only")
    serve.add_argument("--no-api", action="store_true", help="ingest only")
    serve.set_defaults(client_id=None)
    ingest = command(
        subparsers, "ingest", cmd_serve, "run one ingest worker (several share the subscription)"
    )
    ingest.add_argument(
        "--client-id",
        help="this worker's MQTT client id; stable across restarts and unique per worker, "
        "so a crashed worker's unacknowledged records are redelivered to it",
    )
    ingest.set_defaults(no_api=True, no_ingest=False)
    speed_help = "run a standalone speed server for probes to measure against"
    speed = subparsers.add_parser("speedserver", help=speed_help, description=speed_help)
    speed.add_argument("--host", default="0.0.0.0")
    speed.add_argument("--port", type=int, default=8090)
    speed.set_defaults(handler=cmd_speedserver)


def cmd_serve(args: argparse.Namespace) -> int:
    """Run until SIGTERM; the database is checked first so a wrong DSN fails at once."""
    from giamsat.aggregator.serve import serve

    cfg = load_settings(args)
    if args.client_id:
        cfg = dataclasses.replace(
            cfg, broker=dataclasses.replace(cfg.broker, client_id=args.client_id)
        )
    with db.connect(cfg.dsn, autocommit=True) as conn:
        db.check_timescaledb(conn)
    if not args.no_api:
        print(f"giamsat: API on {cfg.api.url}", flush=True)
    return asyncio.run(serve(cfg, with_ingest=not args.no_ingest, with_api=not args.no_api))


def cmd_speedserver(args: argparse.Namespace) -> int:
    """Serve throughput tests until interrupted; the URL is printed for the probes' config."""
    from giamsat.aggregator.http import speedserver

    print(f"giamsat: speed server on http://{args.host}:{args.port}", flush=True)
    speedserver.run(args.host, args.port)
    return 0
