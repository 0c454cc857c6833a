"""Validation of incoming records: every rejection has a reason code and a detail.

Checks run cheapest first (size, JSON, schema, topic, probe, signature, time)
so that garbage costs little. A rejected payload goes to the dead-letter table
with its reason; nothing here raises for bad input.

There are two paths to one verdict. The fast path (orjson, and libsodium
through PyNaCl: half the CPU of the reference path or less) may only
*accept*: whatever it refuses, or cannot vouch for, is decided again by the
reference path (the standard library's json, :mod:`giamsat.contract.record`'s canonical
form and cryptography's Ed25519), which also names every rejection. The fast
path vouches only for canonical bytes orjson writes exactly as json.dumps
would, and libsodium's Ed25519 check is the stricter of the two, so a record
is accepted exactly when the reference path accepts it, and refused with the
reference path's reason.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import nacl.bindings
import nacl.exceptions
import orjson

from giamsat.aggregator.store.values import Accepted, ProbeKey, Rejected
from giamsat.contract import record as rec
from giamsat.contract.schema import (
    ENVIRONMENTS,
    FIELDS,
    NUMBER,
    SECTIONS,
    TECHNOLOGIES,
    TRANSFER_OUTCOMES,
)

PROBE_ID = rec.PROBE_ID_PATTERN


# FIELDS grouped by section, in FIELDS order, with "is this a JSON boolean"
# worked out once: the schema check runs for every record. The types are Any,
# not tuple[type, ...]: after isinstance() against that, mypy types the value as
# object, which the range check cannot compare (the schema gives ranges only to
# numeric fields); a cast() per field would slow the check by ~15 %.
_Field = tuple[str, Any, bool, float | None, float | None]  # name, types, boolean, lo, hi
_SECTION_FIELDS: tuple[tuple[str, tuple[_Field, ...]], ...] = tuple(
    (section, tuple(
        (name, types, bool in types, lo, hi)
        for (where, name), (types, lo, hi) in FIELDS.items() if where == section
    ))
    for section in SECTIONS
)  # fmt: skip


class _Invalid(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


KeyLookup = Callable[[str], ProbeKey | None]


def probe_from_topic(topic: str) -> str | None:
    parts = topic.split("/")
    if len(parts) >= 4 and parts[-3] == "probes" and parts[-1] == "records":
        return parts[-2]
    return None


def _type_ok(value: Any, types: tuple[type, ...]) -> bool:
    """JSON true/false are not numbers, although Python's bool is an int."""
    if bool in types:
        return isinstance(value, bool)
    return isinstance(value, types) and not isinstance(value, bool)


def check_schema(record: Any) -> None:
    """Raise :class:`_Invalid` when the record breaks the v1 contract."""
    if not isinstance(record, dict):
        raise _Invalid("not_an_object", "the payload is JSON but not an object")
    version = record.get("v")
    if type(version) is not int or version != rec.SCHEMA_VERSION:  # not true, not 1.0
        raise _Invalid("unsupported_version", f"schema version {version!r} is not supported (1)")
    for key, kind in (("id", str), ("probe", str), ("t", str), (rec.SIG_KEY, str)):
        if key not in record:
            raise _Invalid("missing_field", f"{key} is missing")
        if not isinstance(record[key], kind):
            raise _Invalid("wrong_type", f"{key} must be a string")
    try:
        uuid.UUID(record["id"])
    except ValueError:
        raise _Invalid("wrong_type", "id is not a UUID") from None
    if not PROBE_ID.match(record["probe"]):
        raise _Invalid("wrong_type", "probe id has characters outside [A-Za-z0-9._-]")
    if "errors" in record and not (
        isinstance(record["errors"], list) and all(isinstance(e, str) for e in record["errors"])
    ):
        raise _Invalid("wrong_type", "errors must be a list of strings")
    if "mono_s" in record and not _type_ok(record["mono_s"], NUMBER):
        raise _Invalid("wrong_type", "mono_s must be a number")
    for section in SECTIONS:
        value = record.get(section)
        if value is not None and not isinstance(value, dict):
            raise _Invalid("wrong_type", f"{section} must be an object")
    for section, fields in _SECTION_FIELDS:
        values = record.get(section)
        if not values:
            continue
        for name, types, boolean, lo, hi in fields:
            value = values.get(name)
            if value is None:
                continue
            if boolean is not isinstance(value, bool) or not isinstance(value, types):
                raise _Invalid("wrong_type", f"{section}.{name} has the wrong type")
            if lo is not None and (value < lo or value > hi):
                raise _Invalid("out_of_range", f"{section}.{name}={value} is outside [{lo}, {hi}]")
    env = (record.get("loc") or {}).get("env")
    if env is not None and env not in ENVIRONMENTS:
        raise _Invalid("out_of_range", f"loc.env={env!r} is not one of {', '.join(ENVIRONMENTS)}")
    tech = (record.get("net") or {}).get("tech")
    if tech is not None and tech not in TECHNOLOGIES:
        raise _Invalid("out_of_range", f"net.tech={tech!r} is not one of {', '.join(TECHNOLOGIES)}")
    for section in ("dl", "ul"):
        outcome = (record.get(section) or {}).get("outcome")
        if outcome is not None and outcome not in TRANSFER_OUTCOMES:
            raise _Invalid(
                "out_of_range",
                f"{section}.outcome={outcome!r} is not one of {', '.join(TRANSFER_OUTCOMES)}",
            )


