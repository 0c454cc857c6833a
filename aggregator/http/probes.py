"""``/api/v1/probes``: the fleet registry (list for viewers; add and revoke for admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from giamsat.aggregator.http.auth import Admin, Viewer
from giamsat.aggregator.http.text import PLAIN_TEXT
from giamsat.aggregator.store import probes, tokens
from giamsat.contract.record import PROBE_ID_PATTERN

router = APIRouter()


class ProbeIn(BaseModel):
    id: str = Field(max_length=64, pattern=PROBE_ID_PATTERN.pattern)
    pubkey: str = Field(max_length=100)
    kind: str = Field("fixed", pattern="^(fixed|phone)$")
    village: str | None = Field(None, max_length=200, pattern=PLAIN_TEXT)


@router.get("/api/v1/probes")
def probe_list(caller: Viewer, request: Request) -> list[dict[str, Any]]:
    """Registered probes with when each was last heard from (viewer)."""
    with request.app.state.pool.connection() as conn:
        rows = conn.execute(
            "SELECT p.id, p.kind, p.village, p.registered_at, p.revoked_at,"
            " (SELECT max(t) FROM records r WHERE r.probe = p.id) AS last_record"
            " FROM probes p ORDER BY p.id"
        ).fetchall()
    keys = ("id", "kind", "village", "registered_at", "revoked_at", "last_record")
    return [dict(zip(keys, row, strict=True)) for row in rows]


@router.post("/api/v1/probes", status_code=201)
def probe_add(caller: Admin, request: Request, body: ProbeIn) -> dict[str, str]:
    """Register a probe (admin)."""
    with request.app.state.pool.connection() as conn:
        try:
            probes.add(conn, body.id, body.pubkey, kind=body.kind, village=body.village)
        except probes.RegistryError as exc:
            raise HTTPException(422, str(exc)) from None
        tokens.audit(conn, caller, "probes.add", {"probe": body.id})
    return {"id": body.id}


@router.delete("/api/v1/probes/{probe_id}")
def probe_revoke(caller: Admin, request: Request, probe_id: str) -> dict[str, str]:
    """Revoke a probe: its records are refused from now on (admin)."""
    with request.app.state.pool.connection() as conn:
        try:
            probes.revoke(conn, probe_id)
        except probes.RegistryError as exc:
            raise HTTPException(404, str(exc)) from None
        tokens.audit(conn, caller, "probes.revoke", {"probe": probe_id})
    return {"id": probe_id, "status": "revoked"}
