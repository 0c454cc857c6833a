"""Writing validated records and dead letters in batches.

A batch goes through COPY into a temporary table and one INSERT ... ON
CONFLICT DO NOTHING, which is both the fast path and what makes ingest
idempotent on the record id: a redelivered record is simply not inserted again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from aggregator.validate import Accepted, Rejected

COLUMNS = (
    "t", "id", "probe", "lat", "lon", "env", "service", "mcc", "mnc", "tech", "op",
    "rsrp_dbm", "rsrq_db", "sinr_db", "rtt_ms", "jitter_ms", "loss_pct",
    "dl_mbps", "ul_mbps", "access_ok", "access_s", "raw",
)  # fmt: skip


@dataclass(frozen=True)
class BatchResult:
    inserted: int
    duplicates: int
    deadlettered: int


def row_of(accepted: Accepted) -> tuple[Any, ...]:
    """Flatten a record into the query columns; the raw bytes are kept as sent."""
    r = accepted.record
    loc, net, sig = r.get("loc") or {}, r.get("net") or {}, r.get("sig") or {}
    lat, dl, ul, access = r.get("lat") or {}, r.get("dl") or {}, r.get("ul") or {}, r.get("access")
    access = access or {}
    return (
        accepted.time, r["id"], r["probe"], loc.get("lat"), loc.get("lon"), loc.get("env"),
        net.get("service"), net.get("mcc"), net.get("mnc"), net.get("tech"), net.get("op"),
        sig.get("rsrp_dbm"), sig.get("rsrq_db"), sig.get("sinr_db"),
        lat.get("rtt_ms_p50"), lat.get("jitter_ms"), lat.get("loss_pct"),
        dl.get("mbps"), ul.get("mbps"), access.get("ok"), access.get("dur_s"),
        accepted.raw.decode("utf-8"),
    )  # fmt: skip


def write_batch(
    conn: psycopg.Connection, accepted: Sequence[Accepted], rejected: Sequence[Rejected]
) -> BatchResult:
    """Store one batch in a single transaction; the caller acks only after this returns."""
    inserted = 0
    with conn.transaction(), conn.cursor() as cur:
        if accepted:
            cur.execute(
                "CREATE TEMP TABLE IF NOT EXISTS incoming (LIKE records INCLUDING DEFAULTS) "
                "ON COMMIT DELETE ROWS"
            )
            with cur.copy(f"COPY incoming ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for item in accepted:
                    copy.write_row(row_of(item))
            cur.execute(
                f"INSERT INTO records ({', '.join(COLUMNS)}) "
                f"SELECT DISTINCT ON (id, t) {', '.join(COLUMNS)} FROM incoming "
                "ON CONFLICT (id, t) DO NOTHING"
            )
            inserted = cur.rowcount
        if rejected:
            with cur.copy("COPY deadletter (topic, reason, detail, payload) FROM STDIN") as copy:
                for bad in rejected:
                    copy.write_row((bad.topic, bad.reason, bad.detail, bad.raw))
    return BatchResult(inserted, len(accepted) - inserted, len(rejected))
