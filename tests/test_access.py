"""Access control: API roles and the audit log; broker accounts and ACL."""

import shutil
import uuid

import httpx
import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from demo.services import Mosquitto
from giamsat.aggregator.ingest import broker as broker_files
from tests.support.processes import make_token, run_cli, service_dir, wait_until


def test_each_role_is_refused_what_it_may_not_see(aggregator, db_dsn):
    url = aggregator.url
    viewer = make_token(aggregator.config, "viewer")
    inspector = make_token(aggregator.config, "inspector")
    admin = make_token(aggregator.config, "admin")

    assert httpx.get(f"{url}/api/v1/records").status_code == 401
    assert (
        httpx.get(f"{url}/api/v1/records", headers={"Authorization": "Bearer gs_nope"}).status_code
        == 401
    )
    assert httpx.get(f"{url}/api/v1/records", headers=viewer).status_code == 403
    assert httpx.get(f"{url}/api/v1/probes", headers=viewer).status_code == 200
    assert httpx.get(f"{url}/api/v1/records", headers=inspector).status_code == 200
    assert httpx.get(f"{url}/api/v1/tokens", headers=inspector).status_code == 403
    body = {"name": "ops-2", "role": "viewer"}
    assert httpx.post(f"{url}/api/v1/tokens", json=body, headers=inspector).status_code == 403
    created = httpx.post(f"{url}/api/v1/tokens", json=body, headers=admin)
    assert created.status_code == 201
    new = {"Authorization": f"Bearer {created.json()['token']}"}
    assert httpx.get(f"{url}/api/v1/probes", headers=new).status_code == 200
    assert httpx.delete(f"{url}/api/v1/tokens/ops-2", headers=admin).status_code == 200
    assert httpx.get(f"{url}/api/v1/probes", headers=new).status_code == 401
    assert httpx.get(f"{url}/healthz").status_code == 200

    with psycopg.connect(db_dsn) as conn:
        actions = [r[0] for r in conn.execute("SELECT action FROM audit_log ORDER BY id")]
        stored = conn.execute("SELECT token_hash FROM api_tokens").fetchall()
    assert actions.count("records.download") == 1
    assert "tokens.create" in actions and "tokens.revoke" in actions
    assert all(created.json()["token"] not in row[0] for row in stored)  # only digests


def _connect(port, username, password):
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"c-{uuid.uuid4().hex[:6]}", protocol=mqtt.MQTTv5
    )
    if username:
        client.username_pw_set(username, password)
    result = {}
    client.on_connect = lambda c, u, f, rc, p: result.setdefault("rc", rc)
    client.connect("127.0.0.1", port)
    client.loop_start()
    wait_until(lambda: "rc" in result, timeout=5)
    return client, result.get("rc")


@pytest.fixture
def secured_broker(db_dsn):
    directory = service_dir("giamsat-acl-")
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        passwords = {
            "bk-01": broker_files.add_account(conn, "bk-01", "probe"),
            "bk-02": broker_files.add_account(conn, "bk-02", "probe"),
            "ingest": broker_files.add_account(conn, "ingest", "ingest"),
        }
        files = broker_files.write_files(conn, directory / "conf")
    server = Mosquitto(directory, password_file=files["passwd"], acl_file=files["acl"])
    server.start()
    yield server, passwords
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


def test_probe_may_publish_only_under_its_own_id(secured_broker):
    server, pw = secured_broker
    received = []
    reader, rc = _connect(server.port, "ingest", pw["ingest"])
    assert not rc.is_failure
    reader.on_message = lambda c, u, m: received.append(m.topic)
    reader.subscribe("$share/ingest/giamsat/v1/probes/+/records", qos=1)
    probe, rc = _connect(server.port, "bk-01", pw["bk-01"])
    assert not rc.is_failure
    own = probe.publish("giamsat/v1/probes/bk-01/records", b"{}", qos=1)
    other = probe.publish("giamsat/v1/probes/bk-02/records", b"{}", qos=1)
    own.wait_for_publish(5)
    other.wait_for_publish(5)
    assert wait_until(lambda: received == ["giamsat/v1/probes/bk-01/records"], timeout=5)
    assert received == ["giamsat/v1/probes/bk-01/records"]  # the forged topic never arrives
    for c in (probe, reader):
        c.disconnect()
        c.loop_stop()


def test_wrong_password_and_anonymous_are_refused(secured_broker):
    server, pw = secured_broker
    for user, password in (("bk-01", "guess"), ("", None), ("bk-01", pw["bk-02"])):
        client, rc = _connect(server.port, user, password)
        assert rc is not None and rc.is_failure
        client.loop_stop()


def test_cli_registration_creates_broker_account(aggregator, tmp_path):
    from giamsat.agent.identity import load_or_create
    from giamsat.contract.record import public_key_b64

    key = public_key_b64(load_or_create(tmp_path / "probe"))
    secret = tmp_path / "pw"
    out = run_cli("giamsat", "probes", "add", "bk-09", "--pubkey", key,
                  "--password-file", str(secret), "--config", str(aggregator.config))  # fmt: skip
    assert "password written" in out.stdout and oct(secret.stat().st_mode & 0o777) == "0o600"
    conf = run_cli("giamsat", "broker", "config", "--out", str(tmp_path / "mq"),
                   "--config", str(aggregator.config))  # fmt: skip
    assert "mosquitto.conf" in conf.stdout
    passwd = (tmp_path / "mq" / "passwd").read_text()
    assert passwd.startswith("bk-09:$7$") and secret.read_text().strip() not in passwd
    bad = run_cli("giamsat", "probes", "add", "bad id", "--pubkey", key,
                  "--config", str(aggregator.config), check=False)  # fmt: skip
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "probe id" in bad.stderr


