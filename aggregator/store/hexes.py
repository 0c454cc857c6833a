"""Per-hexagon aggregates from the hourly rollups: what the coverage map classifies.

One computation serves the map (``/map``, open data) and the list of gaps
(hexagons an operator declared covered and that were measured dead,
:mod:`giamsat.aggregator.compliance.gaps`), so the two can never disagree on
a hexagon's samples, days or medians. Plain values out; the classification
lives in :mod:`giamsat.maps.classify`.

Medians come from the fixed-edge histograms of the rollups: the median is
placed inside the bin that holds it, by linear interpolation of its rank
within the bin. Because coverage thresholds are histogram edges, an estimate
inside the right bin is always on the right side of every threshold, so a
hexagon's class from the estimated median is the class the exact median
would give. The two open-ended bins have no width to interpolate in and
report their finite edge.

Samples without a technology (the probe found no network at all, see
:data:`giamsat.aggregator.aggregates.samples.NO_TECH`) belong to no coverage
technology by themselves. They count for every coverage technology the
operator served somewhere in the period — a village where Viettel has no
service is a dead zone on Viettel's LTE map and on its NR map — and, for an
operator that served nothing at all in the period, for every technology.

Days are Vietnamese calendar days (UTC+7); an hourly rollup lies within one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import psycopg

from giamsat.aggregator.aggregates.histogram import RSRP_EDGES_DBM, THROUGHPUT_EDGES
from giamsat.aggregator.aggregates.samples import NO_TECH
from giamsat.aggregator.store.daily import day_bounds, watermark
from giamsat.contract.timezone import VIETNAM_TZ, VIETNAM_TZ_NAME

ALL = "all"


def hist_median(hist: Sequence[int], edges: Sequence[float]) -> float | None:
    """The lower median of the values counted in ``hist``; ``None`` when it is empty."""
    if len(hist) != len(edges) + 1:
        raise ValueError(f"histogram has {len(hist)} bins, edges need {len(edges) + 1}")
    total = sum(hist)
    if total == 0:
        return None
    rank = (total + 1) // 2
    below = 0
    for index, count in enumerate(hist):
        if below + count >= rank:
            if index == 0:
                return float(edges[0])
            if index == len(edges):
                return float(edges[-1])
            low, high = edges[index - 1], edges[index]
            # (rank - below - 0.5) / count is strictly inside (0, 1): never on an edge.
            return round(low + (high - low) * (rank - below - 0.5) / count, 3)
        below += count
    raise AssertionError("unreachable: the rank is within the total")


def attributed_families(
    served: Mapping[str, set[str]], op: str, all_families: Iterable[str]
) -> set[str]:
    """The coverage technologies an operator's no-technology samples count for."""
    return served.get(op) or set(all_families)


def area_join(area: str | None, cell: str = "r.h3") -> str:
    """The join that keeps the rows whose ``cell`` column lies in one stored area.

    None (or ``all``) for every area: no join. The area id is the ``%(area)s`` parameter.
    """
    if area is None or area == ALL:
        return ""
    return f"JOIN area_cells a ON a.h3 = {cell} AND a.area_id = %(area)s"


@dataclass(frozen=True)
class HexAggregate:
    """One hexagon's samples for one operator and coverage technology over a period.

    ``n`` counts every sample, ``no_service`` those without service; ``days``
    the local days with a sample; ``first``/``last`` the hours of the first and
    last rollup. ``probes`` is empty unless asked for. ``declaration`` and
    ``zone`` are set when the samples were restricted to a declared service
    area: the declaration (SHA-256) in force on the latest day counted, and
    the position of the hexagon's zone in it.
    """

    h3: str
    op: str
    family: str
    n: int
    no_service: int
    days: int
    rsrp_median_dbm: float | None
    dl_median_mbps: float | None
    first: datetime
    last: datetime
    probes: tuple[str, ...] = ()
    declaration: str | None = None
    zone: int | None = None


