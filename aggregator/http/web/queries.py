"""SQL behind the pages and open data: rollups in, plain values out.

Everything reads the hourly ``rollups`` (the records table may have been
pruned) except the probe fleet, which wants each probe's latest record. Days
and months are Vietnamese calendar days (UTC+7), as in the compliance engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import h3
import psycopg

from giamsat.aggregator.aggregates.histogram import RSRP_EDGES_DBM, THROUGHPUT_EDGES
from giamsat.aggregator.aggregates.samples import NO_TECH
from giamsat.aggregator.http.web.kpis import MonthRow, attributed_families, hist_median
from giamsat.contract.timezone import VIETNAM_TZ, VIETNAM_TZ_NAME
from giamsat.maps.stats import HexStats

ALL = "all"


def _area_join(area: str | None) -> str:
    if area is None or area == ALL:
        return ""
    return "JOIN area_cells a ON a.h3 = r.h3 AND a.area_id = %(area)s"


def latest_day(conn: psycopg.Connection) -> date | None:
    """The local day of the newest rollup, which the pages' default periods end at."""
    row = conn.execute("SELECT max(hour) FROM rollups").fetchone()
    return None if row is None or row[0] is None else row[0].astimezone(VIETNAM_TZ).date()


def provinces(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """(id, name) of the stored provinces, by name."""
    rows = conn.execute(
        "SELECT id, name FROM areas WHERE level = 'province' ORDER BY name, id"
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def area_name(conn: psycopg.Connection, area: str) -> str | None:
    row = conn.execute("SELECT name FROM areas WHERE id = %s", (area,)).fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class HexRow:
    """A hexagon's aggregate for one operator and coverage technology, and who measured it."""

    stats: HexStats
    probes: tuple[str, ...]


# Histograms are summed by unnesting only their non-zero bins: rollup histograms
# are sparse (a probe-hour fills a handful of bins), and this is ~25 times faster
# than the element-wise giamsat_hist_sum aggregate on tens of thousands of rows.
_CELL_SQL = """
SELECT r.h3, r.op, r.tech, sum(r.records)::bigint, sum(r.no_service)::bigint,
       array_agg(DISTINCT (r.hour AT TIME ZONE '{tz}')::date), min(r.hour), max(r.hour),
       {probes}
FROM rollups r {area_join}
WHERE r.hour >= %(start)s AND r.hour < %(end)s AND r.tech = ANY(%(techs)s) {op_clause}
GROUP BY r.h3, r.op, r.tech
"""
_CELL_HIST_SQL = """
SELECT r.h3, r.op, r.tech, u.i, sum(u.rsrp)::bigint, sum(u.dl)::bigint
FROM rollups r {area_join},
     unnest(r.rsrp_dbm_hist, r.dl_mbps_hist) WITH ORDINALITY AS u(rsrp, dl, i)
WHERE r.hour >= %(start)s AND r.hour < %(end)s AND r.tech = ANY(%(techs)s) {op_clause}
  AND (u.rsrp <> 0 OR u.dl <> 0)
GROUP BY r.h3, r.op, r.tech, u.i
"""


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


def hex_stats(
    conn: psycopg.Connection,
    families: Mapping[str, Sequence[str]],
    start: datetime,
    end: datetime,
    *,
    op: str | None = None,
    family: str | None = None,
    area: str | None = None,
    with_probes: bool = False,
) -> list[HexRow]:
    """Per hexagon, operator and coverage technology: samples, no-service, days, medians.

    ``families`` maps coverage technology -> record technologies; ``start`` is
    inclusive and ``end`` exclusive (UTC instants); ``op``/``family``/``area``
    narrow the selection. Rows without a technology are attributed as
    :mod:`giamsat.aggregator.http.web.kpis` says, by the operator's service in the whole
    period and every area. The period of each aggregate is given by the
    hours of its first and last rollup (an hour lies within one local day,
    UTC+7 being whole hours).
    """
    if family is not None and family not in families:
        raise ValueError(f"unknown coverage technology {family!r}")
    tech_family = {tech: name for name, techs in families.items() for tech in techs}
    wanted = {family} if family is not None else set(families)
    fmt = {
        "tz": VIETNAM_TZ_NAME,
        "area_join": _area_join(area),
        "op_clause": "AND r.op = %(op)s" if op is not None else "",
        "probes": "array_agg(DISTINCT r.probe)" if with_probes else "NULL::text[]",
    }
    params: dict[str, Any] = {
        "start": start,
        "end": end,
        "techs": [*tech_family, NO_TECH],
        "op": op,
        "area": area,
    }
    cells = conn.execute(_CELL_SQL.format(**fmt), params).fetchall()
    hists = conn.execute(_CELL_HIST_SQL.format(**fmt), params).fetchall()
    no_tech_ops = sorted({row[1] for row in cells if row[2] == NO_TECH})
    served = served_families(conn, no_tech_ops, families, start, end)

    def targets(op_: str, tech: str) -> set[str]:
        if tech == NO_TECH:
            return attributed_families(served, op_, families) & wanted
        return {tech_family[tech]} & wanted

    acc: dict[tuple[str, str, str], _Cell] = {}
    for cell, op_, tech, n, lost, days, first, last, probes in cells:
        for fam in targets(op_, tech):
            a = acc.setdefault((cell, op_, fam), _Cell(first, last))
            a.n += int(n)
            a.lost += int(lost)
            a.days.update(days)
            a.first, a.last = min(a.first, first), max(a.last, last)
            a.probes.update(probes or ())
    for cell, op_, tech, index, rsrp, dl in hists:
        for fam in targets(op_, tech):
            a = acc[(cell, op_, fam)]
            # unnest pads the shorter histogram with NULLs: only real bins count.
            if rsrp:
                a.rsrp[index - 1] += int(rsrp)
            if dl:
                a.dl[index - 1] += int(dl)
    result = []
    for (cell, op_, fam), a in sorted(acc.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])):
        stats = HexStats(
            h3=cell,
            op=op_,
            tech=fam,
            n=a.n,
            n_no_service=a.lost,
            days=len(a.days),
            rsrp_median_dbm=hist_median(a.rsrp, RSRP_EDGES_DBM),
            dl_median_mbps=hist_median(a.dl, THROUGHPUT_EDGES),
            period_from=a.first,
            period_to=a.last,
        )
        result.append(HexRow(stats, tuple(sorted(a.probes))))
    return result


