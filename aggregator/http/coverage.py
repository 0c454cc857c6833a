"""``/api/v1/coverage/gaps``: hexagons declared covered and measured dead (viewer).

The same list as ``giamsat coverage gaps`` (:func:`giamsat.aggregator.compliance.gaps.find_gaps`,
classified with the thresholds the map page uses), as JSON or as a GeoJSON
FeatureCollection of hexagon polygons; the map's layer "Declared covered,
measured dead" draws the latter. Without ``from``/``to`` the period is the
one the map shows by default: the month of the newest data.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from giamsat.aggregator.compliance import gaps
from giamsat.aggregator.http.auth import Viewer
from giamsat.aggregator.http.text import IsoDate
from giamsat.aggregator.http.web import queries
from giamsat.aggregator.http.web.context import WebContext
from giamsat.aggregator.http.web.periods import day_period

router = APIRouter()

GEOJSON = "application/geo+json"


@router.get("/api/v1/coverage/gaps", response_model=None)
def coverage_gaps(
    caller: Viewer,
    request: Request,
    operator: Annotated[
        list[str], Query(description="operator as in operators.toml; repeat for several")
    ],
    technology: Annotated[Literal["4G", "5G"], Query(description="declared technology")],
    start: Annotated[IsoDate | None, Query(alias="from", description="first local day")] = None,
    end: Annotated[IsoDate | None, Query(alias="to", description="last local day")] = None,
    area: Annotated[
        str | None, Query(max_length=100, description="area id, e.g. gso-19; all when absent")
    ] = None,
    weak: Annotated[bool, Query(description="list hexagons measured weak too")] = False,
    fmt: Annotated[Literal["json", "geojson"], Query(alias="format")] = "json",
) -> Response:
    """Hexagons inside the operators' declared service areas measured dead (or weak): viewer."""
    ctx: WebContext = request.app.state.web
    unknown = [op for op in operator if op not in ctx.operators]
    if unknown:
        raise HTTPException(
            422, f"operator: {unknown[0][:100]}: unknown; one of {', '.join(ctx.operators)}"
        )
    with request.app.state.pool.connection() as conn:
        try:
            period = day_period(start, end, queries.latest_day(conn))
        except ValueError as exc:
            raise HTTPException(422, f"from/to: {exc}") from None
        try:
            report = gaps.find_gaps(
                conn, ctx.coverage, operator, technology, period,
                area=None if area in (None, "", "all") else area, weak=weak,
            )  # fmt: skip
        except gaps.GapQueryError as exc:
            raise HTTPException(422, str(exc)) from None
    if fmt == "geojson":
        body = json.dumps(gaps.to_geojson(report), ensure_ascii=False)
        return Response(body, media_type=GEOJSON)
    return JSONResponse(gaps.to_json(report))
