"""The probe registry: which probes exist and which public key each signs with."""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from datetime import datetime

import psycopg

from giamsat.aggregator.store.values import ProbeKey
from giamsat.contract import record as rec


class RegistryError(ValueError):
    """A registration request that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class Probe:
    id: str
    pubkey: str
    kind: str
    village: str | None
    registered_at: datetime
    revoked_at: datetime | None


def add(
    conn: psycopg.Connection,
    probe_id: str,
    pubkey: str,
    *,
    kind: str = "fixed",
    village: str | None = None,
) -> None:
    if not rec.PROBE_ID_PATTERN.match(probe_id):
        raise RegistryError(f"probe id {probe_id!r} must be 1-64 characters from A-Z a-z 0-9 . _ -")
    try:
        rec.public_key_from_b64(pubkey)
    except (ValueError, binascii.Error):
        raise RegistryError(
            "the public key must be 32 bytes in base64, as `giamsat-agent identity` prints it"
        ) from None
    if kind not in ("fixed", "phone"):
        raise RegistryError(f"kind must be fixed or phone, not {kind!r}")
    with conn.transaction():
        existing = conn.execute(
            "SELECT pubkey, revoked_at FROM probes WHERE id = %s", (probe_id,)
        ).fetchone()
        if existing and existing[0] != pubkey and existing[1] is None:
            raise RegistryError(
                f"probe {probe_id!r} is already registered with another key; "
                "revoke it first or choose another id"
            )
        conn.execute(
            "INSERT INTO probes (id, pubkey, kind, village) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET pubkey = EXCLUDED.pubkey, kind = EXCLUDED.kind, "
            "village = COALESCE(EXCLUDED.village, probes.village), revoked_at = NULL",
            (probe_id, pubkey, kind, village),
        )


def revoke(conn: psycopg.Connection, probe_id: str) -> None:
    with conn.transaction():
        cur = conn.execute("UPDATE probes SET revoked_at = now() WHERE id = %s", (probe_id,))
        if cur.rowcount == 0:
            raise RegistryError(f"no probe {probe_id!r}")


def list_all(conn: psycopg.Connection) -> list[Probe]:
    rows = conn.execute(
        "SELECT id, pubkey, kind, village, registered_at, revoked_at FROM probes ORDER BY id"
    ).fetchall()
    return [Probe(*row) for row in rows]


def key_of(conn: psycopg.Connection, probe_id: str) -> ProbeKey | None:
    row = conn.execute(
        "SELECT pubkey, revoked_at IS NOT NULL FROM probes WHERE id = %s", (probe_id,)
    ).fetchone()
    if row is None:
        return None
    return ProbeKey(rec.public_key_from_b64(row[0]), revoked=row[1])
