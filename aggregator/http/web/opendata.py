"""Open data: monthly aggregates per hexagon, operator and technology, for anyone.

``/api/v1/opendata/YYYY-MM.csv`` and ``.geojson`` need no token. What they
must never reveal is where a person is: every position is the centre of an
H3 resolution-8 cell (about 0.74 km²), never a sample's coordinates, and the
phones that measured a hexagon are named only by a pseudonym. Fixed probes
are public installations (a village office roof) and keep their ids, so
anyone can see that one device produced all of a hexagon's samples.

A phone's pseudonym is an HMAC of its id under a server secret and the month,
so it is stable within a month's file (one phone's hexagons can be told
apart from another's) but not across months, which would let anyone follow a
volunteer's phone from month to month. Without the secret, a pseudonym
cannot be tied to a probe id even by someone who can guess all the ids.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psycopg
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from giamsat.aggregator.compliance.assess import period_bounds
from giamsat.aggregator.http.web import queries
from giamsat.aggregator.http.web.context import WebContext
from giamsat.aggregator.http.web.periods import MONTH, month_period, months_between, to_local_month
from giamsat.aggregator.store.columns import H3_RESOLUTION
from giamsat.maps.opendata import OPEN_DATA_COLUMNS, OpenDataRow, open_data_geojson, open_data_rows

KEY_BYTES = 32
COLUMNS = (*OPEN_DATA_COLUMNS, "n_probes", "probes")
# Public and unauthenticated: let caches and proxies answer repeated downloads.
CACHE = {"Cache-Control": "public, max-age=3600"}

router = APIRouter()


def load_or_create_key(path: Path) -> bytes:
    """The pseudonym secret, created (mode 0600) on first use, as a probe creates its key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = bytes.fromhex(path.read_text().strip())
        if len(key) < KEY_BYTES:
            raise ValueError(
                f"{path}: the pseudonym key must hold {KEY_BYTES} bytes in hex"
            ) from None
        return key
    key = secrets.token_bytes(KEY_BYTES)
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex() + "\n")
    return key


def pseudonym(key: bytes, month: str, probe_id: str) -> str:
    """A phone's name in one month's open data."""
    digest = hmac.new(key, f"{month}\n{probe_id}".encode(), hashlib.sha256).hexdigest()
    return f"phone-{digest[:12]}"


def published_probes(
    key: bytes, month: str, probe_ids: Sequence[str], kinds: Mapping[str, str]
) -> list[str]:
    """Fixed probes by id, every other probe (phones, and any of unknown kind) by pseudonym."""
    names = {
        probe if kinds.get(probe) == "fixed" else pseudonym(key, month, probe)
        for probe in probe_ids
    }
    return sorted(names)


def month_dataset(
    conn: psycopg.Connection, ctx: WebContext, month: str
) -> tuple[list[OpenDataRow], dict[tuple[str, str, str], list[str]]]:
    """The month's rows and, per (h3, op, tech), the published names of the probes."""
    start, end = period_bounds(month_period(month))
    hexes = queries.hex_stats(conn, ctx.families, start, end, with_probes=True)
    kinds = queries.probe_kinds(conn)
    rows = open_data_rows(month, [h.stats for h in hexes], ctx.map_standard())
    probes = {
        (h.stats.h3, h.stats.op, h.stats.tech): published_probes(
            ctx.pseudonym_key, month, h.probes, kinds
        )
        for h in hexes
    }
    return rows, probes


def to_csv(rows: Sequence[OpenDataRow], probes: Mapping[tuple[str, str, str], list[str]]) -> str:
    """CSV (RFC 4180, UTF-8): the maps open-data columns plus the probes; lists joined by ``; ``."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        names = probes.get((row.h3, row.op, row.tech), [])
        values = ["" if v is None else v for v in asdict(row).values()]
        writer.writerow([*values, len(names), "; ".join(names)])
    return out.getvalue()


def to_geojson(
    rows: Sequence[OpenDataRow], probes: Mapping[tuple[str, str, str], list[str]]
) -> dict[str, Any]:
    collection = open_data_geojson(rows)
    for row, feature in zip(rows, collection["features"], strict=True):
        names = probes.get((row.h3, row.op, row.tech), [])
        feature["properties"].update({"n_probes": len(names), "probes": names})
    return collection


def _month_or_404(month: str) -> str:
    if MONTH.match(month) is None:
        raise HTTPException(404, "open data files are named YYYY-MM.csv or YYYY-MM.geojson")
    return month


@router.get("/api/v1/opendata")
def opendata_index(request: Request) -> dict[str, Any]:
    """The months with data and their files (no token needed)."""
    with request.app.state.pool.connection() as conn:
        row = conn.execute("SELECT min(hour), max(hour) FROM rollups").fetchone()
    months: list[str] = []
    if row and row[0] is not None:
        months = months_between(to_local_month(row[0]), to_local_month(row[1]))
    return {
        "h3_resolution": H3_RESOLUTION,
        "columns": list(COLUMNS),
        "months": [
            {
                "month": m,
                "csv": f"/api/v1/opendata/{m}.csv",
                "geojson": f"/api/v1/opendata/{m}.geojson",
            }
            for m in months
        ],
    }


@router.get("/api/v1/opendata/{month}.csv")
def opendata_csv(request: Request, month: str) -> Response:
    """One month per hexagon, operator and technology as CSV (no token needed)."""
    month = _month_or_404(month)
    with request.app.state.pool.connection() as conn:
        rows, probes = month_dataset(conn, request.app.state.web, month)
    return Response(
        to_csv(rows, probes),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="giamsat-{month}.csv"', **CACHE},
    )


@router.get("/api/v1/opendata/{month}.geojson")
def opendata_geojson(request: Request, month: str) -> JSONResponse:
    """One month as GeoJSON points at hexagon centres (no token needed)."""
    month = _month_or_404(month)
    with request.app.state.pool.connection() as conn:
        rows, probes = month_dataset(conn, request.app.state.web, month)
    return JSONResponse(to_geojson(rows, probes), media_type="application/geo+json", headers=CACHE)
