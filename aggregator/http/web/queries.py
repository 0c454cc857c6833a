"""SQL behind the pages and open data: rollups in, plain values out.

The map's per-hexagon aggregates are :mod:`giamsat.aggregator.store.hexes`
(shared with the list of gaps); this module wraps them as the map draws them.
Everything reads the hourly ``rollups`` (the records table may have been
pruned) except the probe fleet, which wants each probe's latest record. Days
and months are Vietnamese calendar days (UTC+7), as in the compliance engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import h3
import psycopg

from giamsat.aggregator.aggregates.histogram import RSRP_EDGES_DBM
from giamsat.aggregator.compliance.gaps import as_hex_stats
from giamsat.aggregator.http.web.kpis import MonthRow
from giamsat.aggregator.store import hexes
from giamsat.aggregator.store.hexes import served_families as served_families
from giamsat.contract.timezone import VIETNAM_TZ, VIETNAM_TZ_NAME
from giamsat.maps.stats import HexStats


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
    narrow the selection. Computed by :func:`giamsat.aggregator.store.hexes.hex_aggregates`,
    which the list of gaps (declared covered, measured dead) uses too.
    """
    rows = hexes.hex_aggregates(
        conn, families, start, end, op=op, family=family, area=area, with_probes=with_probes
    )
    return [HexRow(as_hex_stats(row), row.probes) for row in rows]


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
    fmt = {"tz": VIETNAM_TZ_NAME, "area_join": hexes.area_join(area)}
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
