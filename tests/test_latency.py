"""Latency: summary figures, ICMP packets, and every method against 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from giamsat.agent.latency import LatencyResult, create
from giamsat.agent.latency.icmp import echo_request, internet_checksum, parse_echo_reply
from giamsat.agent.latency.stats import summarize
from giamsat.contract.config import ConfigError, Section

ROOT = Path(__file__).resolve().parent.parent
IS_ROOT = os.geteuid() == 0


@pytest.fixture(scope="module")
def listening_port() -> Iterator[int]:
    """A TCP port that accepts, standing in for the speed server's."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure(**options: Any) -> LatencyResult:
    # A generous timeout: on a loaded machine scapy's sniffer may start late, and a
    # reply that comes late is still a reply (these tests check methods, not speed).
    data = {"target": "127.0.0.1", "count": 5, "interval_s": 0.02, "timeout_s": 3.0, **options}
    return create(Section(data, "agent.toml", "latency")).measure()


def assert_healthy_loopback(result: LatencyResult, method: str) -> None:
    assert result.method == method
    assert result.n == 5
    assert result.loss_pct == 0.0
    assert result.rtt_ms_p50 is not None and result.rtt_ms_p50 > 0
    assert result.jitter_ms is not None and result.jitter_ms >= 0
    assert result.error is None


# -- pure parts -------------------------------------------------------------


def test_summary_figures() -> None:
    result = summarize([0.010, 0.012, None, 0.011, 0.020])
    assert result["n"] == 5
    assert result["loss_pct"] == 20.0
    assert result["rtt_ms_p50"] == pytest.approx(11.5)
    assert result["rtt_ms_mean"] == pytest.approx(13.25)
    # consecutive answered: |12-10|, |11-12|, |20-11| -> mean 4
    assert result["jitter_ms"] == pytest.approx(4.0)


def test_summary_of_nothing_answered() -> None:
    result = summarize([None, None, None])
    assert result == {
        "n": 3,
        "rtt_ms_p50": None,
        "rtt_ms_mean": None,
        "jitter_ms": None,
        "loss_pct": 100.0,
    }


def test_one_answer_has_no_jitter() -> None:
    assert summarize([0.005])["jitter_ms"] is None


def test_echo_request_checksums_to_zero() -> None:
    packet = echo_request(0x1234, 7, b"payload!")
    assert packet[0] == 8
    assert internet_checksum(packet) == 0
    assert internet_checksum(echo_request(1, 2, b"odd")) == 0


def test_parse_echo_reply() -> None:
    reply = bytes([0, 0, 0, 0, 0x12, 0x34, 0, 9]) + b"data"
    assert parse_echo_reply(reply) == (9, b"data")
    assert parse_echo_reply(echo_request(1, 9, b"data")) is None  # a request, not a reply
    assert parse_echo_reply(b"\0\0") is None


def test_target_is_required() -> None:
    with pytest.raises(ConfigError, match=r"latency\.target"):
        create(Section({}, "agent.toml", "latency"))
    probe = create(
        Section({}, "agent.toml", "latency"), default_target="speed.example", default_port=8080
    )
    assert (probe.target, probe.port) == ("speed.example", 8080)


# -- against 127.0.0.1 ------------------------------------------------------


@pytest.mark.services
def test_tcp_connect(listening_port: int) -> None:
    assert_healthy_loopback(measure(method="tcp", port=listening_port), "tcp")


def test_closed_port_is_total_loss_not_an_exception() -> None:
    result = measure(method="tcp", port=closed_port())
    assert result.loss_pct == 100.0
    assert result.n == 5
    assert result.rtt_ms_p50 is None and result.error is None
    assert result.section() == {"target": "127.0.0.1", "method": "tcp", "n": 5, "loss_pct": 100.0}


def test_icmp_on_an_ipv6_target_is_an_error_not_an_exception() -> None:
    result = measure(target="::1", method="icmp-dgram")
    assert (result.n, result.method, result.error) == (0, None, "icmp-dgram: IPv4 only")
    assert result.section() == {"target": "::1", "n": 0}


def test_methods_come_from_the_registry_in_order_of_preference() -> None:
    with pytest.raises(ConfigError, match=r"latency\.method: must be one of auto, icmp-raw, "):
        measure(method="udp")


@pytest.mark.services
@pytest.mark.skipif(not IS_ROOT, reason="raw sockets need root")
def test_icmp_raw_via_scapy() -> None:
    assert_healthy_loopback(measure(method="icmp-raw"), "icmp-raw")


@pytest.mark.skipif(not IS_ROOT, reason="raw sockets need root")
def test_auto_picks_raw_icmp_when_privileged(listening_port: int) -> None:
    assert measure(port=listening_port).method == "icmp-raw"


def run_isolated(code: str, *, ping_groups: str | None = None) -> LatencyResult:
    """Run ``code`` (which prints a result's fields as JSON) in a fresh network namespace.

    ping_group_range is per namespace, so the unprivileged ICMP socket can be
    allowed there without touching the machine's own setting.
    """
    setup = "ip link set lo up"
    if ping_groups is not None:
        setup += f" && sysctl -q -w net.ipv4.ping_group_range='{ping_groups}'"
    script = f'{setup} && exec {sys.executable} -c "$0"'
    out = subprocess.run(
        ["unshare", "--net", "sh", "-c", script, code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=30,
    )
    return LatencyResult(**json.loads(out.stdout))


PROBE = (
    "import dataclasses, json, socket\n"
    "from giamsat.contract.config import Section\n"
    "from giamsat.agent.latency import create\n"
    "srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(8)\n"
    "opts = dict(target='127.0.0.1', port=srv.getsockname()[1], count=5, interval_s=0.02,"
    " timeout_s=3.0, method='{method}')\n"
    "print(json.dumps(dataclasses.asdict(create(Section(opts, 't')).measure())))\n"
)
NEEDS_NETNS = pytest.mark.skipif(
    not IS_ROOT or shutil.which("unshare") is None, reason="needs root and unshare"
)


@NEEDS_NETNS
def test_icmp_dgram_where_ping_group_range_allows() -> None:
    result = run_isolated(PROBE.format(method="icmp-dgram"), ping_groups="0 2147483647")
    assert_healthy_loopback(result, "icmp-dgram")


@NEEDS_NETNS
def test_icmp_dgram_refused_gives_an_error_not_an_exception() -> None:
    result = run_isolated(PROBE.format(method="icmp-dgram"), ping_groups="1 0")
    assert result.n == 0
    assert result.error is not None and "icmp-dgram" in result.error
    assert result.section() == {"target": "127.0.0.1", "n": 0}


@NEEDS_NETNS
def test_auto_falls_back_without_scapy() -> None:
    """scapy missing: auto goes to the datagram socket, or to TCP where that is refused too."""
    hide_scapy = "import sys; sys.modules['scapy'] = None\n"
    allowed = run_isolated(hide_scapy + PROBE.format(method="auto"), ping_groups="0 2147483647")
    assert_healthy_loopback(allowed, "icmp-dgram")
    refused = run_isolated(hide_scapy + PROBE.format(method="auto"), ping_groups="1 0")
    assert_healthy_loopback(refused, "tcp")
