"""Monthly open-data aggregates per hexagon and operator/technology.

Published data must not reveal where a probe (and so a household or a
volunteer) sits more precisely than the hexagon: every position here is a
cell centroid, aggregates finer than the published resolution are merged
into their parent cell first, and no probe id appears. The month is given by
the caller because the aggregator decides the month boundaries (time zone)
when it builds the monthly aggregates.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from giamsat.maps.classify import CoverageStandard, classify
from giamsat.maps.hexes import DEFAULT_RESOLUTION, cell_centroid, coarsen
from giamsat.maps.stats import HexStats

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True)
class OpenDataRow:
    month: str
    h3: str
    h3_resolution: int
    centroid_lat: float
    centroid_lon: float
    op: str
    tech: str
    n_samples: int
    n_no_service: int
    days: int
    rsrp_median_dbm: float | None
    dl_median_mbps: float | None
    coverage_class: str


OPEN_DATA_COLUMNS = tuple(OpenDataRow.__dataclass_fields__)


def open_data_rows(
    month: str,
    stats: Sequence[HexStats],
    standard: CoverageStandard | None = None,
    resolution: int = DEFAULT_RESOLUTION,
) -> list[OpenDataRow]:
    """Rows for one month (``YYYY-MM``), no cell finer than ``resolution``."""
    if not _MONTH.match(month):
        raise ValueError(f"month must be YYYY-MM, not {month!r}")
    standard = standard or CoverageStandard()
    rows = []
    for s in coarsen(stats, resolution):
        lat, lon = cell_centroid(s.h3)
        rows.append(
            OpenDataRow(
                month=month,
                h3=s.h3,
                h3_resolution=s.resolution,
                centroid_lat=lat,
                centroid_lon=lon,
                op=s.op,
                tech=s.tech,
                n_samples=s.n,
                n_no_service=s.n_no_service,
                days=s.days,
                rsrp_median_dbm=s.rsrp_median_dbm,
                dl_median_mbps=s.dl_median_mbps,
                coverage_class=classify(s, standard).value,
            )
        )
    rows.sort(key=lambda r: (r.month, r.op, r.tech, r.h3))
    return rows


def open_data_geojson(rows: Sequence[OpenDataRow]) -> dict[str, Any]:
    """Points at cell centroids ([lng, lat]); the row's fields are the properties."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [r.centroid_lon, r.centroid_lat]},
                "properties": asdict(r),
            }
            for r in rows
        ],
    }


def open_data_csv(rows: Sequence[OpenDataRow]) -> str:
    """CSV (RFC 4180, UTF-8); a value that was not measured is an empty field."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(OPEN_DATA_COLUMNS)
    for r in rows:
        writer.writerow(["" if v is None else v for v in asdict(r).values()])
    return out.getvalue()
