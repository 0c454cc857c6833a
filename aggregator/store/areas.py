"""Administrative areas (province, commune) as sets of H3 cells.

Since 1 July 2025 Vietnam has 34 provincial units and no district level:
communes and wards sit directly under a province. ``config/areas/`` ships the
34 units (built by ``scripts/build-areas.py``, see ``config/areas/README.md``);
a department may add its own GeoJSON polygons (properties ``id``, ``name``,
``level``, optional ``parent``). Polygons are filled with H3 cells at the
rollup resolution once, at load, so every query by area is a join on
``area_cells`` rather than a point-in-polygon test. A cell belongs to an area
when its centre lies inside the polygon, so a record is judged in the unit that
contains it today, whenever it was measured. A probe's village is the area
``probe:<id>``: the H3 cell where the probe stands.

A province's id is :func:`province_id` of its General Statistics Office code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h3
import psycopg

from giamsat.aggregator.store.columns import H3_RESOLUTION
from giamsat.contract.config import ConfigError

# No "district": the level was abolished on 1 July 2025.
LEVELS = ("province", "commune", "village")
PROVINCE_ID_PREFIX = "gso-"


def province_id(gso_code: int | str) -> str:
    """The area id of a provincial unit: ``gso-`` and its two-digit GSO code ("gso-08").

    The General Statistics Office's codes are what the government's systems
    use, and they did not move in 2025 (Tuyên Quang is 08 before and after).
    The prefix is not ISO 3166-2's "VN-": "VN-03" was Hà Giang, a province that
    no longer exists, so an id written before the merger can never be read as
    one of today's units; and a GSO commune code has five digits, so a future
    ``gso-NNNNN`` commune id cannot collide with a province.
    """
    code = int(gso_code)
    if not 0 < code < 100:
        raise ValueError(f"a GSO province code has two digits, not {gso_code!r}")
    return f"{PROVINCE_ID_PREFIX}{code:02d}"


@dataclass(frozen=True)
class Area:
    id: str
    name: str
    level: str
    parent: str | None
    geometry: dict[str, Any] = field(repr=False)

    def cells(self, resolution: int = H3_RESOLUTION) -> set[str]:
        return set(h3.geo_to_cells(self.geometry, resolution))


def load_areas(directory: Path) -> dict[str, Area]:
    """Every area in every ``*.geojson`` file of ``directory``; mistakes name file and key."""
    areas: dict[str, Area] = {}
    for path in sorted(Path(directory).glob("*.geojson")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(path, "-", f"not readable GeoJSON ({exc})") from None
        features = data.get("features") if isinstance(data, dict) else None
        if not isinstance(features, list):
            raise ConfigError(path, "features", "a FeatureCollection is required")
        for i, feature in enumerate(features):
            props = feature.get("properties") or {}
            geometry = feature.get("geometry") or {}
            where = f"features[{i}]"
            for key in ("id", "name", "level"):
                if not isinstance(props.get(key), str) or not props[key]:
                    raise ConfigError(path, f"{where}.properties.{key}", "is required")
            if props["level"] not in LEVELS:
                raise ConfigError(
                    path, f"{where}.properties.level", f"must be one of {', '.join(LEVELS)}"
                )
            if geometry.get("type") not in ("Polygon", "MultiPolygon"):
                raise ConfigError(path, f"{where}.geometry", "must be a Polygon or MultiPolygon")
            if props["id"] in areas:
                raise ConfigError(path, f"{where}.properties.id", f"{props['id']!r} is used twice")
            areas[props["id"]] = Area(
                props["id"], props["name"], props["level"], props.get("parent"), geometry
            )
    return areas


def sync(conn: psycopg.Connection, areas: dict[str, Area]) -> int:
    """Replace the stored areas and their cells; returns the number of cells stored.

    The whole country is about 400,000 cells. They are computed before the
    transaction opens, so readers wait only for the load itself (about two
    seconds), not for the polygon filling. TRUNCATE, not DELETE: re-inserting
    the same keys over as many deleted, not yet committed rows makes every
    primary-key check visit the dead ones, three to four times slower. Its
    exclusive lock makes readers wait rather than see a half-loaded table.
    """
    cells = {area.id: sorted(area.cells()) for area in areas.values()}
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("TRUNCATE area_cells, areas")
        for area in areas.values():
            cur.execute(
                "INSERT INTO areas (id, name, level, parent, geometry) VALUES (%s, %s, %s, %s, %s)",
                (area.id, area.name, area.level, area.parent, json.dumps(area.geometry)),
            )
        with cur.copy("COPY area_cells (area_id, h3) FROM STDIN") as copy:
            for area_id, area_cells in cells.items():
                for cell in area_cells:
                    copy.write_row((area_id, cell))
    return sum(map(len, cells.values()))


def is_cell(text: str) -> bool:
    """Whether ``text`` is an H3 cell id; False for anything else.

    ``h3.is_valid_cell`` raises OverflowError for a string like "-1" or a hex
    number beyond 64 bits, and area ids come straight from request parameters.
    """
    try:
        return h3.is_valid_cell(text)
    except (OverflowError, ValueError):
        return False


def cells_of(conn: psycopg.Connection, area_id: str) -> list[str]:
    """The H3 cells of a stored area; an H3 cell id itself is an area of one cell."""
    if is_cell(area_id):
        return [area_id]
    rows = conn.execute("SELECT h3 FROM area_cells WHERE area_id = %s", (area_id,)).fetchall()
    return [r[0] for r in rows]


def resolve(conn: psycopg.Connection, area: str) -> str:
    """``probe:<id>`` names a probe's village: the H3 cell of its latest located record.

    Anything else (an area id, an H3 cell, ``all``) is returned unchanged.
    """
    if not area.startswith("probe:"):
        return area
    probe = area.removeprefix("probe:")
    row = conn.execute(
        "SELECT h3 FROM records WHERE probe = %s AND h3 IS NOT NULL ORDER BY t DESC LIMIT 1",
        (probe,),
    ).fetchone()
    if row is None:
        raise ConfigError("--area", area, f"probe {probe!r} has no located record yet")
    return row[0]
