"""giamsat-http against a real speed server on loopback: rates, byte accounting, limits."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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
        "outcome": "completed",
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
    assert result.mbps is None and result.outcome == "not_started"
    # Never started: an access failure (§2.1.2), not a dropped transfer.
    assert result.section() == {
        "method": "giamsat-http", "bytes": 0, "streams": 4, "server": "127.0.0.1",
        "outcome": "not_started",
    }  # fmt: skip
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
    assert result.mbps is None and result.outcome == "dropped"
    assert "mbps" not in result.section() and result.section()["outcome"] == "dropped"


@contextmanager
def faulty_server(fault: str) -> Iterator[str]:
    """A speed server that answers the access request, then stalls or resets the download.

    ``stall``: the download's head and 64 KiB, then nothing (the connection
    stays open); ``reset``: the same, then a TCP reset; ``stall_later``: the
    first download (the pre-test) in full, then ``stall`` for the streams.
    """
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    done = threading.Event()
    held: list[socket.socket] = []
    downloads = [0]

    def serve(conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        while not done.is_set():
            request = reader.readline()
            if not request:
                return
            while reader.readline() not in (b"\r\n", b""):
                pass
            if b"/speed/ping" in request:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                continue
            size = int(request.split(b"bytes=")[1].split()[0])
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
            downloads[0] += 1
            if fault == "stall_later" and downloads[0] == 1:
                conn.sendall(bytes(size))
                continue
            conn.sendall(bytes(min(size, 64 << 10)))
            if fault == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
                return
            done.wait()

    def accept() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(conn)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        done.set()
        acceptor.join()
        for conn in held:
            conn.close()
        listener.close()


@pytest.mark.parametrize("fault", ["stall", "reset", "stall_later"])
def test_a_started_transfer_that_stalls_or_is_reset_is_dropped(fault: str) -> None:
    with faulty_server(fault) as url:
        result = measure(url, "dl", stall_s=0.5, max_s=8, streams=2)
    assert result.access.ok is True  # it started: not an access failure
    assert result.outcome == "dropped"
    # The record keeps no rate for it, whatever moved before the fault.
    assert "mbps" not in result.section() and result.section()["outcome"] == "dropped"
    assert result.error is not None
    if fault != "reset":
        assert "stalled: nothing moved for 0.5 s" in result.error
        assert result.dur_s is None or result.dur_s < 4  # ended by the stall, not max_s


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"throughput\.url"):
        create("giamsat-http", Section({"url": "ftp://x"}, "agent.toml", "throughput"))
    with pytest.raises(ConfigError, match=r"throughput\.streams"):
        create(
            "giamsat-http", Section({"url": "http://x", "streams": 0}, "agent.toml", "throughput")
        )
    with pytest.raises(ConfigError, match=r"throughput\.stall_s"):
        create(
            "giamsat-http", Section({"url": "http://x", "stall_s": 0}, "agent.toml", "throughput")
        )
    with pytest.raises(ConfigError, match="unknown throughput method"):
        create("iperf", Section({}, "agent.toml", "throughput"))
