"""The country-wide compliance table: every area × operator × standard, from one query each.

Calling :func:`giamsat.aggregator.compliance.evaluate` once per province, operator and
standard re-reads and re-clusters rows 378 times and draws a fresh bootstrap
each time. Here, per standard, one SQL statement returns each KPI's numerator
and denominator per probe-day for every area and operator at once, gathered
into one array per area and operator so that a binary COPY carries a few
hundred rows that numpy reads without a Python loop per cluster (sorting them
the way the engine sorts its clusters is numpy's job, not the database's);
then every mean's bootstrap is computed in batches that share their resample
indices.

The answer is the engine's own, not an approximation of it:

* the same rows: day-level rows, as :mod:`giamsat.aggregator.compliance.assess` always fed the
  engine, read from ``rollups_daily`` for keys unchanged since the last
  :func:`giamsat.aggregator.store.daily.refresh_daily` and summed from the hourly
  ``rollups`` for keys changed since (so the table never lags ingest);
* the same statistics: shares through :func:`~giamsat.aggregator.compliance.stats.clustered_share`
  itself; means through the bootstrap of
  :func:`~giamsat.aggregator.compliance.stats.bootstrap_mean` reproduced draw for draw.
  Its resamples depend only on the seed and the number of clusters, so every
  KPI and area with the same cluster count shares one resample matrix, and
  all their totals are one matrix product;
* the same sampling checks and verdicts (:func:`check_sampling`, :func:`decide`),
  with each KPI's own sampling rules (its spacing, and the records per local
  hour of the day where an hours rule asks for them);
* the same version of each standard: the one in force for the period
  (:meth:`~giamsat.aggregator.compliance.standards.Standard.for_period`).

Equal bit for bit, not just close: a rollup's sums hold values on a binary
grid (:func:`giamsat.aggregator.aggregates.rollup.on_grid`), so the
database's sums of a probe-day, in whatever order a parallel plan adds them,
are exact and equal the engine's ``math.fsum``; and the bootstrap's totals come
from :func:`~giamsat.aggregator.compliance.stats.resample_totals`, exact
whatever columns share the matrix product.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import h3
import numpy as np
import psycopg

from giamsat.aggregator.aggregates.histogram import (
    FIELD_EDGES,
    GAP_EDGES_S,
    RSRP_EDGES_DBM,
    edge_position,
)
from giamsat.aggregator.aggregates.rollup import LOCAL_HOURS
from giamsat.aggregator.aggregates.samples import NO_TECH, UNKNOWN
from giamsat.aggregator.compliance import Assessment, KpiVerdict, Operator, Period, Standard
from giamsat.aggregator.compliance.declared import scope_of, with_zone_speeds
from giamsat.aggregator.compliance.sampling import check_sampling
from giamsat.aggregator.compliance.standards import Kpi, SamplingRules
from giamsat.aggregator.compliance.stats import (
    MAX_CELLS,
    Estimate,
    clustered_share,
    resample_counts,
    resample_totals,
    z_value,
)
from giamsat.aggregator.compliance.verdicts import Scope, assessment, kpi_verdict
from giamsat.aggregator.store.daily import KEYS, copy_rows, day_bounds, watermark
from giamsat.aggregator.store.declarations import declarations_between, zone_area
from giamsat.contract.schema import ENVIRONMENTS
from giamsat.contract.timezone import VIETNAM_TZ_NAME

log = logging.getLogger("giamsat.national")
ALL = "all"
ENV_CODES: tuple[str, ...] = (*ENVIRONMENTS, UNKNOWN)


def period_range(period: Period) -> tuple[datetime, datetime]:
    """UTC instants of the period's first local midnight and the one after its last day."""
    return day_bounds(period.start)[0], day_bounds(period.end)[1]


# --- SQL -----------------------------------------------------------------------------


def _tail(column: str, start: int, bins: int, cumulative: bool) -> str:
    """Count of values in bins ``start`` (0-based) and above of one histogram column."""
    if cumulative:
        return f"{column}[{start + 1}]"
    return "(" + " + ".join(f"{column}[{i + 1}]" for i in range(start, bins)) + ")"


