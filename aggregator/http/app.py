"""The HTTP application: API routers by resource, the pages, and the speed server.

Every route states the least role it needs through :mod:`giamsat.aggregator.http.auth`;
raw data and evidence downloads are written to the audit log with the caller's
token name. Routers reach the database through ``app.state.pool`` and the
configuration through ``app.state.settings``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from psycopg_pool import ConnectionPool

from giamsat.aggregator.http import (
    cases,
    coverage,
    evidence,
    health,
    probes,
    records,
    speedserver,
    tokens,
)
from giamsat.aggregator.http.text import RefuseNul
from giamsat.aggregator.http.web import register as register_web
from giamsat.aggregator.ingest.consumer import IngestStats
from giamsat.aggregator.settings import Settings
from giamsat.maps.render import TileSource


def create_app(settings: Settings, stats: IngestStats | None = None) -> FastAPI:
    """The aggregator's app; ``stats`` are the ingest counters ``/metrics`` reports."""
    pool = ConnectionPool(
        settings.dsn, min_size=1, max_size=8, open=False, kwargs={"autocommit": True}
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
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
    app.state.stats = stats or IngestStats()
    app.state.settings = settings
    # Probes measure throughput and latency against the aggregator itself by default.
    app.include_router(speedserver.create_router())
    for router in (health, records, probes, tokens, cases, evidence, coverage):
        app.include_router(router.router)
    tiles = (
        TileSource(settings.web.tile_url, settings.web.tile_attribution)
        if settings.web.tile_url
        else None
    )
    register_web(app, tiles=tiles, pseudonym_key_file=settings.state_dir / "opendata.key")
    return app