# Histograms are summed by unnesting only their non-zero bins: rollup histograms
# are sparse (a probe-hour fills a handful of bins), and this is ~25 times faster
# than the element-wise giamsat_hist_sum aggregate on tens of thousands of rows.
_CELL_SQL = """
SELECT r.h3, r.op, r.tech, sum(r.records)::bigint, sum(r.no_service)::bigint,
       array_agg(DISTINCT (r.hour AT TIME ZONE '{tz}')::date), min(r.hour), max(r.hour),
       {probes}, {declared_cols}
FROM rollups r {area_join} {declared_join}
WHERE r.hour >= %(start)s AND r.hour < %(end)s AND r.tech = ANY(%(techs)s) {op_clause}
GROUP BY r.h3, r.op, r.tech
"""
_CELL_HIST_SQL = """
SELECT r.h3, r.op, r.tech, u.i, sum(u.rsrp)::bigint, sum(u.dl)::bigint
FROM rollups r {area_join} {declared_join},
     unnest(r.rsrp_dbm_hist, r.dl_mbps_hist) WITH ORDINALITY AS u(rsrp, dl, i)
WHERE r.hour >= %(start)s AND r.hour < %(end)s AND r.tech = ANY(%(techs)s) {op_clause}
  AND (u.rsrp <> 0 OR u.dl <> 0)
GROUP BY r.h3, r.op, r.tech, u.i
"""
# The same per cell, from the daily rollups: rows of keys unchanged since the
# last refresh from rollups_daily, the hourly rows of the others (as
# compliance/national.py reads them), each branch narrowed to the area first.
# A daily row's histograms count values at or above each edge; ``cumulative``
# says which kind a group of rows summed.
_DAY_CELL_SQL = """
WITH changed AS MATERIALIZED (
    SELECT DISTINCT (r.hour AT TIME ZONE '{tz}')::date AS day, r.h3, r.op, r.tech, r.probe, r.env
    FROM rollups r
    WHERE r.updated_at >= %(mark)s::timestamptz AND r.hour >= %(start)s AND r.hour < %(end)s
      AND r.tech = ANY(%(techs)s) {op_clause}
),
src AS MATERIALIZED (
    SELECT r.day, r.h3, r.op, r.tech, r.probe, r.records, r.no_service,
           r.rsrp_dbm_atleast AS rsrp, r.dl_mbps_atleast AS dl, true AS cumulative
    FROM rollups_daily r {area_join}
    WHERE r.day >= %(first)s AND r.day <= %(last)s AND r.tech = ANY(%(techs)s) {op_clause}
      AND NOT EXISTS (SELECT 1 FROM changed c WHERE c.day = r.day AND c.h3 = r.h3
                      AND c.op = r.op AND c.tech = r.tech AND c.probe = r.probe AND c.env = r.env)
    UNION ALL
    SELECT c.day, r.h3, r.op, r.tech, r.probe, r.records, r.no_service,
           r.rsrp_dbm_hist, r.dl_mbps_hist, false
    FROM changed c JOIN rollups r ON r.h3 = c.h3 AND r.op = c.op AND r.tech = c.tech
     AND r.probe = c.probe AND r.env = c.env
     AND (r.hour AT TIME ZONE '{tz}')::date = c.day {area_join}
    WHERE r.hour >= %(start)s AND r.hour < %(end)s
)
SELECT r.h3, r.op, r.tech, sum(r.records)::bigint, sum(r.no_service)::bigint,
       array_agg(DISTINCT r.day), min(r.day), max(r.day), {probes}, {declared_cols},
       r.cumulative, ARRAY[{rsrp}], ARRAY[{dl}]
FROM src r {declared_join}
GROUP BY r.h3, r.op, r.tech, r.cumulative
"""
# Only the rollups of a cell on a local day when a declaration of the row's
# operator for the technology, holding that cell, was in force. Declarations of
# one operator and technology never overlap in time (a new one ends the last).
_DECLARED_JOIN = """
JOIN declarations d ON d.operator = r.op AND d.technology = %(declared)s
 AND {day} >= d.valid_from AND {day} <= coalesce(d.valid_to, 'infinity'::date)
JOIN declaration_cells dc ON dc.declaration = d.sha256 AND dc.h3 = r.h3"""
_DECLARED_COLS = (
    "max(d.valid_from), (array_agg(d.sha256 ORDER BY d.valid_from DESC))[1],"
    " (array_agg(dc.zone ORDER BY d.valid_from DESC))[1]"
)


