"""``giamsat-http``: several parallel HTTP streams against a giamsat speed server.

Standard library only (``http.client`` and threads), so it runs on Termux.

One test, in either direction:

1. **Access and pre-test.** A minimal request (``GET /speed/ping``) wakes
   the radio from idle (the first packets after idle wait for an RRC
   connection); the time from starting to connect to the first byte of its
   answer is the access time. One small transfer in the test's direction on
   the same connection then gives a first idea of the rate. None of this
   enters the rate; all of it is counted in the bytes.
2. **Streams.** ``streams`` keep-alive connections each run a series of
   requests sized to last about ``request_s`` at the current rate, growing at
   most twofold per request (so a wrong first guess costs little). Requests,
   rather than one endless stream per connection, make stopping exact: no new
   request is started after the stop, the ones in flight are read to their
   end, and the bytes counted here are the bytes the server sent.
3. **Rate.** Every ``slice_s`` the bytes of all streams are sampled together;
   :class:`~giamsat.agent.throughput.window.RateWindow` takes the rate over the window
   in which all streams are busy, after a warm-up, and says when it is stable.
4. **Limits.** The test stops at the first of: a stable estimate (when
   ``early_stop``), ``max_bytes`` handed out (a budget shared by all requests,
   pre-test included, so the cap is never exceeded), or ``max_s`` (no request
   is started that would end after it; anything still running then is cut).
5. **Drops.** Once the access succeeded, the transfer has started; from then
   on a connection that moves no byte for ``stall_s`` (every data socket
   carries that timeout), is reset, or gets a wrong answer from the server
   ends the test as *dropped* (QCVN §2.1.4). Being cut at ``max_s`` is our
   own limit, not a drop: a stall shorter than ``stall_s`` when ``max_s``
   comes is not one either.

The bytes the application moves are what is counted and budgeted, but the
rate is sampled from the kernel's own counters (Linux's TCP_INFO: bytes
received, or bytes the server acknowledged), which move packet by packet.
The application's counts move in jumps: an upload's send buffer fills by up
to megabytes at once, a download's reads return whatever piled up. Where
TCP_INFO is missing, the application's counts are used and the window evens
them out.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import struct
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from giamsat.agent import plugins
from giamsat.agent.throughput import Access, Direction, TransferResult, failure
from giamsat.agent.throughput.window import RateWindow
from giamsat.contract.config import Section

MIN_REQUEST = 64 << 10
MAX_REQUEST = 64 << 20
READ_SIZE = 256 << 10
SEND_SIZE = 32 << 10
PAYLOAD = 2 << 20
# Estimates made over less than this are too noisy to size requests with.
RATE_LOOKBACK_S = 0.3
# struct tcp_info (Linux >= 4.1, so every Android and Raspberry Pi kernel in use):
# tcpi_bytes_acked and tcpi_bytes_received are the u64s at offsets 120 and 128.
TCP_INFO_LEN = 136
TCP_COUNTER_AT: dict[Direction, int] = {"ul": 120, "dl": 128}


class TransferError(Exception):
    """The server answered something other than the bytes that were asked for."""


@dataclass
class _Stream:
    conn: http.client.HTTPConnection | None = None
    bytes: int = 0
    last_request: int = 0
    first_response: float | None = None
    done: bool = False
    error: str | None = None
    kernel_sock: socket.socket | None = None
    kernel_base: int = 0
    kernel_now: int = 0


class _Budget:
    """Bytes still allowed in this test, handed out under a lock."""

    def __init__(self, total: int) -> None:
        self.left = total
        self.exhausted = False
        self._lock = threading.Lock()

    def take(self, wanted: int) -> int:
        with self._lock:
            granted = min(wanted, self.left)
            self.left -= granted
            if granted < wanted:
                self.exhausted = True
            return granted


@dataclass(frozen=True)
class _Run:
    """What the parallel streams achieved, before the pre-test is added."""

    mbps: float | None
    bytes: int
    stop: str
    error: str | None


@plugins.register("throughput", "giamsat-http")
class GiamsatHttp:
    name = "giamsat-http"

    def __init__(self, options: Section) -> None:
        url = urlsplit(options.str("url"))
        if url.scheme not in ("http", "https") or not url.hostname:
            raise options.error("url", "must be an http:// or https:// URL of a speed server")
        self.scheme = url.scheme
        self.host = url.hostname
        self.port = url.port or (443 if url.scheme == "https" else 80)
        self.base = url.path.rstrip("/")
        self.streams = options.int("streams", 4, min=1, max=16)
        self.max_bytes = options.int("max_bytes", 100_000_000, min=1_000_000)
        self.max_s = options.float("max_s", 10.0, min=1.0, max=120.0)
        self.pretest_bytes = options.int("pretest_bytes", 256 << 10, min=16 << 10, max=16 << 20)
        self.slice_s = options.float("slice_s", 0.1, min=0.02, max=1.0)
        self.warmup_s = options.float("warmup_s", 1.0, min=0.0, max=10.0)
        self.min_window_s = options.float("min_window_s", 1.5, min=0.3, max=60.0)
        self.stable_pct = options.float("stable_pct", 3.0, min=0.1, max=50.0)
        self.early_stop = options.bool("early_stop", True)
        self.request_s = options.float("request_s", 0.5, min=0.05, max=5.0)
        self.timeout_s = options.float("timeout_s", 10.0, min=0.5, max=120.0)
        # A started transfer that moves nothing for this long is dropped (§2.1.4).
        self.stall_s = options.float("stall_s", 5.0, min=0.5, max=120.0)
        self._payload = memoryview(os.urandom(PAYLOAD + SEND_SIZE))

    # -- connections and single requests ---------------------------------

    def _connect(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        conn = cls(self.host, self.port, timeout=self.timeout_s)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def _get(self, conn: http.client.HTTPConnection, size: int, stream: _Stream) -> None:
        conn.request("GET", f"{self.base}/speed/down?bytes={size}")
        response = _response(conn, stream)
        if response.status != 200:
            raise TransferError(f"http {response.status} {response.reason}")
        if response.length != size:
            raise TransferError(f"server offers {response.length} bytes, not {size}")
        got = 0
        while got < size:
            chunk = response.read1(READ_SIZE)
            if not chunk:
                raise TransferError(f"connection closed after {got} of {size} bytes")
            got += len(chunk)
            stream.bytes += len(chunk)
        response.read()  # marks the response complete so the connection can be reused

    def _post(self, conn: http.client.HTTPConnection, size: int, stream: _Stream) -> None:
        conn.putrequest("POST", f"{self.base}/speed/up")
        conn.putheader("Content-Type", "application/octet-stream")
        conn.putheader("Content-Length", str(size))
        conn.endheaders()
        sock = conn.sock
        offset = (stream.bytes * 7) % PAYLOAD
        sent = 0
        while sent < size:
            n = min(SEND_SIZE, size - sent)
            sock.sendall(self._payload[offset : offset + n])
            sent += n
            stream.bytes += n
            offset = (offset + n) % PAYLOAD
        response = _response(conn, stream)
        body = response.read()
        if response.status != 200:
            raise TransferError(f"http {response.status} {response.reason}")
        seen = json.loads(body).get("bytes")
        if seen != size:
            raise TransferError(f"server saw {seen} bytes of {size}")

    def _transfer(
        self, direction: Direction, conn: http.client.HTTPConnection, size: int, stream: _Stream
    ) -> None:
        (self._get if direction == "dl" else self._post)(conn, size, stream)

    def _carry_data(self, conn: http.client.HTTPConnection) -> None:
        """From now on a read or write on ``conn`` waiting ``stall_s`` is a stall.

        Connecting and the access request wait up to ``timeout_s``; data must
        keep moving. ``conn.timeout`` also covers a reconnection by http.client.
        """
        conn.timeout = self.stall_s
        if conn.sock is not None:
            conn.sock.settimeout(self.stall_s)

    def _fault(self, exc: Exception) -> str:
        """One line for a fault that dropped a started transfer."""
        if isinstance(exc, TimeoutError):
            return f"stalled: nothing moved for {self.stall_s:g} s"
        return f"{type(exc).__name__}: {exc}"

    # -- the test ----------------------------------------------------------

    def _open(self, stream: _Stream) -> None:
        """Connect ``stream`` ahead of its use; on failure its worker tries again and reports."""
        with contextlib.suppress(OSError):
            stream.conn = self._connect()

    def _ping(self, conn: http.client.HTTPConnection, stream: _Stream) -> None:
        conn.request("GET", f"{self.base}/speed/ping")
        response = _response(conn, stream)
        response.read()
        if response.status != 200:
            raise TransferError(f"http {response.status} {response.reason}")

    def measure(self, direction: Direction) -> TransferResult:
        start = time.monotonic()
        budget = _Budget(self.max_bytes)
        pre = _Stream()
        try:
            pre.conn = self._connect()
        except OSError as exc:
            return self._failure(f"connect: {exc}", None, 0)
        # The other connections open now, while the link is idle: opened later,
        # their SYNs meet a queue full of the first stream's data, and a lost SYN
        # waits a second for its retransmission.
        others = [_Stream(last_request=self.pretest_bytes) for _ in range(self.streams - 1)]
        openers = [threading.Thread(target=self._open, args=(s,), daemon=True) for s in others]
        for opener in openers:
            opener.start()
        # The access sample is the time to the first byte of the answer to a
        # minimal request, the same in both directions. On a link too slow for
        # the pre-test, max_s still holds: it is cut then, and what it moved is
        # the measurement.
        timer = threading.Timer(self.max_s, _shutdown, args=(pre.conn,))
        timer.start()
        began, moved_before = start, 0
        try:
            self._ping(pre.conn, pre)
            self._carry_data(pre.conn)
            for opener in openers:
                opener.join(timeout=self.timeout_s)
            began, moved_before = time.monotonic(), _moved(direction, pre)
            self._transfer(direction, pre.conn, budget.take(self.pretest_bytes), pre)
        except (OSError, http.client.HTTPException, TransferError, ValueError) as exc:
            moved = _moved(direction, pre) - moved_before
            pre.conn.close()
            _close(others)
            access = _since(start, pre.first_response)
            if timer.finished.is_set() and access is not None and moved > 0:
                rate = moved / max(time.monotonic() - began, 1e-6)
                return self._slow_link(pre.bytes, rate, start, access)
            reason = self._fault(exc) if isinstance(exc, TimeoutError) else str(exc)
            return self._failure(f"pre-test: {reason}", access, pre.bytes)
        finally:
            timer.cancel()
        # Includes one round trip for the request, so it errs low; request sizes
        # grow from it at most twofold per request, and the sampled rate takes over.
        pre_rate = pre.bytes / max(time.monotonic() - began, 1e-6)
        streams = [_Stream(conn=pre.conn, last_request=self.pretest_bytes), *others]
        run = self._run(direction, streams, pre_rate, budget, start)
        return TransferResult(
            method=self.name,
            access=Access(True, _since(start, pre.first_response)),
            mbps=run.mbps,
            bytes=run.bytes + pre.bytes,
            dur_s=round(time.monotonic() - start, 3),
            streams=self.streams,
            server=self.host,
            stop=run.stop,
            error=run.error,
        )

    def _failure(self, error: str, access_s: float | None, moved: int) -> TransferResult:
        return failure(
            self.name, error, access_s=access_s, moved=moved, streams=self.streams, server=self.host
        )

    def _slow_link(self, moved: int, rate: float, start: float, access_s: float) -> TransferResult:
        """The result of a test that never got past its pre-test within ``max_s``."""
        return TransferResult(
            method=self.name,
            access=Access(True, access_s),
            mbps=round(rate * 8 / 1e6, 3),
            bytes=moved,
            dur_s=round(time.monotonic() - start, 3),
            streams=1,
            server=self.host,
            stop="max_s",
        )

    def _run(
        self,
        direction: Direction,
        streams: list[_Stream],
        pre_rate: float,
        budget: _Budget,
        start: float,
    ) -> _Run:
        stop = threading.Event()
        cut = threading.Event()
        deadline = start + self.max_s
        rate = {"bps": pre_rate}

        def worker(stream: _Stream) -> None:
            try:
                if stream.conn is None:
                    stream.conn = self._connect()
                self._carry_data(stream.conn)
                while not stop.is_set():
                    per_stream = rate["bps"] / self.streams
                    wanted = int(min(per_stream * self.request_s, 2 * stream.last_request))
                    wanted = max(MIN_REQUEST, min(MAX_REQUEST, wanted))
                    if time.monotonic() + wanted / max(per_stream, 1.0) > deadline:
                        break
                    size = budget.take(wanted)
                    if size == 0:
                        break
                    stream.last_request = size
                    self._transfer(direction, stream.conn, size, stream)
            except (OSError, http.client.HTTPException, TransferError, ValueError) as exc:
                if not cut.is_set():
                    stream.error = self._fault(exc)
                stop.set()
            finally:
                # The connection stays open until the last sample has read its counters.
                stream.done = True

        threads = [threading.Thread(target=worker, args=(s,), daemon=True) for s in streams]
        for thread in threads:
            thread.start()
        window = RateWindow(self.warmup_s, self.min_window_s, 0.5, self.stable_pct)
        kernel = _kernel_count(direction, streams[0]) is not None

        def progress() -> int:
            if kernel:
                return sum(_kernel_count(direction, s) or 0 for s in streams)
            return sum(s.bytes for s in streams)

        began = time.monotonic()
        window.add(0.0, progress(), False)
        tick = began
        reason = "done"
        measuring = True
        while any(t.is_alive() for t in threads):
            tick += self.slice_s
            time.sleep(max(0.0, tick - time.monotonic()))
            now = time.monotonic()
            if measuring:
                active = all(s.bytes > 0 and not s.done for s in streams)
                window.add(now - began, progress(), active)
                rate["bps"] = _recent_rate(window) or rate["bps"]
                if stop.is_set() or any(s.done for s in streams):
                    measuring = False
                    reason = "max_bytes" if budget.exhausted else "max_s"
                elif self.early_stop and window.stable():
                    measuring = False
                    reason = "stable"
                    stop.set()
            if now >= deadline:
                measuring = False
                reason = "max_s" if reason == "done" else reason
                stop.set()
                cut.set()
                _cut(streams)
                break
        for thread in threads:
            thread.join(timeout=self.timeout_s)
        if measuring:  # everything ended between two samples: close the series
            window.add(time.monotonic() - began, progress(), False)
        _close(streams)
        errors = [s.error for s in streams if s.error]
        rate_bps = window.rate_bps()
        return _Run(
            mbps=None if rate_bps is None else round(rate_bps * 8 / 1e6, 3),
            bytes=sum(s.bytes for s in streams),
            stop="error" if errors else reason,
            error=errors[0] if errors else None,
        )


def _response(conn: http.client.HTTPConnection, stream: _Stream) -> http.client.HTTPResponse:
    """Wait for the response head, noting when the stream's first one arrived."""
    response = conn.getresponse()
    if stream.first_response is None:
        stream.first_response = time.monotonic()
    return response


