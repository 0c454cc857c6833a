"""Ingest against a real Mosquitto and a real PostgreSQL+TimescaleDB."""

import httpx
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from giamsat.contract import record
from giamsat.contract.record import public_key_b64
from tests.support.processes import make_token, publish, run_cli, wait_until

TOPIC = "giamsat/v1/probes/{}/records"


def make(key, probe="bk-01", **sections):
    rec = record.build(
        probe,
        loc={"lat": 22.15, "lon": 105.83, "env": "outdoor_fixed"},
        net={"service": True, "mcc": 452, "mnc": 4, "tech": "LTE", "op": "Viettel"},
        **sections,
    )
    return record.sign(rec, key)


def count(dsn, sql):
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchone()[0]


def test_records_stored_once_and_forgeries_dead_lettered(aggregator, broker, db_dsn):
    key = Ed25519PrivateKey.generate()
    run_cli("giamsat", "probes", "add", "bk-01", "--pubkey", public_key_b64(key),
            "--config", str(aggregator.config))  # fmt: skip
    good = [make(key, sig={"rsrp_dbm": -100 + i}) for i in range(5)]
    payloads = [record.encode(r) for r in good]
    forged = make(Ed25519PrivateKey.generate(), sig={"rsrp_dbm": -60})
    publish(broker, TOPIC.format("bk-01"), [*payloads, payloads[0], record.encode(forged)])
    publish(broker, TOPIC.format("bk-01"), payloads[:2])  # redelivered later: still once

    assert wait_until(lambda: count(db_dsn, "SELECT count(*) FROM deadletter") == 1)
    assert wait_until(lambda: count(db_dsn, "SELECT count(*) FROM records") == 5)
    inspector = make_token(aggregator.config, "inspector")
    api = httpx.get(
        f"{aggregator.url}/api/v1/records", params={"probe": "bk-01"}, headers=inspector
    ).json()
    assert sorted(r["id"] for r in api) == sorted(r["id"] for r in good)
    by_id = {r["id"]: r for r in api}
    for r in good:
        assert by_id[r["id"]] == r  # values and signature exactly as signed
    with psycopg.connect(db_dsn) as conn:
        reason, payload = conn.execute("SELECT reason, payload FROM deadletter").fetchone()
        hyper = conn.execute(
            "SELECT hypertable_name FROM timescaledb_information.hypertables"
        ).fetchall()
    assert reason == "bad_signature"
    assert bytes(payload) == record.encode(forged)
    assert ("records",) in hyper
    listed = run_cli("giamsat", "deadletter", "list", "--config", str(aggregator.config))
    assert "bad_signature" in listed.stdout


def test_records_of_unregistered_probe_are_dead_lettered(aggregator, broker, db_dsn):
    stranger = make(Ed25519PrivateKey.generate(), probe="nobody")
    publish(broker, TOPIC.format("nobody"), [record.encode(stranger), b"{broken"])
    assert wait_until(lambda: count(db_dsn, "SELECT count(*) FROM deadletter") == 2)
    with psycopg.connect(db_dsn) as conn:
        reasons = sorted(r[0] for r in conn.execute("SELECT reason FROM deadletter"))
    assert reasons == ["malformed_json", "unknown_probe"]
    assert count(db_dsn, "SELECT count(*) FROM records") == 0


def test_api_filters_and_rejects_bad_queries(aggregator, broker, db_dsn):
    key = Ed25519PrivateKey.generate()
    run_cli("giamsat", "probes", "add", "bk-02", "--pubkey", public_key_b64(key),
            "--config", str(aggregator.config))  # fmt: skip
    recs = [make(key, probe="bk-02") for _ in range(3)]
    publish(broker, TOPIC.format("bk-02"), [record.encode(r) for r in recs])
    assert wait_until(lambda: count(db_dsn, "SELECT count(*) FROM records") == 3)
    h = make_token(aggregator.config, "inspector")
    url = f"{aggregator.url}/api/v1/records"
    limited = httpx.get(url, params={"limit": 2}, headers=h).json()
    assert len(limited) == 2
    assert httpx.get(url, params={"probe": "x y"}, headers=h).status_code == 422
    naive = httpx.get(url, params={"since": "2026-01-01T00:00:00"}, headers=h)
    assert naive.status_code == 422
    probes = httpx.get(f"{aggregator.url}/api/v1/probes", headers=h).json()
    assert probes[0]["id"] == "bk-02" and probes[0]["last_record"] is not None


def test_rollups_match_a_rebuild_from_stored_records(aggregator, broker, db_dsn):
    from giamsat.aggregator.aggregates.rollup import COLUMNS, build_rollups
    from giamsat.aggregator.aggregates.samples import Sample

    key = Ed25519PrivateKey.generate()
    run_cli("giamsat", "probes", "add", "bk-03", "--pubkey", public_key_b64(key),
            "--config", str(aggregator.config))  # fmt: skip
    recs = [
        make(key, probe="bk-03", sig={"rsrp_dbm": -80 - i}, dl={"mbps": 10.0 + i})
        for i in range(30)
    ]
    lost = record.sign(
        record.build("bk-03", loc={"lat": 22.15, "lon": 105.83, "env": "outdoor_fixed"},
                     net={"service": False, "sim_op": "Viettel"}, errors=["no_service"]), key
    )  # fmt: skip
    payloads = [record.encode(r) for r in [*recs, lost]]
    publish(broker, TOPIC.format("bk-03"), payloads[:16])
    publish(broker, TOPIC.format("bk-03"), payloads[10:])  # overlap: redelivered records
    assert wait_until(lambda: count(db_dsn, "SELECT count(*) FROM records") == 31)
    assert wait_until(lambda: count(db_dsn, "SELECT sum(records) FROM rollups") == 31)
    # serve folds the hourly rollups into the daily ones on its own (every second here).
    assert wait_until(lambda: count(db_dsn, "SELECT sum(records) FROM rollups_daily") == 31)
    with psycopg.connect(db_dsn) as conn:
        cur = conn.cursor(row_factory=psycopg.rows.dict_row)
        stored = cur.execute(
            f"SELECT {', '.join(COLUMNS)} FROM rollups ORDER BY 1,2,3,4,5,6"
        ).fetchall()
        raw = cur.execute("SELECT * FROM records").fetchall()
    rebuilt = [r.as_row() for r in build_rollups(Sample.from_dict(r) for r in raw)]
    assert len(stored) == len(rebuilt) >= 2  # a 'none' row for the no-service record
    for got, want in zip(stored, rebuilt, strict=True):
        assert {k: got[k] for k in ("op", "tech", "records", "no_service", "dl_mbps_n")} == {
            k: want[k] for k in ("op", "tech", "records", "no_service", "dl_mbps_n")
        }
        assert got["rsrp_dbm_hist"] == want["rsrp_dbm_hist"]
        assert got["dl_mbps_sum"] == pytest.approx(want["dl_mbps_sum"])
        assert got["gap_hist"] == want["gap_hist"]
    assert {r["op"] for r in stored} == {"Viettel"}
