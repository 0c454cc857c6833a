"""`giamsat serve`: ingest worker and HTTP API in one process, stopped cleanly by SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

import psycopg
import uvicorn

from giamsat.aggregator.http.app import create_app
from giamsat.aggregator.ingest import consumer as ingest
from giamsat.aggregator.settings import Settings
from giamsat.aggregator.store import daily

log = logging.getLogger("giamsat.serve")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: `serve` stops API and ingest together."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def refresh_daily_rollups(settings: Settings, stop: asyncio.Event) -> None:
    """Fold changed hourly rollups into ``rollups_daily`` every ``compliance.refresh_s``.

    Compliance tables read the daily rows plus whatever changed since the last
    refresh, so a late or failed refresh makes them slower, never wrong: a
    failure is logged and tried again next time rather than stopping `serve`.
    """
    while not stop.is_set():
        try:
            rows = await asyncio.to_thread(_refresh_once, settings.dsn)
            if rows:
                log.info("daily rollups: %d rows refreshed", rows)
        except psycopg.Error as exc:
            log.warning("daily rollups not refreshed (%s); trying again later", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.compliance.refresh_s)


def _refresh_once(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return daily.refresh_daily(conn)


async def serve(settings: Settings, *, with_ingest: bool = True, with_api: bool = True) -> int:
    """Run until SIGTERM (0), or until ingest or API fails on its own (1).

    A part that dies must take the process with it, loudly: an API that stays
    up over a dead ingest looks alive to the service manager, which would
    never restart it, while records pile up unacknowledged at the broker.
    """
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
        tasks.append(asyncio.create_task(server.serve(), name="API"))
        tasks.append(
            asyncio.create_task(refresh_daily_rollups(settings, stop), name="daily refresh")
        )
    if with_ingest:
        tasks.append(asyncio.create_task(ingest.run(settings, stats, stop), name="ingest"))
    if with_api:
        log.info("API listening on %s", settings.api.url)
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait([stopped, *tasks], return_when=asyncio.FIRST_COMPLETED)
    failed = [t for t in tasks if t.done() and not stop.is_set()]
    stop.set()
    if server is not None:
        server.should_exit = True
    await asyncio.gather(*tasks, return_exceptions=True)
    for task in failed:
        error = None if task.cancelled() else task.exception()
        log.error("%s stopped unexpectedly; exiting", task.get_name(), exc_info=error)
    return 1 if failed else 0
