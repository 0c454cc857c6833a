"""Latency: round-trip times to the test server, by the best method this process may use.

Methods, tried in this order when ``method = "auto"``:

1. ``icmp-raw``: ICMP echo through scapy on a raw socket (root or CAP_NET_RAW,
   scapy installed);
2. ``icmp-dgram``: the kernel's unprivileged ICMP socket (where
   ``net.ipv4.ping_group_range`` allows it, as on Android);
3. ``tcp``: TCP connect time to the speed server's port.

Each is a :class:`Pinger` in a module of this package, registered with
``@plugins.register("latency", NAME, preference=N)``: ``auto`` tries them in
order of preference. The first that can run here is used for the whole
series; the record says which, because the three are not equal (a TCP
handshake involves the server's kernel, ICMP may be deprioritised by
operators). The result is a :class:`LatencyResult` (see
:mod:`giamsat.agent.latency.stats` for the figures). Network trouble never
raises: an unreachable target is 100 % loss, and a target that does not
resolve, or a forced method that cannot run, gives a result with ``error``
and no figures.

Options (``[latency]``): ``target`` (host), ``port`` (for ``tcp``, default 80),
``count`` (10), ``interval_s`` (0.2), ``timeout_s`` (1.0), ``method``.
"""

from __future__ import annotations

import socket
import time
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from giamsat.agent import plugins
from giamsat.agent.latency.stats import summarize
from giamsat.contract.config import Section


class PingerUnavailable(Exception):
    """This method cannot run in this process (no privilege, no module, no kernel support)."""


class Pinger(Protocol):
    """One method, opened towards one address.

    Built as ``Pinger(address, port, timeout_s)`` (``port`` is for methods
    that need one), raising :class:`PingerUnavailable` when it cannot run here.
    """

    method: str

    def ping(self, seq: int) -> float | None:
        """Round-trip time in seconds of probe ``seq``, or None if it went unanswered."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class LatencyResult:
    """One series of probes: where to, by which method, and the figures, or why there are none.

    ``n`` is the number of probes sent; the round-trip figures are None when
    nothing answered. A series that could not run (the target does not
    resolve, no method can run here) has ``n`` 0, no ``method`` and no
    figures, and ``error`` says why.
    """

    target: str
    n: int
    method: str | None = None
    rtt_ms_p50: float | None = None
    rtt_ms_mean: float | None = None
    jitter_ms: float | None = None
    loss_pct: float | None = None
    error: str | None = None

    def section(self) -> dict[str, Any]:
        """The record's ``lat`` section: the figures (an error goes to the record's ``errors``)."""
        return {k: v for k, v in asdict(self).items() if v is not None and k != "error"}


class LatencyProbe:
    def __init__(
        self, options: Section, default_target: str | None = None, default_port: int = 80
    ) -> None:
        self.target = options.str("target", default_target)
        if self.target is None:
            raise options.error("target", "is required (the speed server's host)")
        self.port = options.int("port", default_port, min=1, max=65535)
        self.count = options.int("count", 10, min=1, max=1000)
        self.interval_s = options.float("interval_s", 0.2, min=0.0, max=60.0)
        self.timeout_s = options.float("timeout_s", 1.0, min=0.01, max=30.0)
        self.method = options.choice("method", ("auto", *plugins.names("latency")), "auto")

    def open(self, address: str) -> Pinger:
        """The first usable method (or the forced one); PingerUnavailable says why none."""
        reasons = []
        for plugin in plugins.available("latency"):
            if self.method not in ("auto", plugin.name):
                continue
            try:
                return plugin.factory(address, self.port, self.timeout_s)
            except PingerUnavailable as exc:
                reasons.append(str(exc))
        raise PingerUnavailable("; ".join(reasons))

    def measure(self) -> LatencyResult:
        """Send ``count`` probes ``interval_s`` apart and summarise them."""
        try:
            address = resolve(self.target)
        except OSError as exc:
            return LatencyResult(self.target, 0, error=f"resolve: {exc}")
        try:
            pinger = self.open(address)
        except PingerUnavailable as exc:
            return LatencyResult(self.target, 0, error=str(exc))
        rtts: list[float | None] = []
        try:
            for seq in range(self.count):
                started = time.monotonic()
                rtts.append(pinger.ping(seq))
                if seq + 1 < self.count:
                    time.sleep(max(0.0, started + self.interval_s - time.monotonic()))
        finally:
            pinger.close()
        return LatencyResult(self.target, method=pinger.method, **summarize(rtts))


def resolve(host: str) -> str:
    """An address for ``host``, IPv4 preferred (ICMP here is IPv4)."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    return str(infos[0][4][0])


def create(
    options: Section, default_target: str | None = None, default_port: int = 80
) -> LatencyProbe:
    """The configured latency probe; the speed server's host and port are the usual defaults."""
    return LatencyProbe(options, default_target, default_port)
