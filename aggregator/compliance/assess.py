"""Compliance from the database: rollups of an area and period, judged by the engine.

The engine (:mod:`giamsat.aggregator.compliance`) is pure; this module only chooses
rows. Rollups are summed per (probe, local day, environment, technology): the
engine clusters by probe-day anyway, so the verdict is the same as from hourly
rows, and a year of a national fleet shrinks to a few thousand rows per
operator and area.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from giamsat.aggregator.aggregates.rollup import COLUMNS, KEY_COLUMNS
from giamsat.aggregator.aggregates.samples import NO_TECH
from giamsat.aggregator.compliance import Assessment, Operator, Period, Rollup, Standard
from giamsat.aggregator.compliance.national import national_table, period_range
from giamsat.contract.timezone import VIETNAM_TZ

_HISTS = [c for c in COLUMNS if c.endswith("_hist")]
_SCALARS = [c for c in COLUMNS if c not in KEY_COLUMNS and c not in _HISTS]
_GROUP = ("op", "tech", "probe", "env")
_DAY = "date_trunc('day', r.hour AT TIME ZONE 'Asia/Ho_Chi_Minh')"


def period_bounds(period: Period) -> tuple[datetime, datetime]:
    """UTC instants of the period's first local midnight and the one after its last day."""
    start, end = period_range(period)
    return start.astimezone(UTC), end.astimezone(UTC)


def _where(area: str) -> tuple[str, str]:
    if area == "all":
        join = ""
    elif _is_cell(area):
        join = "JOIN (SELECT %(area)s::text AS h3) a ON a.h3 = r.h3"
    else:
        join = "JOIN area_cells a ON a.h3 = r.h3 AND a.area_id = %(area)s"
    where = (
        "WHERE r.op = %(op)s AND r.tech = ANY(%(techs)s) "
        "AND r.hour >= %(start)s AND r.hour < %(end)s"
    )
    return join, where


def _scalar_query(area: str) -> str:
    join, where = _where(area)
    sums = ", ".join(f"sum(r.{c}) AS {c}" for c in _SCALARS)
    group = ", ".join(f"r.{c}" for c in _GROUP)
    return (
        f"SELECT {_DAY} AS day, {group}, {sums} FROM rollups r {join} {where} GROUP BY 1, {group}"
    )


def _histogram_query(area: str) -> str:
    """Histograms summed bin by bin over their non-zero bins only.

    Most bins of an hourly histogram are zero, so unnesting and summing only
    the others is an order of magnitude faster than adding whole arrays.
    """
    join, where = _where(area)
    group = ", ".join(f"r.{c}" for c in _GROUP)
    parts = [
        f"SELECT '{c}' AS col, {_DAY} AS day, {group}, u.i, sum(u.x) AS n "
        f"FROM rollups r {join} CROSS JOIN LATERAL unnest(r.{c}) WITH ORDINALITY AS u(x, i) "
        f"{where} AND u.x <> 0 GROUP BY 2, {group}, u.i"
        for c in _HISTS
    ]
    return " UNION ALL ".join(parts)


def rollups_for(
    conn: psycopg.Connection, standard: Standard, operator: str, area: str, period: Period
) -> list[Rollup]:
    """Day-level rollups of ``operator`` in ``area`` (an area id, one H3 cell, or "all").

    Summed straight from the hourly rollups, the plain way: the reference
    that the national table is checked against (tests, ``bench/query.py``).
    """
    start, end = period_bounds(period)
    params = {
        "op": operator,
        "techs": [*standard.record_techs, NO_TECH],
        "start": start,
        "end": end,
        "area": area,
    }
    with conn.cursor(row_factory=dict_row) as cur:
        rows = {
            (r["day"], *(r[c] for c in _GROUP)): r
            for r in cur.execute(_scalar_query(area), params).fetchall()
        }
        lengths = {c: len(Rollup(hour=start, h3="", op="", tech="", probe="", env="").as_row()[c])
                   for c in _HISTS}  # fmt: skip
        for row in rows.values():
            for c in _HISTS:
                row[c] = [0] * lengths[c]
        for h in cur.execute(_histogram_query(area), params).fetchall():
            rows[(h["day"], *(h[c] for c in _GROUP))][h["col"]][h["i"] - 1] = int(h["n"])
    return list(_as_rollups(rows.values(), area))


def _as_rollups(rows: Iterable[dict[str, Any]], area: str) -> Iterable[Rollup]:
    for row in rows:
        day = row.pop("day").replace(tzinfo=VIETNAM_TZ)
        # The engine reads the local day from the hour; local noon can never straddle a day.
        yield Rollup.from_row({**row, "hour": day + timedelta(hours=12), "h3": area})


def _is_cell(area: str) -> bool:
    from giamsat.aggregator.store.areas import is_cell

    return is_cell(area)


def assess(
    conn: psycopg.Connection,
    standard: Standard,
    operator: Operator,
    area: str,
    period: Period,
    *,
    area_name: str | None = None,
) -> Assessment:
    """The engine's verdict on ``area`` (an area id, one H3 cell, or "all") for ``period``.

    Read through :func:`giamsat.aggregator.compliance.national.national_table`, the path every
    compliance table takes (daily rollups plus the hourly rows changed since
    the last refresh); it gives what :func:`evaluate` gives on
    :func:`rollups_for`'s rows, which the query benchmark checks.
    """
    [(_, result)] = national_table(
        conn, [standard], [operator], period, areas=[(area, area_name or area)]
    )
    return result
