"""5G judged on 5G: real NR-NSA captures stored through ingest are judged on their NR leg.

Each capture is parsed by its source's parser, made into a signed record,
checked by ingest and stored in a real TimescaleDB; the stored columns, the
compliance sample (from the database row and from the record, as the offline
verifier builds it) and the hourly rollup must all carry the NR leg's SS-RSRP,
never the LTE anchor's. Migration 009 is checked to put stored NR-NSA records
and their rollups where ingest now puts them.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from psycopg.rows import dict_row

from demo.services import Postgres
from giamsat.agent.signal import SignalReading, mmcli, quectel, termux
from giamsat.aggregator.aggregates.histogram import RSRP_EDGES_DBM, bin_index
from giamsat.aggregator.aggregates.rollup import COLUMNS, Rollup, build_rollups
from giamsat.aggregator.aggregates.samples import Sample
from giamsat.aggregator.compliance.coverage import load_coverage
from giamsat.aggregator.evidence.records import CSV_COLUMNS, csv_row, record_columns
from giamsat.aggregator.ingest.validate import check
from giamsat.aggregator.store import db
from giamsat.aggregator.store import records as store
from giamsat.aggregator.store.columns import columns_of
from giamsat.aggregator.store.daily import refresh_daily
from giamsat.aggregator.store.rollups import upsert_rollups
from giamsat.aggregator.store.values import Accepted, ProbeKey, Rejected
from giamsat.contract import record

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "signal"
KEY = Ed25519PrivateKey.generate()
START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=6)
NR_COLUMNS = ("nr_rsrp_dbm", "nr_rsrq_db", "nr_sinr_db")


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


# (capture, its parser, the technology, the level the sample is judged on, the LTE anchor's).
# quectel-qeng-6 and mmcli-signal-1 are copies of ../shared/samples.
CAPTURES: list[tuple[str, Callable[[], SignalReading], str, float | None, float | None]] = [
    # Only the LTE line of an NSA reply: nothing says 5G, so it is an LTE sample.
    ("quectel-qeng-6", lambda: quectel.parse(fixture("quectel-qeng-6.txt")), "LTE", -75, -75),
    ("quectel-nsa-rm500q", lambda: quectel.parse(fixture("quectel-qeng-nsa-rm500q.txt")),
     "NR-NSA", -89, -93),
    ("quectel-nsa-mmcli", lambda: quectel.parse(fixture("quectel-qeng-nsa-mmcli.txt")),
     "NR-NSA", -97, -95),
    ("quectel-nsa-tenths", lambda: quectel.parse(fixture("quectel-qeng-nsa-sinr-tenths.txt")),
     "NR-NSA", -75, -70),
    # A 5G section with only SS-RSRQ: an NSA sample with service and no SS-RSRP.
    ("mmcli-signal-1", lambda: mmcli.parse(fixture("mmcli-signal-1.json")), "NR-NSA", None, -104),
    ("mmcli-nsa", lambda: mmcli.parse(fixture("mmcli-status-nsa.txt"),
     fixture("mmcli-signal-nsa.txt"), fixture("mmcli-location-nsa.txt")), "NR-NSA", -89, -93),
    ("termux-capture-nsa", lambda: termux.parse_capture(fixture("termux-capture-nsa.txt")),
     "NR-NSA", -89, -93),
    ("termux-cellinfo-nsa", lambda: termux.parse(fixture("termux-cellinfo-nsa.json")),
     "NR-NSA", -89, -93),
    # Standalone NR: sig itself is the NR cell, SS-RSRP in rsrp_dbm.
    ("termux-nr-sa", lambda: termux.parse(fixture("termux-cellinfo-nr-sa.json")), "NR-SA",
     None, None),
]  # fmt: skip


def accept(payload: bytes, probe: str) -> Accepted | Rejected:
    keys = {probe: ProbeKey(KEY.public_key())}
    return check(record.topic_for(probe), payload, keys.get, datetime.now(UTC))


def signed(probe: str, net: dict[str, Any], sig: dict[str, Any] | None, when: datetime) -> bytes:
    rec = record.build(
        probe,
        loc={"lat": 22.15, "lon": 105.83, "env": "outdoor_fixed"},
        net=net,
        sig=sig,
        when=when,
    )
    return record.encode(record.sign(rec, KEY))


def test_captures_store_and_roll_up_the_nr_leg(db_dsn: str) -> None:
    accepted: dict[str, Accepted] = {}
    readings: dict[str, SignalReading] = {}
    for i, (name, read, tech, _, _) in enumerate(CAPTURES):
        reading = readings[name] = read()
        assert reading.net.get("tech") == tech, name
        outcome = accept(signed(name, reading.net, reading.sig, START + timedelta(minutes=i)), name)
        assert isinstance(outcome, Accepted), (name, outcome)
        accepted[name] = outcome
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        result = store.write_batch(conn, list(accepted.values()), [])
        assert result.inserted == len(CAPTURES)
        cur = conn.cursor(row_factory=dict_row)
        rows = {r["probe"]: r for r in cur.execute("SELECT * FROM records").fetchall()}
        rollups = {
            r["probe"]: Rollup.from_row(r)
            for r in cur.execute(f"SELECT {', '.join(COLUMNS)} FROM rollups").fetchall()
        }
    nr_rule = load_coverage(ROOT / "config" / "standards" / "coverage.toml").rules["NR"]
    for name, _, tech, level, anchor in CAPTURES:
        sig = readings[name].sig or {}
        row, rollup = rows[name], rollups[name]
        if tech == "NR-SA":
            level = anchor = sig["rsrp_dbm"]  # the NR cell is the serving cell
        # The stored columns keep both legs, exactly as sent.
        assert row["rsrp_dbm"] == anchor, name
        for column in NR_COLUMNS:
            assert row[column] == sig.get(column), (name, column)
        # One sample, whether built from the database row or, as the offline
        # verifier builds it, from the signed record.
        from_db = Sample.from_dict(row)
        from_record = Sample.from_dict(record_columns(accepted[name]))
        assert from_db == from_record, name
        assert from_db.rsrp_dbm == level and from_db.service is True, name
        # The rollup the compliance engine and the maps read.
        assert (rollup.records, rollup.no_service, rollup.tech) == (1, 0, tech), name
        if level is None:
            # No SS-RSRP measured: in the rollup it is records - no_service - rsrp_n.
            assert rollup.rsrp_dbm.n == 0 and sum(rollup.rsrp_dbm.hist) == 0, name
            assert rollup.records - rollup.no_service - rollup.rsrp_dbm.n == 1, name
        else:
            assert (rollup.rsrp_dbm.n, rollup.rsrp_dbm.sum) == (1, level), name
            assert rollup.rsrp_dbm.hist[bin_index(RSRP_EDGES_DBM, level)] == 1, name
        if tech.startswith("NR"):
            assert nr_rule.classify(from_db.service, from_db.rsrp_dbm) == (
                None if level is None else "covered"
            ), name
    # The tenths firmware's SINR arrives in dB.
    assert rows["quectel-nsa-tenths"]["nr_sinr_db"] == 18


def test_evidence_csv_shows_the_nr_leg() -> None:
    reading = quectel.parse(fixture("quectel-qeng-nsa-rm500q.txt"))
    outcome = accept(signed("csv-01", reading.net, reading.sig, START), "csv-01")
    assert isinstance(outcome, Accepted)
    row = dict(zip(CSV_COLUMNS, csv_row(1, outcome, record_columns(outcome)), strict=True))
    assert (row["rsrp_dbm"], row["nr_rsrp_dbm"], row["nr_rsrq_db"], row["nr_sinr_db"]) == (
        "-93",
        "-89",
        "-11",
        "15",
    )


def test_out_of_range_nr_leg_is_dead_lettered(db_dsn: str) -> None:
    net = {"service": True, "mcc": 452, "mnc": 2, "tech": "NR-NSA", "op": "VinaPhone"}
    payload = signed("dl-01", net, {"rsrp_dbm": -93, "nr_rsrp_dbm": -20}, START)
    outcome = accept(payload, "dl-01")
    assert isinstance(outcome, Rejected) and outcome.reason == "out_of_range"
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        assert store.write_batch(conn, [], [outcome]).deadlettered == 1
        stored = conn.execute("SELECT reason, detail, payload FROM deadletter").fetchall()
        assert conn.execute("SELECT count(*) FROM records").fetchone() == (0,)
    assert stored == [("out_of_range", "sig.nr_rsrp_dbm=-20 is outside [-156, -31]", payload)]


# --- migration 009 on records stored before it -------------------------------------------


@pytest.fixture
def dsn_before_009(pg_server: Postgres) -> Iterator[str]:
    """A database with every migration but 009 (later ones too), recorded as applied."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = pg_server.dsn.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    dsn = pg_server.dsn.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (version int PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for number, path in db.migration_files():
            if number == 9:
                continue
            with conn.transaction():
                conn.execute(path.read_text())
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (number, path.name),
                )
    yield dsn
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def old_record(i: int, probe: str, tech: str, service: bool, sig: dict[str, Any]) -> Accepted:
    """A record as ingest accepted it before 009: the NR leg was not range-checked then."""
    net = {"service": service, "mcc": 452, "mnc": 4, "tech": tech, "op": "Viettel"}
    when = START + timedelta(minutes=7 * i + (3 if tech == "LTE" else 0))
    raw = signed(probe, net, sig, when)
    return Accepted(json.loads(raw), raw, when)


