"""The service areas the demo's operators publish (QCVN 81/126 Annex B), as operators do.

Each operator publishes one map per technology: its 4G area, and its 5G area
where it has 5G sites. The maps are drawn the way a planning department
draws them, from where its sites are rather than from measurements:

- 4G: every LTE site serves a disc of :data:`LTE_RADIUS_M` (generous, as
  declarations are: the disc ignores the ridges between the site and the
  valleys below it). The union is cut into zones with their own declared
  speeds: the four former provincial capitals (3 km around the centre and
  each ward's, "Đô thị Lào Cai / Lào Cai town", higher speeds), the former
  district seats where the operator has a site (2 km, "Thị trấn / district
  towns") and the rest ("Nông thôn / rural").
- 5G: a small disc of :data:`NR_RADIUS_M` around each NR site, one zone per
  town that has them. QCVN 126 fixes its own speed limits (100 and 30
  Mbit/s, share at 30 Mbit/s), so the 5G maps carry the area only.

Declared speeds are of the kind published declarations give (Vd 15 or 16,
Vu 8 or 10, Vdmin 5 or 2.5 Mbit/s). Polygons are buffered and simplified in
metres on the terrain's local projection, then written in WGS84 degrees on a
1e-4° grid, so a file is a few tens of kilobytes; zones are cut from one
simplified union on that grid, so no H3 cell centre falls in two of them.

Because the discs ignore the terrain, they take in valleys the radio model
leaves without service. :data:`DECLARED_DEAD` names the ones the demo relies
on: Pác Ngòi on Ba Bể lake, 1.6 km below VinaPhone's commune site on the hill
and 320 m down, and Du Già, 3 km from Viettel's site and 350 m down. Both lie
inside their operator's declared rural area and never have service: the
hexagons ``giamsat coverage gaps`` lists (declared covered, measured dead).

Files are written under the demo's state directory and imported through the
real command, ``giamsat coverage import`` (which also recounts stored records
against the declared Vdmin). VinaPhone and Viettel publish GeoJSON, MobiFone
KML, as operators publish either.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import shapely
import shapely.geometry
from shapely.geometry.base import BaseGeometry

from demo.radio import Tower
from demo.terrain import M_PER_DEG_LAT, M_PER_DEG_LON, ORIGIN_LAT, ORIGIN_LON, distance_m, to_xy
from demo.villages import OPERATORS, TOWNS, Town

LTE_RADIUS_M = 5_000.0  # what an operator declares around each LTE site
NR_RADIUS_M = 1_500.0  # and around each NR site
CITY_RADIUS_M = 3_000.0  # a former provincial capital's urban zone: around its wards' centres
TOWN_RADIUS_M = 2_000.0  # a former district seat's
SIMPLIFY_M = 250.0
GRID_DEG = 1e-4  # about 11 m: the precision coordinates are written with
TECHNOLOGIES = ("4G", "5G")

# Declared speeds (Mbit/s) of each operator's 4G zones: city, district towns, rural.
SPEEDS_4G: dict[str, dict[str, dict[str, float]]] = {
    "Viettel": {
        "city": {"vd": 16, "vu": 10, "vdmin": 5},
        "town": {"vd": 16, "vu": 8, "vdmin": 5},
        "rural": {"vd": 15, "vu": 8, "vdmin": 2.5},
    },
    "VinaPhone": {
        "city": {"vd": 16, "vu": 10, "vdmin": 5},
        "town": {"vd": 15, "vu": 8, "vdmin": 5},
        "rural": {"vd": 15, "vu": 8, "vdmin": 2.5},
    },
    "MobiFone": {
        "city": {"vd": 15, "vu": 8, "vdmin": 5},
        "town": {"vd": 15, "vu": 8, "vdmin": 2.5},
        "rural": {"vd": 15, "vu": 8, "vdmin": 2.5},
    },
}
FORMATS = {"Viettel": "geojson", "VinaPhone": "geojson", "MobiFone": "kml"}
# (operator, probe): villages inside the operator's declared 4G area that the radio model
# leaves dead, so the demo's list of declared-covered-measured-dead hexagons is not empty.
DECLARED_DEAD: tuple[tuple[str, str], ...] = (
    ("VinaPhone", "bk-pacngoi-01"),
    ("Viettel", "hg-dugia-01"),
)


@dataclass(frozen=True)
class Zone:
    """One feature of a declaration: a name, its declared speeds, its area (WGS84)."""

    name: str
    speeds: Mapping[str, float]
    geometry: BaseGeometry


@dataclass(frozen=True)
class Published:
    """One declaration file as written: whose, which technology, where, its hash and zones."""

    operator: str
    technology: str
    path: Path
    sha256: str
    zones: tuple[str, ...]


# --- geometry -----------------------------------------------------------------


def _to_lonlat(xy: np.ndarray) -> np.ndarray:
    """Local metres (east, north) to (lon, lat) degrees: the inverse of :func:`to_xy`."""
    return np.column_stack(
        (xy[:, 0] / M_PER_DEG_LON + ORIGIN_LON, xy[:, 1] / M_PER_DEG_LAT + ORIGIN_LAT)
    )


def _discs(points: Iterable[tuple[float, float]], radius_m: float) -> BaseGeometry:
    """The union of discs of ``radius_m`` around (lat, lon) points, simplified, in degrees."""
    discs = []
    for lat, lon in points:
        x, y = to_xy(lat, lon)
        discs.append(shapely.Point(float(x), float(y)).buffer(radius_m, quad_segs=8))
    union = shapely.union_all(discs).simplify(SIMPLIFY_M)
    return shapely.set_precision(shapely.transform(union, _to_lonlat), GRID_DEG)


def _cut(area: BaseGeometry, within: BaseGeometry) -> BaseGeometry:
    return shapely.intersection(area, within, grid_size=GRID_DEG)


def _minus(area: BaseGeometry, cut: BaseGeometry) -> BaseGeometry:
    return shapely.difference(area, cut, grid_size=GRID_DEG)


def _polygonal(geometry: BaseGeometry) -> BaseGeometry:
    """Only the polygons of an overlay's result (it may add stray lines or points)."""
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry
    parts = [g for g in getattr(geometry, "geoms", ()) if g.geom_type == "Polygon"]
    return shapely.MultiPolygon(parts)