def _plain_floats(value: dict[str, Any] | list[Any]) -> bool:
    """Every float inside is 0 or has 1e-4 <= |x| < 1e16.

    Only there do orjson and json.dumps write a float alike (outside it,
    1e-05 against 0.00001, 1e-07 against 1e-7); an integer beyond 64 bits,
    which orjson.loads makes a float, lies outside it too.
    """
    items: Iterable[Any] = value.values() if type(value) is dict else value
    for item in items:
        kind = type(item)
        if kind is float:
            if not (1e-4 <= abs(item) < 1e16 or item == 0.0):
                return False
        elif (kind is dict or kind is list) and not _plain_floats(item):
            return False
    return True


def fast_canonical_bytes(record: dict[str, Any]) -> bytes | None:
    """``canonical_bytes`` of the contract, by orjson; None where the two might differ."""
    body = {k: v for k, v in record.items() if k != rec.SIG_KEY}
    if not _plain_floats(body):
        return None
    try:
        return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # an integer beyond 64 bits, a lone surrogate
        return None


def _fast_verify(record: dict[str, Any], key: ProbeKey) -> bool:
    """True only when the contract's reference ``verify`` is sure to say True too."""
    body = fast_canonical_bytes(record)
    if body is None:
        return False
    try:
        signature = base64.b64decode(record[rec.SIG_KEY], validate=True)
    except ValueError:
        return False
    if len(signature) != 64:  # libsodium reads the first 64 bytes of signature + body
        return False
    try:
        nacl.bindings.crypto_sign_open(signature + body, key.raw)
    except nacl.exceptions.CryptoError:
        return False
    return True


def check(
    topic: str,
    payload: bytes,
    keys: KeyLookup,
    now: datetime,
    *,
    max_bytes: int = 16_384,
    max_skew: timedelta = timedelta(minutes=5),
) -> Accepted | Rejected:
    """Validate one MQTT message; never raises for bad input."""
    outcome = _check(topic, payload, keys, now, max_bytes, max_skew, fast=True)
    if isinstance(outcome, Rejected):
        outcome = _check(topic, payload, keys, now, max_bytes, max_skew, fast=False)
    return outcome


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check(
    topic: str,
    payload: bytes,
    keys: KeyLookup,
    now: datetime,
    max_bytes: int,
    max_skew: timedelta,
    *,
    fast: bool,
) -> Accepted | Rejected:
    try:
        if len(payload) > max_bytes:
            raise _Invalid("oversized", f"{len(payload)} bytes, limit {max_bytes}")
        if b"\\u0000" in payload:
            # PostgreSQL text cannot hold NUL; refuse it here rather than fail a batch.
            raise _Invalid("malformed_json", "the payload contains an escaped NUL character")
        try:
            if fast:
                record = orjson.loads(payload)
            else:
                # Strict where json.loads is lenient: UTF-8 only (no UTF-16, no BOM),
                # no NaN or Infinity, no integers beyond Python's digit limit.
                record = json.loads(payload.decode("utf-8"), parse_constant=_no_constants)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError too
            raise _Invalid("malformed_json", str(exc)[:300]) from None
        check_schema(record)
        try:
            when = rec.parse_timestamp(record["t"])
        except ValueError as exc:
            raise _Invalid("wrong_type", f"t is not an ISO 8601 time with zone: {exc}") from None
        topic_probe = probe_from_topic(topic)
        if topic_probe != record["probe"]:
            raise _Invalid(
                "topic_mismatch", f"record says probe {record['probe']!r}, topic {topic!r}"
            )
        key = keys(record["probe"])
        if key is None:
            raise _Invalid("unknown_probe", f"probe {record['probe']!r} is not registered")
        if key.revoked:
            raise _Invalid("revoked_probe", f"probe {record['probe']!r} has been revoked")
        if not (_fast_verify(record, key) if fast else rec.verify(record, key.public_key)):
            raise _Invalid("bad_signature", "Ed25519 signature does not match the probe's key")
        if when - now > max_skew:
            raise _Invalid("future_timestamp", f"t={record['t']} is ahead of the server clock")
    except _Invalid as bad:
        return Rejected(bad.reason, bad.detail, topic, payload)
    except RecursionError:  # in parsing or re-serialising: no probe writes such JSON
        return Rejected("malformed_json", "the JSON is nested too deeply", topic, payload)
    return Accepted(record, payload, when)
