"""Dead-zone list for inspectors and the department: GeoJSON and CSV.

One entry per hexagon that is dead for at least one operator/technology, with
which ones are affected, how much evidence there is (samples, no-service
samples, days, period) and the nearest village, so the list reads as "Bản
Khuổi Bốc, 1.2 km: Viettel LTE and VNPT LTE dead" rather than as H3 ids.
Hexagons that are merely unmeasured or have too little data are never listed.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import h3

from giamsat.maps.classify import CoverageClass, CoverageStandard, classify
from giamsat.maps.hexes import cell_centroid, cell_polygon
from giamsat.maps.places import VillageIndex
from giamsat.maps.stats import HexStats, Village


@dataclass(frozen=True, slots=True)
class AffectedLayer:
    """The evidence for one operator/technology being dead in the hexagon."""

    op: str
    tech: str
    n: int
    n_no_service: int
    days: int
    rsrp_median_dbm: float | None


@dataclass(frozen=True, slots=True)
class DeadZone:
    h3: str
    centroid_lat: float
    centroid_lon: float
    nearest_village: str | None
    village_distance_km: float | None
    affected: tuple[AffectedLayer, ...]
    period_from: datetime
    period_to: datetime

    @property
    def n_samples(self) -> int:
        return sum(a.n for a in self.affected)

    @property
    def n_no_service(self) -> int:
        return sum(a.n_no_service for a in self.affected)

    @property
    def operators(self) -> list[str]:
        return sorted({a.op for a in self.affected})

    @property
    def technologies(self) -> list[str]:
        return sorted({a.tech for a in self.affected})


def dead_zones(
    stats: Sequence[HexStats],
    villages: Sequence[Village] = (),
    standard: CoverageStandard | None = None,
) -> list[DeadZone]:
    """Hexagons classified dead for any operator/technology, sorted by village then cell."""
    standard = standard or CoverageStandard()
    dead: dict[str, list[HexStats]] = defaultdict(list)
    for s in stats:
        if classify(s, standard) is CoverageClass.DEAD:
            dead[s.h3].append(s)
    index = VillageIndex(villages)
    zones = []
    for cell, layers in dead.items():
        lat, lon = cell_centroid(cell)
        near = index.nearest(lat, lon)
        affected = tuple(
            AffectedLayer(s.op, s.tech, s.n, s.n_no_service, s.days, s.rsrp_median_dbm)
            for s in sorted(layers, key=lambda s: (s.op, s.tech))
        )
        zones.append(
            DeadZone(
                h3=cell,
                centroid_lat=lat,
                centroid_lon=lon,
                nearest_village=near.name if near else None,
                village_distance_km=round(near.distance_km, 3) if near else None,
                affected=affected,
                period_from=min(s.period_from for s in layers),
                period_to=max(s.period_to for s in layers),
            )
        )
    zones.sort(key=lambda z: (z.nearest_village or "", z.h3))
    return zones


def _affected_text(zone: DeadZone) -> str:
    return "; ".join(f"{a.op} {a.tech}" for a in zone.affected)


def dead_zones_geojson(zones: Sequence[DeadZone]) -> dict[str, Any]:
    """A FeatureCollection of hexagon polygons ([lng, lat], closed rings) with the evidence."""
    features = [
        {
            "type": "Feature",
            "id": z.h3,
            "geometry": cell_polygon(z.h3),
            "properties": {
                "h3": z.h3,
                "h3_resolution": h3.get_resolution(z.h3),
                "centroid_lat": z.centroid_lat,
                "centroid_lon": z.centroid_lon,
                "nearest_village": z.nearest_village,
                "village_distance_km": z.village_distance_km,
                "operators": z.operators,
                "technologies": z.technologies,
                "affected": [
                    {
                        "op": a.op,
                        "tech": a.tech,
                        "n_samples": a.n,
                        "n_no_service": a.n_no_service,
                        "days": a.days,
                        "rsrp_median_dbm": a.rsrp_median_dbm,
                    }
                    for a in z.affected
                ],
                "n_samples": z.n_samples,
                "n_no_service": z.n_no_service,
                "period_from": z.period_from.isoformat(),
                "period_to": z.period_to.isoformat(),
            },
        }
        for z in zones
    ]
    return {"type": "FeatureCollection", "features": features}


CSV_COLUMNS = (
    "h3",
    "h3_resolution",
    "centroid_lat",
    "centroid_lon",
    "nearest_village",
    "village_distance_km",
    "affected",
    "operators",
    "technologies",
    "n_samples",
    "n_no_service",
    "max_days",
    "period_from",
    "period_to",
)


def dead_zones_csv(zones: Sequence[DeadZone]) -> str:
    """CSV (RFC 4180, UTF-8) with one row per dead hexagon; lists joined with ``; ``."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for z in zones:
        writer.writerow(
            [
                z.h3,
                h3.get_resolution(z.h3),
                z.centroid_lat,
                z.centroid_lon,
                z.nearest_village or "",
                "" if z.village_distance_km is None else z.village_distance_km,
                _affected_text(z),
                "; ".join(z.operators),
                "; ".join(z.technologies),
                z.n_samples,
                z.n_no_service,
                max(a.days for a in z.affected),
                z.period_from.isoformat(),
                z.period_to.isoformat(),
            ]
        )
    return out.getvalue()
