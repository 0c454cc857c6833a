"""Run a measurement in a short-lived child process.

A throughput test touches tens of megabytes of buffers and raw-socket ICMP
loads scapy (another 40 MB); CPython keeps such memory after it is freed. A
probe that must idle at a few tens of megabytes for months therefore runs the
network tests in a forked child: when the child exits, every page it touched
goes back to the system. Only the standard library is used (fork and a pipe,
no multiprocessing semaphores, which Android lacks).
"""

from __future__ import annotations

import json
import os
import select
import signal
import time
from collections.abc import Callable
from typing import Any


class ChildFailed(RuntimeError):
    """The child crashed, timed out or returned nothing; the message says which."""


def in_child(fn: Callable[[], Any], timeout_s: float) -> Any:
    """Return ``fn()`` computed in a forked child; its result must be JSON-serialisable."""
    if not hasattr(os, "fork"):
        return fn()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, write, leave without running the parent's cleanups
        os.close(read_fd)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        status = 0
        try:
            payload = json.dumps({"result": fn()}).encode()
        except BaseException as exc:  # reported to the parent, which decides
            payload = json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode()
            status = 1
        try:
            with os.fdopen(write_fd, "wb") as out:
                out.write(payload)
        finally:
            os._exit(status)
    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                os.kill(pid, signal.SIGKILL)
                raise ChildFailed(f"measurement did not finish within {timeout_s:.0f} s")
            ready, _, _ = select.select([read_fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        os.waitpid(pid, 0)
    if not chunks:
        raise ChildFailed("measurement process ended without a result")
    answer = json.loads(b"".join(chunks))
    if "error" in answer:
        raise ChildFailed(answer["error"])
    return answer["result"]
