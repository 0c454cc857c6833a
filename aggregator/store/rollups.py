"""Hourly rollups in the database: a batch's rollups added to the stored ones.

A batch's rollups are COPY'd into a temporary table, then one INSERT ... ON
CONFLICT adds them to the stored rows, column by column, histograms bin by
bin. The rollup itself (what a sample adds) is
:mod:`giamsat.aggregator.aggregates.rollup`; this module only stores it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg

from giamsat.aggregator.aggregates.histogram import FIELD_EDGES
from giamsat.aggregator.aggregates.rollup import COLUMNS as ROLLUP_COLUMNS
from giamsat.aggregator.aggregates.rollup import COUNT_HISTS, KEY_COLUMNS, Rollup, build_rollups
from giamsat.aggregator.aggregates.samples import Sample
from giamsat.aggregator.store.declarations import with_vdmin

_KEY = ", ".join(KEY_COLUMNS)
_ROLLUP_COLUMNS = ", ".join(ROLLUP_COLUMNS)
# Histogram columns and their number of bins.
_BINS = dict(COUNT_HISTS) | {f"{name}_hist": len(edges) + 1 for name, edges in FIELD_EDGES.items()}


def _add_bins(column: str) -> str:
    """The stored histogram plus the incoming one, bin by bin, as a plain SQL expression.

    PostgreSQL has no element-wise array addition. Spelled out per bin it
    costs about a fifth of giamsat_add (unnest and array_agg, ~150 µs a
    histogram here), and an upsert adds six histograms for each probe in a batch.
    """
    return (
        "ARRAY["
        + ", ".join(
            f"rollups.{column}[{i}] + EXCLUDED.{column}[{i}]" for i in range(1, _BINS[column] + 1)
        )
        + "]"
    )


_ON_CONFLICT = f"ON CONFLICT ({_KEY}) DO UPDATE SET updated_at = now(), " + ", ".join(
    f"{c} = {_add_bins(c)}" if c in _BINS else f"{c} = rollups.{c} + EXCLUDED.{c}"
    for c in ROLLUP_COLUMNS
    if c not in KEY_COLUMNS
)
# One rollup row per execution: for callers adding a few rows (tests build fixtures so).
UPSERT_ONE = (
    f"INSERT INTO rollups ({_ROLLUP_COLUMNS}) "
    f"VALUES ({', '.join(['%s'] * len(ROLLUP_COLUMNS))}) {_ON_CONFLICT}"
)
# A batch's rollups, staged by COPY: one statement, rows locked in key order, so
# concurrent workers cannot deadlock on them.
_UPSERT_STAGED = (
    f"INSERT INTO rollups ({_ROLLUP_COLUMNS}) "
    f"SELECT {_ROLLUP_COLUMNS} FROM incoming_rollups ORDER BY {_KEY} {_ON_CONFLICT}"
)


def _last_seen(
    cur: psycopg.Cursor, samples: list[Sample], exclude: list[str]
) -> dict[tuple[str, str], datetime]:
    """Each (probe, operator)'s latest stored sample before its first one in this batch."""
    first: dict[tuple[str, str], datetime] = {}
    for s in samples:
        key = (s.probe, s.op)
        if key not in first or s.t < first[key]:
            first[key] = s.t
    if not first:
        return {}
    probes_, ops, times = zip(*[(p, o, t) for (p, o), t in first.items()], strict=True)
    # One index probe per device (records_probe_t), not a scan of its last day.
    cur.execute(
        "SELECT b.probe, b.op, last.t "
        "FROM unnest(%s::text[], %s::text[], %s::timestamptz[]) AS b(probe, op, first_t) "
        "CROSS JOIN LATERAL (SELECT r.t FROM records r "
        "WHERE r.probe = b.probe AND r.op = b.op AND r.t < b.first_t "
        "AND r.t > b.first_t - %s::interval AND r.id <> ALL(%s::uuid[]) "
        "ORDER BY r.t DESC LIMIT 1) AS last",
        (list(probes_), list(ops), list(times), timedelta(days=1), exclude),
    )
    return {(p, o): t for p, o, t in cur.fetchall()}


def _copy_value(value: Any) -> Any:
    """A histogram as PostgreSQL's array text: psycopg's list dumper costs far more."""
    return "{" + ",".join(map(str, value)) + "}" if isinstance(value, list) else value


def upsert_rollups(cur: psycopg.Cursor, rollups: Sequence[Rollup]) -> None:
    """Add rollups with distinct keys (as build_rollups makes them) to the stored ones.

    Runs inside the caller's transaction; every column adds element-wise.
    """
    cur.execute(
        "CREATE TEMP TABLE IF NOT EXISTS incoming_rollups (LIKE rollups INCLUDING DEFAULTS) "
        "ON COMMIT DELETE ROWS"
    )
    with cur.copy(f"COPY incoming_rollups ({_ROLLUP_COLUMNS}) FROM STDIN") as copy:
        for rollup in rollups:
            row = rollup.as_row()
            copy.write_row([_copy_value(row[c]) for c in ROLLUP_COLUMNS])
    cur.execute(_UPSERT_STAGED)


def add_records(cur: psycopg.Cursor, rows: list[dict[str, Any]]) -> None:
    """Add newly stored records (their column dicts) to the hourly rollups."""
    samples = [Sample.from_dict(r) for r in rows if r["h3"] is not None]
    if samples:
        samples = with_vdmin(cur, samples)
        # The batch's rows with a cell are at or after their device's first sample;
        # only those without one could pass for an earlier stored sample.
        unplaced = [r["id"] for r in rows if r["h3"] is None]
        last = _last_seen(cur, samples, unplaced)
        upsert_rollups(cur, build_rollups(samples, last))