def _kpi_terms(kpi: Kpi, prefix: str, cumulative: bool) -> tuple[str, str]:
    """SQL (numerator, denominator) of ``kpi`` in one row, as clusters.ratio_of reads a Rollup."""
    suffix = "_atleast" if cumulative else "_hist"
    if kpi.metric == "access_failure_ratio":
        return f"{prefix}access_failures", f"{prefix}access_attempts"
    if kpi.metric == "dropped_transfer_ratio":
        return f"{prefix}transfers_dropped", f"{prefix}transfers_started"
    if kpi.metric == "radio_availability" and kpi.threshold is not None:
        start = edge_position(RSRP_EDGES_DBM, kpi.threshold) + 1
        tail = _tail(f"{prefix}rsrp_dbm{suffix}", start, len(RSRP_EDGES_DBM) + 1, cumulative)
        # clusters.radio_samples: every record of a technology; without one, levels read
        # and no-service records only.
        samples = (
            f"(CASE WHEN {prefix}tech <> '{NO_TECH}' THEN {prefix}records"
            f" ELSE {prefix}rsrp_dbm_n + {prefix}no_service END)"
        )
        return tail, samples
    if kpi.metric == "mean" and kpi.field is not None:
        return f"{prefix}{kpi.field}_sum", f"{prefix}{kpi.field}_n"
    if kpi.metric == "share_at_least" and kpi.declared_threshold == "vdmin":
        return f"{prefix}dl_vdmin_met", f"{prefix}dl_vdmin_n"
    if kpi.metric == "share_at_least" and kpi.field is not None and kpi.threshold is not None:
        edges = FIELD_EDGES[kpi.field]
        start = edge_position(edges, kpi.threshold) + 1
        tail = _tail(f"{prefix}{kpi.field}{suffix}", start, len(edges) + 1, cumulative)
        return tail, f"{prefix}{kpi.field}_n"
    raise ValueError(f"KPI {kpi.id}: metric {kpi.metric!r} is unknown or incompletely defined")


def _close_term(rules: SamplingRules, prefix: str, cumulative: bool) -> str:
    """Samples of a row taken less than the rules' spacing after the device's previous one."""
    end = edge_position(GAP_EDGES_S, rules.min_spacing_s) + 1
    if cumulative:
        return f"({prefix}gap_atleast[1] - {prefix}gap_atleast[{end + 1}])"
    return "(" + " + ".join(f"{prefix}gap_hist[{i + 1}]" for i in range(end)) + ")"


def _hour_envs(standard: Standard, kpi: Kpi) -> tuple[str, ...]:
    """The environments whose records per local hour ``kpi``'s hours rule reads (all: empty)."""
    rule = standard.rules_for(kpi).hours
    assert rule is not None
    unknown = set(rule.envs) - set(ENV_CODES)
    if unknown:
        raise ValueError(f"KPI {kpi.id}: hours rule names unknown environments {sorted(unknown)}")
    return rule.envs


def _hour_kpis(standard: Standard) -> list[int]:
    """Positions of the KPIs whose sampling rules spread samples over the hours of the day."""
    return [j for j, kpi in enumerate(standard.kpis) if standard.rules_for(kpi).hours is not None]


def _row_columns(standard: Standard, prefix: str, cumulative: bool) -> str:
    """Per KPI j: n{j}, d{j}, c{j} (numerator, denominator, close samples) of one row.

    Rows without a technology count only towards radio availability, and a
    row's close samples count towards a KPI only when the row does (non-zero
    denominator), exactly as clusters.kpi_data selects rows. For a KPI whose
    rules spread samples over the hours of the day, hc{j} (cumulative) or
    hb{j} (per hour) carries the row's records per local hour when the row
    counts and is of an environment the rule reads, and is NULL otherwise: only
    those few rows are summed per hour (:func:`_query`).
    """
    columns = []
    for j, kpi in enumerate(standard.kpis):
        rules = standard.rules_for(kpi)
        num, den = _kpi_terms(kpi, prefix, cumulative)
        close = _close_term(rules, prefix, cumulative)
        counts = "true" if kpi.metric == "radio_availability" else f"{prefix}tech <> '{NO_TECH}'"
        columns += [
            f"CASE WHEN {counts} THEN {num} ELSE 0 END::float8 AS n{j}",
            f"CASE WHEN {counts} THEN {den} ELSE 0 END::float8 AS d{j}",
            f"CASE WHEN {counts} AND {den} > 0 THEN {close} ELSE 0 END::float8 AS c{j}",
        ]
        if rules.hours is not None:
            envs = _hour_envs(standard, kpi)
            which = f" AND {prefix}env IN ({', '.join(repr(e) for e in envs)})" if envs else ""
            hours = f"CASE WHEN {counts} AND {den} > 0{which} THEN {prefix}local_hour_"
            if cumulative:
                columns += [f"{hours}atleast END AS hc{j}", f"NULL::int[] AS hb{j}"]
            else:
                columns += [f"NULL::int[] AS hc{j}", f"{hours}hist END AS hb{j}"]
    return ", ".join(columns)


