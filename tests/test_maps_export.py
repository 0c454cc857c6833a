"""Dead-zone list (GeoJSON, CSV), nearest village, and monthly open data."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import h3
import pytest

from giamsat.maps.export import CSV_COLUMNS, dead_zones, dead_zones_csv, dead_zones_geojson
from giamsat.maps.opendata import (
    OPEN_DATA_COLUMNS,
    open_data_csv,
    open_data_geojson,
    open_data_rows,
)
from giamsat.maps.places import VillageIndex, haversine_km
from giamsat.maps.stats import HexStats, Village

T0 = datetime(2026, 11, 1, tzinfo=UTC)
T1 = datetime(2026, 11, 30, tzinfo=UTC)
PAC_NAM = Village("Pác Nặm", 22.6100, 105.8700)
NA_PHAI = Village("Nà Phai", 22.7000, 105.9500)
DEAD_CELL = h3.latlng_to_cell(22.6130, 105.8720, 8)  # a few hundred metres from Pác Nặm
WEAK_CELL = h3.latlng_to_cell(22.6900, 105.9400, 8)
THIN_CELL = h3.latlng_to_cell(22.6500, 105.9000, 8)


def stat(
    cell: str,
    op: str,
    tech: str = "LTE",
    *,
    n: int = 40,
    no_service: int = 0,
    days: int = 6,
    rsrp: float | None = -100.0,
    start: datetime = T0,
) -> HexStats:
    return HexStats(cell, op, tech, n, no_service, days, rsrp, 5.0, start, T1)


STATS = [
    stat(DEAD_CELL, "Viettel", n=40, no_service=30, rsrp=-121.0),
    stat(
        DEAD_CELL, "VNPT", n=25, no_service=2, rsrp=-124.5, start=datetime(2026, 10, 20, tzinfo=UTC)
    ),
    stat(DEAD_CELL, "MobiFone", rsrp=-100.0),  # covered here: not affected
    stat(WEAK_CELL, "Viettel", rsrp=-115.0),
    stat(THIN_CELL, "Viettel", n=9, no_service=9, rsrp=None),  # too few samples: not dead
]


def test_haversine_known_distance() -> None:
    # Hà Nội (Hoàn Kiếm) to Hồ Chí Minh City (Bến Thành): about 1,140 km great circle
    assert haversine_km(21.0285, 105.8542, 10.7725, 106.6980) == pytest.approx(1139, abs=10)
    assert haversine_km(22.61, 105.87, 22.61, 105.87) == 0.0


def test_village_index_picks_the_nearest() -> None:
    index = VillageIndex([NA_PHAI, PAC_NAM])
    near = index.nearest(22.615, 105.875)
    assert near is not None and near.name == "Pác Nặm"
    assert near.distance_km == pytest.approx(haversine_km(22.615, 105.875, 22.61, 105.87))
    assert VillageIndex([]).nearest(22.6, 105.8) is None


def test_dead_zones_list_only_dead_hexagons_with_evidence() -> None:
    zones = dead_zones(STATS, [NA_PHAI, PAC_NAM])
    assert [z.h3 for z in zones] == [DEAD_CELL]
    (zone,) = zones
    assert zone.nearest_village == "Pác Nặm"
    assert 0 < zone.village_distance_km < 1.0
    assert [(a.op, a.tech) for a in zone.affected] == [("VNPT", "LTE"), ("Viettel", "LTE")]
    assert (zone.n_samples, zone.n_no_service) == (65, 32)
    assert zone.period_from == datetime(2026, 10, 20, tzinfo=UTC)
    assert zone.operators == ["VNPT", "Viettel"]


def test_dead_zones_geojson() -> None:
    doc = dead_zones_geojson(dead_zones(STATS, [PAC_NAM]))
    json.dumps(doc)  # serialisable as is
    assert doc["type"] == "FeatureCollection"
    (feature,) = doc["features"]
    (ring,) = feature["geometry"]["coordinates"]
    assert feature["geometry"]["type"] == "Polygon"
    assert ring[0] == ring[-1] and len(ring) == 7
    assert all(105 < lng < 106 and 22 < lat < 23 for lng, lat in ring)  # [lng, lat]
    props = feature["properties"]
    lat, lng = h3.cell_to_latlng(DEAD_CELL)
    assert props["centroid_lat"] == pytest.approx(lat, abs=1e-6)
    assert props["centroid_lon"] == pytest.approx(lng, abs=1e-6)
    assert props["nearest_village"] == "Pác Nặm"
    assert props["n_samples"] == 65
    assert props["affected"][1] == {
        "op": "Viettel",
        "tech": "LTE",
        "n_samples": 40,
        "n_no_service": 30,
        "days": 6,
        "rsrp_median_dbm": -121.0,
    }
    assert props["period_from"] == "2026-10-20T00:00:00+00:00"


def test_dead_zones_csv() -> None:
    text = dead_zones_csv(dead_zones(STATS, [PAC_NAM, NA_PHAI]))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    (row,) = rows
    assert row["h3"] == DEAD_CELL
    assert row["h3_resolution"] == "8"
    assert row["nearest_village"] == "Pác Nặm"
    assert row["affected"] == "VNPT LTE; Viettel LTE"
    assert row["operators"] == "VNPT; Viettel"
    assert row["technologies"] == "LTE"
    assert (row["n_samples"], row["n_no_service"], row["max_days"]) == ("65", "32", "6")
    assert float(row["centroid_lat"]) == pytest.approx(h3.cell_to_latlng(DEAD_CELL)[0], abs=1e-6)


def test_dead_zones_without_villages() -> None:
    (row,) = csv.DictReader(io.StringIO(dead_zones_csv(dead_zones(STATS))))
    assert row["nearest_village"] == "" and row["village_distance_km"] == ""


def test_open_data_is_per_hexagon_and_month_with_centroids_only() -> None:
    rows = open_data_rows("2026-11", STATS)
    assert len(rows) == len(STATS)
    assert {r.month for r in rows} == {"2026-11"}
    assert {r.coverage_class for r in rows if r.h3 == THIN_CELL} == {"insufficient"}
    doc = open_data_geojson(rows)
    for feature in doc["features"]:
        assert feature["geometry"]["type"] == "Point"
        lng, lat = feature["geometry"]["coordinates"]
        clat, clng = h3.cell_to_latlng(feature["properties"]["h3"])
        assert (lat, lng) == (pytest.approx(clat, abs=1e-6), pytest.approx(clng, abs=1e-6))
    parsed = list(csv.DictReader(io.StringIO(open_data_csv(rows))))
    assert tuple(parsed[0]) == OPEN_DATA_COLUMNS
    assert {p["rsrp_median_dbm"] for p in parsed if p["h3"] == THIN_CELL} == {""}


def test_open_data_never_finer_than_the_published_resolution() -> None:
    fine = [stat(c, "Viettel") for c in h3.grid_disk(DEAD_CELL, 3)]
    rows = open_data_rows("2026-11", fine, resolution=7)
    assert {r.h3_resolution for r in rows} == {7}
    assert sum(r.n_samples for r in rows) == sum(s.n for s in fine)


def test_open_data_month_is_validated() -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        open_data_rows("2026-13", STATS)
