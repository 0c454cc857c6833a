"""The fast validation path (orjson, libsodium) accepts exactly what the reference path accepts.

Pure functions: no broker, no database. The reference is the agent's own
canonical form (json.dumps, sorted keys) verified with cryptography.
"""

import base64
import json
from datetime import UTC, datetime

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from giamsat.aggregator.ingest.validate import check, fast_canonical_bytes
from giamsat.aggregator.store.values import Accepted, ProbeKey, Rejected
from giamsat.contract import record

KEY = Ed25519PrivateKey.generate()
TOPIC = record.topic_for("p1")

# Text a probe can sign: no NUL (refused before parsing), no lone surrogate (not UTF-8).
TEXT_CHARS = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
# Any JSON value a probe might put in a field the schema does not know, with the
# numbers orjson and json.dumps write differently (1e-05, 1e+16, > 64-bit ints).
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 10, max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1e-05, -3.5e-07, 1e16, 2.5e300, 0.0001, -0.0, 5e-324])
    | st.text(TEXT_CHARS, max_size=8)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(TEXT_CHARS, max_size=4), inner,
                      max_size=4),
    max_leaves=10,
)  # fmt: skip


def keys(probe: str) -> ProbeKey | None:
    return ProbeKey(KEY.public_key()) if probe == "p1" else None


def unsigned(extra: object) -> dict:
    return record.build(
        "p1",
        loc={"lat": 21.0, "lon": 105.8, "env": "indoor"},
        net={"service": True, "mcc": 452, "mnc": 4, "tech": "LTE", "op": "Viettel"},
        sig={"rsrp_dbm": -97},
        extra={"x": extra},
    )


def signed_over(rec: dict, body: bytes) -> bytes:
    """The wire form of ``rec`` with a signature over ``body``."""
    signature = base64.b64encode(KEY.sign(body)).decode()
    return record.encode({**rec, record.SIG_KEY: signature})


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_agent_signed_records_are_accepted_with_their_exact_values(extra):
    rec = unsigned(extra)
    payload = record.encode(record.sign(rec, KEY))
    outcome = check(TOPIC, payload, keys, datetime.now(UTC))
    assert isinstance(outcome, Accepted)
    # Same values and types as the standard library reads them (1 is not 1.0).
    assert record.canonical_bytes(outcome.record) == record.canonical_bytes(json.loads(payload))


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_a_signature_over_orjson_bytes_counts_only_where_they_are_the_canonical_bytes(extra):
    rec = unsigned(extra)
    try:
        theirs = orjson.dumps(rec, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return  # orjson cannot write it, so nobody signs its orjson form
    outcome = check(TOPIC, signed_over(rec, theirs), keys, datetime.now(UTC))
    if theirs == record.canonical_bytes(rec):
        assert isinstance(outcome, Accepted)
    else:
        assert isinstance(outcome, Rejected) and outcome.reason == "bad_signature"


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_fast_canonical_bytes_are_the_canonical_bytes_or_nothing(extra):
    rec = json.loads(record.encode(unsigned(extra)))
    fast = fast_canonical_bytes(rec)
    assert fast is None or fast == record.canonical_bytes(rec)


def test_ordinary_records_take_the_fast_path():
    rec = unsigned({"rtt_ms": 31.2, "n": 20, "op": "Viettel", "cell": "0x1A2B3C"})
    assert fast_canonical_bytes(rec) == record.canonical_bytes(rec)


@pytest.mark.parametrize("value", [1e-05, 12345678901234567890123, 1e16, -7.1e-9])
def test_numbers_orjson_writes_differently_still_verify(value):
    rec = unsigned(value)
    assert fast_canonical_bytes(rec) is None
    outcome = check(TOPIC, record.encode(record.sign(rec, KEY)), keys, datetime.now(UTC))
    assert isinstance(outcome, Accepted)
    assert outcome.record["x"] == value and type(outcome.record["x"]) is type(value)


def test_a_signature_longer_than_64_bytes_is_refused():
    """libsodium verifies the first 64 bytes of signature + message against the rest.

    A signer who signs b"X" + body and sends the 64-byte signature followed
    by b"X" would pass that check; it is not an Ed25519 signature of the body.
    """
    rec = unsigned(1)
    body = record.canonical_bytes(rec)
    long = base64.b64encode(KEY.sign(b"X" + body) + b"X").decode()
    outcome = check(TOPIC, record.encode({**rec, record.SIG_KEY: long}), keys, datetime.now(UTC))
    assert isinstance(outcome, Rejected) and outcome.reason == "bad_signature"


def test_json_nested_too_deeply_is_refused_not_raised():
    rec = unsigned(None)
    body = record.canonical_bytes(rec)
    deep = b'{"deep":' + b"[" * 5000 + b"]" * 5000 + b"," + body[1:]
    payload = deep[:-1] + b',"sig_ed25519":"' + base64.b64encode(KEY.sign(deep)) + b'"}'
    outcome = check(TOPIC, payload, keys, datetime.now(UTC))
    assert isinstance(outcome, Rejected) and outcome.reason == "malformed_json"


def test_a_lone_surrogate_is_a_bad_signature_on_both_paths():
    signed = record.encode(record.sign(unsigned("s"), KEY))
    payload = signed.replace(b'"x":"s"', b'"x":"\\ud800"')
    assert payload != signed
    outcome = check(TOPIC, payload, keys, datetime.now(UTC))
    assert isinstance(outcome, Rejected) and outcome.reason == "bad_signature"


def test_rejections_keep_the_reference_reason_and_detail():
    forged = unsigned(1)
    payload = record.encode(record.sign(forged, Ed25519PrivateKey.generate()))
    outcome = check(TOPIC, payload, keys, datetime.now(UTC))
    assert (outcome.reason, outcome.detail) == (
        "bad_signature",
        "Ed25519 signature does not match the probe's key",
    )
    broken = check(TOPIC, b'{"v": 1,', keys, datetime.now(UTC))
    assert broken.reason == "malformed_json"
    assert (
        broken.detail
        == "Expecting property name enclosed in double quotes: line 1 column 9 (char 8)"
    )
