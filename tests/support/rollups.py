"""Rollups stored straight into a test database, as ingest would have stored them."""

from __future__ import annotations

from collections.abc import Iterable

import psycopg

from giamsat.aggregator.aggregates.rollup import COLUMNS, build_rollups
from giamsat.aggregator.aggregates.samples import Sample
from giamsat.aggregator.store import rollups as stored_rollups


def store_rollups(dsn: str, samples: Iterable[Sample]) -> None:
    """Add the rollups of ``samples`` to the database at ``dsn``."""
    rows = [r.as_row() for r in build_rollups(samples)]
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.executemany(stored_rollups.UPSERT_ONE, [[row[c] for c in COLUMNS] for row in rows])
