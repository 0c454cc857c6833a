"""The aggregator's web pages and open data, added to the API app by :func:`register`.

- ``/login``, ``/logout`` — a person signs in with an API token once (cookie)
- ``/map`` — coverage and dead zones, filtered by operator, technology, area, period
- ``/compliance`` (+ ``/compliance/detail``) — verdicts per operator × province
- ``/trends`` — monthly KPIs per operator, for all areas or a province, as SVG charts
- ``/probes`` — fleet health: last seen, spool backlog, data budget, silent probes
- ``/api/v1/compliance`` — the compliance verdicts as JSON (viewer, Bearer or cookie)
- ``/api/v1/opendata``, ``/api/v1/opendata/YYYY-MM.csv|.geojson`` — public, per hexagon
- ``/static`` — Leaflet and the map runtime (:data:`giamsat.maps.assets.STATIC_DIR`),
  ``/web-static`` — the pages' stylesheet; nothing is loaded from the internet
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from giamsat.aggregator.http.auth import LoginRequired, login_redirect
from giamsat.aggregator.http.web import opendata, pages
from giamsat.aggregator.http.web.context import load_context
from giamsat.maps.assets import STATIC_DIR
from giamsat.maps.render import TileSource

WEB_STATIC = Path(__file__).parent / "static"
log = logging.getLogger("giamsat.web")


def register(
    app: FastAPI,
    *,
    tiles: TileSource | None = None,
    pseudonym_key_file: Path | None = None,
) -> None:
    """Add the pages, open data and static files to an app from ``create_app``.

    ``tiles`` is an optional base map (e.g. an internal tile server); without
    one, or when it is unreachable, maps show hexagons and markers on a plain
    background. ``pseudonym_key_file`` holds the secret that names phones in
    open data (created on first use); without one a random key is used for
    this process only, so pseudonyms change when the server restarts.
    """
    if pseudonym_key_file is not None:
        key = opendata.load_or_create_key(pseudonym_key_file)
    else:
        log.warning("no pseudonym key file: open-data phone pseudonyms change on every restart")
        key = secrets.token_bytes(opendata.KEY_BYTES)
    app.state.web = load_context(app.state.settings, tiles, key)
    app.include_router(pages.router)
    app.include_router(opendata.router)
    app.add_exception_handler(LoginRequired, login_redirect)  # type: ignore[arg-type]
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/web-static", StaticFiles(directory=WEB_STATIC), name="web-static")
