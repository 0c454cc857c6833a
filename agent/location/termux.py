"""Position from an Android phone through ``termux-location``.

``termux-location -p gps -r once`` waits for a fresh fix and prints one JSON
object (latitude, longitude, altitude, accuracy, provider, and on newer
Termux:API ``mocked``); on failure it prints ``{"API_ERROR": ...}``, and with
the GPS off it never answers, so the call has a timeout. A mocked position is
refused: evidence must not rest on a location an app can fake.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from giamsat.agent import plugins
from giamsat.agent.command import CommandFailed, run_command
from giamsat.contract.config import Section
from giamsat.contract.schema import ENVIRONMENTS

log = logging.getLogger(__name__)


def parse(text: str, env: str = "outdoor_mobile") -> dict[str, Any] | None:
    """The record's ``loc`` from ``termux-location`` output, or None without a usable fix."""
    try:
        fix = json.loads(text)
    except json.JSONDecodeError:
        log.warning("termux-location: output is not JSON (starts %r)", text.strip()[:40])
        return None
    if not isinstance(fix, dict) or "API_ERROR" in fix:
        log.warning("termux-location: %s", fix.get("API_ERROR") if isinstance(fix, dict) else fix)
        return None
    if fix.get("mocked") is True:
        log.warning("termux-location: refusing a mocked location")
        return None
    lat, lon = fix.get("latitude"), fix.get("longitude")
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return None
    loc: dict[str, Any] = {"lat": float(lat), "lon": float(lon)}
    accuracy = fix.get("accuracy")
    if isinstance(accuracy, int | float) and accuracy > 0:
        loc["acc_m"] = round(float(accuracy), 1)
    loc["src"] = "gps" if fix.get("provider") == "gps" else "network"
    loc["env"] = env
    return loc


@plugins.register("location", "termux")
class TermuxLocation:
    """A fresh fix from the phone's location providers."""

    def __init__(self, options: Section) -> None:
        self.provider = options.choice("provider", ("gps", "network"), "gps")
        self.timeout_s = options.float("timeout_s", 60.0, min=1.0, max=600.0)
        self.env = options.choice("env", ENVIRONMENTS, "outdoor_mobile")

    def read(self) -> dict[str, Any] | None:
        argv = ["termux-location", "-p", self.provider, "-r", "once"]
        try:
            output = run_command(argv, self.timeout_s)
        except CommandFailed as exc:
            log.warning("%s", exc)
            return None
        return parse(output, self.env)
