"""Record schema v1: building, canonical JSON, signing and verification.

The canonical form is what a probe signs and what anyone re-derives to verify:
UTF-8 JSON with sorted keys and no whitespace, over the record without its
``sig_ed25519`` field. The aggregator and offline verifiers import this module,
so the rule lives in exactly one place.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SCHEMA_VERSION = 1
SIG_KEY = "sig_ed25519"
# Probe ids appear in MQTT topics and file names: keep them plain.
PROBE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def uuid7() -> str:
    """A time-ordered UUID (RFC 9562 version 7); Python 3.11 has no uuid.uuid7."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def utc_timestamp(when: datetime | None = None) -> str:
    """ISO 8601 UTC with millisecond precision and a ``Z`` suffix."""
    when = when or datetime.now(UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def parse_timestamp(text: str) -> datetime:
    """Inverse of :func:`utc_timestamp`; accepts any ISO 8601 form with an offset."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("timestamp has no time zone")
    return value


def canonical_bytes(record: dict[str, Any]) -> bytes:
    """The bytes that are signed: the record without its signature, canonical JSON."""
    body = {k: v for k, v in record.items() if k != SIG_KEY}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def drop_nulls(value: Any) -> Any:
    """Remove ``None`` members recursively: an unmeasured field is simply absent."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def build(
    probe: str,
    *,
    loc: dict[str, Any] | None = None,
    net: dict[str, Any] | None = None,
    sig: dict[str, Any] | None = None,
    lat: dict[str, Any] | None = None,
    dl: dict[str, Any] | None = None,
    ul: dict[str, Any] | None = None,
    access: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    extra: dict[str, Any] | None = None,
    when: datetime | None = None,
    record_id: str | None = None,
) -> dict[str, Any]:
    """Assemble an unsigned v1 record; sections that were not measured are left out."""
    record: dict[str, Any] = {
        "v": SCHEMA_VERSION,
        "id": record_id or uuid7(),
        "probe": probe,
        "t": utc_timestamp(when),
        "mono_s": round(time.monotonic(), 3),
        "loc": loc,
        "net": net,
        "sig": sig,
        "lat": lat,
        "dl": dl,
        "ul": ul,
        "access": access,
        "errors": list(errors or []),
    }
    if extra:
        record.update(extra)
    cleaned: dict[str, Any] = drop_nulls(record)  # a dict stays a dict
    return cleaned


def sign(record: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """Return a copy of ``record`` carrying its Ed25519 signature (base64)."""
    signature = key.sign(canonical_bytes(record))
    return {**record, SIG_KEY: base64.b64encode(signature).decode("ascii")}


def public_key_b64(key: Ed25519PrivateKey) -> str:
    """The raw public key in base64, as `giamsat probes add --pubkey` expects it."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    """Load a raw 32-byte Ed25519 public key given in base64."""
    raw = base64.b64decode(text, validate=True)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def verify(record: dict[str, Any], public_key: Ed25519PublicKey) -> bool:
    """True when the record's signature was made by ``public_key`` over its canonical bytes."""
    encoded = record.get(SIG_KEY)
    if not isinstance(encoded, str):
        return False
    try:
        signature = base64.b64decode(encoded, validate=True)
        public_key.verify(signature, canonical_bytes(record))
    except (InvalidSignature, ValueError):
        return False
    return True


def encode(record: dict[str, Any]) -> bytes:
    """The wire form of a signed record: canonical JSON including the signature."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def topic_for(probe: str, prefix: str = "giamsat/v1") -> str:
    """MQTT topic a probe publishes its records on."""
    return f"{prefix}/probes/{probe}/records"
