"""``/healthz`` and ``/metrics``: what a load balancer and Prometheus ask."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from giamsat.aggregator.http.metrics import render_metrics

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
def metrics(request: Request) -> str:
    """Prometheus text format."""
    return render_metrics(request.app.state.stats)