def _town_of(tower: Tower, towns: Sequence[Town]) -> Town:
    return min(towns, key=lambda t: distance_m(t.lat, t.lon, tower.lat, tower.lon))


def _has_site(towers: Sequence[Tower], town: Town, radius_m: float) -> bool:
    return any(distance_m(t.lat, t.lon, town.lat, town.lon) <= radius_m for t in towers)


def town_zone_name(town: Town) -> str:
    return f"Đô thị {town.name} / {town.name} town"


def zones_4g(operator: str, towers: Sequence[Tower], towns: Sequence[Town] = TOWNS) -> list[Zone]:
    """The operator's 4G zones: each former capital it serves, its district towns, the rest."""
    mine = [t for t in towers if t.operator == operator]
    if not mine:
        return []
    speeds = SPEEDS_4G[operator]
    area = _discs(((t.lat, t.lon) for t in mine), LTE_RADIUS_M)
    zones = []
    taken: list[BaseGeometry] = []
    for town in towns:
        if town.capital and _has_site(mine, town, CITY_RADIUS_M):
            disc = _discs([(town.lat, town.lon), *town.wards], CITY_RADIUS_M)
            zone = _polygonal(_cut(area, disc))
            zones.append(Zone(town_zone_name(town), speeds["city"], zone))
            taken.append(disc)
    cities = shapely.union_all(taken, grid_size=GRID_DEG)
    seats = [t for t in towns if not t.capital and _has_site(mine, t, TOWN_RADIUS_M)]
    if seats:
        discs = _discs(((t.lat, t.lon) for t in seats), TOWN_RADIUS_M)
        zone = _polygonal(_minus(_cut(area, discs), cities))
        zones.append(Zone("Thị trấn / district towns", speeds["town"], zone))
        taken.append(discs)
    rest = _polygonal(_minus(area, shapely.union_all(taken, grid_size=GRID_DEG)))
    zones.append(Zone("Nông thôn / rural", speeds["rural"], rest))
    return [z for z in zones if not z.geometry.is_empty]


