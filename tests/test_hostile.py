"""Hostile payloads through the real broker into a running aggregator.

Hypothesis generates payloads that are each wrong in exactly one way (not
JSON, not an object, a field missing, of the wrong type or out of range, a
forged topic, an unknown or revoked probe, a bad signature, a time in the
future, too large). They are published interleaved with good signed records.
Each must land in the dead-letter table with its reason, and every good
record must be stored exactly once: garbage never blocks the flow.

A failing example costs a wait for a record that never comes, so shrinking is
off; the failure message lists every payload with the reason expected and got.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion

from giamsat.aggregator.store import probes
from giamsat.contract import record
from giamsat.contract.record import public_key_b64
from giamsat.contract.schema import ENVIRONMENTS, FIELDS, SECTIONS, TECHNOLOGIES
from tests.support.processes import wait_until

PROBE, OTHER, REVOKED = "hostile-01", "hostile-02", "hostile-revoked"
KEY, OTHER_KEY, REVOKED_KEY = (Ed25519PrivateKey.generate() for _ in range(3))
REGISTERED = {PROBE, OTHER, REVOKED}
MAX_BYTES = 16_384  # the aggregator's default ingest.max_payload_bytes


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    reason: str | None  # None: a good record that must be stored


def topic(probe: str) -> str:
    return record.topic_for(probe)


def fields(**overrides: Any) -> dict[str, Any]:
    """An unsigned record that passes every check, with top-level keys overridden."""
    rec = record.build(
        PROBE,
        loc={"lat": 22.147, "lon": 105.835, "acc_m": 8, "src": "gps", "env": "outdoor_fixed"},
        net={"service": True, "mcc": 452, "mnc": 4, "tech": "LTE", "op": "Viettel"},
        sig={"rsrp_dbm": -97, "rsrq_db": -11, "sinr_db": 8.5, "pci": 158},
        lat={"n": 5, "rtt_ms_p50": 31.2, "jitter_ms": 2.1, "loss_pct": 0.0},
        dl={"mbps": 42.0, "bytes": 30_000_000, "dur_s": 5.0, "streams": 4},
        errors=[],
    )
    rec.update(overrides)
    return rec


def wire(rec: dict[str, Any], key: Ed25519PrivateKey = KEY) -> bytes:
    return record.encode(record.sign(rec, key))


def good() -> Message:
    return Message(topic(PROBE), wire(fields()), None)


def is_strict_json(payload: bytes) -> bool:
    """RFC 8259 JSON in UTF-8: no NaN/Infinity, no BOM, no other encoding."""

    def refuse(name: str) -> None:
        raise ValueError(name)

    try:
        json.loads(payload.decode("utf-8"), parse_constant=refuse)
    except (ValueError, RecursionError):
        return False
    return True


# -- strategies: each draws one message that is wrong in exactly one way --------


# No NUL and no backslash in generated text: the validator refuses any payload
# holding the escape for NUL (PostgreSQL text cannot store it), which would
# change the expected reason of an otherwise unrelated defect.
def text(max_size: int = 20) -> st.SearchStrategy[str]:
    return st.text(st.characters(blacklist_characters="\x00\\"), max_size=max_size)


json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text()
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text(8), inner, max_size=4),
    max_leaves=10,
)
probe_ids = st.from_regex(record.PROBE_ID_PATTERN, fullmatch=True)


def _parser_breakers() -> list[Message]:
    """Inputs that have broken JSON parsers: each is malformed_json, none may stop ingest."""
    valid = fields()
    signed = record.sign(valid, KEY)
    nan = record.sign(fields(sig={"rsrp_dbm": float("nan")}), KEY)
    inf = record.sign(fields(dl={"mbps": float("inf")}), KEY)
    text = record.encode(signed).decode()
    raw = [
        b"[" * 3000 + b"]" * 3000,  # deeper than the parser's recursion limit
        b'{"a":' * 2000 + b"1" + b"}" * 2000,
        b'{"v":1,"n":' + b"9" * 5000 + b"}",  # more digits than int() accepts
        json.dumps(nan, sort_keys=True).encode(),  # NaN is not JSON
        json.dumps(inf, sort_keys=True).encode(),  # nor is Infinity
        b"\xef\xbb\xbf" + text.encode(),  # a byte-order mark
        text.encode("utf-16"),  # another encoding
        text.replace('"Viettel"', '"Viettel\\u0000"').encode(),  # NUL, PostgreSQL text refuses it
        text.replace('"Viettel"', '"Viet\xff"').encode("latin-1"),  # not UTF-8
        b"",
    ]
    return [Message(topic(PROBE), payload, "malformed_json") for payload in raw]


@st.composite
def malformed(draw: st.DrawFn) -> Message:
    choice = draw(st.sampled_from(["bytes", "truncated", "breaker"]))
    if choice == "bytes":
        payload = draw(st.binary(max_size=300).filter(lambda b: not is_strict_json(b)))
    elif choice == "truncated":
        whole = wire(fields())  # its length varies: draw where to cut, not an offset
        payload = whole[: (len(whole) - 1) * draw(st.integers(0, 1000)) // 1000]
    else:
        return draw(st.sampled_from(_parser_breakers()))
    return Message(topic(PROBE), payload, "malformed_json")


@st.composite
def not_an_object(draw: st.DrawFn) -> Message:
    value = draw(json_value.filter(lambda v: not isinstance(v, dict)))
    return Message(topic(PROBE), json.dumps(value).encode(), "not_an_object")


@st.composite
def unsupported_version(draw: st.DrawFn) -> Message:
    rec = fields()
    # Any JSON value but the number 1 (true is not 1, whatever Python thinks).
    version = draw(json_value.filter(lambda v: isinstance(v, bool) or v != 1) | st.just("absent"))
    if version == "absent":
        del rec["v"]
    else:
        rec["v"] = version
    return Message(topic(PROBE), wire(rec), "unsupported_version")


@st.composite
def missing_field(draw: st.DrawFn) -> Message:
    signed = record.sign(fields(), KEY)
    del signed[draw(st.sampled_from(["id", "probe", "t", record.SIG_KEY]))]
    return Message(topic(PROBE), record.encode(signed), "missing_field")


def _wrong_for(types: tuple[type, ...]) -> st.SearchStrategy[Any]:
    """JSON values whose type is not one of ``types`` (bool is not a number)."""
    if bool in types:
        return json_value.filter(lambda v: v is not None and not isinstance(v, bool))
    if str in types:
        return json_value.filter(lambda v: v is not None and not isinstance(v, str))
    if float in types:
        return json_value.filter(
            lambda v: v is not None and (isinstance(v, bool) or not isinstance(v, int | float))
        )
    return json_value.filter(
        lambda v: v is not None and (isinstance(v, bool) or not isinstance(v, int))
    )


@st.composite
def wrong_type(draw: st.DrawFn) -> Message:
    rec = fields()
    where = draw(st.sampled_from(["required", "id", "probe", "t", "section", "field", "errors"]))
    if where == "required":
        rec[draw(st.sampled_from(["id", "probe", "t"]))] = draw(_wrong_for((str,)))
        return Message(topic(PROBE), wire(rec), "wrong_type")
    if where == "id":
        rec["id"] = draw(st.sampled_from(["", "42", "not-a-uuid", str(uuid.uuid4())[:-1] + "g"]))
    elif where == "probe":
        rec["probe"] = draw(text(70).filter(lambda p: not record.PROBE_ID_PATTERN.match(p)))
    elif where == "t":
        rec["t"] = draw(
            st.sampled_from(["", "yesterday", "2026-11-22T03:15:00", "2026-13-01T00:00:00Z"])
            | st.text(alphabet="abcxyz :", max_size=20)
        )
    elif where == "section":
        rec[draw(st.sampled_from(SECTIONS))] = draw(
            json_value.filter(lambda v: v is not None and not isinstance(v, dict))
        )
    elif where == "field":
        (section, name), (types, _, _) = draw(st.sampled_from(sorted(FIELDS.items())))
        rec[section] = {**rec.get(section, {}), name: draw(_wrong_for(types))}
    else:
        rec["errors"] = draw(
            json_value.filter(
                lambda v: (
                    v is not None
                    and not (isinstance(v, list) and all(isinstance(e, str) for e in v))
                )
            )
        )
    return Message(topic(PROBE), wire(rec), "wrong_type")


@st.composite
def out_of_range(draw: st.DrawFn) -> Message:
    rec = fields()
    bounded = sorted((k, v) for k, v in FIELDS.items() if v[1] is not None)
    choice = draw(st.sampled_from([*bounded, "env", "tech"]))
    if choice == "env":
        rec["loc"]["env"] = draw(text().filter(lambda e: e not in ENVIRONMENTS))
    elif choice == "tech":
        rec["net"]["tech"] = draw(text().filter(lambda t: t not in TECHNOLOGIES))
    else:
        (section, name), (types, lo, hi) = choice
        if float in types:
            below = st.floats(max_value=lo, exclude_max=True, allow_infinity=False)
            above = st.floats(min_value=hi, exclude_min=True, allow_infinity=False)
        else:
            below = st.integers(int(lo) - 10**30, int(lo) - 1)
            above = st.integers(int(hi) + 1, int(hi) + 10**30)
        rec[section] = {**rec.get(section, {}), name: draw(below | above)}
    return Message(topic(PROBE), wire(rec), "out_of_range")


@st.composite
def forged_topic(draw: st.DrawFn) -> Message:
    elsewhere = draw(probe_ids.filter(lambda p: p != PROBE))
    return Message(topic(elsewhere), wire(fields()), "topic_mismatch")


@st.composite
def unknown_probe(draw: st.DrawFn) -> Message:
    probe = draw(probe_ids.filter(lambda p: p not in REGISTERED))
    return Message(topic(probe), wire(fields(probe=probe)), "unknown_probe")


def revoked_probe() -> st.SearchStrategy[Message]:
    return st.builds(
        lambda: Message(topic(REVOKED), wire(fields(probe=REVOKED), REVOKED_KEY), "revoked_probe")
    )


@st.composite
def bad_signature(draw: st.DrawFn) -> Message:
    how = draw(st.sampled_from(["tampered", "other key", "garbage"]))
    signed = record.sign(fields(), OTHER_KEY if how == "other key" else KEY)
    if how == "tampered":
        signed["sig"] = {
            **signed["sig"],
            "rsrp_dbm": signed["sig"]["rsrp_dbm"] + draw(st.integers(1, 20)),
        }
    elif how == "garbage":
        signed[record.SIG_KEY] = draw(text(100))
    return Message(topic(PROBE), record.encode(signed), "bad_signature")


@st.composite
def future_timestamp(draw: st.DrawFn) -> Message:
    ahead = timedelta(seconds=draw(st.integers(6 * 60, 3650 * 86400)))
    rec = fields(t=record.utc_timestamp(datetime.now(UTC) + ahead))
    return Message(topic(PROBE), wire(rec), "future_timestamp")


@st.composite
def oversized(draw: st.DrawFn) -> Message:
    payload = wire(fields())
    return Message(
        topic(PROBE),
        payload + b" " * (MAX_BYTES + 1 - len(payload) + draw(st.integers(0, 50_000))),
        "oversized",
    )


hostile = st.one_of(
    malformed(), not_an_object(), unsupported_version(), missing_field(), wrong_type(),
    out_of_range(), forged_topic(), unknown_probe(), revoked_probe(), bad_signature(),
    future_timestamp(), oversized(),
)  # fmt: skip


@st.composite
def traffic(draw: st.DrawFn) -> list[Message]:
    """Hostile messages with good records in between and one good record last."""
    bad = draw(st.lists(hostile, min_size=1, max_size=8))
    goods = [good() for _ in range(draw(st.integers(1, 4)))]
    mixed = draw(st.permutations(bad + goods))
    return [*mixed, good()]


# -- the running system ----------------------------------------------------------


def publish_in_order(port: int, messages: list[Message]) -> None:
    """One connection, QoS 1, in order; returns once the broker has acknowledged all."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"hostile-{uuid.uuid4().hex[:8]}",
        protocol=mqtt.MQTTv5,
    )  # fmt: skip
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        infos = [client.publish(m.topic, m.payload, qos=1) for m in messages]
        for info in infos:
            info.wait_for_publish(timeout=10)
            assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


