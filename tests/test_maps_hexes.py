"""H3 geometry in GeoJSON order and coarsening of aggregates."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime

import h3
import pytest

from giamsat.maps.classify import CoverageClass, CoverageStandard, classify
from giamsat.maps.hexes import (
    cell_centroid,
    cell_polygon,
    cell_ring,
    coarsen,
    fit_resolution,
    weighted_median,
)
from giamsat.maps.stats import HexStats

LAT, LON = 22.61, 105.87  # Cao Bằng, by the former Bắc Kạn: latitude and longitude differ a lot
CENTRE = h3.latlng_to_cell(LAT, LON, 8)


def stat(
    cell: str,
    *,
    op: str = "Viettel",
    n: int = 20,
    no_service: int = 0,
    days: int = 5,
    rsrp: float | None = -100.0,
    dl: float | None = 20.0,
    day_from: int = 1,
    day_to: int = 30,
) -> HexStats:
    return HexStats(
        cell,
        op,
        "LTE",
        n,
        no_service,
        days,
        rsrp,
        dl,
        datetime(2026, 11, day_from, tzinfo=UTC),
        datetime(2026, 11, day_to, tzinfo=UTC),
    )


def test_ring_is_closed_and_in_lng_lat_order() -> None:
    polygon = cell_polygon(CENTRE)
    assert polygon["type"] == "Polygon"
    (ring,) = polygon["coordinates"]
    assert ring == cell_ring(CENTRE)
    assert len(ring) == 7  # six vertices plus the closing one
    assert ring[0] == ring[-1]
    for lng, lat in ring:
        assert abs(lng - LON) < 0.02
        assert abs(lat - LAT) < 0.02


def test_pentagon_ring_is_closed() -> None:
    pentagon = h3.get_pentagons(8)[0]
    ring = cell_ring(pentagon)
    assert len(ring) == 6
    assert ring[0] == ring[-1]


def test_centroid_is_lat_lon() -> None:
    lat, lon = cell_centroid(CENTRE)
    assert abs(lat - LAT) < 0.01
    assert abs(lon - LON) < 0.01


def test_weighted_median() -> None:
    assert weighted_median([]) is None
    assert weighted_median([(-100.0, 10), (-110.0, 30)]) == -110.0
    assert weighted_median([(-100.0, 30), (-110.0, 10)]) == -100.0
    # an extreme child cannot drag the result outside the children's medians
    assert weighted_median([(-90.0, 5), (-95.0, 5), (-140.0, 1)]) == -95.0


def test_coarsening_preserves_totals_per_operator() -> None:
    rng = random.Random(7)
    cells = list(h3.grid_disk(CENTRE, 8))
    stats = [
        stat(c, op=op, n=(n := rng.randint(0, 60)), no_service=rng.randint(0, n))
        for c in cells
        for op in ("Viettel", "VNPT")
    ]
    for resolution in (7, 6, 5):
        merged = coarsen(stats, resolution)
        assert all(s.resolution == resolution for s in merged)
        assert len({(s.h3, s.op) for s in merged}) == len(merged)
        for op in ("Viettel", "VNPT"):
            before = [s for s in stats if s.op == op]
            after = [s for s in merged if s.op == op]
            assert sum(s.n for s in after) == sum(s.n for s in before)
            assert sum(s.n_no_service for s in after) == sum(s.n_no_service for s in before)
        parents: dict[tuple[str, str], int] = defaultdict(int)
        for s in stats:
            parents[(h3.cell_to_parent(s.h3, resolution), s.op)] += s.n
        assert {(s.h3, s.op): s.n for s in merged} == dict(parents)


def test_merge_days_period_and_medians() -> None:
    children = list(h3.cell_to_children(h3.cell_to_parent(CENTRE, 7), 8))[:3]
    stats = [
        stat(children[0], n=10, days=2, rsrp=-90.0, dl=50.0, day_from=3, day_to=9),
        stat(children[1], n=30, days=4, rsrp=-115.0, dl=2.0, day_from=1, day_to=20),
        stat(children[2], n=5, no_service=5, days=1, rsrp=None, dl=None, day_from=10, day_to=28),
    ]
    (parent,) = coarsen(stats, 7)
    assert parent.h3 == h3.cell_to_parent(CENTRE, 7)
    assert (parent.n, parent.n_no_service) == (45, 5)
    assert parent.days == 4  # the only certain lower bound of distinct days
    assert parent.rsrp_median_dbm == -115.0
    assert parent.dl_median_mbps == 2.0
    assert parent.period_from.day == 1
    assert parent.period_to.day == 28


def test_coarsening_does_not_manufacture_a_dead_zone() -> None:
    # Seven children, each with all samples lost but only on 2 days: none can be called dead,
    # and their parent must not be either (days could all be the same two days).
    children = list(h3.cell_to_children(h3.cell_to_parent(CENTRE, 7), 8))
    stats = [stat(c, n=5, no_service=5, days=2, rsrp=None, dl=None) for c in children]
    standard = CoverageStandard()
    assert {classify(s, standard) for s in stats} == {CoverageClass.INSUFFICIENT}
    (parent,) = coarsen(stats, 7)
    assert parent.n == 35
    assert classify(parent, standard) is CoverageClass.INSUFFICIENT


def test_fit_resolution_coarsens_only_when_needed() -> None:
    cells = list(h3.grid_disk(CENTRE, 10))  # 331 cells at res 8
    stats = [stat(c) for c in cells]
    resolution, same = fit_resolution(stats, max_hexes=1000)
    assert resolution == 8
    assert same == stats
    assert fit_resolution(stats, max_hexes=None)[0] == 8
    resolution, fewer = fit_resolution(stats, max_hexes=200)
    assert resolution == 7
    assert len(fewer) <= 200
    assert sum(s.n for s in fewer) == sum(s.n for s in stats)
    resolution, coarsest = fit_resolution(stats, max_hexes=1, coarsest=6)
    assert resolution == 6
    assert len(coarsest) > 1  # stops at the coarsest resolution even if still over


def test_cells_already_coarse_pass_through() -> None:
    parent = h3.cell_to_parent(CENTRE, 6)
    s = stat(parent)
    assert coarsen([s], 7) == [s]


@pytest.mark.parametrize("resolution", [7, 6])
def test_parents_are_ancestors(resolution: int) -> None:
    stats = [stat(c) for c in h3.grid_disk(CENTRE, 3)]
    for merged in coarsen(stats, resolution):
        for s in stats:
            if h3.cell_to_parent(s.h3, resolution) == merged.h3:
                break
        else:
            pytest.fail(f"{merged.h3} is no parent of any input cell")
