"""``/api/v1/cases``: escalation cases; viewers read them, inspectors advance them.

Advancing goes through :func:`giamsat.aggregator.compliance.cases.advance_case`,
the same workflow as ``giamsat cases advance``. An operator's token reads its
own company's cases and answers their notices (text and files); another
company's case does not exist for it (404, as for a case that does not).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import Response as HttpResponse
from pydantic import BaseModel, Field

from giamsat.aggregator.compliance import cases
from giamsat.aggregator.compliance.clusters import Period
from giamsat.aggregator.compliance.escalation import EscalationError, next_due, response_window
from giamsat.aggregator.compliance.render import to_jsonable
from giamsat.aggregator.http.auth import CaseAnswerer, CaseReader, Inspector
from giamsat.aggregator.http.text import IsoDate
from giamsat.aggregator.store import tokens
from giamsat.aggregator.store.tokens import Caller

router = APIRouter()


class AdvanceIn(BaseModel):
    period_from: IsoDate = Field(description="first day of the new monitoring period")
    period_to: IsoDate = Field(description="last day of the new monitoring period")
    on: IsoDate = Field(description="date of the decision")
    bundle_sha256: str | None = Field(None, pattern="^[0-9a-f]{64}$")


def _visible(conn: Any, caller: Caller, case_id: int) -> cases.StoredCase:
    """The case, if this caller may see it; 404 otherwise, whether or not it exists."""
    stored = cases.get(conn, case_id)
    if stored is None or not caller.sees_operator(stored.case.operator):
        raise HTTPException(404, f"no case {case_id}")
    return stored


def response_json(response: cases.Response) -> dict[str, Any]:
    return {
        "id": response.id,
        "notice_state": response.notice_state,
        "notice_on": response.notice_on.isoformat(),
        "received_at": response.received_at.isoformat(),
        "who": response.who,
        "role": response.role,
        "text": response.text,
        "late": response.late,
        "files": [{"name": f.name, "sha256": f.sha256, "bytes": f.bytes} for f in response.files],
    }


@router.get("/api/v1/cases")
def case_list(
    caller: CaseReader, request: Request, state: str | None = None
) -> list[dict[str, Any]]:
    """Escalation cases with their dated history (viewer; an operator: its own)."""
    with request.app.state.pool.connection() as conn:
        found = cases.list_cases(conn, state, caller.operator)
    return [{"id": c.id, **to_jsonable(c.case)} for c in found]


@router.get("/api/v1/cases/{case_id}")
def case_show(caller: CaseReader, request: Request, case_id: int) -> dict[str, Any]:
    """One case, its history, notices, answers and open window (viewer; operator: its own)."""
    policy = cases.policy_of(request.app.state.settings.compliance)
    with request.app.state.pool.connection() as conn:
        stored = _visible(conn, caller, case_id)
        notices = cases.notices_of(conn, case_id)
        answers = cases.responses_of(conn, case_id)
    keys = ("state", "language", "issued_on", "text")
    window = response_window(stored.case, policy)
    due = next_due(stored.case, policy)
    return {
        "id": stored.id,
        **to_jsonable(stored.case),
        "notices": [dict(zip(keys, n, strict=True)) for n in notices],
        "response_window": None
        if window is None
        else {"from": window[0].isoformat(), "to": window[1].isoformat()},
        "next_due": None if due is None else due.isoformat(),
        "responses": [response_json(r) for r in answers],
    }


@router.post("/api/v1/cases/{case_id}/responses", status_code=201)
async def case_respond(
    caller: CaseAnswerer,
    request: Request,
    case_id: int,
    text: Annotated[str, Form(description="the operator's answer to the notice")],
    files: Annotated[
        list[UploadFile] | None,
        File(description="documents, such as the operator's own drive-test logs"),
    ] = None,
) -> dict[str, Any]:
    """Answer the case's latest notice (the operator, for its own cases; an inspector
    recording an answer received on paper)."""
    for upload in files or []:
        if (upload.size or 0) > cases.MAX_RESPONSE_FILE_BYTES:
            raise HTTPException(
                413, f"file {upload.filename}: over {cases.MAX_RESPONSE_FILE_BYTES:,} bytes"
            )
    attached = [(f.filename or "", await f.read()) for f in files or []]
    policy = cases.policy_of(request.app.state.settings.compliance)
    with request.app.state.pool.connection() as conn:
        stored = _visible(conn, caller, case_id)
        who = f"{caller.name} ({caller.operator})" if caller.operator else caller.name
        try:
            answer = cases.respond(
                conn, stored, policy, who=who, role=caller.role, text=text, files=attached
            )
        except cases.ResponseRefused as exc:
            raise HTTPException(409, str(exc)) from None
        hashes = [{"name": f.name, "sha256": f.sha256} for f in answer.files]
        detail = {"case": case_id, "response": answer.id, "late": answer.late, "files": hashes}
        tokens.audit(conn, caller, "cases.respond", detail)
    return response_json(answer)


@router.get("/api/v1/cases/{case_id}/responses/{response_id}/files/{name}")
def case_response_file(
    caller: CaseAnswerer, request: Request, case_id: int, response_id: int, name: str
) -> HttpResponse:
    """One file of an answer, as sent (inspector; an operator: its own)."""
    with request.app.state.pool.connection() as conn:
        _visible(conn, caller, case_id)
        content = cases.response_file(conn, case_id, response_id, name)
        if content is None:
            raise HTTPException(404, f"case {case_id} has no file {name!r} in answer {response_id}")
        tokens.audit(conn, caller, "cases.response_file",
                     {"case": case_id, "response": response_id, "name": name})  # fmt: skip
    return HttpResponse(
        content,
        media_type="application/octet-stream",
        headers={"content-disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


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
