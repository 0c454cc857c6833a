"""TCP connect time: the last resort when ICMP is not allowed or is filtered.

One probe is one three-way handshake to the speed server's port, timed from
``connect()`` to its return, then closed. A refused or timed-out connection
counts as lost: the service the probe measures against was not reachable,
which is what a regulator wants counted, even though an RST also crossed
the network.
"""

from __future__ import annotations

import socket
import time

from giamsat.agent import plugins


@plugins.register("latency", "tcp", preference=3)
class TcpPinger:
    method = "tcp"

    def __init__(self, address: str, port: int, timeout_s: float) -> None:
        self.address = address
        self.port = port
        self.timeout_s = timeout_s

    def ping(self, seq: int) -> float | None:
        family = socket.AF_INET6 if ":" in self.address else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(self.timeout_s)
            start = time.perf_counter()
            try:
                sock.connect((self.address, self.port))
            except OSError:
                return None
            return time.perf_counter() - start

    def close(self) -> None:
        """Nothing to release: each probe opens and closes its own connection."""
