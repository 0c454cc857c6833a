import json
import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from giamsat.contract import record


def test_uuid7_is_version_7_and_time_ordered():
    ids = [record.uuid7() for _ in range(50)]
    assert all(uuid.UUID(i).version == 7 for i in ids)
    # The first 48 bits are milliseconds, so ids sort by creation time.
    assert [i[:13] for i in ids] == sorted(i[:13] for i in ids)
    assert len(set(ids)) == 50


def test_canonical_bytes_sorted_compact_and_without_signature():
    rec = {"v": 1, "b": {"y": 1, "x": "ạ"}, "a": 2.5, "sig_ed25519": "zzz"}
    assert record.canonical_bytes(rec) == '{"a":2.5,"b":{"x":"ạ","y":1},"v":1}'.encode()


def test_build_drops_unmeasured_fields():
    rec = record.build("p1", net={"service": False, "tech": None}, dl=None)
    assert rec["net"] == {"service": False}
    assert "dl" not in rec and "sig" not in rec
    assert rec["v"] == 1 and rec["errors"] == []
    assert rec["t"].endswith("Z")


def test_sign_and_verify_roundtrip_through_the_wire_form():
    key = Ed25519PrivateKey.generate()
    signed = record.sign(record.build("p1", sig={"rsrp_dbm": -97.5}), key)
    wire = json.loads(record.encode(signed))
    assert record.verify(wire, key.public_key())


def test_any_change_breaks_the_signature():
    key = Ed25519PrivateKey.generate()
    signed = record.sign(record.build("p1", dl={"mbps": 112.4}), key)
    tampered = {**signed, "dl": {"mbps": 212.4}}
    assert not record.verify(tampered, key.public_key())
    assert not record.verify(signed, Ed25519PrivateKey.generate().public_key())
    assert not record.verify({**signed, "sig_ed25519": "not base64!"}, key.public_key())
    assert not record.verify(
        {k: v for k, v in signed.items() if k != "sig_ed25519"}, key.public_key()
    )


def test_timestamps_round_trip():
    text = record.utc_timestamp()
    assert record.utc_timestamp(record.parse_timestamp(text)) == text
