"""`giamsat areas sync`: the administrative areas verdicts are given for."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from giamsat.aggregator.cli.common import command, group, load_settings
from giamsat.aggregator.store import areas, db

if TYPE_CHECKING:
    from giamsat.aggregator.cli.common import Subparsers


def register(subparsers: Subparsers) -> None:
    """Add ``areas sync``."""
    sub = group(
        subparsers,
        "areas",
        "administrative areas",
        dest="areas_command",
        description="administrative areas",
    )
    command(sub, "sync", cmd_sync, "load the GeoJSON areas into the database")


def cmd_sync(args: argparse.Namespace) -> int:
    """Reload the GeoJSON areas after they change, without migrating."""
    cfg = load_settings(args)
    found = areas.load_areas(cfg.compliance.areas_dir)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        cells = areas.sync(conn, found)
    for area in found.values():
        print(f"{area.id:<12} {area.level:<9} {area.name}")
    print(f"{len(found)} areas, {cells} H3 cells")
    return 0
