"""Writing validated records and dead letters in batches, with the records' rollups.

A batch is COPY'd straight into ``records``; should it hold an id that is
already stored (a redelivery), that COPY is rolled back to its savepoint and
the batch goes through a temporary table and one INSERT ... ON CONFLICT DO
NOTHING RETURNING instead. Either way ingest is idempotent on the record id:
a redelivered record is not inserted again, and only the records actually
inserted are added to the rollups, in the same transaction, so rollups never
count a record twice or miss one.
(:mod:`giamsat.aggregator.store.rollups` adds them.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from giamsat.aggregator.store.columns import columns_of
from giamsat.aggregator.store.rollups import add_records
from giamsat.aggregator.store.values import Accepted, Rejected

# Bytes of a refused payload kept in the dead-letter table (with the whole one's size
# and SHA-256): a record is a few kilobytes, and a leaked probe password must not be
# able to fill the disk with megabyte payloads. Migration 016 says the same.
DEADLETTER_PREFIX_BYTES = 4096

COLUMNS = (
    "t", "id", "probe", "lat", "lon", "h3", "env", "service", "mcc", "mnc", "tech", "op",
    "rsrp_dbm", "rsrq_db", "sinr_db", "nr_rsrp_dbm", "nr_rsrq_db", "nr_sinr_db",
    "rtt_ms", "jitter_ms", "loss_pct", "dl_mbps", "ul_mbps", "access_ok", "access_s", "raw",
    "dl_outcome", "ul_outcome",
)  # fmt: skip


@dataclass(frozen=True)
class BatchResult:
    inserted: int
    duplicates: int
    deadlettered: int


def _copy_rows(cur: psycopg.Cursor, table: str, rows: dict[str, dict[str, Any]]) -> None:
    with cur.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
        for row in rows.values():
            copy.write_row([row[c] for c in COLUMNS])


def _insert_records(cur: psycopg.Cursor, rows: dict[str, dict[str, Any]]) -> set[str]:
    """Insert the rows whose id is not stored yet; returns the ids inserted.

    Nearly every batch is new records, and a COPY straight into the hypertable
    costs about half of staging them in a temporary table and inserting from
    there. A batch holding a stored id (a redelivery after a crash) makes that
    COPY fail as a whole; its savepoint is rolled back and the batch takes the
    staged road, whose ON CONFLICT DO NOTHING skips exactly the stored ids.
    """
    try:
        with cur.connection.transaction():
            _copy_rows(cur, "records", rows)
        return set(rows)
    except psycopg.errors.UniqueViolation:
        pass
    cur.execute(
        "CREATE TEMP TABLE IF NOT EXISTS incoming (LIKE records INCLUDING DEFAULTS) "
        "ON COMMIT DELETE ROWS"
    )
    _copy_rows(cur, "incoming", rows)
    cur.execute(
        f"INSERT INTO records ({', '.join(COLUMNS)}) "
        f"SELECT {', '.join(COLUMNS)} FROM incoming "
        "ON CONFLICT (id, t) DO NOTHING RETURNING id::text"
    )
    return {r[0] for r in cur.fetchall()}


def deadletter_row(bad: Rejected) -> tuple[Any, ...]:
    """A refused payload as the dead-letter table keeps it: a prefix, its size and hash."""
    raw = bytes(bad.raw)
    return (bad.topic, bad.reason, bad.detail, raw[:DEADLETTER_PREFIX_BYTES], len(raw),
            hashlib.sha256(raw).hexdigest())  # fmt: skip


def write_batch(
    conn: psycopg.Connection, accepted: Sequence[Accepted], rejected: Sequence[Rejected]
) -> BatchResult:
    """Store one batch in a single transaction; the caller acks only after this returns."""
    inserted = 0
    with conn.transaction(), conn.cursor() as cur:
        if accepted:
            rows: dict[str, dict[str, Any]] = {}
            for item in accepted:
                row = columns_of(item)
                rows.setdefault(row["id"], row)
            new_ids = _insert_records(cur, rows)
            inserted = len(new_ids)
            add_records(cur, [rows[i] for i in rows if i in new_ids])
        if rejected:
            with cur.copy(
                "COPY deadletter (topic, reason, detail, payload, payload_bytes, payload_sha256)"
                " FROM STDIN"
            ) as copy:
                for bad in rejected:
                    copy.write_row(deadletter_row(bad))
    return BatchResult(inserted, len(accepted) - inserted, len(rejected))
