"""`giamsat db init|prune`: the schema, and the raw records' retention."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from giamsat.aggregator.cli.common import command, group, load_settings
from giamsat.aggregator.store import areas, db

if TYPE_CHECKING:
    from giamsat.aggregator.cli.common import Subparsers


def register(subparsers: Subparsers) -> None:
    """Add ``db init`` and ``db prune``."""
    sub = group(
        subparsers, "db", "database schema", dest="db_command", description="database schema"
    )
    command(sub, "init", cmd_init, "create or upgrade the schema, load the areas")
    prune = command(sub, "prune", cmd_prune, "drop raw records past retention (drop_chunks)")
    prune.add_argument("--keep-days", type=int, help="default: [compliance] raw_retention_days")


def cmd_init(args: argparse.Namespace) -> int:
    """Migrate, then load the areas: a fresh database is ready for ingest and verdicts."""
    cfg = load_settings(args)
    areas_found = areas.load_areas(cfg.compliance.areas_dir)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        applied = db.migrate(conn)
        cells = areas.sync(conn, areas_found)
    print("migrations applied: " + (", ".join(applied) if applied else "none (up to date)"))
    print(f"areas: {len(areas_found)} from {cfg.compliance.areas_dir} ({cells} H3 cells)")
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    """Drop raw chunks past retention; the rollups verdicts read stay."""
    cfg = load_settings(args)
    days = args.keep_days or cfg.compliance.raw_retention_days
    with db.connect(cfg.dsn, autocommit=True) as conn:
        dropped = db.prune_raw(conn, days)
    print(f"raw records older than {days} days: {len(dropped)} chunk(s) dropped; rollups kept")
    return 0