def old_records() -> list[Accepted]:
    """NR-NSA records with NR legs on and off the histogram's edges, without one, with one
    out of range, without service; LTE records beside them in the same hours."""
    legs: list[dict[str, Any]] = [
        {"nr_rsrp_dbm": -89, "nr_rsrq_db": -11, "nr_sinr_db": 15},
        {"nr_rsrp_dbm": -110},  # exactly a coverage edge
        {"nr_rsrp_dbm": -97.25, "nr_sinr_db": 180},  # SINR in tenths: no measurement
        {"nr_rsrp_dbm": -140.5},  # below the first edge
        {"nr_rsrp_dbm": -43.5},  # above the last edge
        {"nr_rsrq_db": -14},  # no SS-RSRP
        {"nr_rsrp_dbm": -32768},  # a modem's "unknown", refused since
        {},
    ]
    out = []
    for i in range(48):
        probe = ("nsa-01", "nsa-02")[i % 2]
        sig = {"rsrp_dbm": -80 - i % 17, **legs[i % len(legs)]}
        out.append(old_record(i, probe, "NR-NSA", i % 11 != 5, sig))
        out.append(old_record(i, probe, "LTE", True, {"rsrp_dbm": -95 - i % 7}))
    return out


LTE_ROWS = (
    "SELECT hour, probe, rsrp_dbm_hist, updated_at FROM rollups WHERE tech = 'LTE' ORDER BY 1, 2"
)