@dataclass
class _Cell:
    """Accumulator of one (h3, operator, coverage technology)."""

    first: datetime
    last: datetime
    n: int = 0
    lost: int = 0
    days: set[date] = field(default_factory=set)
    probes: set[str] = field(default_factory=set)
    rsrp: list[int] = field(default_factory=lambda: [0] * (len(RSRP_EDGES_DBM) + 1))
    dl: list[int] = field(default_factory=lambda: [0] * (len(THROUGHPUT_EDGES) + 1))
    declared: tuple[date, str, int] | None = None


def _whole_days(start: datetime, end: datetime) -> tuple[date, date]:
    """The first and last local days of [start, end), which must be local midnights."""
    first = start.astimezone(VIETNAM_TZ).date()
    last = (end - timedelta(days=1)).astimezone(VIETNAM_TZ).date()
    if day_bounds(first)[0] != start or day_bounds(last)[1] != end:
        raise ValueError(f"{start}..{end} is not a run of whole local days")
    return first, last


def _add_bins(into: list[int], sums: Sequence[int | None], cumulative: bool) -> None:
    """Add summed histogram bins to ``into``; ``cumulative`` sums count values at or above."""
    values = [int(v or 0) for v in sums]
    for i, v in enumerate(values):
        into[i] += v - values[i + 1] if cumulative and i + 1 < len(values) else v