def _hour_sum(k: int, hour: int) -> str:
    """Sum of records in local hour ``hour`` (0-based) over rows holding hc{k} or hb{k}."""
    if hour + 1 == LOCAL_HOURS:
        cumulative = f"j.hc{k}[{LOCAL_HOURS}]"
    else:
        cumulative = f"(j.hc{k}[{hour + 1}] - j.hc{k}[{hour + 2}])"
    return f"coalesce(sum(coalesce({cumulative}, j.hb{k}[{hour + 1}])), 0)::float8"


# The declarations in force in the period, and per cell that occurs in it, those
# of them that hold it: a row is in scope unless a declaration of its operator
# is in force on its day and its cell is not one of that declaration's. Both
# sets are small (a few declarations; the distinct cells of the period), so
# rows join them by hash rather than probing declaration_cells once per row.
_SCOPE_SQL = """decl AS (
    SELECT sha256, operator, valid_from, coalesce(valid_to, 'infinity'::date) AS valid_to
    FROM declarations
    WHERE technology = %(technology)s AND operator = ANY(%(ops)s)
      AND valid_from <= %(last)s AND (valid_to IS NULL OR valid_to >= %(first)s)
),
dcell AS (
    SELECT dc.h3, array_agg(dc.declaration) AS decls
    FROM cells u JOIN declaration_cells dc ON dc.h3 = u.h3
    WHERE dc.declaration IN (SELECT sha256 FROM decl)
    GROUP BY dc.h3
)"""
_IN_SCOPE = "(dd.sha256 IS NULL OR coalesce(dd.sha256 = ANY(m.decls), false))"