def test_migration_009_backfills_the_nr_leg_and_corrects_rollups(dsn_before_009: str) -> None:
    items = old_records()
    with psycopg.connect(dsn_before_009, autocommit=True) as conn:
        # Stored as before 009: records without NR columns, samples on the anchor.
        old = []
        for item in items:
            columns = {k: v for k, v in columns_of(item).items() if k not in NR_COLUMNS}
            conn.execute(
                f"INSERT INTO records ({', '.join(columns)}) VALUES"
                f" ({', '.join(['%s'] * len(columns))})",
                list(columns.values()),
            )
            sample = Sample.from_dict(columns)
            old.append(dataclasses.replace(sample, rsrp_dbm=columns["rsrp_dbm"]))
        with conn.transaction(), conn.cursor() as tuples:
            upsert_rollups(tuples, build_rollups(old))
        refresh_daily(conn)
        lte_before = conn.execute(LTE_ROWS).fetchall()

        assert db.migrate(conn) == ["009_nr_leg.sql"]

        cur = conn.cursor(row_factory=dict_row)
        stored = cur.execute("SELECT * FROM records WHERE h3 IS NOT NULL").fetchall()
        by_id = {str(r["id"]): r for r in stored}
        for item in items:
            row, sig = by_id[item.record["id"]], item.record["sig"]
            for column, (low, high) in zip(
                NR_COLUMNS, ((-156, -31), (-43, 20), (-23, 40)), strict=True
            ):
                value = sig.get(column)
                in_range = value is not None and low <= value <= high
                assert row[column] == (value if in_range else None), column
        # The rollups are now what ingest builds from these records today.
        expected = [r.as_row() for r in build_rollups(Sample.from_dict(r) for r in stored)]
        got = cur.execute(f"SELECT {', '.join(COLUMNS)} FROM rollups ORDER BY 1, 2, 3, 4, 5, 6")
        got_rows = got.fetchall()
        assert len(got_rows) == len(expected)
        assert [r.as_row() for r in build_rollups(old)] != expected  # there was something to do
        for have, want in zip(got_rows, expected, strict=True):
            for column in COLUMNS:
                if column.endswith("_sumsq"):
                    assert have[column] == pytest.approx(want[column], abs=1e-6), column
                else:
                    assert have[column] == want[column], column  # sums exactly
        nsa = [r for r in expected if r["tech"] == "NR-NSA"]
        assert sum(r["rsrp_dbm_n"] for r in nsa) > 0
        assert sum(r["records"] - r["no_service"] - r["rsrp_dbm_n"] for r in nsa) > 0
        # LTE rows are untouched; the corrected days are rebuilt by the next refresh.
        assert conn.execute(LTE_ROWS).fetchall() == lte_before
        assert refresh_daily(conn) > 0
        both = conn.execute(
            "SELECT (SELECT sum(rsrp_dbm_n) FROM rollups WHERE tech = 'NR-NSA'),"
            " (SELECT sum(rsrp_dbm_n) FROM rollups_daily WHERE tech = 'NR-NSA')"
        ).fetchone()
        assert both == (sum(r["rsrp_dbm_n"] for r in nsa),) * 2
