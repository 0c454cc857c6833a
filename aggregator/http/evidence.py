"""`GET /api/v1/evidence`: the same bundle as `giamsat evidence build`, for inspectors.

Every download is written to the audit log (``evidence.download``) with the
case, the number of records and the bundle's SHA-256, so the department can
later say exactly which bundle an inspector took to an operator. The bundle
is built in a temporary directory and deleted once it has been sent; its
SHA-256 is also returned in the ``X-Giamsat-SHA256`` header.

The signing key lives in the ``evidence`` folder of the aggregator's state
directory.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from giamsat.aggregator.compliance import Period
from giamsat.aggregator.evidence import keys
from giamsat.aggregator.evidence.bundle import UnknownArea, build_from_database, case_config
from giamsat.aggregator.evidence.records import BundleError
from giamsat.aggregator.http.auth import Inspector
from giamsat.aggregator.http.text import IsoDate
from giamsat.aggregator.store import tokens

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def bundle_name(standard: str, operator: str, area: str, start: date, end: date) -> str:
    """A file name that says what the bundle is, with only portable characters."""
    parts = ("giamsat-evidence", standard, operator, area, start.isoformat(), end.isoformat())
    return "_".join(_UNSAFE.sub("-", p).strip("-") for p in parts) + ".zip"


router = APIRouter()


@router.get("/api/v1/evidence", response_class=FileResponse)
def evidence(
    caller: Inspector,
    request: Request,
    standard: Annotated[str, Query(max_length=100)],
    operator: Annotated[str, Query(max_length=100)],
    start: Annotated[IsoDate, Query(alias="from")],
    end: Annotated[IsoDate, Query(alias="to")],
    area: Annotated[str, Query(max_length=100)] = "all",
) -> FileResponse:
    """A signed evidence bundle (ZIP): one operator, area, standard and period (inspector)."""
    settings = request.app.state.settings
    try:
        period = Period(start, end)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    try:
        std, op = case_config(settings.compliance, standard, operator)
    except BundleError as exc:
        raise HTTPException(422, str(exc)) from None
    key = keys.load_or_create(settings.state_dir / "evidence")
    tmp = Path(tempfile.mkdtemp(prefix="giamsat-evidence-api-"))
    out = tmp / bundle_name(standard, operator, area, start, end)
    try:
        with request.app.state.pool.connection() as conn:
            result = build_from_database(
                conn, standard=std, operator=op,
                operators_file=settings.compliance.operators_file, area=area,
                period=period, out=out, key=key,
            )  # fmt: skip
            tokens.audit(conn, caller, "evidence.download", result.audit_detail(area))
    except BundleError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        status = 404 if isinstance(exc, UnknownArea) else 409
        raise HTTPException(status, str(exc)) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return FileResponse(
        out,
        media_type="application/zip",
        filename=out.name,
        headers={"X-Giamsat-SHA256": result.sha256},
        background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True),
    )
