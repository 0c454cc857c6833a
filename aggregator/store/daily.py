"""Daily rollups: hourly rollups summed per local day, kept up to date incrementally.

The compliance engine clusters samples by probe-day, so a verdict over a month
or a year needs nothing finer than a day; reading ``rollups_daily`` instead of
``rollups`` divides the rows by up to 24 (see migration 007 for the layout,
where histograms are stored as counts at or above each bin).

:func:`refresh_daily` rebuilds exactly the daily rows whose hourly rows changed
since the last refresh, found through ``rollups.updated_at``: a record that
arrives late, days after its hour, changes its hourly row's ``updated_at`` and
so its day is rebuilt on the next refresh. Readers never depend on the refresh
having run: :mod:`giamsat.aggregator.compliance.national` reads hourly rows for whatever changed
since the watermark, so a refresh only makes queries faster, never different,
not even in the last bit: the hourly sums hold values on a binary grid
(:func:`giamsat.aggregator.aggregates.rollup.on_grid`), so a day's sum is
exact whether numpy adds them here or the database adds them in a query, in
whatever order its rows come. Migration 008 put the sums stored before then
on that grid and reset the watermark, so the first refresh after it rebuilds
every daily row.
"""

from __future__ import annotations

import math
import struct
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
import psycopg

from giamsat.aggregator.aggregates.histogram import FIELD_EDGES, FIELDS
from giamsat.aggregator.aggregates.rollup import COLUMNS, COUNT_HISTS, COUNTER_COLUMNS
from giamsat.contract.timezone import VIETNAM_TZ, VIETNAM_TZ_NAME

KEYS = ("h3", "op", "tech", "probe", "env")
HISTS = tuple(c for c in COLUMNS if c.endswith("_hist"))
SCALARS = tuple(c for c in COLUMNS if c not in ("hour", *KEYS, *HISTS))


def atleast_column(hist: str) -> str:
    """The ``rollups_daily`` column holding the cumulative form of hourly column ``hist``."""
    return hist.removesuffix("_hist") + "_atleast"


def hist_lengths() -> dict[str, int]:
    """Bins per histogram column: one more than its edges (see compliance/histogram.py)."""
    bins = {**COUNT_HISTS, **{f"{f}_hist": len(FIELD_EDGES[f]) + 1 for f in FIELDS}}
    return {c: bins[c] for c in HISTS}


# --- PostgreSQL binary COPY as numpy arrays ------------------------------------------------
#
# Every column read or written this way is NOT NULL and fixed-width (int4, int8,
# float8, or an int4[] of known length), so each tuple of the binary COPY format
# has one layout: a field count, then per field a length and a big-endian value
# (an array: ndim, flags, element type, length, lower bound, then length and
# value per element). numpy views a whole COPY at once through that layout.

COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_INT4_OID = 23
Field = tuple[str, str | int]  # (name, ">i4" | ">i8" | ">f8" | number of int4 array elements)


def _layout(fields: list[Field]) -> tuple[np.dtype, dict[str, int]]:
    parts: list[tuple[Any, ...]] = [("nfields", ">i2")]
    sizes = {}
    for name, kind in fields:
        parts.append((f"{name}__len", ">i4"))
        if isinstance(kind, int):
            parts.append((f"{name}__hdr", ">i4", (5,)))
            parts.append((name, [("len", ">i4"), ("v", ">i4")], (kind,)))
            sizes[name] = 20 + 8 * kind
        else:
            parts.append((name, kind))
            sizes[name] = np.dtype(kind).itemsize
    return np.dtype(parts), sizes


def copy_out(
    conn: psycopg.Connection, sql: str, params: dict[str, Any], fields: list[Field]
) -> np.ndarray:
    """Rows of ``sql`` (whose columns are ``fields``) as a numpy record array."""
    layout, sizes = _layout(fields)
    data = bytearray()
    with conn.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT BINARY)", params) as copy:
        for chunk in copy:
            data += chunk
    if not data.startswith(COPY_SIGNATURE):
        raise RuntimeError("unexpected COPY output (not PostgreSQL binary format)")
    start = 19 + int.from_bytes(data[15:19], "big")
    rows = np.frombuffer(memoryview(data)[start : len(data) - 2], dtype=layout)  # -1 trailer
    ok = bool(np.all(rows["nfields"] == len(fields)))
    for name, kind in fields:
        ok = ok and bool(np.all(rows[f"{name}__len"] == sizes[name]))
        if isinstance(kind, int) and len(rows):
            ok = ok and bool(np.all(rows[f"{name}__hdr"] == [1, 0, _INT4_OID, kind, 1]))
            ok = ok and bool(np.all(rows[name]["len"] == 4))
    if not ok:
        raise RuntimeError("unexpected COPY row layout (a NULL or a changed column type)")
    return rows


_FLOAT8_OID = 701
_ELEMENTS = {_INT4_OID: np.dtype([("len", ">i4"), ("v", ">i4")]),
             _FLOAT8_OID: np.dtype([("len", ">i4"), ("v", ">f8")])}  # fmt: skip


