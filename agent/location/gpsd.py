"""Position from gpsd, for a Raspberry Pi probe with a GPS receiver.

gpsd speaks JSON over TCP: after ``?WATCH={"enable":true,"json":true}`` it
streams VERSION, DEVICES, WATCH, SKY and TPV objects. A TPV with ``mode`` 2
or 3 is a fix. The first fix of an epoch is often built from RMC alone and
carries no error estimate, so a fix without one waits a moment for the next
TPV, which usually has ``eph`` (or ``epx``/``epy``) from GGA/GSA/GST.
"""

from __future__ import annotations

import json
import logging
import math
import socket
import time
from typing import Any

from giamsat.agent import plugins
from giamsat.contract.config import Section
from giamsat.contract.schema import ENVIRONMENTS

log = logging.getLogger(__name__)

WATCH = b'?WATCH={"enable":true,"json":true}\n'
# How long a fix without an error estimate waits for one that has it.
ACCURACY_GRACE_S = 2.0


def parse_tpv(line: str | bytes) -> dict[str, Any] | None:
    """``lat``/``lon``/``acc_m`` from one gpsd JSON line, or None unless it is a 2D/3D fix."""
    try:
        report = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(report, dict) or report.get("class") != "TPV":
        return None
    lat, lon, mode = report.get("lat"), report.get("lon"), report.get("mode")
    if not isinstance(mode, int) or mode < 2:
        return None
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return None
    fix: dict[str, Any] = {"lat": float(lat), "lon": float(lon)}
    eph, epx, epy = report.get("eph"), report.get("epx"), report.get("epy")
    if isinstance(eph, int | float):
        fix["acc_m"] = round(float(eph), 1)
    elif isinstance(epx, int | float) and isinstance(epy, int | float):
        fix["acc_m"] = round(math.hypot(epx, epy), 1)
    return fix


def read_fix(host: str, port: int, timeout_s: float) -> dict[str, Any] | None:
    """Watch gpsd until a fix arrives or the time is up; None without a fix."""
    deadline = time.monotonic() + timeout_s
    best: dict[str, Any] | None = None
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.sendall(WATCH)
        pending = b""
        while (remaining := deadline - time.monotonic()) > 0:
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                fix = parse_tpv(line)
                if fix is None:
                    continue
                if "acc_m" in fix:
                    return fix
                if best is None:
                    deadline = min(deadline, time.monotonic() + ACCURACY_GRACE_S)
                best = fix
    return best


@plugins.register("location", "gpsd")
class GpsdLocation:
    """A fix from a local (or networked) gpsd."""

    def __init__(self, options: Section) -> None:
        self.host = options.str("host", "127.0.0.1")
        self.port = options.int("port", 2947, min=1, max=65535)
        self.timeout_s = options.float("timeout_s", 10.0, min=0.5, max=600.0)
        self.env = options.choice("env", ENVIRONMENTS, "outdoor_fixed")

    def read(self) -> dict[str, Any] | None:
        try:
            fix = read_fix(self.host, self.port, self.timeout_s)
        except OSError as exc:
            log.warning("gpsd at %s:%d: %s", self.host, self.port, exc)
            return None
        if fix is None:
            log.warning("gpsd at %s:%d: no fix within %g s", self.host, self.port, self.timeout_s)
            return None
        return {**fix, "src": "gpsd", "env": self.env}