def _query(standard: Standard, mapped: bool) -> str:
    """Per-probe-day and per-environment sums of every KPI of ``standard``, unordered.

    One row per kind and (area, operator): the kind (0, 1 or 2), the area and
    operator positions, then three arrays, a row each per element of the kind:

    * 0, clusters: the probe (its position among the period's probes in byte
      order), the day (days since 2000-01-01), and n, d per KPI;
    * 1, environments: the environment's position in ``%(envs)s``, 0, and the
      records outside scope followed by d, c per KPI;
    * 2, the same environments' records per local hour (24 values per KPI with
      an hours rule; only the environments that rule reads).

    Aggregated into arrays, a month's tens of thousands of clusters cross to
    the client as a few hundred COPY rows.

    Only rows in the operator's scope count (inside the declaration in force
    on the row's day, or on a day with none in force, :class:`Scope`); the
    records of the others are summed apart, per area and operator, in ``out``.

    ``mapped``: areas come from ``area_cells`` and explicit H3 cells; otherwise
    every row counts towards the single area ``%(all)s`` (the whole country).
    Only the cells that occur in the period are looked up in ``area_cells``
    (by its h3 index), rather than hashing every cell of every area.
    """
    keys = ", ".join(KEYS)
    same_key = " AND ".join(f"c.{k} = d.{k}" for k in KEYS)
    hourly_key = " AND ".join(f"r.{k} = c.{k}" for k in KEYS)
    if mapped:
        area_map = """SELECT u.h3,
        (%(area_ords)s::int[])[array_position(%(area_ids)s::text[], ac.area_id)]
    FROM cells u JOIN area_cells ac ON ac.h3 = u.h3
    WHERE ac.area_id = ANY(%(area_ids)s::text[])
    UNION ALL SELECT * FROM unnest(%(cells)s::text[], %(cell_ords)s::int[])"""
    else:
        area_map = "SELECT h3, %(all)s::int FROM cells"
    kpis = range(len(standard.kpis))
    hour_kpis = _hour_kpis(standard)
    clusters = ", ".join(f"sum(j.{x}{k})" for k in kpis for x in "nd")
    inside = [f"coalesce(sum(j.{x}{k}) FILTER (WHERE j.inside), 0)" for k in kpis for x in "dc"]
    envs = ", ".join(["coalesce(sum(j.recs) FILTER (WHERE NOT j.inside), 0)", *inside])
    hours, hours_cte = "", ""
    if hour_kpis:
        held = " OR ".join(f"j.hc{k} IS NOT NULL OR j.hb{k} IS NOT NULL" for k in hour_kpis)
        sums = ", ".join(_hour_sum(k, h) for k in hour_kpis for h in range(LOCAL_HOURS))
        hours_cte = f""",
hours AS (
    SELECT j.a, j.o, j.env, ARRAY[{sums}] AS v
    FROM j WHERE j.inside AND ({held}) GROUP BY j.a, j.o, j.env
)"""
        hours = """
UNION ALL
SELECT 2, a, o, array_agg(env), array_agg(0), array_agg(v) FROM hours GROUP BY a, o"""
    carried = ", ".join(
        [f"s.{x}{k}" for k in kpis for x in "ndc"] + [f"s.h{x}{k}" for k in hour_kpis for x in "cb"]
    )
    return f"""
WITH changed AS MATERIALIZED (
    SELECT DISTINCT day, {keys}, (day::timestamp AT TIME ZONE '{VIETNAM_TZ_NAME}') AS day_start
    FROM (
        SELECT (hour AT TIME ZONE '{VIETNAM_TZ_NAME}')::date AS day, {keys} FROM rollups
        WHERE updated_at >= %(mark)s::timestamptz
          AND hour >= %(start)s AND hour < %(end)s
          AND op = ANY(%(ops)s) AND tech = ANY(%(techs)s)
    ) recent
),
src AS (
    SELECT d.day, d.h3, d.op, d.probe, d.env, d.records::float8 AS recs,
           {_row_columns(standard, "d.", True)}
    FROM rollups_daily d
    WHERE d.day >= %(first)s AND d.day <= %(last)s
      AND d.op = ANY(%(ops)s) AND d.tech = ANY(%(techs)s)
      AND NOT EXISTS (SELECT 1 FROM changed c WHERE c.day = d.day AND {same_key})
    UNION ALL
    SELECT c.day, r.h3, r.op, r.probe, r.env, r.records::float8 AS recs,
           {_row_columns(standard, "r.", False)}
    FROM changed c JOIN rollups r ON {hourly_key}
     AND r.hour >= c.day_start AND r.hour < c.day_start + interval '1 day'
    WHERE r.hour >= %(start)s AND r.hour < %(end)s
),
cells AS (SELECT DISTINCT h3 FROM src),
{_SCOPE_SQL},
area_map (h3, a) AS ({area_map}),
cell_map AS (SELECT m.h3, m.a, x.decls FROM area_map m LEFT JOIN dcell x ON x.h3 = m.h3),
j AS MATERIALIZED (
    SELECT m.a, array_position(%(ops)s::text[], s.op) AS o, s.probe, s.day, s.recs,
           {_IN_SCOPE} AS inside,
           (coalesce(array_position(%(envs)s::text[], s.env), 0) - 1)::int AS env, {carried}
    FROM src s JOIN cell_map m ON m.h3 = s.h3
    LEFT JOIN decl dd ON dd.operator = s.op AND s.day >= dd.valid_from AND s.day <= dd.valid_to
),
clusters AS (
    SELECT j.a, j.o, j.probe, j.day - DATE '2000-01-01' AS day, ARRAY[{clusters}] AS v
    FROM j WHERE j.inside GROUP BY j.a, j.o, j.probe, j.day
),
probes AS (
    SELECT probe, (row_number() OVER (ORDER BY probe COLLATE "C"))::int AS p
    FROM (SELECT DISTINCT probe FROM src) q
),
envs AS (
    SELECT j.a, j.o, j.env, ARRAY[{envs}] AS v FROM j GROUP BY j.a, j.o, j.env
){hours_cte}
SELECT 0, c.a, c.o, array_agg(p.p), array_agg(c.day), array_agg(c.v)
FROM clusters c JOIN probes p ON p.probe = c.probe GROUP BY c.a, c.o
UNION ALL
SELECT 1, a, o, array_agg(env), array_agg(0), array_agg(v) FROM envs GROUP BY a, o{hours}
"""


