"""Batches stored in a real TimescaleDB: rollups equal a rebuild from the stored records."""

import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from psycopg.rows import dict_row

from giamsat.aggregator.aggregates.rollup import COLUMNS, Rollup, build_rollups
from giamsat.aggregator.aggregates.samples import Sample
from giamsat.aggregator.ingest.validate import check
from giamsat.aggregator.store import records as store
from giamsat.aggregator.store.columns import columns_of
from giamsat.aggregator.store.rollups import upsert_rollups
from giamsat.aggregator.store.values import Accepted, ProbeKey
from giamsat.contract import record

KEY = Ed25519PrivateKey.generate()
START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)


def accepted(probe: str, i: int, op: str = "Viettel", placed: bool = True) -> Accepted:
    rec = record.build(
        probe,
        loc={"lat": 22.15, "lon": 105.83, "env": "outdoor_fixed"} if placed else None,
        net={"service": i % 9 != 0, "mcc": 452, "mnc": 4, "tech": "LTE", "op": op},
        sig={"rsrp_dbm": -80 - i % 40},
        lat={"rtt_ms_p50": 20.0 + i % 13},
        dl={"mbps": 5.0 + i % 90} if i % 3 == 0 else None,
        access={"ok": i % 7 != 0, "dur_s": 0.5},
        when=START + timedelta(seconds=25 * i),  # crosses hours; gaps under and over 30 s
    )
    payload = record.encode(record.sign(rec, KEY))
    outcome = check(record.topic_for(probe), payload, lambda _: ProbeKey(KEY.public_key()),
                    datetime.now(UTC))  # fmt: skip
    assert isinstance(outcome, Accepted)
    return outcome


def stored_rollups(conn: psycopg.Connection) -> list[dict]:
    cur = conn.cursor(row_factory=dict_row)
    return cur.execute(
        f"SELECT {', '.join(COLUMNS)} FROM rollups ORDER BY 1, 2, 3, 4, 5, 6"
    ).fetchall()


def assert_same(stored: list[dict], expected: list[Rollup]) -> None:
    assert len(stored) == len(expected)
    for got, want in zip(stored, (r.as_row() for r in expected), strict=True):
        for column in COLUMNS:
            if isinstance(want[column], float):
                assert got[column] == pytest.approx(want[column]), column
            else:
                assert got[column] == want[column], column


def test_batches_with_redeliveries_roll_up_like_a_rebuild(db_dsn):
    items = [accepted("st-01", i) for i in range(600)] + [
        accepted("st-02", i, op="MobiFone") for i in range(0, 600, 2)
    ]
    items.sort(key=lambda a: a.time)
    # A record without location, before the first sample, in the same batch: no
    # cell, so no rollup, and not the "previous sample" of the one after it.
    unplaced = accepted("st-01", -1, placed=False)
    batches = [[unplaced, *items[:250]], items[200:640], items[640:], items[100:130]]
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        results = [store.write_batch(conn, batch, []) for batch in batches]
        assert sum(r.inserted for r in results) == len(items) + 1
        assert sum(r.duplicates for r in results) == 50 + 30  # overlaps: redelivery
        raw = (
            conn.cursor(row_factory=dict_row)
            .execute("SELECT * FROM records WHERE h3 IS NOT NULL")
            .fetchall()
        )
        rebuilt = build_rollups(Sample.from_dict(r) for r in raw)
        assert_same(stored_rollups(conn), rebuilt)
    assert sum(r.records for r in rebuilt) == len(items)
    assert sum(sum(r.gap_hist) for r in rebuilt) == len(items) - 2  # all but each device's first


def test_upsert_adds_every_column_and_marks_the_row_changed(db_dsn):
    samples = [Sample.from_dict(columns_of(accepted("st-03", i))) for i in range(200)]
    rollups = build_rollups(samples)
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        with conn.transaction(), conn.cursor() as cur:
            upsert_rollups(cur, rollups)
        first = conn.execute("SELECT max(updated_at) FROM rollups").fetchone()[0]
        time.sleep(0.01)
        with conn.transaction(), conn.cursor() as cur:
            upsert_rollups(cur, rollups)
        assert_same(stored_rollups(conn), [r.merged(r) for r in rollups])
        assert conn.execute("SELECT min(updated_at) FROM rollups").fetchone()[0] > first
