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
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from giamsat.aggregator.compliance import Period
from giamsat.aggregator.evidence import keys
from giamsat.aggregator.evidence.bundle import UnknownArea, build_from_database, case_config
from giamsat.aggregator.evidence.records import BundleError
from giamsat.aggregator.http.auth import Inspector
from giamsat.aggregator.http.text import IsoDate
from giamsat.aggregator.store import bundles, tokens

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
            bundles.keep(conn, out)  # the bundle a notice may cite, kept by its hash
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


@router.get("/api/v1/evidence/bundles/{sha256}")
def kept_bundle(
    caller: Inspector,
    request: Request,
    sha256: Annotated[str, PathParam(pattern="^[0-9a-f]{64}$")],
) -> Response:
    """A bundle the system built or a notice cited, by its SHA-256, byte for byte (inspector)."""
    with request.app.state.pool.connection() as conn:
        found = bundles.fetch(conn, sha256)
        if found is None:
            raise HTTPException(404, f"no bundle with SHA-256 {sha256} is kept")
        tokens.audit(conn, caller, "evidence.kept_download", {"sha256": sha256})
    name, content = found
    return Response(
        content,
        media_type="application/zip",
        headers={"content-disposition": f"attachment; filename*=UTF-8''{quote(name)}",
                 "X-Giamsat-SHA256": sha256},
    )  # fmt: skip