@dataclass
class _Rows:
    """One standard's sums per group (``(area - 1) * operators + operator - 1``), by kind.

    ``clusters``: group -> (n, d per KPI) per cluster, in the engine's order (by
    probe in byte order, then day). ``envs``: group -> (environment codes,
    per environment the records outside scope, then d, c per KPI). ``hours``:
    group -> (environment codes, records per local hour per KPI with an hours rule).
    """

    clusters: dict[int, np.ndarray] = field(default_factory=dict)
    envs: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    hours: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def _fetch(
    conn: psycopg.Connection, sql: str, params: dict[str, object], n_ops: int, into: _Rows
) -> None:
    """Add the rows of :func:`_query` to ``into``."""
    for kind, a, o, keys, days, values in copy_rows(conn, sql, params):
        assert isinstance(a, int) and isinstance(o, int)
        assert isinstance(keys, np.ndarray) and isinstance(days, np.ndarray)
        assert isinstance(values, np.ndarray)
        g = (a - 1) * n_ops + o - 1
        if kind == 0:
            into.clusters[g] = values[np.lexsort((days, keys))]
        elif np.any(keys < 0):
            raise RuntimeError(f"rollups hold an environment outside {ENV_CODES}")
        elif kind == 1:
            into.envs[g] = (keys, values)
        else:
            into.hours[g] = (keys, values)


# --- statistics ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Task:
    """One mean's bootstrap: per-cluster numerators and denominators, all denominators > 0."""

    sums: np.ndarray
    counts: np.ndarray

    def digest(self, confidence: float, resamples: int, seed: int) -> bytes:
        h = hashlib.blake2b(digest_size=20)
        h.update(f"{len(self.counts)}:{confidence!r}:{resamples}:{seed}".encode())
        h.update(self.sums.tobytes())
        h.update(self.counts.tobytes())
        return h.digest()