def _since(start: float, then: float | None) -> float | None:
    return None if then is None else round(then - start, 4)


def _recent_rate(window: RateWindow) -> float | None:
    """Rate over the last few samples, to size the next requests by."""
    samples = window.samples
    if len(samples) < 2:
        return None
    last = samples[-1]
    first = next((s for s in samples if s.t >= last.t - RATE_LOOKBACK_S), samples[0])
    if first is last:
        first = samples[-2]
    moved = last.total - first.total
    return moved / (last.t - first.t) if moved > 0 and last.t > first.t else None


def _moved(direction: Direction, stream: _Stream) -> int:
    """Bytes that crossed the network on ``stream``, by the kernel's count where it gives one."""
    counted = _kernel_count(direction, stream)
    return stream.bytes if counted is None else counted


def _kernel_count(direction: Direction, stream: _Stream) -> int | None:
    """The kernel's byte count for this stream's connections, or None where it has none.

    Bytes received for a download, bytes the server acknowledged for an
    upload, summed over the connections the stream has used (http.client
    reconnects if the server closes one).
    """
    conn = stream.conn
    sock = conn.sock if conn is not None else None
    if sock is None:
        return stream.kernel_base + stream.kernel_now
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, TCP_INFO_LEN)
    except (OSError, AttributeError):
        return None
    at = TCP_COUNTER_AT[direction]
    if len(info) < at + 8:
        return None
    if sock is not stream.kernel_sock:
        stream.kernel_base += stream.kernel_now
        stream.kernel_sock = sock
    (stream.kernel_now,) = struct.unpack_from("=Q", info, at)
    return stream.kernel_base + stream.kernel_now


def _cut(streams: list[_Stream]) -> None:
    """Abort transfers still running at the hard time limit."""
    for stream in streams:
        if stream.conn is not None and not stream.done:
            _shutdown(stream.conn)


def _close(streams: list[_Stream]) -> None:
    for stream in streams:
        if stream.conn is not None:
            stream.conn.close()


def _shutdown(conn: http.client.HTTPConnection) -> None:
    """Make a blocked send or receive on ``conn`` return at once, from another thread."""
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