def _array(field: memoryview) -> np.ndarray:
    """One binary int4[] or float8[] value without NULLs, as an ndarray of its shape."""
    ndim, has_null, oid = struct.unpack_from(">iii", field)
    if ndim == 0:
        return np.empty(0)
    if has_null or oid not in _ELEMENTS:
        raise RuntimeError("unexpected array in COPY output (a NULL or another element type)")
    shape = struct.unpack_from(f">{2 * ndim}i", field, 12)[::2]
    cells = np.frombuffer(field, dtype=_ELEMENTS[oid], offset=12 + 8 * ndim)
    if cells.size != math.prod(shape) or np.any(cells["len"] != cells.dtype["v"].itemsize):
        raise RuntimeError("unexpected array layout in COPY output")
    return cells["v"].astype(cells.dtype["v"].newbyteorder("=")).reshape(shape)


def copy_rows(
    conn: psycopg.Connection, sql: str, params: dict[str, Any]
) -> list[tuple[int | np.ndarray, ...]]:
    """Rows of ``sql`` whose columns are each int4, or an int4[] or float8[] of any shape.

    For the few rows of large arrays that a query aggregates with ``array_agg``:
    one COPY message per row instead of one per aggregated row, which is what
    a client pays for most.
    """
    data = bytearray()
    with conn.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT BINARY)", params) as copy:
        for chunk in copy:
            data += chunk
    if not data.startswith(COPY_SIGNATURE):
        raise RuntimeError("unexpected COPY output (not PostgreSQL binary format)")
    view = memoryview(data)
    at = 19 + int.from_bytes(data[15:19], "big")
    rows: list[tuple[int | np.ndarray, ...]] = []
    while (count := struct.unpack_from(">h", view, at)[0]) != -1:
        at += 2
        row: list[int | np.ndarray] = []
        for _ in range(count):
            size = struct.unpack_from(">i", view, at)[0]
            if size < 0:
                raise RuntimeError("unexpected NULL in COPY output")
            field = view[at + 4 : at + 4 + size]
            row.append(struct.unpack(">i", field)[0] if size == 4 else _array(field))
            at += 4 + size
        rows.append(tuple(row))
    return rows


def _int4_arrays(values: np.ndarray) -> np.ndarray:
    """Binary COPY fields of int4[] rows: length, header and (4, value) per element."""
    n, bins = values.shape
    out = np.empty((n, 6 + 2 * bins), dtype=">i4")
    out[:, 0] = 20 + 8 * bins
    out[:, 1:6] = [1, 0, _INT4_OID, bins, 1]
    out[:, 6::2] = 4
    out[:, 7::2] = values
    return out


# --- the refresh ------------------------------------------------------------------------------

_HOURLY_FIELDS: list[Field] = [
    ("key", ">i4"),
    ("hour", ">i8"),
    *(
        (c, ">i4" if c in COUNTER_COLUMNS else ">i8" if c.endswith("_n") else ">f8")
        for c in SCALARS
    ),
    *((c, n) for c, n in hist_lengths().items()),
]
_EPOCH_2000 = date(2000, 1, 1).toordinal()


def _hourly_sql() -> str:
    columns = ", ".join(
        f"r.{c}::int" if c in COUNTER_COLUMNS else f"r.{c}" for c, _ in _HOURLY_FIELDS[2:]
    )
    match = " AND ".join(f"r.{k} = c.{k}" for k in KEYS)
    return (
        f"SELECT c.key, extract(epoch FROM r.hour)::int8, {columns} "
        f"FROM giamsat_daily_changed c JOIN rollups r ON {match} "
        "WHERE c.day = %(day)s AND r.hour >= %(start)s AND r.hour < %(end)s"
    )


def _daily_copy(day: date, keys: dict[int, tuple[str, ...]], hourly: np.ndarray) -> bytes:
    """Binary COPY of the daily rows: each key's hourly rows summed, histograms cumulated.

    Rows are grouped by key (in hour order within a key). The hourly sums are
    on the grid of :func:`~giamsat.aggregator.aggregates.rollup.on_grid`, so
    their sums here are exact and do not depend on the order of the hours or
    on how ``np.add.reduceat`` pairs them.
    """
    hourly = hourly[np.lexsort((hourly["hour"], hourly["key"]))]
    ids = hourly["key"]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    fixed: list[np.ndarray] = []
    for column, kind in _HOURLY_FIELDS[2:]:
        if isinstance(kind, int):
            summed = np.add.reduceat(hourly[column]["v"].astype(np.int64), starts, axis=0)
            fixed.append(_int4_arrays(np.cumsum(summed[:, ::-1], axis=1)[:, ::-1]).view(np.uint8))
            continue
        summed = np.add.reduceat(hourly[column].astype(kind[1:]), starts)
        part = np.empty(len(starts), dtype=[("len", ">i4"), ("v", kind)])
        part["len"], part["v"] = np.dtype(kind).itemsize, summed
        fixed.append(part.view(np.uint8).reshape(len(starts), -1))
    tails = np.hstack(fixed)
    head = struct.pack(">hii", len(_HOURLY_FIELDS) + 4, 4, day.toordinal() - _EPOCH_2000)
    out = [COPY_SIGNATURE + b"\x00" * 8]
    for key_id, tail in zip(ids[starts], tails, strict=True):
        texts = b"".join(struct.pack(">i", len(b)) + b for b in (t.encode() for t in keys[key_id]))
        out.append(head + texts + tail.tobytes())
    out.append(b"\xff\xff")
    return b"".join(out)