class _Memo:
    """Bootstrap estimates already computed, by their exact inputs (bounded, thread-safe).

    A closed period's table is asked for again and again; only the areas whose
    probe-days changed need their bootstrap drawn again.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[bytes, Estimate] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: bytes) -> Estimate | None:
        with self.lock:
            found = self.entries.get(key)
            if found is not None:
                self.entries.move_to_end(key)
            return found

    def put(self, key: bytes, value: Estimate) -> None:
        with self.lock:
            self.entries[key] = value
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


_MEMO = _Memo(50_000)


def clear_memo() -> None:
    """Forget memoised bootstrap estimates (benchmarks use it to time a cold table)."""
    _MEMO.clear()


def _same_k(
    tasks: Sequence[_Task], k: int, confidence: float, resamples: int, seed: int
) -> list[Estimate]:
    """Bootstraps of tasks with ``k`` clusters each, on one shared stream of resamples.

    ``bootstrap_mean`` draws its resamples from a fresh ``default_rng(seed)``
    through :func:`resample_counts`; numpy's stream does not depend on how the
    draws are split into blocks, so the resamples here are its resamples, and
    every task's totals come out of one matrix product instead of one per
    task. Columns shared by several tasks (two means with the same
    denominators) are multiplied once. :func:`resample_totals` makes each
    column's totals exact, so they do not depend on the other columns of the
    product: every estimate is ``bootstrap_mean``'s, bit for bit.
    """
    columns: list[np.ndarray] = []
    position: dict[bytes, int] = {}
    pairs = []
    for task in tasks:
        pair = []
        for column in (task.sums, task.counts):
            key = column.tobytes()
            if key not in position:
                position[key] = len(columns)
                columns.append(column)
            pair.append(position[key])
        pairs.append(pair)
    matrix = np.column_stack(columns)
    totals = np.empty((resamples, len(columns)))
    rng = np.random.default_rng(seed)
    block = max(1, MAX_CELLS // k)
    for start in range(0, resamples, block):
        size = min(block, resamples - start)
        totals[start : start + size] = resample_totals(resample_counts(rng, k, size), matrix)
    numerators = np.array([p[0] for p in pairs])
    denominators = np.array([p[1] for p in pairs])
    ratios = totals[:, numerators] / totals[:, denominators]
    tail = (1.0 - confidence) / 2.0
    lows, highs = np.quantile(ratios, [tail, 1.0 - tail], axis=0)
    return [
        Estimate(math.fsum(t.sums) / math.fsum(t.counts), float(lo), float(hi), "bootstrap")
        for t, lo, hi in zip(tasks, lows, highs, strict=True)
    ]


def bootstrap_means(
    tasks: Sequence[tuple[np.ndarray, np.ndarray]],
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> list[Estimate]:
    """``bootstrap_mean(sums, counts, confidence, resamples, seed)`` for many (sums, counts).

    Grouped by cluster count, memoised by exact input. Every estimate equals
    ``bootstrap_mean``'s exactly (see :func:`_same_k`).
    """
    z_value(confidence)
    if resamples < 1:
        raise ValueError("resamples must be positive")
    prepared = []
    for sums, counts in tasks:
        task = _Task(np.asarray(sums, dtype=float), np.asarray(counts, dtype=float))
        if len(task.counts) == 0 or np.any(task.counts <= 0):
            raise ValueError("every cluster needs at least one sample")
        prepared.append(task)
    results: list[Estimate | None] = [None] * len(prepared)
    digests = [t.digest(confidence, resamples, seed) for t in prepared]
    by_k: dict[int, list[int]] = {}
    for i, (task, digest) in enumerate(zip(prepared, digests, strict=True)):
        results[i] = _MEMO.get(digest)
        if results[i] is None:
            by_k.setdefault(len(task.counts), []).append(i)
    for k, members in by_k.items():
        estimates = _same_k([prepared[i] for i in members], k, confidence, resamples, seed)
        for i, estimate in zip(members, estimates, strict=True):
            results[i] = estimate
            _MEMO.put(digests[i], estimate)
    return [r for r in results if r is not None]


# --- the table -------------------------------------------------------------------------


@dataclass(frozen=True)
class _KpiData:
    """One KPI of one (area, operator): what clusters.KpiData holds, minus the cluster keys."""

    numerators: np.ndarray
    denominators: np.ndarray
    per_env: dict[str, int]
    close: int
    hours: dict[str, list[int]]


def _kpi_verdict(
    standard: Standard,
    operator: Operator,
    kpi: Kpi,
    data: _KpiData,
    estimate: Estimate | None,
    area: str,
    period: Period,
    confidence: float,
    scope: Scope,
) -> KpiVerdict:
    """The KpiVerdict ``evaluate`` builds from the same numbers."""
    samples = int(data.denominators.sum())
    check = check_sampling(
        standard, samples, data.per_env, len(data.denominators), data.close,
        kpi=kpi, hours=data.hours,
    )  # fmt: skip
    return kpi_verdict(
        standard, operator, kpi, estimate, check, area=area, period=period,
        samples=samples, probe_days=len(data.denominators), confidence=confidence, scope=scope,
    )  # fmt: skip


def _share(data: _KpiData, confidence: float) -> Estimate:
    share = clustered_share(data.numerators, data.denominators, confidence)
    return Estimate(
        share.value * 100.0,
        share.low * 100.0,
        share.high * 100.0,
        share.method,
        share.design_effect,
    )


def _split(rows: _Rows, standard: Standard, groups: int) -> list[list[_KpiData]]:
    """Per group and KPI, the engine's input numbers."""
    hour_kpis = _hour_kpis(standard)
    no_envs = (np.zeros(0, dtype=int), np.zeros((0, 1 + 2 * len(standard.kpis))))
    result: list[list[_KpiData]] = [[] for _ in range(groups)]
    for g in range(groups):
        clusters = rows.clusters.get(g, np.zeros((0, 2 * len(standard.kpis))))
        env_codes, env_values = rows.envs.get(g, no_envs)
        for j in range(len(standard.kpis)):
            num, den = clusters[:, 2 * j], clusters[:, 2 * j + 1]
            keep = den > 0
            per_env: dict[str, int] = {}
            for e, d in zip(env_codes, env_values[:, 1 + 2 * j], strict=True):
                if d > 0:
                    per_env[ENV_CODES[e]] = per_env.get(ENV_CODES[e], 0) + int(d)
            hours: dict[str, list[int]] = {}
            if j in hour_kpis and g in rows.hours:
                first = LOCAL_HOURS * hour_kpis.index(j)
                for e, counts in zip(*rows.hours[g], strict=True):
                    if counts[first : first + LOCAL_HOURS].any():
                        hours[ENV_CODES[e]] = [int(n) for n in counts[first : first + LOCAL_HOURS]]
            result[g].append(
                _KpiData(
                    numerators=np.ascontiguousarray(num[keep]),
                    denominators=np.ascontiguousarray(den[keep]),
                    per_env=dict(sorted(per_env.items(), key=lambda kv: ENV_CODES.index(kv[0]))),
                    close=int(env_values[:, 2 + 2 * j].sum()),
                    hours=hours,
                )
            )
    return result