_MONTH_SQL = """
SELECT to_char(r.hour AT TIME ZONE '{tz}', 'YYYY-MM') AS month, r.op, r.tech,
       sum(r.records)::bigint, sum(r.no_service)::bigint,
       sum(r.dl_mbps_n)::bigint, sum(r.dl_mbps_sum),
       sum(r.rtt_ms_n)::bigint, sum(r.rtt_ms_sum), sum(r.rsrp_dbm_n)::bigint
FROM rollups r {area_join}
WHERE r.hour >= %(start)s AND r.hour < %(end)s
GROUP BY 1, r.op, r.tech
ORDER BY 1, r.op, r.tech
"""
_MONTH_HIST_SQL = """
SELECT to_char(r.hour AT TIME ZONE '{tz}', 'YYYY-MM') AS month, r.op, r.tech, u.i,
       sum(u.x)::bigint
FROM rollups r {area_join}, unnest(r.rsrp_dbm_hist) WITH ORDINALITY AS u(x, i)
WHERE r.hour >= %(start)s AND r.hour < %(end)s AND u.x <> 0
GROUP BY 1, r.op, r.tech, u.i
"""


def month_rows(
    conn: psycopg.Connection, start: datetime, end: datetime, area: str | None = None
) -> list[MonthRow]:
    """Rollups summed per local month, operator and record technology."""
    fmt = {"tz": VIETNAM_TZ_NAME, "area_join": _area_join(area)}
    params = {"start": start, "end": end, "area": area}
    hists: dict[tuple[str, str, str], list[int]] = {}
    for month, op, tech, index, count in conn.execute(_MONTH_HIST_SQL.format(**fmt), params):
        hist = hists.setdefault((month, op, tech), [0] * (len(RSRP_EDGES_DBM) + 1))
        hist[index - 1] += int(count)
    rows = conn.execute(_MONTH_SQL.format(**fmt), params).fetchall()
    return [
        MonthRow(m, op, tech, int(n), int(lost), int(dn), float(ds), int(rn), float(rs), int(sn),
                 hists.get((m, op, tech), [0] * (len(RSRP_EDGES_DBM) + 1)))
        for m, op, tech, n, lost, dn, ds, rn, rs, sn in rows
    ]  # fmt: skip