def zones_5g(operator: str, towers: Sequence[Tower], towns: Sequence[Town] = TOWNS) -> list[Zone]:
    """The operator's 5G zones: the NR sites of each town, none if it has no NR site."""
    by_town: dict[str, list[Tower]] = {}
    for tower in towers:
        if tower.operator == operator and tower.nr:
            by_town.setdefault(_town_of(tower, towns).name, []).append(tower)
    zones = []
    for town in towns:  # in the towns' order, so the file is the same for the same towers
        sites = by_town.get(town.name)
        if sites:
            area = _discs(((t.lat, t.lon) for t in sites), NR_RADIUS_M)
            for earlier in zones:  # two towns' discs never share a cell
                area = _minus(area, earlier.geometry)
            zones.append(Zone(town_zone_name(town), {}, _polygonal(area)))
    return [z for z in zones if not z.geometry.is_empty]


# --- files --------------------------------------------------------------------


def _title(operator: str, technology: str) -> str:
    return f"{operator}: vùng cung cấp dịch vụ {technology} / {technology} service area"


def to_geojson(operator: str, technology: str, zones: Sequence[Zone]) -> bytes:
    """A FeatureCollection, one feature per zone, properties ``name`` and its speeds."""
    features = [
        {
            "type": "Feature",
            "properties": {"name": z.name, **z.speeds},
            "geometry": shapely.geometry.mapping(z.geometry),
        }
        for z in zones
    ]
    doc = {"type": "FeatureCollection", "name": _title(operator, technology), "features": features}
    return (json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def _ring(coords: Iterable[Sequence[float]]) -> str:
    return " ".join(f"{x:.4f},{y:.4f}" for x, y, *_ in coords)


def _kml_polygon(polygon: Any) -> str:
    inner = "".join(
        f"<innerBoundaryIs><LinearRing><coordinates>{_ring(r.coords)}</coordinates>"
        "</LinearRing></innerBoundaryIs>"
        for r in polygon.interiors
    )
    return (
        "<Polygon><outerBoundaryIs><LinearRing><coordinates>"
        f"{_ring(polygon.exterior.coords)}</coordinates></LinearRing></outerBoundaryIs>"
        f"{inner}</Polygon>"
    )


def to_kml(operator: str, technology: str, zones: Sequence[Zone]) -> bytes:
    """A KML document, one Placemark per zone, its speeds as ExtendedData."""
    marks = []
    for z in zones:
        polygons = getattr(z.geometry, "geoms", [z.geometry])
        data = "".join(f'<Data name="{k}"><value>{v:g}</value></Data>' for k, v in z.speeds.items())
        extended = f"<ExtendedData>{data}</ExtendedData>" if data else ""
        marks.append(
            f"<Placemark><name>{escape(z.name)}</name>{extended}<MultiGeometry>"
            + "".join(_kml_polygon(p) for p in polygons)
            + "</MultiGeometry></Placemark>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"<name>{escape(_title(operator, technology))}</name>\n" + "\n".join(marks) + "\n"
        "</Document></kml>\n"
    ).encode()


def declaration_zones(operator: str, technology: str, towers: Sequence[Tower]) -> list[Zone]:
    if technology not in TECHNOLOGIES:
        raise ValueError(f"unknown technology {technology!r}")
    return zones_4g(operator, towers) if technology == "4G" else zones_5g(operator, towers)


def write(
    towers: Sequence[Tower], directory: Path, operators: Sequence[str] = OPERATORS
) -> list[Published]:
    """Write every operator's declarations under ``directory``; a technology it lacks is skipped.

    The same towers give the same bytes, so a file's SHA-256 names it across runs.
    """
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for operator in operators:
        for technology in TECHNOLOGIES:
            zones = declaration_zones(operator, technology, towers)
            if not zones:
                continue
            kind = FORMATS.get(operator, "geojson")
            data = (to_kml if kind == "kml" else to_geojson)(operator, technology, zones)
            path = directory / f"{operator.lower()}-{technology.lower()}.{kind}"
            path.write_bytes(data)
            written.append(
                Published(
                    operator,
                    technology,
                    path,
                    hashlib.sha256(data).hexdigest(),
                    tuple(z.name for z in zones),
                )
            )
    return written


def valid_from(first_day: date) -> date:
    """When the demo's declarations take effect: the first of the month before the data."""
    return (first_day.replace(day=1) - timedelta(days=1)).replace(day=1)
