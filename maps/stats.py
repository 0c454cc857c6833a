"""What the maps are drawn from: per-hexagon aggregates, probes and villages.

The aggregator computes these from its hourly rollups; ``maps`` never touches
the database, so everything a map, an export or a test needs is in these
plain values. They validate themselves on construction because a map that
silently draws a nonsensical aggregate (more no-service samples than samples)
would be evidence nobody should trust.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import h3


@dataclass(frozen=True, slots=True)
class HexStats:
    """Aggregates of one operator and technology in one H3 cell over a period.

    ``n`` counts every measurement cycle attributed to the cell, including
    cycles with no service (``n_no_service`` of them). ``days`` is the number of
    distinct calendar days with at least one sample. The medians are over the
    samples that had service and reported the value, ``None`` when there were
    none. ``period_from``/``period_to`` are the first and last sample times
    (inclusive).
    """

    h3: str
    op: str
    tech: str
    n: int
    n_no_service: int
    days: int
    rsrp_median_dbm: float | None
    dl_median_mbps: float | None
    period_from: datetime
    period_to: datetime

    def __post_init__(self) -> None:
        if not h3.is_valid_cell(self.h3):
            raise ValueError(f"not an H3 cell: {self.h3!r}")
        if self.n < 0 or self.days < 0:
            raise ValueError(f"{self.h3}: negative count (n={self.n}, days={self.days})")
        if not 0 <= self.n_no_service <= self.n:
            raise ValueError(f"{self.h3}: n_no_service={self.n_no_service} outside 0..n={self.n}")
        if self.period_to < self.period_from:
            raise ValueError(f"{self.h3}: period ends before it starts")

    @property
    def resolution(self) -> int:
        return h3.get_resolution(self.h3)

    @property
    def no_service_share(self) -> float | None:
        """Share of samples without service; ``None`` when there are no samples."""
        return self.n_no_service / self.n if self.n else None

    @property
    def n_with_service(self) -> int:
        return self.n - self.n_no_service


class ProbeStatus(StrEnum):
    OK = "ok"
    SILENT = "silent"


@dataclass(frozen=True, slots=True)
class Probe:
    """A measuring device as drawn on the map; ``status`` is decided by the aggregator."""

    id: str
    lat: float
    lon: float
    village: str
    last_seen: datetime | None
    status: ProbeStatus


@dataclass(frozen=True, slots=True)
class Village:
    """A named place used to say where a dead zone is ("nearest village")."""

    name: str
    lat: float
    lon: float
