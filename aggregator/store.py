"""Writing validated records, their hourly rollups, and dead letters, in batches.

A batch goes through COPY into a temporary table and one INSERT ... ON
CONFLICT DO NOTHING RETURNING, which is both the fast path and what makes
ingest idempotent on the record id: a redelivered record is not inserted
again, and only the records actually inserted are added to the rollups, in
the same transaction, so rollups never count a record twice or miss one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg

from aggregator.columns import columns_of
from aggregator.compliance.rollup import COLUMNS as ROLLUP_COLUMNS
from aggregator.compliance.rollup import KEY_COLUMNS, build_rollups
from aggregator.compliance.samples import Sample
from aggregator.validate import Accepted, Rejected

COLUMNS = (
    "t", "id", "probe", "lat", "lon", "h3", "env", "service", "mcc", "mnc", "tech", "op",
    "rsrp_dbm", "rsrq_db", "sinr_db", "rtt_ms", "jitter_ms", "loss_pct",
    "dl_mbps", "ul_mbps", "access_ok", "access_s", "raw",
)  # fmt: skip
_ADDED = [c for c in ROLLUP_COLUMNS if c not in KEY_COLUMNS]
_UPSERT = (
    f"INSERT INTO rollups ({', '.join(ROLLUP_COLUMNS)}) "
    f"VALUES ({', '.join(['%s'] * len(ROLLUP_COLUMNS))}) "
    "ON CONFLICT (hour, h3, op, tech, probe, env) DO UPDATE SET updated_at = now(), "
    + ", ".join(
        f"{c} = giamsat_add(rollups.{c}, EXCLUDED.{c})"
        if c.endswith("_hist")
        else f"{c} = rollups.{c} + EXCLUDED.{c}"
        for c in _ADDED
    )
)


@dataclass(frozen=True)
class BatchResult:
    inserted: int
    duplicates: int
    deadlettered: int


def _last_seen(
    cur: psycopg.Cursor, samples: list[Sample], exclude: list[str]
) -> dict[tuple[str, str], datetime]:
    """Each (probe, operator)'s latest stored sample before its first one in this batch."""
    first: dict[tuple[str, str], datetime] = {}
    for s in samples:
        key = (s.probe, s.op)
        if key not in first or s.t < first[key]:
            first[key] = s.t
    if not first:
        return {}
    probes_, ops, times = zip(*[(p, o, t) for (p, o), t in first.items()], strict=True)
    cur.execute(
        "SELECT DISTINCT ON (r.probe, r.op) r.probe, r.op, r.t FROM records r "
        "JOIN unnest(%s::text[], %s::text[], %s::timestamptz[]) AS b(probe, op, first_t) "
        "ON r.probe = b.probe AND r.op = b.op AND r.t < b.first_t "
        "AND r.t > b.first_t - %s::interval WHERE r.id <> ALL(%s::uuid[]) "
        "ORDER BY r.probe, r.op, r.t DESC",
        (list(probes_), list(ops), list(times), timedelta(days=1), exclude),
    )
    return {(p, o): t for p, o, t in cur.fetchall()}


def _update_rollups(cur: psycopg.Cursor, rows: list[dict[str, Any]]) -> None:
    samples = [Sample.from_dict(r) for r in rows if r["h3"] is not None]
    if not samples:
        return
    last = _last_seen(cur, samples, [r["id"] for r in rows])
    # Rollups come sorted by key, so concurrent workers lock rows in one order: no deadlock.
    params = [
        [row[c] for c in ROLLUP_COLUMNS]
        for row in (r.as_row() for r in build_rollups(samples, last))
    ]
    cur.executemany(_UPSERT, params)


def write_batch(
    conn: psycopg.Connection, accepted: Sequence[Accepted], rejected: Sequence[Rejected]
) -> BatchResult:
    """Store one batch in a single transaction; the caller acks only after this returns."""
    inserted = 0
    with conn.transaction(), conn.cursor() as cur:
        if accepted:
            rows = {}
            for item in accepted:
                row = columns_of(item)
                rows.setdefault(row["id"], row)
            cur.execute(
                "CREATE TEMP TABLE IF NOT EXISTS incoming (LIKE records INCLUDING DEFAULTS) "
                "ON COMMIT DELETE ROWS"
            )
            with cur.copy(f"COPY incoming ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows.values():
                    copy.write_row([row[c] for c in COLUMNS])
            cur.execute(
                f"INSERT INTO records ({', '.join(COLUMNS)}) "
                f"SELECT {', '.join(COLUMNS)} FROM incoming "
                "ON CONFLICT (id, t) DO NOTHING RETURNING id::text"
            )
            new_ids = {r[0] for r in cur.fetchall()}
            inserted = len(new_ids)
            _update_rollups(cur, [rows[i] for i in rows if i in new_ids])
        if rejected:
            with cur.copy("COPY deadletter (topic, reason, detail, payload) FROM STDIN") as copy:
                for bad in rejected:
                    copy.write_row((bad.topic, bad.reason, bad.detail, bad.raw))
    return BatchResult(inserted, len(accepted) - inserted, len(rejected))
