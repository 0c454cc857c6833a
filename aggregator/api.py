"""HTTP API (FastAPI): stored records, probes, health; the speed server is mounted too."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query
from psycopg_pool import ConnectionPool

from aggregator.ingest import IngestStats
from aggregator.settings import Settings
from aggregator.validate import PROBE_ID


def create_app(settings: Settings, stats: IngestStats | None = None) -> FastAPI:
    pool = ConnectionPool(settings.dsn, min_size=1, max_size=8, open=False)
    stats = stats or IngestStats()

    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        pool.open()
        yield
        pool.close()

    app = FastAPI(
        title="giamsat",
        description="Mobile network quality monitoring against QCVN 126:2021 and QCVN 81:2019",
        version="0.1.0",
        lifespan=lifespan,
    )

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        """Liveness and readiness: the database answers and ingest holds a broker session."""
        try:
            with pool.connection(timeout=2) as conn:
                conn.execute("SELECT 1")
            database = "ok"
        except Exception as exc:  # any failure is "not ready", reported, not raised
            database = f"error: {type(exc).__name__}"
        return {"database": database, "broker": "connected" if stats.connected else "down"}

    @app.get("/api/v1/records")
    def records(
        probe: Annotated[str | None, Query(max_length=64)] = None,
        since: Annotated[datetime | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    ) -> list[dict[str, Any]]:
        """Stored records, newest first, exactly as the probes signed them."""
        if probe is not None and not PROBE_ID.match(probe):
            raise HTTPException(422, "probe id has characters outside [A-Za-z0-9._-]")
        if since is not None and since.tzinfo is None:
            raise HTTPException(422, "since needs a time zone, e.g. 2026-11-22T00:00:00Z")
        clauses, params = [], []
        if probe is not None:
            clauses.append("probe = %s")
            params.append(probe)
        if since is not None:
            clauses.append("t >= %s")
            params.append(since)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with pool.connection() as conn:
            rows = conn.execute(
                f"SELECT raw FROM records {where} ORDER BY t DESC LIMIT %s", [*params, limit]
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    @app.get("/api/v1/probes")
    def probe_list() -> list[dict[str, Any]]:
        """Registered probes with when each was last heard from."""
        with pool.connection() as conn:
            rows = conn.execute(
                "SELECT p.id, p.kind, p.village, p.registered_at, p.revoked_at,"
                " (SELECT max(t) FROM records r WHERE r.probe = p.id) AS last_record"
                " FROM probes p ORDER BY p.id"
            ).fetchall()
        keys = ("id", "kind", "village", "registered_at", "revoked_at", "last_record")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    return app
