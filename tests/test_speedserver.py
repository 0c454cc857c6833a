"""The speed server's endpoints, over real HTTP against uvicorn on a loopback port."""

from __future__ import annotations

import http.client
import json
import zlib
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI

from giamsat.aggregator.http.speedserver import (
    JPEG_SIZES,
    SpeedStats,
    create_app,
    create_router,
    serve_in_thread,
)

pytestmark = pytest.mark.services  # serves on loopback

CAP = 8 << 20


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, SpeedStats]]:
    stats = SpeedStats()
    with serve_in_thread(create_app(max_bytes=CAP, stats=stats)) as url:
        yield url, stats


def request(
    url: str, method: str, path: str, body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, path, body=body)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_download_is_the_requested_size_and_incompressible(server: tuple[str, SpeedStats]) -> None:
    url, stats = server
    before = stats.down_bytes
    status, headers, body = request(url, "GET", "/speed/down?bytes=3000000")
    assert status == 200
    assert headers["content-length"] == "3000000"
    assert len(body) == 3_000_000
    assert len(zlib.compress(body, 9)) > 0.99 * len(body)
    assert stats.down_bytes - before == 3_000_000


def test_two_downloads_do_not_send_the_same_bytes(server: tuple[str, SpeedStats]) -> None:
    url, _ = server
    first = request(url, "GET", "/speed/down?bytes=100000")[2]
    second = request(url, "GET", "/speed/down?bytes=100000")[2]
    assert first != second


def test_download_is_capped_and_says_so(server: tuple[str, SpeedStats]) -> None:
    url, _ = server
    status, headers, body = request(url, "GET", f"/speed/down?bytes={CAP * 4}")
    assert status == 200
    assert int(headers["content-length"]) == CAP == len(body)


def test_download_rejects_a_negative_size(server: tuple[str, SpeedStats]) -> None:
    url, _ = server
    assert request(url, "GET", "/speed/down?bytes=-1")[0] == 422


def test_upload_reports_bytes_and_server_duration(server: tuple[str, SpeedStats]) -> None:
    url, stats = server
    before = stats.up_bytes
    status, _, body = request(url, "POST", "/speed/up", body=b"\x5a" * 2_500_000)
    assert status == 200
    answer = json.loads(body)
    assert answer["bytes"] == 2_500_000
    assert 0 <= answer["dur_s"] < 5
    assert stats.up_bytes - before == 2_500_000


def test_upload_over_the_cap_is_refused(server: tuple[str, SpeedStats]) -> None:
    url, _ = server
    assert request(url, "POST", "/speed/up", body=b"\0" * (CAP + 1))[0] == 413


def test_ping_is_tiny(server: tuple[str, SpeedStats]) -> None:
    url, _ = server
    status, headers, body = request(url, "GET", "/speed/ping")
    assert status == 200 and body == b"pong"
    assert "no-store" in headers["cache-control"]


def test_speedtest_mini_paths(server: tuple[str, SpeedStats]) -> None:
    url, _ = server
    assert request(url, "GET", "/speedtest/latency.txt")[2] == b"test=test\n"
    for n in (350, 1000):
        status, headers, body = request(url, "GET", f"/speedtest/random{n}x{n}.jpg")
        assert status == 200 and len(body) == JPEG_SIZES[n]
        assert headers["content-type"] == "image/jpeg"
    assert request(url, "GET", "/speedtest/random4000x4000.jpg")[1]["content-length"] == "31625365"
    assert request(url, "GET", "/speedtest/random4000x3000.jpg")[0] == 404
    assert request(url, "GET", "/speedtest/random123x123.jpg")[0] == 404
    assert request(url, "POST", "/speedtest/upload.php", body=b"content1=" + b"A" * 5000)[2] == (
        b"size=5009"
    )
    # speedtest-cli recognises a Mini by a GET of upload.php answering "size=<n>".
    assert request(url, "GET", "/speedtest/upload.php")[2] == b"size=0"


def test_router_mounts_at_the_root_of_another_app() -> None:
    app = FastAPI()
    app.include_router(create_router(max_bytes=1000))

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"ok": "yes"}

    with serve_in_thread(app) as url:
        assert request(url, "GET", "/healthz")[0] == 200
        assert len(request(url, "GET", "/speed/down?bytes=5000")[2]) == 1000
        assert request(url, "GET", "/speedtest/latency.txt")[0] == 200
