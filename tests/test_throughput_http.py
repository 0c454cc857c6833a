"""giamsat-http against a real speed server on loopback: rates, byte accounting, limits."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from giamsat.agent.throughput import Access, TransferResult, create
from giamsat.aggregator.http.speedserver import SpeedStats, create_app, serve_in_thread
from giamsat.contract.config import ConfigError, Section

pytestmark = pytest.mark.services  # measures against a speed server on loopback


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, SpeedStats]]:
    stats = SpeedStats()
    with serve_in_thread(create_app(stats=stats)) as url:
        yield url, stats


def measure(url: str, direction: str, **options: Any) -> TransferResult:
    method = create("giamsat-http", Section({"url": url, **options}, "agent.toml", "throughput"))
    return method.measure(direction)  # type: ignore[arg-type]


def served(stats: SpeedStats, direction: str) -> int:
    return stats.down_bytes if direction == "dl" else stats.up_bytes


@pytest.mark.parametrize("direction", ["dl", "ul"])
def test_loopback_rate_and_bytes_match_the_server(
    server: tuple[str, SpeedStats], direction: str
) -> None:
    url, stats = server
    before = served(stats, direction)
    result = measure(url, direction, max_bytes=400_000_000, max_s=4)
    assert result.error is None
    assert result.method == "giamsat-http" and result.streams == 4
    # Loopback moves Gbit/s; anything under 100 Mbit/s means the client is broken.
    assert result.mbps is not None and result.mbps > 100
    assert result.bytes == served(stats, direction) - before
    assert result.bytes <= 400_000_000
    assert result.dur_s is not None and result.dur_s <= 4 + 0.5
    assert result.access.ok is True
    assert result.access.dur_s is not None and 0 < result.access.dur_s < 1
    assert result.section() == {
        "mbps": result.mbps,
        "bytes": result.bytes,
        "dur_s": result.dur_s,
        "streams": 4,
        "method": "giamsat-http",
        "server": "127.0.0.1",
        "stop": result.stop,
    }


@pytest.mark.parametrize("direction", ["dl", "ul"])
def test_byte_cap_is_never_exceeded(server: tuple[str, SpeedStats], direction: str) -> None:
    url, stats = server
    before = served(stats, direction)
    result = measure(url, direction, max_bytes=30_000_000, early_stop=False, max_s=20)
    assert result.stop == "max_bytes"
    assert result.bytes is not None and 25_000_000 < result.bytes <= 30_000_000
    assert served(stats, direction) - before == result.bytes
    assert result.mbps is not None and result.mbps > 0


def test_duration_cap_is_honoured(server: tuple[str, SpeedStats]) -> None:
    url, _ = server
    result = measure(url, "dl", max_bytes=10**12, early_stop=False, max_s=1.5)
    assert result.stop == "max_s"
    assert result.dur_s is not None and 1.0 <= result.dur_s <= 1.5 + 0.3
    assert result.mbps is not None and result.mbps > 100


def test_stops_early_once_the_estimate_is_stable(server: tuple[str, SpeedStats]) -> None:
    url, _ = server
    # Loopback rates swing with CPU scheduling, so allow a wide tolerance here;
    # the accuracy benchmark checks the default tolerance on a shaped link.
    result = measure(
        url, "dl", max_bytes=10**12, max_s=15, stable_pct=40, min_window_s=0.5, warmup_s=0.2
    )
    assert result.stop == "stable"
    assert result.dur_s is not None and result.dur_s < 5


def test_refused_connection_is_an_access_failure_not_an_exception() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = measure(f"http://127.0.0.1:{port}", "dl")
    assert result.access == Access(ok=False, dur_s=None)
    assert result.error is not None and "refused" in result.error.lower()
    assert result.mbps is None and result.section() is None
    assert result.bytes == 0
    assert result.as_dict() == {
        "method": "giamsat-http",
        "access": {"ok": False, "dur_s": None},
        "bytes": 0,
        "streams": 4,
        "server": "127.0.0.1",
        "error": result.error,
    }


def test_wrong_path_is_an_error_after_a_successful_access(server: tuple[str, SpeedStats]) -> None:
    url, _ = server
    result = measure(f"{url}/not-a-speed-server", "dl")
    assert result.access.ok is True
    assert result.error is not None and "404" in result.error
    assert result.mbps is None and result.section() is None


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"throughput\.url"):
        create("giamsat-http", Section({"url": "ftp://x"}, "agent.toml", "throughput"))
    with pytest.raises(ConfigError, match=r"throughput\.streams"):
        create(
            "giamsat-http", Section({"url": "http://x", "streams": 0}, "agent.toml", "throughput")
        )
    with pytest.raises(ConfigError, match="unknown throughput method"):
        create("iperf", Section({}, "agent.toml", "throughput"))
