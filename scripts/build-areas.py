"""Build config/areas/provinces-2025.geojson: Vietnam's 34 provincial units since 1 July 2025.

Run from the project root (reads ../shared/data at build time only):

    .venv/bin/python scripts/build-areas.py [--source PATH] [--out PATH]

Polygons: Open Development Vietnam's "Địa phận tỉnh" dataset, the 63 pre-2025
provinces dissolved into the 34 new units, as published (MIT licence) in the
GitHub repository TaliaCao/Vietnam-Shape-Map (``diaphantinhvn_merged.geojson``).
Names and codes: the General Statistics Office's, from the maintained PyPI
package ``vietnam-provinces`` (never typed by hand here): each polygon's
``ten_tinh``, written as its author wrote it ("TP HCM", "Khánh Hoà"), is matched
to exactly one official unit, and the build fails on any polygon or unit left
unmatched, because a silently missing province would silently drop its records
from every verdict.

Simplification keeps the topology: neighbours are simplified together
(``shapely.coverage_simplify``), so a shared border stays shared and no H3 cell
falls into a gap or is claimed by two provinces. The build checks that, and
that each province keeps its H3 cells (resolution 8, the rollups') to within
``MAX_CELL_CHANGE``; it prints the figures so a reviewer sees what was lost.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h3
import numpy as np
import shapely
import vietnam_provinces
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from vietnam_provinces import Province, VietNamDivisionType

from giamsat.aggregator.store.areas import province_id
from giamsat.aggregator.store.columns import H3_RESOLUTION

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT.parent / "shared" / "data" / "vn-provinces-2025.geojson"
OUT = ROOT / "config" / "areas" / "provinces-2025.geojson"

# Degrees (about 110 m): well under an H3 resolution-8 cell's edge (~460 m), so
# a border moves by less than a cell; the file shrinks from 3.9 MB to about 1 MB.
TOLERANCE = 0.001
# Coordinates kept to 1e-5 degree (about 1 m), as the maps send hexagons.
GRID = 1e-5
# A province may gain or lose this share of its cells to simplification (the
# losses are coastline and islets a few hundred metres across).
MAX_CELL_CHANGE = 0.005

ATTRIBUTION = (
    "Polygons: Open Development Vietnam, “Địa phận tỉnh” (provincial boundaries), "
    "the 63 pre-2025 provinces dissolved into the 34 units of 1 July 2025, published "
    "under the MIT licence in github.com/TaliaCao/Vietnam-Shape-Map "
    "(Maps/GeoJSON/diaphantinhvn_merged.geojson). Names and codes: General Statistics "
    "Office of Viet Nam, via the PyPI package vietnam-provinces {version} (data of {data})."
)

# Tone marks: the source writes the old placement ("Hoà", "Thuỷ"), the
# official names the new one ("Hòa", "Thủy"); compare in the new placement.
_TONES = {
    "oà": "òa", "oá": "óa", "oả": "ỏa", "oã": "õa", "oạ": "ọa",
    "oè": "òe", "oé": "óe", "oẻ": "ỏe", "oẽ": "õe", "oẹ": "ọe",
    "uỳ": "ùy", "uý": "úy", "uỷ": "ủy", "uỹ": "ũy", "uỵ": "ụy",
}  # fmt: skip
# Abbreviations the source uses for a unit's name.
_ABBREVIATIONS = {"hcm": "hồ chí minh"}
_PREFIXES = ("thành phố ", "tp. ", "tp ", "tỉnh ")


class BuildError(Exception):
    """The source cannot be turned into the 34 units; the message says what and where."""


def name_key(name: str) -> str:
    """A name as the matching compares it: NFC, lower case, no "TP"/"Tỉnh", new tone placement."""
    key = " ".join(unicodedata.normalize("NFC", name).lower().split())
    for prefix in _PREFIXES:
        key = key.removeprefix(prefix)
    for old, new in _TONES.items():
        key = key.replace(old, new)
    return _ABBREVIATIONS.get(key, key)


@dataclass(frozen=True)
class Unit:
    """One of the 34 units: its official record and its polygon as the source drew it."""

    province: Province
    source_name: str
    geometry: BaseGeometry

    @property
    def code(self) -> int:
        return int(self.province.code)


def match(features: list[dict[str, Any]]) -> list[Unit]:
    """Each source polygon with its official unit, in GSO order; any mismatch is an error."""
    official = {name_key(p.name): p for p in Province.iter_all()}
    if len(official) != 34:
        raise BuildError(f"vietnam-provinces lists {len(official)} units, not 34")
    units: dict[int, Unit] = {}
    unmatched: list[str] = []
    for i, feature in enumerate(features):
        name = (feature.get("properties") or {}).get("ten_tinh")
        province = official.get(name_key(name)) if isinstance(name, str) else None
        if province is None or not isinstance(name, str):
            unmatched.append(f"features[{i}] ten_tinh={name!r}")
            continue
        if int(province.code) in units:
            raise BuildError(
                f"features[{i}] ten_tinh={name!r} and "
                f"{units[int(province.code)].source_name!r} both match {province.name}"
            )
        geometry = shape(feature["geometry"])
        if not geometry.is_valid:
            raise BuildError(f"features[{i}] ten_tinh={name!r}: invalid polygon")
        units[int(province.code)] = Unit(province, name, geometry)
    missing = [p.name for p in Province.iter_all() if int(p.code) not in units]
    if unmatched or missing:
        raise BuildError(
            "polygons and official units do not match one to one: "
            f"no official unit for {unmatched or 'none'}; no polygon for {missing or 'none'}"
        )
    return [units[code] for code in sorted(units)]


def clean_coverage(geoms: np.ndarray) -> np.ndarray:
    """Remove the slivers where two neighbours overlap: the later unit (GSO order) gives way.

    ``coverage_simplify`` needs a valid coverage (neighbours share their edges
    exactly). The source has one overlap, a few square metres between Bắc Ninh
    and Thái Nguyên, from its dissolve; anything bigger is reported instead.
    """
    geoms = geoms.copy()
    tree = shapely.STRtree(geoms)
    for i, j in tree.query(geoms, predicate="overlaps").T:
        if i < j:
            overlap = shapely.area(shapely.intersection(geoms[i], geoms[j]))
            if overlap > 1e-6:  # square degrees: about 0.01 km²
                raise BuildError(f"units {i} and {j} overlap by {overlap:.2e} square degrees")
            geoms[j] = shapely.difference(geoms[j], geoms[i])
    if not shapely.coverage_is_valid(geoms):
        raise BuildError("the polygons are not a clean coverage even after removing overlaps")
    return geoms


def cells_of(geometry: BaseGeometry) -> set[str]:
    """H3 cells whose centre lies in ``geometry``, as ``areas.sync`` will store them."""
    return set(h3.geo_to_cells(mapping(geometry), H3_RESOLUTION))


def simplify(geoms: np.ndarray) -> np.ndarray:
    """Simplify neighbours together, then snap to the grid; both must keep a valid coverage."""
    simplified = shapely.set_precision(shapely.coverage_simplify(geoms, TOLERANCE), GRID)
    if not all(shapely.is_valid(simplified)) or not shapely.coverage_is_valid(simplified):
        raise BuildError("simplification broke the coverage (invalid polygon or shared edge)")
    if any(shapely.is_empty(simplified)):
        raise BuildError("simplification emptied a unit")
    return simplified


def check_cells(units: list[Unit], before: list[set[str]], after: list[set[str]]) -> list[str]:
    """Per unit: cells before and after; errors for a cell claimed twice or a big change."""
    errors: list[str] = []
    claims = Counter(cell for cells in after for cell in cells)
    twice = [cell for cell, n in claims.items() if n > 1]
    if twice:
        errors.append(f"{len(twice)} H3 cells are claimed by two units, e.g. {twice[:3]}")
    print(f"{'id':<7} {'name':<24} {'cells before':>12} {'after':>8} {'moved':>6}")
    for unit, old, new in zip(units, before, after, strict=True):
        moved = len(old ^ new)
        print(f"{province_id(unit.code):<7} {unit.province.name:<24} {len(old):>12} "
              f"{len(new):>8} {moved:>6}")  # fmt: skip
        if moved > MAX_CELL_CHANGE * len(old):
            errors.append(f"{unit.province.name}: {moved} of {len(old)} cells changed")
    everywhere_before, everywhere_after = set().union(*before), set().union(*after)
    print(
        f"all units: {len(everywhere_before)} cells before, {len(everywhere_after)} after; "
        f"{len(everywhere_before - everywhere_after)} in no unit any more, "
        f"{len(everywhere_after - everywhere_before)} new"
    )
    return errors


def feature(unit: Unit, geometry: BaseGeometry) -> dict[str, Any]:
    province = unit.province
    city = province.division_type == VietNamDivisionType.THANH_PHO_TRUNG_UONG
    return {
        "type": "Feature",
        "properties": {
            "id": province_id(unit.code),
            "name": province.name,
            "level": "province",
            "gso_code": f"{unit.code:02d}",
            "division_type": "city" if city else "province",
            "source_name": unit.source_name,
        },
        "geometry": mapping(geometry),
    }


def render(units: list[Unit], geoms: np.ndarray, source_sha256: str) -> str:
    """The FeatureCollection, one feature a line (a change to one province is one line)."""
    header = {
        "type": "FeatureCollection",
        "name": "Vietnam's 34 provincial units since 1 July 2025",
        "attribution": ATTRIBUTION.format(
            version=vietnam_provinces.__version__, data=vietnam_provinces.__data_version__
        ),
        "license": "MIT (polygons, Open Development Vietnam via TaliaCao/Vietnam-Shape-Map)",
        "generator": "scripts/build-areas.py",
        "source_sha256": source_sha256,
        "simplification": {"tolerance_deg": TOLERANCE, "grid_deg": GRID},
    }
    head = json.dumps(header, ensure_ascii=False)[:-1]
    lines = [
        json.dumps(feature(u, g), ensure_ascii=False, separators=(",", ":"))
        for u, g in zip(units, geoms, strict=True)
    ]
    return head + ', "features": [\n' + ",\n".join(lines) + "\n]}\n"


def build(source: Path, out: Path) -> None:
    raw = source.read_bytes()
    data = json.loads(raw)
    units = match(data["features"])
    geoms = clean_coverage(np.array([u.geometry for u in units]))
    simplified = simplify(geoms)
    before = [cells_of(g) for g in geoms]
    after = [cells_of(g) for g in simplified]
    errors = check_cells(units, before, after)
    if errors:
        raise BuildError("; ".join(errors))
    text = render(units, simplified, hashlib.sha256(raw).hexdigest())
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out} ({len(text.encode()) / 1e6:.2f} MB, {len(units)} units, "
          f"{sum(map(len, after))} H3 cells at resolution {H3_RESOLUTION})")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--source", type=Path, default=SOURCE, help=f"default: {SOURCE}")
    parser.add_argument("--out", type=Path, default=OUT, help=f"default: {OUT}")
    args = parser.parse_args(argv)
    try:
        build(args.source, args.out)
    except (BuildError, OSError, ValueError, KeyError) as exc:
        print(f"build-areas: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
