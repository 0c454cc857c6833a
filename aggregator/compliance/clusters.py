"""From rollups to the per-cluster numbers one KPI is computed from.

Every KPI is a ratio of sums (sum of values / samples, samples meeting a
threshold / samples, failures / attempts), so for each probe-day cluster we
need one numerator and one denominator. Days are Vietnamese calendar days
(UTC+7, no daylight saving): a probe's day is what an inspector would call it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from giamsat.aggregator.aggregates.histogram import (
    FIELD_EDGES,
    GAP_EDGES_S,
    RSRP_EDGES_DBM,
    edge_position,
)
from giamsat.aggregator.aggregates.rollup import Rollup
from giamsat.aggregator.aggregates.samples import NO_TECH
from giamsat.aggregator.compliance.standards import Kpi, Standard
from giamsat.contract.timezone import VIETNAM_TZ


def local_day(t: datetime) -> date:
    return t.astimezone(VIETNAM_TZ).date()


@dataclass(frozen=True)
class Period:
    """Inclusive range of local (UTC+7) calendar days."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")
        if self.start <= date.min or self.end >= date.max:
            # Its bounds in UTC (local midnight less 7 h; the day after the end) must exist.
            raise ValueError(f"period {self.start}..{self.end} reaches the end of the calendar")

    def includes(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class KpiData:
    """Numerators and denominators per probe-day, plus what the sampling rules need."""

    clusters: list[tuple[str, date]]
    numerators: np.ndarray
    denominators: np.ndarray
    per_env: dict[str, int]
    close_samples: int

    @property
    def samples(self) -> int:
        return int(self.denominators.sum())


def ratio_of(kpi: Kpi) -> Callable[[Rollup], tuple[float, int]]:
    """The function giving (numerator, denominator) of ``kpi`` in one rollup row.

    Histogram positions are looked up once per KPI, not once per row.
    """
    if kpi.metric == "access_failure_ratio":
        return lambda row: (row.access_failures, row.access_attempts)
    if kpi.metric == "radio_availability" and kpi.threshold is not None:
        start = edge_position(RSRP_EDGES_DBM, kpi.threshold) + 1
        return lambda row: (sum(row.rsrp_dbm.hist[start:]), row.rsrp_dbm.n + row.no_service)
    if kpi.metric == "mean" and kpi.field is not None:
        name = kpi.field
        return lambda row: (getattr(row, name).sum, getattr(row, name).n)
    if kpi.metric == "share_at_least" and kpi.field is not None and kpi.threshold is not None:
        name, start = kpi.field, edge_position(FIELD_EDGES[kpi.field], kpi.threshold) + 1
        return lambda row: (sum(getattr(row, name).hist[start:]), getattr(row, name).n)
    raise ValueError(f"KPI {kpi.id}: metric {kpi.metric!r} is unknown or incompletely defined")


@dataclass(frozen=True)
class PreparedRow:
    """A selected rollup row with its probe-day and its count of too-close samples."""

    row: Rollup
    cluster: tuple[str, date]
    close: int


def prepare(
    standard: Standard, operator: str, rows: Iterable[Rollup], period: Period
) -> list[PreparedRow]:
    """The operator's rows of ``period`` in the standard's technologies, plus no-service rows.

    Done once per assessment, so the per-row work shared by all KPIs (local
    day, spacing count) is not repeated for each of them.
    """
    close_end = edge_position(GAP_EDGES_S, standard.sampling.min_spacing_s) + 1
    techs = (*standard.record_techs, NO_TECH)
    days: dict[datetime, date] = {}
    prepared: list[PreparedRow] = []
    for row in rows:
        if row.op != operator or row.tech not in techs:
            continue
        day = days.get(row.hour)
        if day is None:
            day = days[row.hour] = local_day(row.hour)
        if period.includes(day):
            prepared.append(PreparedRow(row, (row.probe, day), sum(row.gap_hist[:close_end])))
    return prepared


def kpi_data(kpi: Kpi, prepared: Iterable[PreparedRow]) -> KpiData:
    """Group the rows that count towards ``kpi`` into probe-days.

    Rows without a technology (no service) count only towards radio
    availability: a probe that cannot find the network at all is exactly the
    unavailability that KPI measures. Clusters are sorted and their sums taken
    with ``math.fsum`` (exactly rounded), so the same rows in any order give
    bit-identical results and a seeded bootstrap reproduces the same interval.
    """
    ratio = ratio_of(kpi)
    with_no_tech = kpi.metric == "radio_availability"
    numerators: dict[tuple[str, date], list[float]] = {}
    denominators: dict[tuple[str, date], int] = {}
    per_env: dict[str, int] = {}
    close = 0
    for item in prepared:
        if item.row.tech == NO_TECH and not with_no_tech:
            continue
        numerator, denominator = ratio(item.row)
        if denominator == 0:
            continue
        numerators.setdefault(item.cluster, []).append(numerator)
        denominators[item.cluster] = denominators.get(item.cluster, 0) + denominator
        per_env[item.row.env] = per_env.get(item.row.env, 0) + denominator
        close += item.close
    keys = sorted(denominators)
    return KpiData(
        clusters=keys,
        numerators=np.array([math.fsum(numerators[k]) for k in keys], dtype=float),
        denominators=np.array([denominators[k] for k in keys], dtype=float),
        per_env=per_env,
        close_samples=close,
    )