_CHANGED_TABLE = """
CREATE TEMP TABLE IF NOT EXISTS giamsat_daily_changed
(key int, day date, h3 text, op text, tech text, probe text, env text) ON COMMIT DELETE ROWS
"""
_CHANGED = f"""
INSERT INTO giamsat_daily_changed
SELECT row_number() OVER () - 1, * FROM (
    SELECT DISTINCT (hour AT TIME ZONE '{VIETNAM_TZ_NAME}')::date, {", ".join(KEYS)}
    FROM rollups WHERE updated_at >= %(mark)s::timestamptz
) changed
"""
# Rows written by a transaction still open now carry its start time, which is at
# or after the oldest open transaction's start: the next refresh picks them up.
_NEXT_MARK = """
SELECT least(now(), min(xact_start)) FROM pg_stat_activity
WHERE pid <> pg_backend_pid() AND backend_type = 'client backend' AND xact_start IS NOT NULL
"""
_DELETE = f"""
DELETE FROM rollups_daily d USING giamsat_daily_changed c
WHERE c.day = %(day)s AND d.day = %(day)s AND {" AND ".join(f"d.{k} = c.{k}" for k in KEYS)}
"""


_COPY_IN = (
    f"COPY rollups_daily (day, {', '.join(KEYS)}, "
    + ", ".join(atleast_column(c) if c.endswith("_hist") else c for c, _ in _HOURLY_FIELDS[2:])
    + ") FROM STDIN (FORMAT BINARY)"
)


def watermark(conn: psycopg.Connection) -> str:
    """Hourly rows changed at or after this instant are not in ``rollups_daily`` yet.

    Returned as text ("-infinity" before the first refresh) and passed back
    as a literal, so the planner sees the value and reads the few changed
    rows through the ``updated_at`` index instead of scanning ``rollups``.
    """
    row = conn.execute("SELECT watermark::text FROM daily_refresh").fetchone()
    if row is None:
        raise RuntimeError("daily_refresh has no row: run the migrations (giamsat db init)")
    return str(row[0])


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """UTC instants of the local day's first hour and of the next day's."""
    start = datetime.combine(day, time(0), VIETNAM_TZ)
    return start, start + timedelta(days=1)


def refresh_daily(conn: psycopg.Connection) -> int:
    """Bring ``rollups_daily`` up to date with ``rollups``; returns the daily rows rewritten.

    Cheap when nothing changed (one index probe), proportional to the hourly
    rows of the changed (day, cell, operator, technology, probe, environment)
    keys otherwise. Concurrent refreshes queue on the watermark row rather
    than doing the same work twice. Run it every minute or so (``giamsat
    serve`` does); the first run after migration 007 builds the whole table.
    The role running it must see the other sessions' ``xact_start`` in
    ``pg_stat_activity`` (the same role as ingest, or ``pg_read_all_stats``).
    """
    written = 0
    with conn.transaction(), conn.cursor() as cur:
        if cur.execute("SELECT 1 FROM daily_refresh FOR UPDATE").fetchone() is None:
            raise RuntimeError("daily_refresh has no row: run the migrations (giamsat db init)")
        next_mark = cur.execute(_NEXT_MARK).fetchone()[0]  # type: ignore[index]
        cur.execute(_CHANGED_TABLE)
        cur.execute(_CHANGED, {"mark": watermark(conn)})
        cur.execute("ANALYZE giamsat_daily_changed")
        days = [
            r[0] for r in cur.execute("SELECT DISTINCT day FROM giamsat_daily_changed ORDER BY day")
        ]
        hourly_sql = _hourly_sql()
        for day in days:
            start, end = day_bounds(day)
            params = {"day": day, "start": start, "end": end}
            keys = {
                row[0]: row[1:]
                for row in cur.execute(
                    f"SELECT key, {', '.join(KEYS)} FROM giamsat_daily_changed WHERE day = %s",
                    (day,),
                )
            }
            hourly = copy_out(conn, hourly_sql, params, _HOURLY_FIELDS)
            cur.execute(_DELETE, params)
            if len(hourly):
                with cur.copy(_COPY_IN) as copy:
                    copy.write(_daily_copy(day, keys, hourly))
                written += len(np.unique(hourly["key"]))
        cur.execute("UPDATE daily_refresh SET watermark = %s, refreshed_at = now()", (next_mark,))
    return written