@dataclass(frozen=True)
class _Job:
    """What every standard's part of one table shares."""

    base: dict[str, object]
    areas: tuple[list[tuple[int, str]], list[tuple[int, str]], list[int]]
    n_ops: int
    groups: int
    method: tuple[float, int, int]  # confidence, resamples, seed


@dataclass(frozen=True)
class _Part:
    """One standard's numbers per (group, KPI), its estimates, and samples outside per group."""

    data: list[list[_KpiData]]
    estimates: dict[tuple[int, int], Estimate]
    outside: np.ndarray


def _standard_part(conn: psycopg.Connection, standard: Standard, job: _Job) -> _Part:
    """One standard's numbers per (group, KPI), and the estimate of every KPI with data."""
    ids, cells, whole = job.areas
    with conn.transaction():
        # Hundreds of expressions, run once each over a day-level table: compiling
        # them (JIT) would cost more than it saves.
        conn.execute("SET LOCAL jit = off")
        params = {
            **job.base,
            "mark": watermark(conn),
            "techs": [*standard.record_techs, NO_TECH],
            "technology": standard.technology,
        }
        rows = _Rows()
        if ids or cells:
            _fetch(conn, _query(standard, True), params, job.n_ops, rows)
        for a in whole:
            _fetch(conn, _query(standard, False), {**params, "all": a}, job.n_ops, rows)
    data = _split(rows, standard, job.groups)
    outside = np.zeros(job.groups)
    for g, (_, values) in rows.envs.items():
        outside[g] = values[:, 0].sum()

    confidence, resamples, seed = job.method
    estimates: dict[tuple[int, int], Estimate] = {}
    means: list[tuple[int, int]] = []
    tasks: list[tuple[np.ndarray, np.ndarray]] = []
    for g in range(job.groups):
        for j, kpi in enumerate(standard.kpis):
            found = data[g][j]
            if not len(found.denominators):
                continue
            if kpi.is_share:
                estimates[g, j] = _share(found, confidence)
            else:
                means.append((g, j))
                tasks.append((found.numerators, found.denominators))
    estimates.update(zip(means, bootstrap_means(tasks, confidence, resamples, seed), strict=True))
    return _Part(data, estimates, outside)


def _second_connection(conn: psycopg.Connection) -> psycopg.Connection | None:
    """A new connection to ``conn``'s database, or None (logged) when none can be had."""
    try:
        return psycopg.connect(conn.info.dsn, password=conn.info.password)
    except psycopg.OperationalError as exc:
        log.warning("national table on one connection only: %s", exc)
        return None


