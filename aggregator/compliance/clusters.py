"""From rollups to the per-cluster numbers one KPI is computed from.

Every KPI is a ratio of sums (sum of values / samples, samples meeting a
threshold / samples, failures / attempts, drops / transfers started), so for
each probe-day cluster we need one numerator and one denominator. Days are
Vietnamese calendar days (UTC+7, no daylight saving): a probe's day is what an
inspector would call it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
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
from giamsat.aggregator.compliance.standards import Kpi, SamplingRules, Standard
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
    """Numerators and denominators per probe-day, plus what the sampling rules need.

    ``hours`` holds, per environment, the records per local hour of the day
    of the rows that count (filled only when the rules have an hours rule).
    """

    clusters: list[tuple[str, date]]
    numerators: np.ndarray
    denominators: np.ndarray
    per_env: dict[str, int]
    close_samples: int
    hours: dict[str, list[int]] = field(default_factory=dict)

    @property
    def samples(self) -> int:
        return int(self.denominators.sum())


def ratio_of(kpi: Kpi) -> Callable[[Rollup], tuple[float, int]]:
    """The function giving (numerator, denominator) of ``kpi`` in one rollup row.

    Histogram positions are looked up once per KPI, not once per row.
    """
    if kpi.metric == "access_failure_ratio":
        return lambda row: (row.access_failures, row.access_attempts)
    if kpi.metric == "dropped_transfer_ratio":
        return lambda row: (row.transfers_dropped, row.transfers_started)
    if kpi.metric == "radio_availability" and kpi.threshold is not None:
        start = edge_position(RSRP_EDGES_DBM, kpi.threshold) + 1
        return lambda row: (sum(row.rsrp_dbm.hist[start:]), radio_samples(row))
    if kpi.metric == "mean" and kpi.field is not None:
        name = kpi.field
        return lambda row: (getattr(row, name).sum, getattr(row, name).n)
    if kpi.metric == "share_at_least" and kpi.declared_threshold == "vdmin":
        return lambda row: (row.dl_vdmin_met, row.dl_vdmin_n)
    if kpi.metric == "share_at_least" and kpi.field is not None and kpi.threshold is not None:
        name, start = kpi.field, edge_position(FIELD_EDGES[kpi.field], kpi.threshold) + 1
        return lambda row: (sum(getattr(row, name).hist[start:]), getattr(row, name).n)
    raise ValueError(f"KPI {kpi.id}: metric {kpi.metric!r} is unknown or incompletely defined")


def radio_samples(row: Rollup) -> int:
    """The samples of a row that radio availability judges: its denominator.

    In a row of a technology, every record: one whose level is at or above
    the threshold counts for, and everything else against, including a
    no-service record and one in service whose level was not read (an NR-NSA
    record without an NR leg reading proves no SS-RSRP at any level; see
    :class:`~giamsat.aggregator.aggregates.samples.Sample`). A probe whose
    modem cannot read the level therefore must not be used for this KPI. In a
    row without a technology only the no-service records and the levels read
    count: a record in service without a technology may belong to any, and
    is not counted against every standard's radio availability at once.
    """
    if row.tech == NO_TECH:
        return row.rsrp_dbm.n + row.no_service
    return row.records


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
    end = close_end(standard.sampling)
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
            prepared.append(PreparedRow(row, (row.probe, day), sum(row.gap_hist[:end])))
    return prepared


def close_end(rules: SamplingRules) -> int:
    """Bins of the gap histogram that hold samples closer than ``rules``' spacing."""
    return edge_position(GAP_EDGES_S, rules.min_spacing_s) + 1


def kpi_data(
    kpi: Kpi, prepared: Iterable[PreparedRow], rules: SamplingRules | None = None
) -> KpiData:
    """Group the rows that count towards ``kpi`` into probe-days.

    Rows without a technology (no service) count only towards radio
    availability: a probe that cannot find the network at all is exactly the
    unavailability that KPI measures. Clusters are sorted and their sums taken
    with ``math.fsum`` (exactly rounded), so the same rows in any order give
    bit-identical results and a seeded bootstrap reproduces the same interval.

    ``rules`` are the KPI's sampling rules (``standard.rules_for(kpi)``): the
    too-close samples are counted against their spacing, and their hours rule
    asks for the records per local hour. Without them, the spacing the rows
    were prepared with counts and no hours are gathered.
    """
    ratio = ratio_of(kpi)
    with_no_tech = kpi.metric == "radio_availability"
    end = None if rules is None else close_end(rules)
    with_hours = rules is not None and rules.hours is not None
    numerators: dict[tuple[str, date], list[float]] = {}
    denominators: dict[tuple[str, date], int] = {}
    per_env: dict[str, int] = {}
    hours: dict[str, list[int]] = {}
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
        close += item.close if end is None else sum(item.row.gap_hist[:end])
        if with_hours:
            counts = hours.setdefault(item.row.env, [0] * len(item.row.local_hour_hist))
            for h, n in enumerate(item.row.local_hour_hist):
                counts[h] += n
    keys = sorted(denominators)
    return KpiData(
        clusters=keys,
        numerators=np.array([math.fsum(numerators[k]) for k in keys], dtype=float),
        denominators=np.array([denominators[k] for k in keys], dtype=float),
        per_env=per_env,
        close_samples=close,
        hours=hours,
    )