def hex_aggregates(
    conn: psycopg.Connection,
    families: Mapping[str, Sequence[str]],
    start: datetime,
    end: datetime,
    *,
    op: str | None = None,
    family: str | None = None,
    area: str | None = None,
    with_probes: bool = False,
    declared: str | None = None,
    by_day: bool = False,
) -> list[HexAggregate]:
    """Per hexagon, operator and coverage technology: samples, no-service, days, medians.

    ``families`` maps coverage technology -> record technologies; ``start`` is
    inclusive and ``end`` exclusive (UTC instants); ``op``/``family``/``area``
    narrow the selection. ``declared`` (``4G`` or ``5G``) keeps only the
    samples inside the operator's declared service area for that technology,
    on the days the declaration was in force. Rows without a technology are
    attributed (module docstring) by the operator's service in the whole
    period and every area, whatever ``area`` and ``declared`` say. Sorted by
    operator, technology and cell.

    ``by_day`` reads the daily rollups (and the hourly rows changed since
    their last refresh) instead of every hourly row: the same samples, days
    and medians at a twenty-fourth of the rows, for periods of whole local
    days (``start`` and ``end`` local midnights); ``first`` and ``last`` are
    then the first hours of the first and last days.
    """
    if family is not None and family not in families:
        raise ValueError(f"unknown coverage technology {family!r}")
    days = _whole_days(start, end) if by_day else None
    tech_family = {tech: name for name, techs in families.items() for tech in techs}
    wanted = {family} if family is not None else set(families)
    day = "r.day" if days else f"(r.hour AT TIME ZONE '{VIETNAM_TZ_NAME}')::date"
    fmt = {
        "tz": VIETNAM_TZ_NAME,
        "area_join": area_join(area),
        "declared_join": _DECLARED_JOIN.format(day=day) if declared else "",
        "declared_cols": _DECLARED_COLS if declared else "NULL, NULL, NULL",
        "op_clause": "AND r.op = %(op)s" if op is not None else "",
        "probes": "array_agg(DISTINCT r.probe)" if with_probes else "NULL::text[]",
        "rsrp": ", ".join(f"sum(r.rsrp[{i + 1}])" for i in range(len(RSRP_EDGES_DBM) + 1)),
        "dl": ", ".join(f"sum(r.dl[{i + 1}])" for i in range(len(THROUGHPUT_EDGES) + 1)),
    }
    params: dict[str, Any] = {
        "start": start,
        "end": end,
        "techs": [*tech_family, NO_TECH],
        "op": op,
        "area": area,
        "declared": declared,
    }
    if days:
        params |= {"first": days[0], "last": days[1], "mark": watermark(conn)}
        cells = conn.execute(_DAY_CELL_SQL.format(**fmt), params).fetchall()
        hists = []
    else:
        cells = conn.execute(_CELL_SQL.format(**fmt), params).fetchall()
        hists = conn.execute(_CELL_HIST_SQL.format(**fmt), params).fetchall()
    no_tech_ops = sorted({row[1] for row in cells if row[2] == NO_TECH})
    served = served_families(conn, no_tech_ops, families, start, end, by_day=by_day)

    def targets(op_: str, tech: str) -> set[str]:
        if tech == NO_TECH:
            return attributed_families(served, op_, families) & wanted
        return {tech_family[tech]} & wanted

    acc: dict[tuple[str, str, str], _Cell] = {}
    for row in cells:
        cell, op_, tech, n, lost, seen, first, last, probes, since, sha, zone = row[:12]
        if days:
            first, last = day_bounds(first)[0], day_bounds(last)[0]
        for fam in targets(op_, tech):
            a = acc.setdefault((cell, op_, fam), _Cell(first, last))
            a.n += int(n)
            a.lost += int(lost)
            a.days.update(seen)
            a.first, a.last = min(a.first, first), max(a.last, last)
            a.probes.update(probes or ())
            if since is not None and (a.declared is None or (since, sha) > a.declared[:2]):
                a.declared = (since, sha, int(zone))
            if days:
                cumulative, rsrp, dl = row[12:]
                _add_bins(a.rsrp, rsrp, cumulative)
                _add_bins(a.dl, dl, cumulative)
    for cell, op_, tech, index, rsrp, dl in hists:
        for fam in targets(op_, tech):
            a = acc[(cell, op_, fam)]
            # unnest pads the shorter histogram with NULLs: only real bins count.
            if rsrp:
                a.rsrp[index - 1] += int(rsrp)
            if dl:
                a.dl[index - 1] += int(dl)
    ordered = sorted(acc.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0]))
    return [
        HexAggregate(
            h3=cell,
            op=op_,
            family=fam,
            n=a.n,
            no_service=a.lost,
            days=len(a.days),
            rsrp_median_dbm=hist_median(a.rsrp, RSRP_EDGES_DBM),
            dl_median_mbps=hist_median(a.dl, THROUGHPUT_EDGES),
            first=a.first,
            last=a.last,
            probes=tuple(sorted(a.probes)),
            declaration=a.declared[1] if a.declared else None,
            zone=a.declared[2] if a.declared else None,
        )
        for (cell, op_, fam), a in ordered
    ]


