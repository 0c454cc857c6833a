"""ICMP echo, two ways: scapy on a raw socket, or the kernel's unprivileged ping socket.

``icmp-raw`` needs root or CAP_NET_RAW (a Raspberry Pi probe running as a
service); scapy is imported only when that method is opened, never when the
plug-ins are discovered, because on Termux importing it can fail outright.
``icmp-dgram`` is what ``ping`` itself uses without privilege: a
``SOCK_DGRAM``/``IPPROTO_ICMP`` socket, allowed where the process's group is
inside ``net.ipv4.ping_group_range`` (Android allows every group; many
desktop Linux systems too; the kernel default allows none). The kernel sets
the identifier and checksum and hands back only the replies to this socket.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from typing import Any

from giamsat.agent import plugins
from giamsat.agent.latency import PingerUnavailable

ECHO_REQUEST, ECHO_REPLY = 8, 0
TAG = b"giamsat!"


def echo_request(ident: int, seq: int, payload: bytes) -> bytes:
    """An ICMP echo request with its checksum (the dgram socket recomputes it anyway)."""
    header = struct.pack("!BBHHH", ECHO_REQUEST, 0, 0, ident & 0xFFFF, seq & 0xFFFF)
    checksum = internet_checksum(header + payload)
    return struct.pack("!BBHHH", ECHO_REQUEST, 0, checksum, ident & 0xFFFF, seq & 0xFFFF) + payload


def internet_checksum(data: bytes) -> int:
    """RFC 1071 one's-complement sum."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def parse_echo_reply(packet: bytes) -> tuple[int, bytes] | None:
    """(sequence, payload) of an echo reply as a ping socket returns it, else None."""
    if len(packet) < 8:
        return None
    kind, _code, _sum, _ident, seq = struct.unpack("!BBHHH", packet[:8])
    if kind != ECHO_REPLY:
        return None
    return seq, packet[8:]


def _require_ipv4(method: str, address: str) -> None:
    if ":" in address:
        raise PingerUnavailable(f"{method}: IPv4 only")


@plugins.register("latency", "icmp-dgram", preference=2)
class DgramPinger:
    method = "icmp-dgram"

    def __init__(self, address: str, port: int, timeout_s: float) -> None:
        """``port`` is unused: ICMP has none."""
        _require_ipv4(self.method, address)
        try:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
        except OSError as exc:  # EACCES outside ping_group_range, EPROTONOSUPPORT elsewhere
            raise PingerUnavailable(f"{self.method}: {exc.strerror or exc}") from None
        self.address = address
        self.timeout_s = timeout_s

    def ping(self, seq: int) -> float | None:
        payload = TAG + os.urandom(8)
        start = time.perf_counter()
        deadline = start + self.timeout_s
        try:
            self.sock.sendto(echo_request(0, seq, payload), (self.address, 0))
            while (left := deadline - time.perf_counter()) > 0:
                self.sock.settimeout(left)
                reply = parse_echo_reply(self.sock.recv(2048))
                if reply == (seq & 0xFFFF, payload):
                    return time.perf_counter() - start
        except OSError:  # timeout, or an ICMP error such as host unreachable
            return None
        return None

    def close(self) -> None:
        self.sock.close()


@plugins.register("latency", "icmp-raw", preference=1)
class RawPinger:
    method = "icmp-raw"

    def __init__(self, address: str, port: int, timeout_s: float) -> None:
        """``port`` is unused: ICMP has none."""
        _require_ipv4(self.method, address)
        try:
            socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
        except OSError as exc:
            raise PingerUnavailable(f"{self.method}: {exc.strerror or exc}") from None
        try:
            # Only what is needed: scapy.all takes seconds to import.
            from scapy.config import conf
            from scapy.layers.inet import ICMP, IP
            from scapy.sendrecv import sr1
        except Exception as exc:  # ImportError, or whatever a broken install raises
            raise PingerUnavailable(f"{self.method}: scapy unusable ({exc})") from None
        conf.verb = 0
        self._ip, self._icmp, self._sr1 = IP, ICMP, sr1
        self.address = address
        self.timeout_s = timeout_s
        self.ident = os.getpid() & 0xFFFF

    def ping(self, seq: int) -> float | None:
        packet: Any = self._ip(dst=self.address) / self._icmp(id=self.ident, seq=seq) / TAG
        try:
            answer = self._sr1(packet, timeout=self.timeout_s, verbose=0)
        except OSError:
            return None
        if answer is None or self._icmp not in answer or answer[self._icmp].type != ECHO_REPLY:
            return None
        # Both stamps are scapy's: send time just before the write, receive time from the socket.
        return max(float(answer.time) - float(packet.sent_time), 0.0)

    def close(self) -> None:
        """Nothing to release: scapy opens and closes its socket per exchange."""