@dataclass(frozen=True)
class ProbeHealth:
    """A registered probe as the fleet page shows it."""

    id: str
    kind: str
    village: str | None
    revoked: bool
    last_seen: datetime | None
    received: datetime | None
    lat: float | None
    lon: float | None
    h3: str | None
    health: dict[str, Any] | None

    def state(self, now: datetime, silent_after: timedelta) -> str:
        """``revoked``, ``never`` (no record at all), ``silent`` or ``ok``."""
        if self.revoked:
            return "revoked"
        if self.last_seen is None:
            return "never"
        return "silent" if now - self.last_seen > silent_after else "ok"

    def position(self) -> tuple[float, float] | None:
        """Where to draw it: a fixed probe at its site, a phone only at its hexagon's centre."""
        if self.kind == "fixed" and self.lat is not None and self.lon is not None:
            return self.lat, self.lon
        if self.h3 is not None:
            centre: tuple[float, float] = h3.cell_to_latlng(self.h3)
            return centre
        return None


# The latest record per probe comes from the (probe, t DESC) index; only a probe
# with no record left (all pruned) falls back to its newest rollup hour.
_FLEET_SQL = """
SELECT p.id, p.kind, p.village, p.revoked_at IS NOT NULL,
       COALESCE(last.t, (SELECT max(hour) FROM rollups WHERE probe = p.id)),
       last.received_at,
       COALESCE(p.lat, last.lat), COALESCE(p.lon, last.lon), last.h3, last.health
FROM probes p
LEFT JOIN LATERAL (
    SELECT r.t, r.received_at, r.lat, r.lon, r.h3, (r.raw::jsonb) -> 'health' AS health
    FROM records r WHERE r.probe = p.id ORDER BY r.t DESC LIMIT 1
) last ON true
ORDER BY p.id
"""


def probe_health(conn: psycopg.Connection) -> list[ProbeHealth]:
    """Every registered probe with its latest record's time, position and health section."""
    result = []
    for row in conn.execute(_FLEET_SQL).fetchall():
        pid, kind, village, revoked, seen, received, lat, lon, cell, health = row
        result.append(
            ProbeHealth(
                id=pid,
                kind=kind,
                village=village,
                revoked=revoked,
                last_seen=seen,
                received=received,
                lat=lat,
                lon=lon,
                h3=cell,
                health=health if isinstance(health, dict) else None,
            )
        )
    return result


def probe_kinds(conn: psycopg.Connection) -> dict[str, str]:
    """Probe id -> ``fixed`` or ``phone``."""
    return {r[0]: r[1] for r in conn.execute("SELECT id, kind FROM probes").fetchall()}


def served_families(
    conn: psycopg.Connection,
    ops: Sequence[str],
    families: Mapping[str, Sequence[str]],
    start: datetime,
    end: datetime,
) -> dict[str, set[str]]:
    """Operator -> coverage technologies it served (a sample with service) in the period.

    Over every area, as :func:`hex_stats` needs it, so a province's trends
    attribute no-service samples the way the national map does. One index
    probe per (operator, record technology).
    """
    pairs = [(op, tech, name) for op in ops for name, techs in families.items() for tech in techs]
    if not pairs:
        return {}
    rows = conn.execute(
        "SELECT q.op, q.family "
        "FROM unnest(%s::text[], %s::text[], %s::text[]) AS q(op, tech, family) "
        "WHERE EXISTS (SELECT 1 FROM rollups x WHERE x.op = q.op AND x.tech = q.tech "
        "AND x.hour >= %s AND x.hour < %s AND x.records > x.no_service)",
        ([p[0] for p in pairs], [p[1] for p in pairs], [p[2] for p in pairs], start, end),
    ).fetchall()
    served: dict[str, set[str]] = {}
    for op, family in rows:
        served.setdefault(op, set()).add(family)
    return served
