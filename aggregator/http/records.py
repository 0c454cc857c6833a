"""``/api/v1/records``: stored records exactly as the probes signed them (inspector).

Every download is written to the audit log, because raw records place a
probe, and so a household or a phone, in time and space.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request

from giamsat.aggregator.http.auth import Inspector
from giamsat.aggregator.http.text import IsoDateTime
from giamsat.aggregator.store import tokens
from giamsat.contract.record import PROBE_ID_PATTERN

ProbeId = Annotated[str, Query(max_length=64, pattern=PROBE_ID_PATTERN.pattern)]

router = APIRouter()


@router.get("/api/v1/records")
def records(
    caller: Inspector,
    request: Request,
    probe: ProbeId | None = None,
    since: Annotated[IsoDateTime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[dict[str, Any]]:
    """Stored records, newest first, exactly as the probes signed them (inspector)."""
    if since is not None and since.tzinfo is None:
        raise HTTPException(422, "since needs a time zone, e.g. 2026-11-22T00:00:00Z")
    clauses: list[str] = []
    params: list[object] = []
    if probe is not None:
        clauses.append("probe = %s")
        params.append(probe)
    if since is not None:
        clauses.append("t >= %s")
        params.append(since)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    with request.app.state.pool.connection() as conn:
        rows = conn.execute(
            f"SELECT raw FROM records {where} ORDER BY t DESC LIMIT %s", [*params, limit]
        ).fetchall()
        tokens.audit(
            conn,
            caller,
            "records.download",
            {"probe": probe, "since": since and since.isoformat(), "limit": limit,
             "returned": len(rows)},
        )  # fmt: skip
    return [json.loads(row[0]) for row in rows]
