"""``/healthz`` and ``/metrics``: what a load balancer and Prometheus ask.

``/metrics`` answers anyone with the counters, but names probes (their ids
and when each was last heard) only to a caller with a viewer token: a probe
id says where the regulator measures. Prometheus sends one with
``authorization: {credentials: <token>}`` in its scrape config.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from giamsat.aggregator.http.metrics import render_metrics
from giamsat.aggregator.store import tokens

router = APIRouter()


@router.get("/healthz")
def healthz(request: Request) -> dict[str, Any]:
    """Readiness: the database answers and ingest holds a broker session."""
    try:
        with request.app.state.pool.connection(timeout=2) as conn:
            conn.execute("SELECT 1")
        database = "ok"
    except Exception as exc:  # any failure means "not ready": report it, do not raise
        database = f"error: {type(exc).__name__}"
    connected = request.app.state.stats.connected
    return {"database": database, "broker": "connected" if connected else "down"}


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))],
) -> str:
    """Prometheus text format; per-probe series only with a viewer token."""
    named = False
    if creds is not None:
        with request.app.state.pool.connection() as conn:
            caller = tokens.caller_for(conn, creds.credentials)
        if caller is None:
            raise HTTPException(
                401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"}
            )
        named = caller.may("viewer")
    return render_metrics(request.app.state.stats, with_probes=named)
