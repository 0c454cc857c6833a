"""Administrative areas (province, district, commune) as sets of H3 cells.

The department supplies each level as GeoJSON polygons in ``config/areas/``
(properties ``id``, ``name``, ``level``, optional ``parent``). Polygons are
filled with H3 cells at the rollup resolution once, at load, so every query
by area is a join on ``area_cells`` rather than a point-in-polygon test.
A cell belongs to an area when its centre lies inside the polygon. A probe's
village is the area ``probe:<id>``: the H3 cell where the probe stands.
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

LEVELS = ("province", "district", "commune", "village")


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
    """Replace the stored areas and their cells; returns the number of cells stored."""
    total = 0
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("DELETE FROM area_cells")
        cur.execute("DELETE FROM areas")
        for area in areas.values():
            cur.execute(
                "INSERT INTO areas (id, name, level, parent, geometry) VALUES (%s, %s, %s, %s, %s)",
                (area.id, area.name, area.level, area.parent, json.dumps(area.geometry)),
            )
            cells = sorted(area.cells())
            with cur.copy("COPY area_cells (area_id, h3) FROM STDIN") as copy:
                for cell in cells:
                    copy.write_row((area.id, cell))
            total += len(cells)
    return total


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