@pytest.fixture
def hostile_aggregator(aggregator, db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        for probe, key in ((PROBE, KEY), (OTHER, OTHER_KEY), (REVOKED, REVOKED_KEY)):
            probes.add(conn, probe, public_key_b64(key))
        probes.revoke(conn, REVOKED)
    return aggregator


def aggregator_state(aggregator) -> str:  # type: ignore[no-untyped-def]
    if aggregator.process.poll() is not None:
        return f"giamsat serve exited with {aggregator.process.returncode}"
    return f"broker {httpx.get(f'{aggregator.url}/healthz').json()['broker']}"


def _sha(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def _short(payload: bytes) -> str:
    return repr(payload[:80]) + (f"... ({len(payload)} bytes)" if len(payload) > 80 else "")


@settings(
    max_examples=20,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large, HealthCheck.filter_too_much],
)  # fmt: skip
@example(messages=[*_parser_breakers(), good()])
@given(messages=traffic())
def test_hostile_payloads_land_in_dead_letter_while_good_records_flow(
    hostile_aggregator, broker, db_dsn, messages
):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        before = conn.execute("SELECT coalesce(max(id), 0) FROM deadletter").fetchone()[0]
    good_ids = [json.loads(m.payload)["id"] for m in messages if m.reason is None]
    bad = [m for m in messages if m.reason is not None]

    publish_in_order(broker.port, messages)

    def settled() -> tuple[list[tuple[bytes, str]], list[str]] | None:
        with psycopg.connect(db_dsn) as conn:
            # Matched by the whole payload's hash: the table keeps only a prefix of big ones.
            letters = conn.execute(
                "SELECT payload_sha256, reason FROM deadletter WHERE id > %s", (before,)
            ).fetchall()
            stored = conn.execute(
                "SELECT id::text FROM records WHERE id = ANY(%s::uuid[])", (good_ids,)
            ).fetchall()
        done = good_ids[-1] in {r[0] for r in stored} and len(letters) >= len(bad)
        return (list(letters), [r[0] for r in stored]) if done else None

    result = wait_until(settled, timeout=20, interval=0.05)
    health = aggregator_state(hostile_aggregator)
    assert result, (
        f"not all messages were handled within 20 s ({health}); sent:\n"
        + "\n".join(f"  {m.reason or 'good'}: {_short(m.payload)}" for m in messages)
        + "\n"
        + hostile_aggregator.log.read_text()[-2000:]
    )
    letters, stored = result
    assert sorted(stored) == sorted(good_ids), "a good record was lost or stored twice"
    got = Counter(letters)
    want = Counter((_sha(m.payload), m.reason) for m in bad)
    if got != want:
        reasons = {p: r for p, r in letters}
        lines = [
            f"  want {m.reason}, got {reasons.get(_sha(m.payload), 'NOT DEAD-LETTERED')}: "
            f"{_short(m.payload)}"
            for m in bad
            if reasons.get(_sha(m.payload)) != m.reason
        ]
        pytest.fail("dead-letter reasons differ:\n" + "\n".join(lines))
    assert health == "broker connected"
