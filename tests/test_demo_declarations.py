"""The demo operators' declared service areas: files the importer accepts, drawn where they build.

Unit tests: the files are written and read with the importer's own reader
(:func:`giamsat.aggregator.store.declarations.read_zones`), no service started.
The demo itself imports them with ``giamsat coverage import`` (tests/test_demo.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from demo import declarations, fleet
from demo.villages import OPERATORS, VILLAGES
from giamsat.aggregator.store.columns import cell_of
from giamsat.aggregator.store.declarations import Zone, read_zones

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 22, 9, 7, 30, tzinfo=UTC)
# Declared speeds seen in published declarations (DESIGN.md, "Declared speeds").
PLAUSIBLE = {"vd": {15, 16}, "vu": {8, 10}, "vdmin": {Decimal(5), Decimal("2.5")}}


@pytest.fixture(scope="module")
def world() -> fleet.World:
    return fleet.World(1)


@pytest.fixture(scope="module")
def published(world: fleet.World, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return declarations.write(world.towers, tmp_path_factory.mktemp("declarations"))


@pytest.fixture(scope="module")
def zones(published) -> dict[tuple[str, str], list[Zone]]:  # type: ignore[no-untyped-def]
    return {(p.operator, p.technology): read_zones(p.path, p.path.read_bytes()) for p in published}


def test_every_operator_declares_4g_and_5g_where_it_has_nr_sites(world, published) -> None:
    with_nr = {t.operator for t in world.towers if t.nr}
    expected = {(op, "4G") for op in OPERATORS} | {(op, "5G") for op in with_nr}
    assert {(p.operator, p.technology) for p in published} == expected
    assert with_nr == set(OPERATORS)
    # As operators publish them: GeoJSON or KML, each a few tens of kilobytes at most.
    assert {p.path.suffix for p in published} == {".geojson", ".kml"}
    for p in published:
        assert p.path.stat().st_size < 64_000, p.path


def test_the_importer_reads_every_file_zone_by_zone_with_its_declared_speeds(
    published, zones
) -> None:
    # read_zones refuses a zone that is not a valid polygon or shares a cell with another.
    for p in published:
        found = zones[(p.operator, p.technology)]
        assert tuple(z.name for z in found) == p.zones
        assert all(z.cells for z in found)
        if p.technology == "5G":
            # QCVN 126 fixes its own limits: the 5G maps carry the area only.
            assert all(not z.speeds for z in found)
            assert all(z.name.startswith("Đô thị ") for z in found)
            continue
        names = [z.name for z in found]
        assert names[-1] == "Nông thôn / rural" and "Thị trấn / district towns" in names
        assert "Đô thị Cao Bằng / Cao Bằng town" in names
        for z in found:
            assert set(z.speeds) == {"vd", "vu", "vdmin"}, z.name
            for key, value in z.speeds.items():
                assert value in PLAUSIBLE[key], (p.operator, z.name, key, value)
        rural = found[-1].speeds
        towns = [z.speeds for z in found if z.name.startswith("Đô thị ")]
        # Towns are declared faster than the countryside.
        assert all(t["vdmin"] >= rural["vdmin"] and t["vd"] >= rural["vd"] for t in towns)
        assert any(t["vdmin"] > rural["vdmin"] for t in towns)


def test_declared_areas_follow_the_operators_sites(world, zones) -> None:
    for (operator, technology), found in zones.items():
        cells = {c for z in found for c in z.cells}
        sites = [t for t in world.towers if t.operator == operator and (technology == "4G" or t.nr)]
        inside = sum(cell_of(t.lat, t.lon) in cells for t in sites)
        assert inside == len(sites), (operator, technology, inside, len(sites))
    # A 5G area is a small part of the 4G area of the same operator, and lies within it.
    for operator in OPERATORS:
        lte = {c for z in zones[(operator, "4G")] for c in z.cells}
        nr = {c for z in zones[(operator, "5G")] for c in z.cells}
        assert len(nr) < len(lte) / 20
        assert len(nr - lte) == 0, operator
    # More sites, more declared area.
    size = {op: sum(len(z.cells) for z in zones[(op, "4G")]) for op in OPERATORS}
    assert size["Viettel"] > size["VinaPhone"] > size["MobiFone"]


def test_the_chosen_valleys_are_declared_covered_and_measured_dead(world, zones) -> None:
    """The demo's finding: villages inside the declared area where the radio finds nothing."""
    chosen = {probe: operator for operator, probe in declarations.DECLARED_DEAD}
    villages = [v for v in VILLAGES if v.probe in chosen]
    assert len(villages) == len(declarations.DECLARED_DEAD)
    keys = {v.probe: Ed25519PrivateKey.generate() for v in villages}
    first, last = fleet.time_grid(3, 60, NOW)
    records = fleet.generate(world, villages, keys, first=first, last=last, interval_min=60)
    for v in villages:
        operator = chosen[v.probe]
        assert v.sim == operator and not v.route
        rural = next(z for z in zones[(operator, "4G")] if z.name == "Nông thôn / rural")
        assert cell_of(v.lat, v.lon) in rural.cells, v.probe
        assert all(r["net"]["service"] is False for r in records[v.probe]), v.probe
        assert world.terrain.valley_depth(v.lat, v.lon) > 150, v.probe
    # In the CI fleet too, so `demo up --ci` lists them.
    assert {v.probe for v in VILLAGES[: fleet.CI.probes]} >= set(chosen)


def test_files_are_the_same_for_the_same_towers(world, published, tmp_path: Path) -> None:
    again = declarations.write(world.towers, tmp_path)
    assert [(p.operator, p.technology, p.sha256) for p in again] == [
        (p.operator, p.technology, p.sha256) for p in published
    ]
    other = declarations.write(fleet.World(2).towers, tmp_path / "other")
    assert {p.sha256 for p in other}.isdisjoint(p.sha256 for p in published)


def test_declarations_take_effect_before_the_demo_data() -> None:
    assert declarations.valid_from(date(2026, 12, 5)) == date(2026, 11, 1)
    assert declarations.valid_from(date(2026, 1, 1)) == date(2025, 12, 1)
    for size in (fleet.CI, fleet.DEMO):
        first, _ = fleet.time_grid(size.days, size.interval_min, NOW)
        assert declarations.valid_from(first.date()) < first.date()
