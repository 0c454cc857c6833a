"""Recount benchmark: bringing the Vdmin counts up to date after a new declaration.

Run from the project root:
    .venv/bin/python bench/recount.py [--records 4200000]

One run, on this machine, with a private PostgreSQL 15 + TimescaleDB in a
temporary directory under /tmp (stopped and removed at the end, also on error):

1. ``--records`` records of one month (default 4.2 M, a month of the 50 M
   records a year of ``bench/query.py``'s national fleet) are written by SQL:
   three operators' 4G probes, one record every 15 minutes, at cells of a
   box inside Nghệ An, each with a realistic raw payload (~700 bytes of JSON;
   the recount reads the download from it, as the probe signed it), and their
   hourly rollups.
2. Each operator imports a declaration of that box in two zones, the west
   with Vdmin 2.5 Mbit/s and the east with 256 kbit/s (timed).
3. Timed: ``giamsat coverage recount`` for the three operators (every record
   counted against its zone's Vdmin, every rollup row updated), and again
   when nothing changed. Reference, in the same run, what any recount must at
   least do: one GROUP BY of the same records by rollup key counting
   downloads at or above 2.5 Mbit/s, plus rewriting every rollup row once
   (an UPDATE of ``updated_at``, rolled back).
4. Checked: the recount's counts of 50 random rollup rows equal a count in
   Python of their records.

Exit status 1 if a check fails or the recount takes more than twice the
reference.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import h3
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from demo.services import Postgres  # noqa: E402
from giamsat.aggregator.aggregates.histogram import FIELD_EDGES  # noqa: E402
from giamsat.aggregator.aggregates.rollup import COUNT_HISTS  # noqa: E402
from giamsat.aggregator.store import db, declarations  # noqa: E402

OPERATORS = {"Viettel": 4, "VinaPhone": 2, "MobiFone": 1}
MONTH_START = datetime(2025, 11, 30, 17, tzinfo=UTC)  # 1 December 2025, local midnight
DAYS = 31
PER_DAY = 96  # one record every 15 minutes
WEST, EAST = (104.8, 105.2), (105.2, 105.6)  # longitudes of the two zones
LATS = (18.6, 19.4)
TARGET_RATIO = 2.0


def _ring(lons: tuple[float, float]) -> list[list[float]]:
    (w, e), (s, n) = lons, LATS
    return [[w, s], [e, s], [e, n], [w, n], [w, s]]


def _declaration(directory: Path, operator: str) -> Path:
    features = [
        {"type": "Feature", "properties": {"name": name, "operator": operator, "vdmin": vdmin},
         "geometry": {"type": "Polygon", "coordinates": [_ring(lons)]}}
        for name, lons, vdmin in (("Tây", WEST, "2.5"), ("Đông", EAST, "0.256"))
    ]  # fmt: skip
    path = directory / f"{operator}-4g.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


_RAW = """json_build_object(
    'v', 1, 'id', x.id, 't', to_char(x.t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    'probe', p.probe,
    'loc', json_build_object('lat', p.lat, 'lon', p.lon, 'acc_m', 8, 'src', 'gps',
                             'env', 'outdoor_fixed'),
    'net', json_build_object('service', true, 'mcc', 452, 'mnc', p.mnc, 'tech', 'LTE',
                             'op', p.op, 'sim_op', p.op),
    'sig', json_build_object('rsrp_dbm', -95, 'rsrq_db', -10.5, 'sinr_db', 12.5, 'pci', 101,
                             'earfcn', 1650, 'band', 3, 'cell_id', 123456),
    'lat', json_build_object('rtt_ms_p50', 35.5, 'jitter_ms', 2.1, 'loss_pct', 0, 'n', 10),
    'dl', json_build_object('mbps', x.dl, 'bytes', 12345678, 'dur_s', 4.2, 'streams', 4,
                            'server', 'speed.giamsat.vn', 'stop', 'max_s',
                            'outcome', 'completed'),
    'ul', json_build_object('mbps', 3.25, 'bytes', 2345678, 'dur_s', 4.1, 'streams', 4,
                            'server', 'speed.giamsat.vn', 'stop', 'max_s',
                            'outcome', 'completed'),
    'access', json_build_object('ok', true, 'dur_s', 0.8),
    'agent', json_build_object('version', '0.9.0', 'budget_mb', 1500),
    'sig_ed25519', repeat('A', 86) || '=='
)::text"""


def generate(conn: psycopg.Connection, probes: int) -> int:
    """Records and their hourly rollups; returns the records written."""
    rng = random.Random(7)
    rows = []
    for op, mnc in OPERATORS.items():
        for i in range(probes // len(OPERATORS)):
            lat, lon = rng.uniform(*LATS), rng.uniform(WEST[0], EAST[1])
            cell = h3.latlng_to_cell(lat, lon, 8)
            lat, lon = h3.cell_to_latlng(cell)
            rows.append((f"{op.lower()}-{i:04d}", op, mnc, lat, lon, cell))
    probe, op, mnc, lat, lon, cell = (list(c) for c in zip(*rows, strict=True))
    for day in range(DAYS):  # a day at a time: one statement's memory stays small
        conn.execute(
            f"""
INSERT INTO records (t, id, probe, lat, lon, h3, env, service, mcc, mnc, tech, op, dl_mbps, raw)
SELECT x.t, x.id, p.probe, p.lat, p.lon, p.h3, 'outdoor_fixed', true, 452, p.mnc, 'LTE', p.op,
       x.dl::real, {_RAW}
FROM (
    SELECT p.*, gen_random_uuid() AS id, round((random() * 8)::numeric, 3)::float8 AS dl,
           %(start)s::timestamptz + (%(day)s * %(per_day)s + s.i) * interval '15 minutes' AS t
    FROM unnest(%(probe)s::text[], %(op)s::text[], %(mnc)s::int[], %(lat)s::float8[],
                %(lon)s::float8[], %(h3)s::text[]) AS p(probe, op, mnc, lat, lon, h3)
    CROSS JOIN generate_series(0, %(per_day)s - 1) AS s(i)
) x
CROSS JOIN LATERAL (SELECT x.probe, x.op, x.mnc, x.lat, x.lon, x.h3) p
""",
            {"probe": probe, "op": op, "mnc": mnc, "lat": lat, "lon": lon, "h3": cell,
             "per_day": PER_DAY, "start": MONTH_START, "day": day},
        )  # fmt: skip
    bins = dict(COUNT_HISTS) | {f"{n}_hist": len(e) + 1 for n, e in FIELD_EDGES.items()}
    hists = ", ".join(bins)
    zeros = ", ".join(f"array_fill(0, ARRAY[{b}])" for b in bins.values())
    conn.execute(
        f"INSERT INTO rollups (hour, h3, op, tech, probe, env, records, dl_mbps_n, {hists})"
        f" SELECT date_trunc('hour', t), h3, op, tech, probe, env, count(*), count(dl_mbps),"
        f" {zeros} FROM records GROUP BY 1, 2, 3, 4, 5, 6"
    )
    conn.execute("VACUUM ANALYZE records")
    conn.execute("VACUUM ANALYZE rollups")
    (n,) = conn.execute("SELECT count(*) FROM records").fetchone() or (0,)
    return int(n)


REFERENCE = """
SELECT sum(n) FROM (
    SELECT date_trunc('hour', t), h3, op, tech, probe, env, count(*) FILTER (WHERE dl_mbps >= 2.5) n
    FROM records GROUP BY 1, 2, 3, 4, 5, 6
) x
"""


def check(conn: psycopg.Connection) -> list[str]:
    """Recounted rows against a Python count of their records."""
    problems = []
    keys = conn.execute(
        "SELECT hour, h3, op, tech, probe, env, dl_vdmin_n, dl_vdmin_met FROM rollups"
        " ORDER BY random() LIMIT 50"
    ).fetchall()
    for *key, n, met in keys:
        hour, cell, _, _, probe, _ = key
        vdmin = 2.5 if h3.cell_to_latlng(cell)[1] < WEST[1] else 0.256
        downloads = [
            json.loads(raw)["dl"]["mbps"]
            for (raw,) in conn.execute(
                "SELECT raw FROM records WHERE probe = %s AND date_trunc('hour', t) = %s",
                (probe, hour),
            )
        ]
        expected = (len(downloads), sum(d >= vdmin for d in downloads))
        if (n, met) != expected:
            problems.append(f"{probe} {hour}: stored {(n, met)}, records give {expected}")
    return problems


def run(dsn: str, records: int, directory: Path) -> int:
    probes = max(len(OPERATORS), round(records / (DAYS * PER_DAY)))
    with psycopg.connect(dsn, autocommit=True) as conn:
        db.migrate(conn)
        began = time.perf_counter()
        written = generate(conn, probes)
        print(f"generated {written:,} records of {probes} probes in"
              f" {time.perf_counter() - began:.0f} s")  # fmt: skip
        began = time.perf_counter()
        for operator in OPERATORS:
            declarations.import_declaration(
                conn, _declaration(directory, operator), operator=operator, technology="4G",
                valid_from=date(2025, 1, 1),
            )  # fmt: skip
        imported = time.perf_counter() - began

        began = time.perf_counter()
        conn.execute(REFERENCE).fetchone()
        scan = time.perf_counter() - began
        began = time.perf_counter()
        with conn.transaction(force_rollback=True):
            conn.execute("UPDATE rollups SET updated_at = now()")
        rewrite = time.perf_counter() - began
        reference = scan + rewrite
        began = time.perf_counter()
        changed = declarations.recount(conn)
        recount = time.perf_counter() - began
        began = time.perf_counter()
        again = declarations.recount(conn)
        idle = time.perf_counter() - began
        problems = check(conn)
    ratio = recount / reference
    box = {"type": "Polygon", "coordinates": [_ring((WEST[0], EAST[1]))]}
    cells = len(h3.geo_to_cells(box, 8))
    print(f"import of 3 declarations (2 zones, {cells:,} cells each): {imported:.1f} s")
    print(f"reference: GROUP BY of {written:,} records by rollup key {scan:.1f} s + rewriting"
          f" every rollup row {rewrite:.1f} s = {reference:.1f} s")  # fmt: skip
    print(f"recount: {recount:.1f} s ({written / recount:,.0f} records/s), {changed:,} rollup rows"
          f" changed; {ratio:.2f} x reference (target <= {TARGET_RATIO:g})")  # fmt: skip
    print(f"recount with nothing to change: {idle:.1f} s, {again} rows changed")
    for problem in problems:
        print(f"CHECK FAILED: {problem}", file=sys.stderr)
    ok = not problems and again == 0 and changed > 0 and ratio <= TARGET_RATIO
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=4_200_000)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the cluster is removed
    directory = Path(tempfile.mkdtemp(prefix="giamsat-bench-recount-", dir="/tmp"))
    directory.chmod(0o755)
    server = Postgres(directory)
    try:
        server.start()
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            settings = {"shared_buffers": "2GB", "work_mem": "256MB", "max_wal_size": "4GB",
                        "synchronous_commit": "off"}  # fmt: skip
            for name, value in settings.items():
                conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        server.restart()
        return run(server.dsn, args.records, directory)
    finally:
        server.stop(mode="immediate")
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
