"""H3 geometry in GeoJSON order, and coarsening of aggregates to a coarser resolution.

h3 returns (lat, lng) pairs; GeoJSON and Leaflet's GeoJSON reader want
(lng, lat). Every polygon and centroid leaves this module in GeoJSON order so
no caller has to remember which way round h3 is.

Coarsening merges the aggregates of all children of a parent cell (per
operator and technology):

- ``n`` and ``n_no_service`` are summed, so totals are preserved exactly.
- ``days`` is the *maximum* of the children's days: the parent's true number of
  distinct days lies between that maximum and the sum, and only the lower bound
  is certain. Coarsening must never manufacture the evidence (days) needed to
  call a hexagon dead.
- Medians are approximated by the weighted median of the children's medians,
  each weighted by its samples with service (the samples the median was taken
  over). It is exact when the children's distributions do not overlap and stays
  within the range of the children's medians otherwise, unlike a weighted mean
  that a single extreme child can drag anywhere.
- The period is the union (earliest start, latest end).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import h3

from giamsat.maps.stats import HexStats

DEFAULT_RESOLUTION = 8
COARSEST_RESOLUTION = 6
COORD_DECIMALS = 6  # ~0.1 m: far below an H3 edge, keeps exported GeoJSON small


def cell_ring(cell: str, decimals: int = COORD_DECIMALS) -> list[list[float]]:
    """The cell's boundary as a closed GeoJSON linear ring of [lng, lat] pairs."""
    ring = [[round(lng, decimals), round(lat, decimals)] for lat, lng in h3.cell_to_boundary(cell)]
    ring.append(ring[0])
    return ring


def cell_polygon(cell: str, decimals: int = COORD_DECIMALS) -> dict[str, object]:
    """A GeoJSON Polygon geometry of the cell."""
    return {"type": "Polygon", "coordinates": [cell_ring(cell, decimals)]}


def cell_centroid(cell: str, decimals: int = COORD_DECIMALS) -> tuple[float, float]:
    """The cell centre as (lat, lon) — the finest position open data may show."""
    lat, lng = h3.cell_to_latlng(cell)
    return round(lat, decimals), round(lng, decimals)


def weighted_median(pairs: Iterable[tuple[float, int]]) -> float | None:
    """Lower weighted median of (value, weight) pairs; zero weights count as one.

    A child with service but a zero weight cannot occur from consistent data,
    but treating it as one sample keeps a reported median from vanishing.
    """
    items = sorted((value, max(weight, 1)) for value, weight in pairs)
    if not items:
        return None
    half = sum(weight for _, weight in items) / 2
    running = 0
    for value, weight in items:
        running += weight
        if running >= half:
            return value
    return items[-1][0]


def merge(cell: str, children: Sequence[HexStats]) -> HexStats:
    """One aggregate for ``cell`` from aggregates of its descendants (one op/tech)."""
    first = children[0]
    return HexStats(
        h3=cell,
        op=first.op,
        tech=first.tech,
        n=sum(c.n for c in children),
        n_no_service=sum(c.n_no_service for c in children),
        days=max(c.days for c in children),
        rsrp_median_dbm=weighted_median(
            (c.rsrp_median_dbm, c.n_with_service) for c in children if c.rsrp_median_dbm is not None
        ),
        dl_median_mbps=weighted_median(
            (c.dl_median_mbps, c.n_with_service) for c in children if c.dl_median_mbps is not None
        ),
        period_from=min(c.period_from for c in children),
        period_to=max(c.period_to for c in children),
    )


def _parent(cell: str, resolution: int) -> str:
    return cell if h3.get_resolution(cell) <= resolution else h3.cell_to_parent(cell, resolution)


def coarsen(stats: Iterable[HexStats], resolution: int) -> list[HexStats]:
    """Aggregates at ``resolution``: cells finer than it are merged into their parents.

    Cells already at or coarser than ``resolution`` pass through unchanged
    (merged only with other aggregates of the same cell, operator and technology).
    """
    groups: dict[tuple[str, str, str], list[HexStats]] = defaultdict(list)
    for s in stats:
        groups[(_parent(s.h3, resolution), s.op, s.tech)].append(s)
    return [
        children[0] if len(children) == 1 and children[0].h3 == key[0] else merge(key[0], children)
        for key, children in groups.items()
    ]


def fit_resolution(
    stats: Sequence[HexStats],
    max_hexes: int | None,
    coarsest: int = COARSEST_RESOLUTION,
) -> tuple[int, list[HexStats]]:
    """The finest resolution at which the map holds at most ``max_hexes`` hexagons.

    Counts every drawn hexagon (all operator/technology layers), since that is
    what the browser has to hold. Stops at ``coarsest`` even if still over the
    limit: a national res-6 map is already coarse enough to be read.
    ``max_hexes=None`` keeps the input as it is.
    """
    finest = max((s.resolution for s in stats), default=DEFAULT_RESOLUTION)
    if max_hexes is None or len(stats) <= max_hexes:
        return finest, list(stats)
    current: list[HexStats] = list(stats)
    resolution = finest
    while len(current) > max_hexes and resolution > coarsest:
        resolution -= 1
        current = coarsen(current, resolution)
    return resolution, current
