"""`giamsat serve`: ingest worker and HTTP API in one process, stopped cleanly by SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import uvicorn

from aggregator import ingest
from aggregator.api import create_app
from aggregator.settings import Settings

log = logging.getLogger("giamsat.serve")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: `serve` stops API and ingest together."""

    def capture_signals(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


async def serve(settings: Settings, *, with_ingest: bool = True, with_api: bool = True) -> None:
    stats = ingest.IngestStats()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    tasks = []
    server: uvicorn.Server | None = None
    if with_api:
        config = uvicorn.Config(
            create_app(settings, stats),
            host=settings.api.host,
            port=settings.api.port,
            log_level="warning",
            lifespan="on",
        )
        server = _Server(config)
        tasks.append(asyncio.create_task(server.serve()))
    if with_ingest:
        tasks.append(asyncio.create_task(ingest.run(settings, stats, stop)))
    if with_api:
        log.info("API listening on %s", settings.api.url)
    await stop.wait()
    if server is not None:
        server.should_exit = True
    await asyncio.gather(*tasks, return_exceptions=True)
