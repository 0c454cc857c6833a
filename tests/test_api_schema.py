"""Schemathesis against the running aggregator's own OpenAPI schema: no input gives a 5xx.

Every operation the schema lists is called with generated valid and invalid
requests, as an admin (so the handlers run, rather than stopping at 401/403),
against a database holding real signed records. A client mistake must be
answered 4xx; a 5xx is a server bug. The run is bounded per operation.
"""

from __future__ import annotations

import copy
import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, settings

from demo.services import Mosquitto, Postgres, free_port
from giamsat.aggregator import settings as aggregator_settings
from giamsat.aggregator.http.app import create_app
from giamsat.aggregator.store import db, probes
from giamsat.contract import record
from giamsat.contract.record import public_key_b64
from tests.support.processes import (
    Aggregator,
    make_token,
    publish,
    service_dir,
    wait_until,
    write_aggregator_config,
)

PROBE = "schema-01"
# The speed server streams what it is asked for, up to 1 GiB: enough to test it.
MAX_DOWNLOAD = 1_000_000


@pytest.fixture(scope="module")
def running(pg_server: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Aggregator]:
    """One aggregator for the whole module, over a database with a day of records."""
    tmp = tmp_path_factory.mktemp("schema")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = pg_server.dsn.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    dsn = pg_server.dsn.rsplit("/", 1)[0] + f"/{name}"
    key = Ed25519PrivateKey.generate()
    with psycopg.connect(dsn, autocommit=True) as conn:
        db.migrate(conn)
        probes.add(conn, PROBE, public_key_b64(key))
    directory = service_dir("giamsat-mqtt-schema-")
    broker = Mosquitto(directory)
    broker.start()
    port = free_port()
    config = write_aggregator_config(tmp / "aggregator.toml", dsn, broker, port)
    # Evidence signing keys and the open-data pseudonym key go to this run's directory.
    config.write_text(config.read_text() + f'\n[state]\ndir = "{tmp / "state"}"\n')
    aggregator = Aggregator(config, port, tmp / "aggregator.log")
    try:
        aggregator.start()
        recs = [record.encode(record.sign(_record(i), key)) for i in range(60)]
        publish(broker, record.topic_for(PROBE), recs)
        with psycopg.connect(dsn) as conn:

            def stored() -> bool:
                return conn.execute("SELECT count(*) FROM records").fetchone()[0] == len(recs)

            assert wait_until(stored, timeout=30)
        yield aggregator
    finally:
        aggregator.stop()
        broker.stop()
        shutil.rmtree(directory, ignore_errors=True)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _record(i: int) -> dict:  # type: ignore[type-arg]
    return record.build(
        PROBE,
        loc={"lat": 22.147 + i * 0.001, "lon": 105.835, "env": "outdoor_fixed"},
        net={"service": i % 10 != 0, "mcc": 452, "mnc": 4, "tech": "LTE", "op": "Viettel"},
        sig={"rsrp_dbm": -80 - i} if i % 10 else None,
        lat={"n": 5, "rtt_ms_p50": 30.0 + i, "jitter_ms": 2.0, "loss_pct": 0.0},
        dl={"mbps": 10.0 + i, "bytes": 10_000_000, "dur_s": 4.0, "streams": 4},
        ul={"mbps": 5.0 + i / 2, "bytes": 5_000_000, "dur_s": 4.0, "streams": 4},
        access={"ok": True, "dur_s": 0.3},
    )


@pytest.fixture(scope="module")
def admin(running: Aggregator) -> dict[str, str]:
    return make_token(running.config, "admin")


# The schema the code declares, read at collection so that each operation is
# its own test; the first test checks the running server serves the same one.
SPEC = create_app(aggregator_settings.load(None)).openapi()
schema = schemathesis.openapi.from_dict(copy.deepcopy(SPEC))  # it adapts what it is given


def test_the_running_server_serves_this_schema(running: Aggregator) -> None:
    served = httpx.get(f"{running.url}/openapi.json").json()["paths"]
    declared = json.loads(json.dumps(SPEC))["paths"]
    differ = sorted(p for p in served.keys() | declared.keys() if served.get(p) != declared.get(p))
    assert not differ
    assert len(served) >= 20


def test_inputs_the_fuzzer_found_are_refused_not_a_server_error(
    running: Aggregator, admin: dict[str, str]
) -> None:
    """Each of these once answered 500: a NUL (PostgreSQL text cannot hold one), an
    area id that made ``h3.is_valid_cell`` raise instead of saying no, or a period
    at the end of the calendar, whose bounds in UTC do not exist."""
    std, period = "QCVN-126:2021/BTTTT", "from=2026-01-01&to=2026-02-01"
    requests = [
        ("POST", "/api/v1/tokens", {"name": "ops\x00", "role": "viewer"}),
        ("POST", "/api/v1/probes", {"id": "p1", "pubkey": "x", "village": "Pác\x00Nặm"}),
        ("DELETE", "/api/v1/tokens/ops%00", None),
        ("DELETE", "/api/v1/probes/p%001", None),
        ("GET", f"/api/v1/evidence?standard={std}&operator=Viettel&{period}&area=a%00", None),
        ("GET", f"/api/v1/compliance?standard={std}&operator=Viettel&area=a%00", None),
        ("GET", f"/compliance/detail?standard={std}&operator=Viettel&area=a%00", None),
        ("GET", "/map?op=Viettel%00&tech=LTE", None),
        ("GET", "/trends?area=a%00&tech=LTE", None),
        ("GET", "/api/v1/compliance?area=-1", None),
        ("GET", f"/api/v1/evidence?standard={std}&operator=Viettel&{period}&area=-1", None),
        ("GET", "/map?tech=LTE&area=18446744073709551616", None),
        ("GET", "/trends?tech=LTE&area=-1", None),
        ("GET", "/map?from=0001-01-01", None),
        ("GET", "/compliance?to=9999-12-31", None),
        (
            "GET",
            f"/api/v1/evidence?standard={std}&operator=Viettel&from=0001-01-01&to=2026-01-01",
            None,
        ),
    ]
    for method, path, body in requests:
        response = httpx.request(method, running.url + path, json=body, headers=admin)
        assert 400 <= response.status_code < 500, (method, path, response.status_code)
    # A literal "%00" (sent as %2500) is text like any other, not a NUL.
    assert httpx.get(f"{running.url}/map?op=Viettel%2500&tech=LTE", headers=admin).status_code < 500


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_request_makes_the_server_fail(case, admin: dict[str, str], running: Aggregator):  # type: ignore[no-untyped-def]
    if case.path == "/speed/down" and isinstance((case.query or {}).get("bytes"), int):
        case.query["bytes"] = min(case.query["bytes"], MAX_DOWNLOAD)
    response = case.call(base_url=running.url, headers=admin, timeout=30)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} answered {response.status_code}\n"
        f"{case.as_curl_command(headers=admin)}\n{response.text[:1000]}\n"
        + Path(running.log).read_text()[-3000:]
    )
