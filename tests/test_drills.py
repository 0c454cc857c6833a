"""Fault drills: a known set of records goes in, exactly that set must come out.

Each drill publishes signed records, breaks something real (SIGKILL, a
database restart, a second worker), and then asserts that the records table
holds every id exactly once.
"""

import signal
import uuid

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from demo.services import free_port
from giamsat.contract import record
from giamsat.contract.record import public_key_b64
from tests.support.processes import (
    Aggregator,
    publish,
    run_cli,
    wait_until,
    write_aggregator_config,
)


def signed_records(key, probe, n):
    out = []
    for i in range(n):
        rec = record.build(
            probe,
            loc={"lat": 22.15, "lon": 105.83, "env": "outdoor_fixed"},
            net={"service": True, "mcc": 452, "mnc": 4, "tech": "LTE", "op": "Viettel"},
            sig={"rsrp_dbm": -90 - i % 30},
            dl={"mbps": 20.0 + i % 7, "bytes": 1_000_000, "dur_s": 1.0, "streams": 4},
        )
        out.append(record.sign(rec, key))
    return out


def stored_ids(dsn):
    with psycopg.connect(dsn) as conn:
        return [str(r[0]) for r in conn.execute("SELECT id FROM records")]


def assert_exactly(dsn, expected, timeout=60):
    want = sorted(r["id"] for r in expected)
    wait_until(lambda: len(stored_ids(dsn)) >= len(want), timeout=timeout)
    got = stored_ids(dsn)
    assert len(got) == len(set(got)), "a record was stored twice"
    assert sorted(got) == want, (
        f"{len(set(want) - set(got))} lost, {len(set(got) - set(want))} extra"
    )


@pytest.fixture
def probe_key(aggregator):
    key = Ed25519PrivateKey.generate()
    run_cli("giamsat", "probes", "add", "drill-01", "--pubkey", public_key_b64(key),
            "--no-broker-account", "--config", str(aggregator.config))  # fmt: skip
    return key


def slow_aggregator(tmp_path, db_dsn, broker, name="slow"):
    """An aggregator taking small batches, so a drill can strike in the middle of ingest."""
    port = free_port()
    config = write_aggregator_config(tmp_path / f"{name}.toml", db_dsn, broker, port)
    text = config.read_text().replace("batch_ms = 50", "batch_ms = 50\nbatch_size = 20")
    config.write_text(text.replace('client_id = "ingest-', f'client_id = "{name}-'))
    return Aggregator(config, port, tmp_path / f"{name}.log")


def test_aggregator_killed_mid_batch_then_restarted(
    aggregator, broker, db_dsn, probe_key, tmp_path
):
    aggregator.stop()
    agg = slow_aggregator(tmp_path, db_dsn, broker)
    agg.start()
    recs = signed_records(probe_key, "drill-01", 2000)
    publish(broker, "giamsat/v1/probes/drill-01/records", [record.encode(r) for r in recs])
    assert wait_until(lambda: len(stored_ids(db_dsn)) > 0, timeout=30, interval=0.01)
    agg.stop(signal.SIGKILL)
    assert len(stored_ids(db_dsn)) < 2000, "ingest finished before the kill; drill proves nothing"
    agg.start()
    assert_exactly(db_dsn, recs)
    agg.stop()


def test_database_restarted_during_ingest(
    aggregator, broker, db_dsn, probe_key, pg_server, tmp_path
):
    aggregator.stop()
    agg = slow_aggregator(tmp_path, db_dsn, broker)
    agg.start()
    recs = signed_records(probe_key, "drill-01", 1500)
    publish(broker, "giamsat/v1/probes/drill-01/records", [record.encode(r) for r in recs])
    assert wait_until(lambda: len(stored_ids(db_dsn)) > 0, timeout=30, interval=0.01)
    pg_server.stop(mode="immediate")  # a crash, not a polite shutdown
    pg_server.start()
    assert_exactly(db_dsn, recs, timeout=120)
    agg.stop()


def test_two_workers_share_the_subscription(aggregator, broker, db_dsn, probe_key, tmp_path):
    second = slow_aggregator(tmp_path, db_dsn, broker, name="second")
    second.start()
    recs = signed_records(probe_key, "drill-01", 1000)
    publish(broker, "giamsat/v1/probes/drill-01/records", [record.encode(r) for r in recs])
    assert_exactly(db_dsn, recs)
    # Both workers did part of the work: the subscription is shared, not duplicated.
    for agg in (aggregator, second):
        metrics = __import__("httpx").get(f"{agg.url}/metrics").text
        ingested = int(next(
            line.split()[1] for line in metrics.splitlines()
            if line.startswith("giamsat_records_ingested_total")
        ))  # fmt: skip
        assert 0 < ingested < 1000
    second.stop()


def test_redelivered_duplicates_from_many_publishers(aggregator, broker, db_dsn, probe_key):
    recs = signed_records(probe_key, "drill-01", 300)
    payloads = [record.encode(r) for r in recs]
    for _ in range(3):
        publish(broker, "giamsat/v1/probes/drill-01/records", payloads, client_id=uuid.uuid4().hex)
    assert_exactly(db_dsn, recs)
