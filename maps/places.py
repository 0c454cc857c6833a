"""Nearest village by great-circle distance.

A province has thousands of hamlets (thôn, bản) and a dead-zone list can have
thousands of hexagons, so distances are computed with numpy over all villages
at once rather than in a Python double loop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from giamsat.maps.stats import Village

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


@dataclass(frozen=True, slots=True)
class NearestVillage:
    name: str
    distance_km: float


class VillageIndex:
    """Villages prepared once for many nearest-village look-ups."""

    def __init__(self, villages: Sequence[Village]) -> None:
        self._names = [v.name for v in villages]
        self._lat = np.radians(np.array([v.lat for v in villages], dtype=float))
        self._lon = np.radians(np.array([v.lon for v in villages], dtype=float))
        self._cos_lat = np.cos(self._lat)

    def nearest(self, lat: float, lon: float) -> NearestVillage | None:
        """The closest village to (lat, lon), or ``None`` when there are no villages."""
        if not self._names:
            return None
        p, lam = math.radians(lat), math.radians(lon)
        a = (
            np.sin((self._lat - p) / 2) ** 2
            + math.cos(p) * self._cos_lat * np.sin((self._lon - lam) / 2) ** 2
        )
        best = int(np.argmin(a))
        distance = 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, float(a[best]))))
        return NearestVillage(self._names[best], distance)
