"""The speed server that probes measure throughput and latency against.

Two dialects on one router, so a probe can use either client against the same
machine and the two results are comparable:

* our own: ``GET /speed/down?bytes=N`` streams N incompressible bytes,
  ``POST /speed/up`` reads and discards the body and says how many bytes it
  saw and how long that took, ``GET /speed/ping`` answers as little as possible;
* a Speedtest Mini's paths (``/speedtest/latency.txt``,
  ``/speedtest/random{N}x{N}.jpg`` with the byte sizes Ookla's files have,
  ``/speedtest/upload.php``), so the unmodified ``speedtest-cli`` library can
  measure against it.

Throughput matters more than elegance here: the payload is one random buffer
made at start-up and sent in 1 MiB slices, so the per-chunk Python cost stays
far below the cost of moving the bytes (several hundred Mbit/s on loopback).
Random bytes, not zeros, because a compressing middlebox or modem would
otherwise report a link faster than it is.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated

import uvicorn
from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.requests import ClientDisconnect

CHUNK = 1 << 20
# 16 MiB of distinct random bytes: no compressor with a window shorter than that
# (gzip: 32 KiB, zstd's default levels: a few MiB) finds a repeat.
BUFFER = 16 << 20
DEFAULT_MAX_BYTES = 1 << 30

# Sizes of the random{N}x{N}.jpg files every Ookla/Speedtest Mini server holds;
# speedtest-cli reads each to its end and counts what it got.
JPEG_SIZES: dict[int, int] = {
    350: 245_388,
    500: 505_544,
    750: 1_118_012,
    1000: 1_986_284,
    1500: 4_468_241,
    2000: 7_907_740,
    2500: 12_407_926,
    3000: 17_816_816,
    3500: 24_262_167,
    4000: 31_625_365,
}

NO_STORE = {"Cache-Control": "no-store, no-transform"}


@dataclass
class SpeedStats:
    """What the server has sent and received, so tests can hold a client to it."""

    down_bytes: int = 0
    up_bytes: int = 0
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, *, down: int = 0, up: int = 0, requests: int = 0) -> None:
        with self.lock:
            self.down_bytes += down
            self.up_bytes += up
            self.requests += requests


class _Payload:
    """One random buffer, handed out as slices starting at varying offsets."""

    def __init__(self) -> None:
        self.view = memoryview(os.urandom(BUFFER + CHUNK))
        self.offset = 0

    def chunks(self, total: int) -> Iterator[memoryview]:
        left = total
        offset = self.offset = (self.offset + 7919 * 4096) % BUFFER
        while left > 0:
            n = min(CHUNK, left)
            yield self.view[offset : offset + n]
            left -= n
            offset = (offset + n) % BUFFER


def create_router(max_bytes: int = DEFAULT_MAX_BYTES, stats: SpeedStats | None = None) -> APIRouter:
    """The speed-test routes, to mount at the root of the API app or of a standalone app.

    ``max_bytes`` caps one download (larger requests are served ``max_bytes``,
    and Content-Length says so) and one upload (larger bodies are refused with
    413), so one misconfigured probe cannot hold the server for minutes.
    """
    payload = _Payload()
    counters = stats or SpeedStats()
    router = APIRouter(tags=["speed test"])

    def stream(total: int, media_type: str) -> StreamingResponse:
        async def body() -> AsyncIterator[memoryview]:
            for chunk in payload.chunks(total):
                yield chunk
                counters.add(down=len(chunk))

        counters.add(requests=1)
        headers = {**NO_STORE, "Content-Length": str(total)}
        return StreamingResponse(body(), media_type=media_type, headers=headers)

    async def sink(request: Request) -> tuple[int, float]:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            raise HTTPException(413, f"upload larger than {max_bytes} bytes")
        counters.add(requests=1)
        start = time.perf_counter()
        seen = 0
        try:
            async for chunk in request.stream():
                seen += len(chunk)
                counters.add(up=len(chunk))
                if seen > max_bytes:
                    raise HTTPException(413, f"upload larger than {max_bytes} bytes")
        except ClientDisconnect:
            pass  # speedtest-cli hangs up mid-body when its time is up; that is normal
        return seen, time.perf_counter() - start

    @router.get("/speed/down")
    async def down(bytes: Annotated[int, Query(ge=0)]) -> Response:
        """``bytes`` random bytes (at most the server's cap)."""
        return stream(min(bytes, max_bytes), "application/octet-stream")

    @router.post("/speed/up")
    async def up(request: Request) -> JSONResponse:
        """Read and discard the body; report its size and how long reading it took here."""
        seen, duration = await sink(request)
        return JSONResponse({"bytes": seen, "dur_s": round(duration, 6)}, headers=NO_STORE)

    @router.get("/speed/ping")
    async def ping() -> Response:
        """Smallest possible answer, for HTTP round-trip times."""
        return Response(b"pong", media_type="text/plain", headers=NO_STORE)

    @router.get("/speedtest/latency.txt")
    async def latency_txt() -> Response:
        return PlainTextResponse("test=test\n", headers=NO_STORE)

    @router.get("/speedtest/random{dims}.jpg")
    async def random_jpg(dims: str) -> Response:
        width, _, height = dims.partition("x")
        if width != height or not width.isdigit() or int(width) not in JPEG_SIZES:
            raise HTTPException(404, "no such file")
        return stream(JPEG_SIZES[int(width)], "image/jpeg")

    # One route per method: a two-method route gets one operation id for both,
    # named after whichever method its set yields first (it varies per process).
    @router.get("/speedtest/upload.php")
    @router.post("/speedtest/upload.php")
    async def upload_php(request: Request) -> Response:
        """speedtest-cli's upload target; a GET answers too, which is how it spots a Mini."""
        seen, _ = await sink(request)
        return PlainTextResponse(f"size={seen}", headers=NO_STORE)

    return router


def create_app(max_bytes: int = DEFAULT_MAX_BYTES, stats: SpeedStats | None = None) -> FastAPI:
    """A FastAPI app holding only the speed server, for ``giamsat speedserver``."""
    app = FastAPI(title="giamsat speed server", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(create_router(max_bytes=max_bytes, stats=stats))
    return app


def run(host: str, port: int) -> None:
    """Serve the standalone speed server until interrupted (no access log: tests are chatty)."""
    uvicorn.run(create_app(), host=host, port=port, access_log=False, log_level="warning")


@contextmanager
def serve_in_thread(app: FastAPI, host: str = "127.0.0.1") -> Iterator[str]:
    """Run ``app`` under uvicorn in a background thread; yield its base URL.

    The listening socket is bound before the server starts, so the port is
    known without a race; the server is shut down when the block ends.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    config = uvicorn.Config(app, access_log=False, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("speed server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
