"""Fixed histogram edges for every measured quantity an hourly rollup keeps.

Rollups are summed across hours, cells and probes, so all of them must share
one set of edges; and a share such as "download >= 30 Mbit/s" is exact only
when 30 is an edge. Standards are therefore checked against these edges when
they are loaded (:mod:`giamsat.aggregator.compliance.standards`): a limit that is not an edge is a
configuration error, not a silent approximation. Changing an edge changes the
meaning of stored rollups, so it needs a migration that rebuilds them.

Bins are left-closed. With ``k`` edges there are ``k + 1`` bins: bin 0 counts
``x < edges[0]``, bin ``i`` counts ``edges[i-1] <= x < edges[i]`` and bin ``k``
counts ``x >= edges[-1]``. That makes ``x >= edge`` and ``x < edge`` exact counts.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence


def _span(start: float, stop: float, step: float) -> tuple[float, ...]:
    """Edges from ``start`` (inclusive) to ``stop`` (exclusive), rounded so 0.1 * 3 == 0.3."""
    count = round((stop - start) / step)
    return tuple(float(round(start + i * step, 6)) for i in range(count))


# Mbit/s. Every whole Mbit/s up to 10 and every 5 up to 100, so operators' declared
# Vd/Vu and the QCVN thresholds (30, 100) are edges.
THROUGHPUT_EDGES: tuple[float, ...] = (
    _span(0, 10, 1)
    + _span(10, 100, 5)
    + _span(100, 300, 10)
    + _span(300, 1000, 50)
    + _span(1000, 3000, 250)
    + (3000.0,)
)

RTT_EDGES_MS: tuple[float, ...] = (
    _span(0, 50, 5) + _span(50, 100, 10) + _span(100, 300, 25) + _span(300, 1000, 100)
) + (1000.0, 1500.0, 2000.0, 3000.0, 5000.0)

ACCESS_EDGES_S: tuple[float, ...] = (
    _span(0, 1, 0.1) + _span(1, 10, 0.5) + (10.0, 15.0, 20.0, 30.0, 60.0)
)

# Every whole dBm over the range modems report, so any integer coverage threshold works.
RSRP_EDGES_DBM: tuple[float, ...] = _span(-140, -43, 1)

# Seconds between consecutive samples of one probe on one operator; 30 s is the QCVN rule.
GAP_EDGES_S: tuple[float, ...] = (
    0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 45.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
)  # fmt: skip

FIELD_EDGES: dict[str, tuple[float, ...]] = {
    "dl_mbps": THROUGHPUT_EDGES,
    "ul_mbps": THROUGHPUT_EDGES,
    "rtt_ms": RTT_EDGES_MS,
    "access_s": ACCESS_EDGES_S,
    "rsrp_dbm": RSRP_EDGES_DBM,
}
FIELDS: tuple[str, ...] = tuple(FIELD_EDGES)

FIELD_UNITS: dict[str, str] = {
    "dl_mbps": "Mbit/s",
    "ul_mbps": "Mbit/s",
    "rtt_ms": "ms",
    "access_s": "s",
    "rsrp_dbm": "dBm",
}


def bin_index(edges: Sequence[float], value: float) -> int:
    """The bin ``value`` falls in (see the module docstring for the layout)."""
    return bisect_right(edges, value)


def is_edge(edges: Sequence[float], value: float) -> bool:
    return float(value) in edges


def edge_position(edges: Sequence[float], value: float) -> int:
    """Index of ``value`` among ``edges``; ValueError when it is not one."""
    return tuple(edges).index(float(value))


def count_at_least(hist: Sequence[int], edges: Sequence[float], threshold: float) -> int:
    """How many values were ``>= threshold``; exact because ``threshold`` must be an edge."""
    return int(sum(hist[edge_position(edges, threshold) + 1 :]))


def count_below(hist: Sequence[int], edges: Sequence[float], threshold: float) -> int:
    """How many values were ``< threshold`` (the complement of :func:`count_at_least`)."""
    return int(sum(hist[: edge_position(edges, threshold) + 1]))