def _areas_of(conn: psycopg.Connection, level: str) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT id, name FROM areas WHERE level = %s ORDER BY name, id", (level,)
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def national_table(
    conn: psycopg.Connection,
    standards: Iterable[Standard],
    operators: Iterable[Operator],
    period: Period,
    *,
    level: str = "province",
    areas: Sequence[tuple[str, str]] | None = None,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> list[tuple[str, Assessment]]:
    """(area id, assessment) for every standard × area × operator, in that nesting order.

    ``areas`` is a list of (id, display name); an id is a stored area, an H3
    cell, a declared zone (``zone:<SHA-256 prefix>:<zone>``, judged for its
    operator with the Vd and Vu it declares), or ``"all"`` (every rollup,
    wherever it is). By default it is every
    stored area of ``level``, by name. Each assessment equals
    ``evaluate(standard, operator, rows, area=name, period=period)`` on the
    area's day-level rows (see the module docstring for why exactly).

    Each standard is one statement and its own bootstraps; the second and
    later standards run on a second connection, in parallel with the first,
    so the database works on one while numpy works on another. That
    connection sees committed rows only; when it cannot be opened, every
    standard runs on ``conn`` in turn.

    Each standard is judged by its version in force for the whole period; a
    period that two versions of one share is refused with
    :class:`~giamsat.aggregator.compliance.standards.VersionSpanError`.
    """
    standards = [standard.for_period(period.start, period.end) for standard in standards]
    operators = list(operators)
    areas = list(areas) if areas is not None else _areas_of(conn, level)
    if not areas or not operators or not standards:
        return []
    start, end = period_range(period)
    n_ops, n_areas = len(operators), len(areas)
    groups = n_areas * n_ops
    ordinal = {i + 1: area for i, (area, _) in enumerate(areas)}
    # A declared zone is judged as its cells, with its own declared speeds.
    zones = {a: z for a, aid in ordinal.items() if (z := zone_area(conn, aid)) is not None}
    ids = [
        (a, aid)
        for a, aid in ordinal.items()
        if aid != ALL and a not in zones and not h3.is_valid_cell(aid)
    ]
    cells = [(a, aid) for a, aid in ordinal.items() if aid != ALL and h3.is_valid_cell(aid)]
    cells += [(a, cell) for a, zone in zones.items() for cell in sorted(zone.zone.cells)]
    whole = [a for a, aid in ordinal.items() if aid == ALL]
    base = {
        "start": start,
        "end": end,
        "first": period.start,
        "last": period.end,
        "ops": [op.name for op in operators],
        "envs": list(ENV_CODES),
        "area_ids": [aid for _, aid in ids],
        "area_ords": [a for a, _ in ids],
        "cells": [aid for _, aid in cells],
        "cell_ords": [a for a, _ in cells],
    }
    job = _Job(base, (ids, cells, whole), n_ops, groups, (confidence, resamples, seed))
    second = _second_connection(conn) if len(standards) > 1 else None
    if second is None:
        parts = [_standard_part(conn, standard, job) for standard in standards]
    else:
        with second, ThreadPoolExecutor(max_workers=1) as pool:
            others = [pool.submit(_standard_part, second, std, job) for std in standards[1:]]
            parts = [_standard_part(conn, standards[0], job), *(f.result() for f in others)]

    result = []
    method = (confidence, resamples, seed)
    for part, standard in zip(parts, standards, strict=True):
        declared = declarations_between(
            conn, [op.name for op in operators], standard.technology, period.start, period.end
        )
        for a, (area_id, name) in enumerate(areas):
            zone = zones.get(a + 1)
            for o, judged in enumerate(operators):
                g = a * n_ops + o
                operator = judged
                in_force = {d.sha256 for d in declared.get(judged.name, [])}
                if zone and zone.sha256 in in_force and zone.technology == standard.technology:
                    operator = with_zone_speeds(judged, zone.technology, zone.zone.speeds)
                scope = scope_of(declared.get(operator.name, []), period, int(part.outside[g]))
                verdicts = [
                    _kpi_verdict(standard, operator, kpi, part.data[g][j],
                                 part.estimates.get((g, j)), name, period, confidence, scope)
                    for j, kpi in enumerate(standard.kpis)
                ]  # fmt: skip
                found = assessment(standard, operator, name, period, verdicts, method, scope)
                result.append((area_id, found))
    return result
