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
from giamsat.aggregator.compliance import Assessment, Operator, Period, Rollup, Scope, Standard
from giamsat.aggregator.compliance.declared import scope_of
from giamsat.aggregator.compliance.national import national_table, period_range
from giamsat.aggregator.store.declarations import (
    declarations_between,
    parse_zone_id,
    zone_area,
)
from giamsat.contract.timezone import VIETNAM_TZ

_HISTS = [c for c in COLUMNS if c.endswith("_hist")]
_SCALARS = [c for c in COLUMNS if c not in KEY_COLUMNS and c not in _HISTS]
_GROUP = ("op", "tech", "probe", "env")
_DAY = "date_trunc('day', r.hour AT TIME ZONE 'Asia/Ho_Chi_Minh')"


def period_bounds(period: Period) -> tuple[datetime, datetime]:
    """UTC instants of the period's first local midnight and the one after its last day."""
    start, end = period_range(period)
    return start.astimezone(UTC), end.astimezone(UTC)


# The declaration of the row's operator and technology in force on the row's local
# day, if any, and the row's cell in it, if there.
_DECLARED = f"""
LEFT JOIN declarations dd ON dd.operator = r.op AND dd.technology = %(technology)s
 AND ({_DAY})::date >= dd.valid_from
 AND ({_DAY})::date <= coalesce(dd.valid_to, 'infinity'::date)
LEFT JOIN declaration_cells dc ON dc.declaration = dd.sha256 AND dc.h3 = r.h3"""


def _where(area: str, *, outside: bool = False) -> tuple[str, str]:
    """FROM-clause joins and WHERE of an area's rows in (or, ``outside``, out of) the scope.

    In the scope: inside the declaration in force on the row's day, or on a
    day when none is in force (:class:`~giamsat.aggregator.compliance.Scope`).
    """
    if area == "all":
        join = ""
    elif parse_zone_id(area) is not None:
        join = (
            "JOIN declaration_cells a ON a.h3 = r.h3"
            " AND a.declaration = %(zone_sha)s AND a.zone = %(zone)s"
        )
    elif _is_cell(area):
        join = "JOIN (SELECT %(area)s::text AS h3) a ON a.h3 = r.h3"
    else:
        join = "JOIN area_cells a ON a.h3 = r.h3 AND a.area_id = %(area)s"
    scope = (
        "dd.sha256 IS NOT NULL AND dc.h3 IS NULL"
        if outside
        else "(dd.sha256 IS NULL OR dc.h3 IS NOT NULL)"
    )
    where = (
        "WHERE r.op = %(op)s AND r.tech = ANY(%(techs)s) "
        f"AND r.hour >= %(start)s AND r.hour < %(end)s AND {scope}"
    )
    return join + _DECLARED, where


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
    Only rows the verdict counts: inside the operator's declared service
    area on each row's day (see :func:`scope_for` for the rest).
    """
    params = _params(conn, standard, operator, area, period)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = {
            (r["day"], *(r[c] for c in _GROUP)): r
            for r in cur.execute(_scalar_query(area), params).fetchall()
        }
        empty = Rollup(hour=params["start"], h3="", op="", tech="", probe="", env="").as_row()
        lengths = {c: len(empty[c]) for c in _HISTS}
        for row in rows.values():
            for c in _HISTS:
                row[c] = [0] * lengths[c]
        for h in cur.execute(_histogram_query(area), params).fetchall():
            rows[(h["day"], *(h[c] for c in _GROUP))][h["col"]][h["i"] - 1] = int(h["n"])
    return list(_as_rollups(rows.values(), area))


def _params(
    conn: psycopg.Connection, standard: Standard, operator: str, area: str, period: Period
) -> dict[str, Any]:
    start, end = period_bounds(period)
    zone = zone_area(conn, area)
    return {
        "zone_sha": None if zone is None else zone.sha256,
        "zone": None if zone is None else zone.zone.index,
        "op": operator,
        "techs": [*standard.record_techs, NO_TECH],
        "technology": standard.technology,
        "start": start,
        "end": end,
        "area": area,
    }


def scope_for(
    conn: psycopg.Connection, standard: Standard, operator: str, area: str, period: Period
) -> Scope:
    """What :func:`rollups_for` counted: the declarations in force and the samples left out."""
    join, where = _where(area, outside=True)
    params = _params(conn, standard, operator, area, period)
    row = conn.execute(
        f"SELECT coalesce(sum(r.records), 0) FROM rollups r {join} {where}", params
    ).fetchone()
    declared = declarations_between(
        conn, [operator], standard.technology, period.start, period.end
    ).get(operator, [])
    return scope_of(declared, period, int(row[0]) if row else 0)


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
