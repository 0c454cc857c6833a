"""The real speedtest-cli library (2.1.3) measuring against our speed server's Mini paths."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from giamsat.agent.throughput import create
from giamsat.agent.throughput.speedtest_cli import mini_config
from giamsat.aggregator.http.speedserver import SpeedStats, create_app, serve_in_thread
from giamsat.contract.config import Section

pytestmark = pytest.mark.services  # measures against a speed server on loopback


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, SpeedStats]]:
    stats = SpeedStats()
    with serve_in_thread(create_app(stats=stats)) as url:
        yield url, stats


def test_speedtest_cli_download_and_upload(server: tuple[str, SpeedStats]) -> None:
    url, stats = server
    method = create("speedtest-cli", Section({"server": url, "length_s": 2}, "agent.toml"))
    before = stats.down_bytes
    down = method.measure("dl")
    assert down.error is None
    assert down.method == "speedtest-cli"
    assert down.mbps is not None and down.mbps > 100
    assert down.bytes == stats.down_bytes - before
    assert down.streams == 8
    assert down.access.ok is True
    assert down.server == "127.0.0.1"
    assert down.section()["mbps"] == down.mbps and down.section()["outcome"] == "completed"

    before = stats.up_bytes
    up = method.measure("ul")
    assert up.error is None
    assert up.mbps is not None and up.mbps > 50
    # speedtest-cli counts what it handed to urllib; the server may have seen the
    # last aborted bodies only in part.
    assert up.bytes is not None and 0 < stats.up_bytes - before <= up.bytes


def test_unreachable_server_is_an_error_result() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    method = create("speedtest-cli", Section({"server": f"http://127.0.0.1:{port}"}, "agent.toml"))
    result = method.measure("dl")
    assert result.access.ok is False
    assert result.error
    assert result.mbps is None and result.outcome == "not_started"
    assert "mbps" not in result.section() and result.section()["outcome"] == "not_started"


def test_config_mirrors_speedtest_net() -> None:
    config = mini_config(10)
    assert config["threads"] == {"upload": 2, "download": 8}
    assert config["sizes"]["upload"] == [524288, 1048576, 7340032]
    assert config["upload_max"] == 51
    assert config["counts"]["download"] == 4
