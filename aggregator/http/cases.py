"""``/api/v1/cases``: escalation cases; viewers read them, inspectors advance them.

Advancing goes through :func:`giamsat.aggregator.compliance.cases.advance_case`,
the same workflow as ``giamsat cases advance``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from giamsat.aggregator.compliance import cases
from giamsat.aggregator.compliance.clusters import Period
from giamsat.aggregator.compliance.escalation import EscalationError
from giamsat.aggregator.compliance.render import to_jsonable
from giamsat.aggregator.http.auth import Inspector, Viewer
from giamsat.aggregator.store import tokens

router = APIRouter()


class AdvanceIn(BaseModel):
    period_from: date = Field(description="first day of the new monitoring period")
    period_to: date = Field(description="last day of the new monitoring period")
    on: date = Field(description="date of the decision")
    bundle_sha256: str | None = Field(None, pattern="^[0-9a-f]{64}$")


@router.get("/api/v1/cases")
def case_list(caller: Viewer, request: Request, state: str | None = None) -> list[dict[str, Any]]:
    """Escalation cases with their dated history (viewer)."""
    with request.app.state.pool.connection() as conn:
        found = cases.list_cases(conn, state)
    return [{"id": c.id, **to_jsonable(c.case)} for c in found]


@router.get("/api/v1/cases/{case_id}")
def case_show(caller: Viewer, request: Request, case_id: int) -> dict[str, Any]:
    """One case, its history and the notices it produced (viewer)."""
    with request.app.state.pool.connection() as conn:
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


@router.post("/api/v1/cases/{case_id}/advance")
def case_advance(
    caller: Inspector, request: Request, case_id: int, body: AdvanceIn
) -> dict[str, Any]:
    """Apply the verdict of a new monitoring period: escalate or close (inspector)."""
    try:
        period = Period(body.period_from, body.period_to)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    settings = request.app.state.settings
    with request.app.state.pool.connection() as conn:
        try:
            new = cases.advance_case(
                conn, settings.compliance, case_id, period, body.on,
                bundle_sha256=body.bundle_sha256, issuer=settings.issuer,
            )  # fmt: skip
        except cases.CaseNotFound as exc:
            raise HTTPException(404, str(exc)) from None
        except (EscalationError, ValueError) as exc:
            raise HTTPException(409, str(exc)) from None
        tokens.audit(conn, caller, "cases.advance",
                     {"case": case_id, "state": new.case.state.value})  # fmt: skip
    return {"id": new.id, **to_jsonable(new.case)}