def served_families(
    conn: psycopg.Connection,
    ops: Sequence[str],
    families: Mapping[str, Sequence[str]],
    start: datetime,
    end: datetime,
    *,
    by_day: bool = False,
) -> dict[str, set[str]]:
    """Operator -> coverage technologies it served (a sample with service) in the period.

    Over every area, as :func:`hex_aggregates` needs it, so a province's trends
    attribute no-service samples the way the national map does. One index
    probe per (operator, record technology). ``by_day`` asks the daily
    rollups, then the hourly rows changed since their refresh: hourly rows
    only gain samples, so a daily row with service means its hours have it.
    """
    pairs = [(op, tech, name) for op in ops for name, techs in families.items() for tech in techs]
    if not pairs:
        return {}
    hourly = (
        "SELECT 1 FROM rollups x WHERE x.op = q.op AND x.tech = q.tech"
        " AND x.hour >= %(start)s AND x.hour < %(end)s AND x.records > x.no_service"
    )
    params: dict[str, Any] = {
        "ops": [p[0] for p in pairs],
        "techs": [p[1] for p in pairs],
        "families": [p[2] for p in pairs],
        "start": start,
        "end": end,
    }
    where = f"EXISTS ({hourly})"
    if by_day:
        first, last = _whole_days(start, end)
        params |= {"first": first, "last": last, "mark": watermark(conn)}
        where = (
            "EXISTS (SELECT 1 FROM rollups_daily x WHERE x.op = q.op AND x.tech = q.tech"
            " AND x.day >= %(first)s AND x.day <= %(last)s AND x.records > x.no_service)"
            f" OR EXISTS ({hourly} AND x.updated_at >= %(mark)s::timestamptz)"
        )
    rows = conn.execute(
        "SELECT q.op, q.family FROM unnest(%(ops)s::text[], %(techs)s::text[],"
        f" %(families)s::text[]) AS q(op, tech, family) WHERE {where}",
        params,
    ).fetchall()
    served: dict[str, set[str]] = {}
    for op, family in rows:
        served.setdefault(op, set()).add(family)
    return served


# --------------------------------------------------------------- where hexagons lie


def provinces_of(conn: psycopg.Connection, cells: Sequence[str]) -> dict[str, tuple[str, str]]:
    """H3 cell -> (id, name) of the stored province its centre lies in (cells in none left out)."""
    if not cells:
        return {}
    rows = conn.execute(
        "SELECT DISTINCT ON (c.h3) c.h3, a.id, a.name FROM area_cells c"
        " JOIN areas a ON a.id = c.area_id AND a.level = 'province'"
        " WHERE c.h3 = ANY(%s) ORDER BY c.h3, a.id",
        (list(cells),),
    ).fetchall()
    return {cell: (area_id, name) for cell, area_id, name in rows}


def zone_names(conn: psycopg.Connection, declarations: Sequence[str]) -> dict[tuple[str, int], str]:
    """(declaration SHA-256, zone position) -> the zone's name, for the given declarations."""
    if not declarations:
        return {}
    rows = conn.execute(
        "SELECT declaration, zone, name FROM declaration_zones WHERE declaration = ANY(%s)",
        (list(declarations),),
    ).fetchall()
    return {(sha.strip(), int(zone)): name for sha, zone, name in rows}


def declared_cell_counts(
    conn: psycopg.Connection, declarations: Mapping[str, Sequence[str]], area: str | None = None
) -> dict[str, int]:
    """Per operator, the distinct H3 cells its given declarations hold (within ``area``).

    Within an area, each of the area's cells asks the ``h3`` index which of
    the declarations hold it: a province's few thousand cells, where a join
    would read every declared cell of the country.
    """
    owner = {sha: op for op, shas in declarations.items() for sha in shas}
    counts = dict.fromkeys(declarations, 0)
    if not owner:
        return counts
    params = {"shas": list(owner), "ops": list(owner.values()), "area": area}
    if area is None or area == ALL:
        held = "SELECT dc.declaration, dc.h3 FROM declaration_cells dc"
    else:
        held = (
            "SELECT x.declaration, a.h3 FROM area_cells a CROSS JOIN LATERAL ("
            " SELECT dc.declaration FROM declaration_cells dc"
            " WHERE dc.h3 = a.h3 AND dc.declaration = ANY(%(shas)s::bpchar[]) OFFSET 0) x"
            " WHERE a.area_id = %(area)s"
        )
    rows = conn.execute(
        f"SELECT o.op, count(DISTINCT h.h3) FROM ({held}) h(declaration, h3)"
        " JOIN unnest(%(shas)s::bpchar[], %(ops)s::text[]) o(sha, op) ON o.sha = h.declaration"
        " GROUP BY o.op",
        params,
    ).fetchall()
    return counts | {str(op): int(n) for op, n in rows}
