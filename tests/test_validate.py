import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from giamsat.aggregator.ingest.validate import check
from giamsat.aggregator.store.values import Accepted, ProbeKey, Rejected
from giamsat.contract import record

KEY = Ed25519PrivateKey.generate()
OTHER = Ed25519PrivateKey.generate()
TOPIC = "giamsat/v1/probes/p1/records"


def keys(probe_id):
    if probe_id == "p1":
        return ProbeKey(KEY.public_key())
    if probe_id == "gone":
        return ProbeKey(KEY.public_key(), revoked=True)
    return None


def signed(key=KEY, **changes):
    rec = record.build(
        "p1",
        loc={"lat": 22.1, "lon": 105.8, "env": "indoor"},
        net={"service": True, "mcc": 452, "mnc": 4, "tech": "LTE", "op": "Viettel"},
        sig={"rsrp_dbm": -97},
        dl={"mbps": 50.0, "bytes": 1000, "dur_s": 1.0, "streams": 4},
    )
    rec.update(changes)
    return record.encode(record.sign(rec, key))


def outcome(payload, topic=TOPIC, now=None):
    return check(topic, payload, keys, now or datetime.now(UTC))


def test_good_record_is_accepted():
    result = outcome(signed())
    assert isinstance(result, Accepted)
    assert result.record["probe"] == "p1"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"x" * 20_000, "oversized"),
        (b"{not json", "malformed_json"),
        (b"\xff\xfe", "malformed_json"),
        (b'{"a": "\\u0000"}', "malformed_json"),
        (b"[1, 2]", "not_an_object"),
        (json.dumps({"v": 2}).encode(), "unsupported_version"),
        (json.dumps({"v": 1, "id": record.uuid7(), "probe": "p1"}).encode(), "missing_field"),
    ],
)
def test_garbage_is_refused_with_its_reason(payload, reason):
    result = outcome(payload)
    assert isinstance(result, Rejected)
    assert result.reason == reason
    assert result.raw == payload


def test_wrong_types_and_ranges():
    assert outcome(signed(sig={"rsrp_dbm": "-97"})).reason == "wrong_type"
    assert outcome(signed(sig={"rsrp_dbm": True})).reason == "wrong_type"
    assert outcome(signed(sig={"rsrp_dbm": -20})).reason == "out_of_range"
    assert outcome(signed(loc={"lat": 91.0, "lon": 0.0})).reason == "out_of_range"
    assert outcome(signed(loc={"lat": 1.0, "lon": 0.0, "env": "roof"})).reason == "out_of_range"
    assert outcome(signed(net={"service": True, "tech": "6G"})).reason == "out_of_range"
    assert outcome(signed(id="not-a-uuid")).reason == "wrong_type"
    assert outcome(signed(errors="boom")).reason == "wrong_type"


NSA_NET = {"service": True, "mcc": 452, "mnc": 2, "tech": "NR-NSA", "op": "VinaPhone"}
NSA_SIG = {"rsrp_dbm": -93, "nr_rsrp_dbm": -89, "nr_rsrq_db": -11, "nr_sinr_db": 15,
           "nr_pci": 393, "nr_arfcn": 651840, "nr_band": "n78"}  # fmt: skip


def test_nr_leg_within_the_ts_38_133_reporting_ranges_is_accepted():
    assert isinstance(outcome(signed(net=NSA_NET, sig=NSA_SIG)), Accepted)
    ends = {"nr_rsrp_dbm": -156, "nr_rsrq_db": 20, "nr_sinr_db": -23, "nr_pci": 1007,
            "nr_arfcn": 3279165}  # fmt: skip
    assert isinstance(outcome(signed(net=NSA_NET, sig={**NSA_SIG, **ends})), Accepted)
    ends = {"nr_rsrp_dbm": -31, "nr_rsrq_db": -43, "nr_sinr_db": 40, "nr_pci": 0, "nr_arfcn": 0}
    assert isinstance(outcome(signed(net=NSA_NET, sig={**NSA_SIG, **ends})), Accepted)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("nr_rsrp_dbm", -30, "out_of_range"),  # SS-RSRP is reported up to -31 dBm
        ("nr_rsrp_dbm", -156.5, "out_of_range"),
        ("nr_rsrp_dbm", -32768, "out_of_range"),  # a modem's "unknown"
        ("nr_rsrq_db", -43.5, "out_of_range"),
        ("nr_rsrq_db", 20.5, "out_of_range"),
        ("nr_sinr_db", 180, "out_of_range"),  # tenths of a dB sent as dB
        ("nr_sinr_db", -23.5, "out_of_range"),
        ("nr_pci", 1008, "out_of_range"),
        ("nr_pci", -1, "out_of_range"),
        ("nr_arfcn", 3279166, "out_of_range"),
        ("nr_arfcn", -1, "out_of_range"),
        ("nr_rsrp_dbm", "-89", "wrong_type"),
        ("nr_pci", 393.0, "wrong_type"),
        ("nr_arfcn", True, "wrong_type"),
        ("nr_band", 78, "wrong_type"),
    ],
)
def test_nr_leg_is_range_checked_like_the_anchor(field, value, reason):
    result = outcome(signed(net=NSA_NET, sig={**NSA_SIG, field: value}))
    assert isinstance(result, Rejected)
    assert result.reason == reason
    assert f"sig.{field}" in result.detail


def test_topic_must_name_the_record_probe():
    result = outcome(signed(), topic="giamsat/v1/probes/p2/records")
    assert result.reason == "topic_mismatch"


def test_unknown_revoked_and_forged():
    assert outcome(signed(probe="p9"), topic="giamsat/v1/probes/p9/records").reason == (
        "unknown_probe"
    )
    gone = signed(probe="gone")
    assert outcome(gone, topic="giamsat/v1/probes/gone/records").reason == "revoked_probe"
    assert outcome(signed(key=OTHER)).reason == "bad_signature"


def test_changed_value_after_signing_is_a_bad_signature():
    rec = json.loads(signed())
    rec["dl"]["mbps"] = 500.0
    assert outcome(json.dumps(rec).encode()).reason == "bad_signature"


def test_future_timestamp_beyond_skew():
    now = datetime.now(UTC)
    ahead = record.utc_timestamp(now + timedelta(hours=1))
    assert outcome(signed(t=ahead)).reason == "future_timestamp"
    slightly = record.utc_timestamp(now + timedelta(seconds=30))
    assert isinstance(outcome(signed(t=slightly)), Accepted)


def test_public_key_format_matches_identity_output():
    from giamsat.contract.record import public_key_b64

    raw = KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert public_key_b64(KEY) == base64.b64encode(raw).decode()
    assert record.public_key_from_b64(public_key_b64(KEY)) == KEY.public_key()