def test_anonymous_metrics_name_no_probe(db_dsn, tmp_path):
    """A probe id says where the regulator measures: only a viewer's token sees them."""
    import time

    from fastapi.testclient import TestClient

    from demo.services import free_port
    from giamsat.aggregator import settings
    from giamsat.aggregator.http.app import create_app
    from giamsat.aggregator.ingest.consumer import IngestStats
    from giamsat.aggregator.store import tokens

    config = tmp_path / "aggregator.toml"
    config.write_text(f'[database]\ndsn = "{db_dsn}"\n[api]\nport = {free_port()}\n')
    stats = IngestStats()
    stats.last_seen["bk-pacnam-01"] = time.time()
    stats.ingested = 7
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        viewer = {"Authorization": "Bearer " + tokens.create_token(conn, "prom", "viewer")}
        company = tokens.create_token(conn, "noc", "operator", "Viettel")
    with TestClient(create_app(settings.load(str(config)), stats)) as client:
        anonymous = client.get("/metrics")
        assert anonymous.status_code == 200
        assert "giamsat_records_ingested_total 7" in anonymous.text
        assert "giamsat_probes_seen 1" in anonymous.text
        assert "bk-pacnam-01" not in anonymous.text and "probe=" not in anonymous.text
        named = client.get("/metrics", headers=viewer).text
        assert 'giamsat_probe_last_seen_seconds{probe="bk-pacnam-01"}' in named
        other = client.get("/metrics", headers={"Authorization": f"Bearer {company}"})
        assert other.status_code == 200 and "bk-pacnam-01" not in other.text
        wrong = client.get("/metrics", headers={"Authorization": "Bearer gs_nope"})
        assert wrong.status_code == 401


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/records?since=0.5", "since"),
        ("/api/v1/records?since=1700000000", "since"),
        ("/api/v1/coverage/gaps?operator=Viettel&technology=4G&from=0&to=20", "from"),
        ("/api/v1/evidence?standard=QCVN-126:2021/BTTTT&operator=Viettel&area=all"
         "&from=1e3&to=2026-10-31", "from"),
    ],
)  # fmt: skip
def test_a_number_is_not_a_date(aggregator, url, field):
    inspector = make_token(aggregator.config, "inspector")
    response = httpx.get(f"{aggregator.url}{url}", headers=inspector)
    assert response.status_code == 422, response.text
    [problem] = [d for d in response.json()["detail"] if d["loc"][-1] == field]
    assert "must be an ISO 8601 date or time" in problem["msg"]
    fine = httpx.get(f"{aggregator.url}/api/v1/records?since=2026-11-22T00:00:00Z",
                     headers=inspector)  # fmt: skip
    assert fine.status_code == 200


def test_an_oversized_payload_never_reaches_ingest(db_dsn):
    """The generated broker config carries ingest's payload limit; the broker enforces it."""
    import re
    import time

    directory = service_dir("giamsat-size-")
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        pw = {
            "bk-01": broker_files.add_account(conn, "bk-01", "probe"),
            "ingest": broker_files.add_account(conn, "ingest", "ingest"),
        }
        files = broker_files.write_files(conn, directory / "conf", message_size_limit=16_384)
    found = re.search(r"^message_size_limit (\d+)$", files["conf"].read_text(), re.M)
    assert found and int(found[1]) == 16_384
    server = Mosquitto(directory, password_file=files["passwd"], acl_file=files["acl"],
                       message_size_limit=int(found[1]))  # fmt: skip
    server.start()
    try:
        received = []
        reader, _ = _connect(server.port, "ingest", pw["ingest"])
        reader.on_message = lambda c, u, m: received.append(len(m.payload))
        reader.subscribe("$share/ingest/giamsat/v1/probes/+/records", qos=1)
        probe, _ = _connect(server.port, "bk-01", pw["bk-01"])
        big = probe.publish("giamsat/v1/probes/bk-01/records", b"x" * 2_000_000, qos=1)
        small = probe.publish("giamsat/v1/probes/bk-01/records", b"{}", qos=1)
        big.wait_for_publish(5)
        small.wait_for_publish(5)
        assert wait_until(lambda: 2 in received, timeout=5), received
        time.sleep(1)  # the big one, were it let through, would have arrived by now
        assert set(received) == {2}
        for c in (probe, reader):
            c.disconnect()
            c.loop_stop()
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def test_a_dead_letter_keeps_a_prefix_its_size_and_hash(db_dsn, tmp_path):
    import hashlib
    import json

    from giamsat.aggregator.store import records
    from giamsat.aggregator.store.values import Rejected

    huge = b'{"id": "x", "padding": "' + b"A" * 2_000_000 + b'"}'
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        records.write_batch(conn, [], [Rejected("too_large", "2 MB", "giamsat/v1/probes/x", huge)])
        row = conn.execute(
            "SELECT payload, payload_bytes, payload_sha256 FROM deadletter ORDER BY id DESC"
        ).fetchone()
    assert row is not None
    assert bytes(row[0]) == huge[: records.DEADLETTER_PREFIX_BYTES]
    assert (row[1], row[2]) == (len(huge), hashlib.sha256(huge).hexdigest())
    config = tmp_path / "aggregator.toml"
    config.write_text(f'[database]\ndsn = "{db_dsn}"\n')
    listed = json.loads(run_cli("giamsat", "deadletter", "list", "--json", "--limit", "1",
                                "--config", str(config)).stdout)  # fmt: skip
    assert listed[0]["payload_bytes"] == len(huge) and listed[0]["truncated"] is True
    assert listed[0]["payload_sha256"] == hashlib.sha256(huge).hexdigest()
