"""Writing validated records, their hourly rollups, and dead letters, in batches.

A batch is COPY'd straight into ``records``; should it hold an id that is
already stored (a redelivery), that COPY is rolled back to its savepoint and
the batch goes through a temporary table and one INSERT ... ON CONFLICT DO
NOTHING RETURNING instead. Either way ingest is idempotent on the record id:
a redelivered record is not inserted again, and only the records actually
inserted are added to the rollups, in the same transaction, so rollups never
count a record twice or miss one.
The batch's rollups take the same road: COPY into a temporary table, then
one INSERT ... ON CONFLICT that adds them to the stored ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg

from giamsat.aggregator.aggregates.histogram import FIELD_EDGES, GAP_EDGES_S
from giamsat.aggregator.aggregates.rollup import COLUMNS as ROLLUP_COLUMNS
from giamsat.aggregator.aggregates.rollup import KEY_COLUMNS, Rollup, build_rollups
from giamsat.aggregator.aggregates.samples import Sample
from giamsat.aggregator.store.columns import columns_of
from giamsat.aggregator.store.values import Accepted, Rejected

COLUMNS = (
    "t", "id", "probe", "lat", "lon", "h3", "env", "service", "mcc", "mnc", "tech", "op",
    "rsrp_dbm", "rsrq_db", "sinr_db", "rtt_ms", "jitter_ms", "loss_pct",
    "dl_mbps", "ul_mbps", "access_ok", "access_s", "raw",
)  # fmt: skip
_KEY = ", ".join(KEY_COLUMNS)
_ROLLUP_COLUMNS = ", ".join(ROLLUP_COLUMNS)
# Histogram columns and their number of bins.
_BINS = {"gap_hist": len(GAP_EDGES_S) + 1} | {
    f"{name}_hist": len(edges) + 1 for name, edges in FIELD_EDGES.items()
}


def _add_bins(column: str) -> str:
    """The stored histogram plus the incoming one, bin by bin, as a plain SQL expression.

    PostgreSQL has no element-wise array addition. Spelled out per bin it
    costs about a fifth of giamsat_add (unnest and array_agg, ~150 µs a
    histogram here), and an upsert adds six histograms for each probe in a batch.
    """
    return (
        "ARRAY["
        + ", ".join(
            f"rollups.{column}[{i}] + EXCLUDED.{column}[{i}]" for i in range(1, _BINS[column] + 1)
        )
        + "]"
    )


_ON_CONFLICT = f"ON CONFLICT ({_KEY}) DO UPDATE SET updated_at = now(), " + ", ".join(
    f"{c} = {_add_bins(c)}" if c in _BINS else f"{c} = rollups.{c} + EXCLUDED.{c}"
    for c in ROLLUP_COLUMNS
    if c not in KEY_COLUMNS
)
# One rollup row per execution: for callers adding a few rows (tests build fixtures so).
_UPSERT = (
    f"INSERT INTO rollups ({_ROLLUP_COLUMNS}) "
    f"VALUES ({', '.join(['%s'] * len(ROLLUP_COLUMNS))}) {_ON_CONFLICT}"
)
# A batch's rollups, staged by COPY: one statement, rows locked in key order, so
# concurrent workers cannot deadlock on them.
_UPSERT_STAGED = (
    f"INSERT INTO rollups ({_ROLLUP_COLUMNS}) "
    f"SELECT {_ROLLUP_COLUMNS} FROM incoming_rollups ORDER BY {_KEY} {_ON_CONFLICT}"
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
    # One index probe per device (records_probe_t), not a scan of its last day.
    cur.execute(
        "SELECT b.probe, b.op, last.t "
        "FROM unnest(%s::text[], %s::text[], %s::timestamptz[]) AS b(probe, op, first_t) "
        "CROSS JOIN LATERAL (SELECT r.t FROM records r "
        "WHERE r.probe = b.probe AND r.op = b.op AND r.t < b.first_t "
        "AND r.t > b.first_t - %s::interval AND r.id <> ALL(%s::uuid[]) "
        "ORDER BY r.t DESC LIMIT 1) AS last",
        (list(probes_), list(ops), list(times), timedelta(days=1), exclude),
    )
    return {(p, o): t for p, o, t in cur.fetchall()}


def _copy_value(value: Any) -> Any:
    """A histogram as PostgreSQL's array text: psycopg's list dumper costs far more."""
    return "{" + ",".join(map(str, value)) + "}" if isinstance(value, list) else value


def upsert_rollups(cur: psycopg.Cursor, rollups: Sequence[Rollup]) -> None:
    """Add rollups with distinct keys (as build_rollups makes them) to the stored ones.

    Runs inside the caller's transaction; every column adds element-wise.
    """
    cur.execute(
        "CREATE TEMP TABLE IF NOT EXISTS incoming_rollups (LIKE rollups INCLUDING DEFAULTS) "
        "ON COMMIT DELETE ROWS"
    )
    with cur.copy(f"COPY incoming_rollups ({_ROLLUP_COLUMNS}) FROM STDIN") as copy:
        for rollup in rollups:
            row = rollup.as_row()
            copy.write_row([_copy_value(row[c]) for c in ROLLUP_COLUMNS])
    cur.execute(_UPSERT_STAGED)


def _update_rollups(cur: psycopg.Cursor, rows: list[dict[str, Any]]) -> None:
    samples = [Sample.from_dict(r) for r in rows if r["h3"] is not None]
    if samples:
        # The batch's rows with a cell are at or after their device's first sample;
        # only those without one could pass for an earlier stored sample.
        unplaced = [r["id"] for r in rows if r["h3"] is None]
        last = _last_seen(cur, samples, unplaced)
        upsert_rollups(cur, build_rollups(samples, last))


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
            new_ids = _insert_records(cur, rows)
            inserted = len(new_ids)
            _update_rollups(cur, [rows[i] for i in rows if i in new_ids])
        if rejected:
            with cur.copy("COPY deadletter (topic, reason, detail, payload) FROM STDIN") as copy:
                for bad in rejected:
                    copy.write_row((bad.topic, bad.reason, bad.detail, bad.raw))
    return BatchResult(inserted, len(accepted) - inserted, len(rejected))
