"""A fixed position from config: the usual case for a probe bolted to a village house."""

from __future__ import annotations

from typing import Any

from giamsat.agent import plugins
from giamsat.contract.config import Section
from giamsat.contract.schema import ENVIRONMENTS


@plugins.register("location", "static")
class StaticLocation:
    def __init__(self, options: Section) -> None:
        self.lat = options.float("lat", min=-90.0, max=90.0)
        self.lon = options.float("lon", min=-180.0, max=180.0)
        self.acc_m = options.float("acc_m", 10.0, min=0.0)
        self.env = options.choice("env", ENVIRONMENTS, "indoor")

    def read(self) -> dict[str, Any]:
        return {
            "lat": self.lat,
            "lon": self.lon,
            "acc_m": self.acc_m,
            "src": "static",
            "env": self.env,
        }
