"""HTTP API (FastAPI): records, probes, tokens, health and metrics.

Every route states the least role it needs; raw data downloads are written to
the audit log with the caller's token name.
"""

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import unquote_to_bytes

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg_pool import ConnectionPool
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Receive, Scope, Send

from giamsat.aggregator.compliance import cases
from giamsat.aggregator.compliance.render import to_jsonable
from giamsat.aggregator.http import speedserver
from giamsat.aggregator.http.metrics import render_metrics
from giamsat.aggregator.ingest.consumer import IngestStats
from giamsat.aggregator.ingest.validate import PROBE_ID
from giamsat.aggregator.settings import Settings
from giamsat.aggregator.store import probes
from giamsat.aggregator.store import tokens as auth
from giamsat.aggregator.store.tokens import Caller

ProbeId = Annotated[str, Query(max_length=64, pattern=PROBE_ID.pattern)]
# Free-text names in request bodies: no control characters (NUL least of all,
# which PostgreSQL text cannot hold; see RefuseNul for paths and queries).
PLAIN_TEXT = r"^[^\x00-\x1f\x7f]*$"


class RefuseNul:
    """Answer 422 to a request whose path or query holds a NUL character.

    PostgreSQL text cannot store NUL, so a NUL in any parameter that reaches
    a query (an area, an operator, a token name) made the database driver
    raise and the API answer 500. No legitimate request carries one. A plain
    ASGI wrapper, not BaseHTTPMiddleware, so speed-test streams pass untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            "\x00" in scope["path"] or b"\x00" in unquote_to_bytes(scope["query_string"])
        ):
            refusal = JSONResponse({"detail": "NUL characters are not allowed"}, status_code=422)
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)


class ProbeIn(BaseModel):
    id: str = Field(max_length=64, pattern=PROBE_ID.pattern)
    pubkey: str = Field(max_length=100)
    kind: str = Field("fixed", pattern="^(fixed|phone)$")
    village: str | None = Field(None, max_length=200, pattern=PLAIN_TEXT)


class AdvanceIn(BaseModel):
    period_from: date = Field(description="first day of the new monitoring period")
    period_to: date = Field(description="last day of the new monitoring period")
    on: date = Field(description="date of the decision")
    bundle_sha256: str | None = Field(None, pattern="^[0-9a-f]{64}$")


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=PLAIN_TEXT)
    role: str = Field(pattern="^(viewer|inspector|admin)$")


def create_app(settings: Settings, stats: IngestStats | None = None) -> FastAPI:
    pool = ConnectionPool(
        settings.dsn, min_size=1, max_size=8, open=False, kwargs={"autocommit": True}
    )
    stats = stats or IngestStats()
    bearer = HTTPBearer(auto_error=False)

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
    app.add_middleware(RefuseNul)
    app.state.pool = pool
    app.state.stats = stats
    app.state.settings = settings

    def require(role: str) -> Callable[..., Caller]:
        def dependency(
            creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        ) -> Caller:
            if creds is None:
                raise HTTPException(
                    401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
                )
            with pool.connection() as conn:
                caller = auth.caller_for(conn, creds.credentials)
            if caller is None:
                raise HTTPException(
                    401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"}
                )
            if not caller.may(role):
                raise HTTPException(403, f"this needs the {role} role; the token is {caller.role}")
            return caller

        return dependency

    app.state.require = require
    # Probes measure throughput and latency against the aggregator itself by default.
    app.include_router(speedserver.create_router())
    Viewer = Annotated[Caller, Depends(require("viewer"))]
    Inspector = Annotated[Caller, Depends(require("inspector"))]
    Admin = Annotated[Caller, Depends(require("admin"))]

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        """Readiness: the database answers and ingest holds a broker session."""
        try:
            with pool.connection(timeout=2) as conn:
                conn.execute("SELECT 1")
            database = "ok"
        except Exception as exc:  # any failure means "not ready": report it, do not raise
            database = f"error: {type(exc).__name__}"
        return {"database": database, "broker": "connected" if stats.connected else "down"}

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics() -> str:
        """Prometheus text format."""
        return render_metrics(stats)

    @app.get("/api/v1/records")
    def records(
        caller: Inspector,
        request: Request,
        probe: ProbeId | None = None,
        since: Annotated[datetime | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    ) -> list[dict[str, Any]]:
        """Stored records, newest first, exactly as the probes signed them (inspector)."""
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
            auth.audit(
                conn,
                caller,
                "records.download",
                {"probe": probe, "since": since and since.isoformat(), "limit": limit,
                 "returned": len(rows)},
            )  # fmt: skip
        return [json.loads(row[0]) for row in rows]

    @app.get("/api/v1/probes")
    def probe_list(caller: Viewer) -> list[dict[str, Any]]:
        """Registered probes with when each was last heard from (viewer)."""
        with pool.connection() as conn:
            rows = conn.execute(
                "SELECT p.id, p.kind, p.village, p.registered_at, p.revoked_at,"
                " (SELECT max(t) FROM records r WHERE r.probe = p.id) AS last_record"
                " FROM probes p ORDER BY p.id"
            ).fetchall()
        keys = ("id", "kind", "village", "registered_at", "revoked_at", "last_record")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    @app.post("/api/v1/probes", status_code=201)
    def probe_add(caller: Admin, body: ProbeIn) -> dict[str, str]:
        """Register a probe (admin)."""
        with pool.connection() as conn:
            try:
                probes.add(conn, body.id, body.pubkey, kind=body.kind, village=body.village)
            except probes.RegistryError as exc:
                raise HTTPException(422, str(exc)) from None
            auth.audit(conn, caller, "probes.add", {"probe": body.id})
        return {"id": body.id}

    @app.delete("/api/v1/probes/{probe_id}")
    def probe_revoke(caller: Admin, probe_id: str) -> dict[str, str]:
        """Revoke a probe: its records are refused from now on (admin)."""
        with pool.connection() as conn:
            try:
                probes.revoke(conn, probe_id)
            except probes.RegistryError as exc:
                raise HTTPException(404, str(exc)) from None
            auth.audit(conn, caller, "probes.revoke", {"probe": probe_id})
        return {"id": probe_id, "status": "revoked"}

    @app.get("/api/v1/tokens")
    def token_list(caller: Admin) -> list[dict[str, Any]]:
        """API tokens, without their secrets (admin)."""
        with pool.connection() as conn:
            rows = auth.list_tokens(conn)
        keys = ("name", "role", "created_at", "revoked_at")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    @app.post("/api/v1/tokens", status_code=201)
    def token_create(caller: Admin, body: TokenIn) -> dict[str, str]:
        """Create a token; the response is the only time it is shown (admin)."""
        with pool.connection() as conn:
            try:
                token = auth.create_token(conn, body.name, body.role)
            except auth.TokenError as exc:
                raise HTTPException(409, str(exc)) from None
            auth.audit(conn, caller, "tokens.create", {"name": body.name, "role": body.role})
        return {"name": body.name, "role": body.role, "token": token}

    @app.delete("/api/v1/tokens/{name}")
    def token_revoke(caller: Admin, name: str) -> dict[str, str]:
        """Revoke a token (admin)."""
        with pool.connection() as conn:
            try:
                auth.revoke_token(conn, name)
            except auth.TokenError as exc:
                raise HTTPException(404, str(exc)) from None
            auth.audit(conn, caller, "tokens.revoke", {"name": name})
        return {"name": name, "status": "revoked"}

    @app.get("/api/v1/cases")
    def case_list(caller: Viewer, state: str | None = None) -> list[dict[str, Any]]:
        """Escalation cases with their dated history (viewer)."""
        with pool.connection() as conn:
            found = cases.list_cases(conn, state)
        return [{"id": c.id, **to_jsonable(c.case)} for c in found]

    @app.get("/api/v1/cases/{case_id}")
    def case_show(caller: Viewer, case_id: int) -> dict[str, Any]:
        """One case, its history and the notices it produced (viewer)."""
        with pool.connection() as conn:
            stored = cases.get(conn, case_id)
            if stored is None:
                raise HTTPException(404, f"no case {case_id}")
            notices = cases.notices_of(conn, case_id)
        keys = ("state", "language", "issued_on", "text")
        return {
            "id": stored.id,
            **to_jsonable(stored.case),
            "notices": [dict(zip(keys, n, strict=True)) for n in notices],
        }

    @app.post("/api/v1/cases/{case_id}/advance")
    def case_advance(caller: Inspector, case_id: int, body: AdvanceIn) -> dict[str, Any]:
        """Apply the verdict of a new monitoring period: escalate or close (inspector)."""
        from giamsat.aggregator.compliance import (
            EscalationError,
            Period,
            Policy,
            load_operators,
            load_standards,
        )
        from giamsat.aggregator.compliance.assess import assess

        c = settings.compliance
        with pool.connection() as conn:
            stored = cases.get(conn, case_id)
            if stored is None:
                raise HTTPException(404, f"no case {case_id}")
            standard = load_standards(c.standards_dir)[stored.case.standard_id]
            operator = load_operators(c.operators_file)[stored.case.operator]
            row = conn.execute(
                "SELECT id FROM areas WHERE name = %s OR id = %s",
                (stored.case.area, stored.case.area),
            ).fetchone()
            try:
                period = Period(body.period_from, body.period_to)
            except ValueError as exc:
                raise HTTPException(422, str(exc)) from None
            result = assess(conn, standard, operator, row[0] if row else stored.case.area,
                            period, area_name=stored.case.area)  # fmt: skip
            policy = Policy(c.grace_1_days, c.grace_2_days, c.notices_need_evidence)
            try:
                new = cases.advance(conn, stored, result, body.on, operator=operator,
                                    standard=standard, bundle_sha256=body.bundle_sha256,
                                    policy=policy)  # fmt: skip
            except (EscalationError, ValueError) as exc:
                raise HTTPException(409, str(exc)) from None
            auth.audit(conn, caller, "cases.advance",
                       {"case": case_id, "state": new.case.state.value})  # fmt: skip
        return {"id": new.id, **to_jsonable(new.case)}

    from giamsat.aggregator.http.evidence import register as register_evidence
    from giamsat.aggregator.http.web import register as register_web
    from giamsat.maps.render import TileSource

    register_evidence(app, key_dir=settings.state_dir / "evidence")
    tiles = (
        TileSource(settings.web.tile_url, settings.web.tile_attribution)
        if settings.web.tile_url
        else None
    )
    register_web(app, tiles=tiles, pseudonym_key_file=settings.state_dir / "opendata.key")
    return app
