"""Hourly rollups: mergeable aggregates of samples, the engine's only input.

One :class:`Rollup` per (hour, H3 cell, operator, technology, probe, env)
holds, for each measured quantity, a count, a sum, a sum of squares and a
fixed-edge histogram (:mod:`.histogram`), plus the counters that are not
quantities: records, no-service records, access attempts and failures, data
transfers started and dropped (QCVN §2.1.4: each download or upload whose
``outcome`` is ``completed`` or ``dropped``; one that never started is an
access failure, and a record without an outcome, from an agent before
outcomes, counts in neither), a histogram of the time since the same probe's
previous sample on the same operator (the QCVN 30 s spacing rule) and one of
the records per local (UTC+7) hour of the day, which survives summing days
and so lets a sampling rule ask how samples spread over the hours of the day.
Everything adds, so rollups of any hours, cells or probes combine by
summation, in Python or in SQL.

Counts of samples meeting a threshold a standard fixes are not stored
separately: every such threshold is a histogram edge, so they are read off
the histogram exactly and a new threshold needs no backfill. A threshold an
operator declares (QCVN 81 §2.1.5: the share of samples with download at or
above Vdmin) can be any figure to 1 kbit/s and differs by place and day, so
it is counted exactly instead: ``dl_vdmin_n`` samples had a download and a
declared Vdmin, ``dl_vdmin_met`` of them reached it. Ingest counts them with
the declarations in force; a new declaration changes them for records
already stored, which :func:`giamsat.aggregator.store.declarations.recount`
brings up to date.

Sums are exact too. Each value enters a sum snapped to a binary grid of
2**-20 (:func:`on_grid`, under a millionth of any unit), and a sum of such
values is a whole multiple of 2**-20 that a float holds exactly while its
magnitude stays below 2**33 (about 8.6e9: at the schema's largest download,
100,000 Mbit/s, that is 85,000 samples in one hourly or daily row). So the
same samples give the same sums bit for bit however they are added: in one
ingest batch or several, in Python, numpy or SQL, by one database worker or
by a parallel plan. Histograms bin the raw value. The sums of squares use
the snapped value too but are not exact (no statistic reads them).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from giamsat.aggregator.aggregates.histogram import FIELD_EDGES, FIELDS, GAP_EDGES_S, bin_index
from giamsat.aggregator.aggregates.samples import Sample
from giamsat.contract.timezone import VIETNAM_TZ

KEY_COLUMNS: tuple[str, ...] = ("hour", "h3", "op", "tech", "probe", "env")
COUNTER_COLUMNS: tuple[str, ...] = (
    "records",
    "no_service",
    "access_attempts",
    "access_failures",
    "transfers_started",
    "transfers_dropped",
    "dl_vdmin_n",
    "dl_vdmin_met",
)
MOMENT_SUFFIXES: tuple[str, ...] = ("n", "sum", "sumsq", "hist")
# Bins of local_hour_hist: records per local hour of the day, 00:00-00:59 first.
LOCAL_HOURS = 24
# Histograms that are not of a measured quantity, and their number of bins.
COUNT_HISTS: dict[str, int] = {"gap_hist": len(GAP_EDGES_S) + 1, "local_hour_hist": LOCAL_HOURS}
# The flat column list of a stored rollup row, in table order (see Rollup.as_row).
COLUMNS: tuple[str, ...] = (
    KEY_COLUMNS
    + COUNTER_COLUMNS
    + tuple(COUNT_HISTS)
    + tuple(f"{name}_{suffix}" for name in FIELDS for suffix in MOMENT_SUFFIXES)
)
# What a transfer's outcome adds to (transfers_started, transfers_dropped).
_TRANSFER_COUNTS: dict[str | None, tuple[int, int]] = {"completed": (1, 0), "dropped": (1, 1)}


SUM_GRID_BITS = 20


def on_grid(value: float) -> float:
    """``value`` rounded to the nearest multiple of 2**-SUM_GRID_BITS (ties to even).

    Scaling by a power of two is exact, so this is one rounding; every sum of
    such values is exact while it stays below 2**(53 - SUM_GRID_BITS) in
    magnitude, and so does not depend on the order of the additions.
    """
    return math.ldexp(round(math.ldexp(value, SUM_GRID_BITS)), -SUM_GRID_BITS)


def _zeros(edges: tuple[float, ...]) -> list[int]:
    return [0] * (len(edges) + 1)


@dataclass
class Moments:
    """Count, sum, sum of squares and histogram of one quantity: all additive.

    ``sum`` adds values snapped by :func:`on_grid`, so it is exact (see the
    module docstring); the histogram bins each raw value.
    """

    edges: tuple[float, ...] = field(repr=False)
    n: int = 0
    sum: float = 0.0
    sumsq: float = 0.0
    hist: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.hist:
            self.hist = _zeros(self.edges)
        elif len(self.hist) != len(self.edges) + 1:
            raise ValueError(
                f"histogram has {len(self.hist)} bins, edges need {len(self.edges) + 1}"
            )

    def add(self, value: float) -> None:
        snapped = on_grid(value)
        self.n += 1
        self.sum += snapped
        self.sumsq += snapped * snapped
        self.hist[bin_index(self.edges, value)] += 1

    def absorb(self, other: Moments) -> None:
        self.n += other.n
        self.sum += other.sum
        self.sumsq += other.sumsq
        self.hist = [a + b for a, b in zip(self.hist, other.hist, strict=True)]


@dataclass
class Rollup:
    """Aggregates of the samples of one probe, in one env, cell, hour, operator and technology."""

    hour: datetime
    h3: str
    op: str
    tech: str
    probe: str
    env: str
    records: int = 0
    no_service: int = 0
    access_attempts: int = 0
    access_failures: int = 0
    transfers_started: int = 0
    transfers_dropped: int = 0
    dl_vdmin_n: int = 0
    dl_vdmin_met: int = 0
    gap_hist: list[int] = field(default_factory=lambda: _zeros(GAP_EDGES_S))
    local_hour_hist: list[int] = field(default_factory=lambda: [0] * LOCAL_HOURS)
    dl_mbps: Moments = field(default_factory=partial(Moments, FIELD_EDGES["dl_mbps"]))
    ul_mbps: Moments = field(default_factory=partial(Moments, FIELD_EDGES["ul_mbps"]))
    rtt_ms: Moments = field(default_factory=partial(Moments, FIELD_EDGES["rtt_ms"]))
    access_s: Moments = field(default_factory=partial(Moments, FIELD_EDGES["access_s"]))
    rsrp_dbm: Moments = field(default_factory=partial(Moments, FIELD_EDGES["rsrp_dbm"]))

    @property
    def key(self) -> tuple[datetime, str, str, str, str, str]:
        return (self.hour, self.h3, self.op, self.tech, self.probe, self.env)

    def moments(self, name: str) -> Moments:
        if name not in FIELD_EDGES:
            raise KeyError(name)
        return getattr(self, name)

    def add(self, sample: Sample, gap_s: float | None) -> None:
        """Count one sample; ``gap_s`` is the time since the probe's previous one, if known.

        A no-service sample contributes no measurements even if the modem still
        reported a cell: "no service" is what the user got, and the standards
        count it as such.
        """
        self.records += 1
        self.local_hour_hist[sample.t.astimezone(VIETNAM_TZ).hour] += 1
        if gap_s is not None:
            self.gap_hist[bin_index(GAP_EDGES_S, gap_s)] += 1
        if sample.access_ok is not None:
            self.access_attempts += 1
            self.access_failures += not sample.access_ok
        for outcome in (sample.dl_outcome, sample.ul_outcome):
            started, dropped = _TRANSFER_COUNTS.get(outcome, (0, 0))
            self.transfers_started += started
            self.transfers_dropped += dropped
        if not sample.service:
            self.no_service += 1
            return
        if sample.dl_mbps is not None and sample.dl_vdmin_mbps is not None:
            self.dl_vdmin_n += 1
            self.dl_vdmin_met += sample.dl_mbps >= sample.dl_vdmin_mbps
        for name in FIELDS:
            value = getattr(sample, name)
            if value is not None:
                getattr(self, name).add(float(value))

    def merged(self, other: Rollup) -> Rollup:
        """The sum of two rollups with the same key (e.g. two ingest batches of one hour)."""
        if other.key != self.key:
            raise ValueError(f"cannot merge rollups with keys {self.key} and {other.key}")
        result = Rollup.from_row(self.as_row())
        for name in COUNTER_COLUMNS:
            setattr(result, name, getattr(result, name) + getattr(other, name))
        for name in COUNT_HISTS:
            mine, theirs = getattr(result, name), getattr(other, name)
            setattr(result, name, [a + b for a, b in zip(mine, theirs, strict=True)])
        for name in FIELDS:
            result.moments(name).absorb(other.moments(name))
        return result

    def as_row(self) -> dict[str, Any]:
        """Flat mapping with the names of :data:`COLUMNS`, for storage."""
        row: dict[str, Any] = {name: getattr(self, name) for name in KEY_COLUMNS + COUNTER_COLUMNS}
        for name in COUNT_HISTS:
            row[name] = list(getattr(self, name))
        for name in FIELDS:
            m = self.moments(name)
            row.update(
                {
                    f"{name}_n": m.n,
                    f"{name}_sum": m.sum,
                    f"{name}_sumsq": m.sumsq,
                    f"{name}_hist": list(m.hist),
                }
            )
        return row

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Rollup:
        """Inverse of :meth:`as_row`; a histogram of the wrong length is refused."""
        rollup = cls(**{name: row[name] for name in KEY_COLUMNS + COUNTER_COLUMNS})
        for name, bins in COUNT_HISTS.items():
            counts = [int(v) for v in row[name]]
            if len(counts) != bins:
                raise ValueError(f"{name} has {len(counts)} bins, expected {bins}")
            setattr(rollup, name, counts)
        for name in FIELDS:
            setattr(
                rollup,
                name,
                Moments(
                    FIELD_EDGES[name],
                    n=int(row[f"{name}_n"]),
                    sum=float(row[f"{name}_sum"]),
                    sumsq=float(row[f"{name}_sumsq"]),
                    hist=[int(v) for v in row[f"{name}_hist"]],
                ),
            )
        return rollup


def hour_of(t: datetime) -> datetime:
    """The UTC hour a sample belongs to."""
    return t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def build_rollups(
    samples: Iterable[Sample],
    last_seen: Mapping[tuple[str, str], datetime] | None = None,
) -> list[Rollup]:
    """Aggregate raw samples into rollups, sorted by key.

    Spacing is measured per (probe, operator): a probe with two modems is two
    devices. ``last_seen`` gives each (probe, operator)'s latest sample time
    before this batch so that a batch boundary does not hide a short gap. A
    sample older than its predecessor (a late arrival) gets a negative gap and
    therefore counts as too close: conservative, and fixed by rebuilding the
    affected hours from stored records in time order.
    """
    previous: dict[tuple[str, str], datetime] = dict(last_seen or {})
    rows: dict[tuple[datetime, str, str, str, str, str], Rollup] = {}
    for sample in sorted(samples, key=lambda s: (s.probe, s.op, s.t)):
        device = (sample.probe, sample.op)
        before = previous.get(device)
        gap = None if before is None else (sample.t - before).total_seconds()
        previous[device] = sample.t
        key = (hour_of(sample.t), sample.h3, sample.op, sample.tech, sample.probe, sample.env)
        row = rows.get(key)
        if row is None:
            row = rows[key] = Rollup(*key)
        row.add(sample, gap)
    return [rows[key] for key in sorted(rows)]
