"""Query benchmark: the country-wide compliance table and one province's H3 detail, national year.

Run from the project root:
    .venv/bin/python bench/query.py [--records 50000000] [--quick]

One run, on this machine, with a private PostgreSQL 15 + TimescaleDB in a
temporary directory under /tmp (stopped and removed at the end, also on error):

1. The 34 provincial units of 1 July 2025 (``config/areas``, the real
   boundaries, about 400,000 H3 cells) are synced as areas.
2. A national fleet is generated straight into the database by SQL: fixed
   probes (one operator each, at a random H3 cell of their province, 96
   records a day, 4G or 5G with LTE fallback, some in dead zones, 2 % of
   probe-days missing) and a few phones on routes, each probe-day at a quality
   level drawn from its province and operator, its site and that day, so
   clusters are correlated as in the field. A national year of hourly rollups
   is ~12 M rows of ~2 kB (~25 GB, and as long to write as this benchmark may
   run), so every month but the last goes straight into
   ``rollups_daily``, each probe-day summed from hourly templates as a refresh
   would; the last month goes into the hourly ``rollups`` (one pre-computed
   hourly rollup per probe-hour) and ``refresh_daily`` folds it in, timed.
3. A sample of raw records (one operator in one province for the last month,
   8 probes × 96 records a day, both technologies) goes through
   ``validate.check`` and ``store.write_batch`` like ingest; the synthetic
   fleet leaves that (province, operator, month) empty.
4. Timed (median of 5): the national table (3 operators × 2 standards × 34
   provinces) for the last month and for the whole span, cold (bootstrap
   memo cleared) and warm; one province's H3 detail (``hex_stats``) for the
   last month; an incremental refresh after one minute of national ingest
   plus a late hour. References measured in the same run: ``SELECT count(*)``
   over the daily table, and one province-month assessed the old way
   (``evaluate`` on ``rollups_for``'s rows from the hourly table).
5. Checked: for the sample, the national table equals ``evaluate`` on
   rollups built from the raw records (every KPI's verdict, samples, probe-days,
   value and interval); for three provinces it equals ``evaluate`` on the
   hourly rows. Exit status 1 if a check fails or the month's cold table
   takes 1 s or more.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import h3
import numpy as np
import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from shapely.geometry import shape
from shapely.ops import polylabel

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.support.truth: the known-truth generator

from demo.services import Postgres  # noqa: E402
from giamsat.aggregator.aggregates.rollup import COLUMNS  # noqa: E402
from giamsat.aggregator.aggregates.samples import NO_TECH  # noqa: E402
from giamsat.aggregator.compliance import (  # noqa: E402
    Period,
    Rollup,
    Sample,
    assess,
    build_rollups,
    evaluate,
    gaps,
    load_coverage,
    load_operators,
    load_standards,
    national,
)
from giamsat.aggregator.compliance.declared import within_declared  # noqa: E402
from giamsat.aggregator.http.web import queries  # noqa: E402
from giamsat.aggregator.ingest import validate  # noqa: E402
from giamsat.aggregator.settings import PROJECT_CONFIG  # noqa: E402
from giamsat.aggregator.store import areas, daily, db, declarations  # noqa: E402
from giamsat.aggregator.store import records as store  # noqa: E402
from giamsat.contract import record  # noqa: E402
from tests.support.truth import Truth, generate  # noqa: E402

OPERATORS = ("Viettel", "VinaPhone", "MobiFone")
MNC = {"Viettel": 4, "VinaPhone": 2, "MobiFone": 1}
PROVINCES = 34  # the provincial units since 1 July 2025, as shipped in config/areas
PHONES = 63
FIXED_PER_DAY = 96  # one record every 15 minutes
PHONE_HOURS = range(7, 19)  # local hours a phone measures, 4 records each
LEVELS, VARIANTS, DAY_VARIANTS = 24, 64, 16
# A fixed probe's day: (technology, hours) rows. 5G probes fall back to LTE a few
# hours a day; probes in dead zones have no service for some hours.
MIXES = {
    "nr": (("NR-NSA", 20), ("LTE", 4)),
    "lte": (("LTE", 24),),
    "dead": (("none", 7), ("LTE", 17)),
}
YEAR_END = date(2025, 12, 31)
# Nghệ An, one of the largest provinces (and unchanged in 2025): the sample's
# probes, 0.1° either side of its innermost point, stay inside it.
SAMPLE_ID, SAMPLE_OPERATOR = areas.province_id(40), "VinaPhone"
TARGET_S = 1.0


def real_provinces() -> dict[str, areas.Area]:
    """The shipped provincial units, in GSO order; the benchmark needs all of them."""
    found = {
        aid: area
        for aid, area in sorted(areas.load_areas(PROJECT_CONFIG / "areas").items())
        if area.level == "province"
    }
    if len(found) != PROVINCES:
        raise SystemExit(f"config/areas has {len(found)} provinces, not {PROVINCES}")
    return found


def declare(conn: psycopg.Connection, provinces: dict[str, areas.Area], directory: Path) -> int:
    """Every operator declares 4G in all provinces but a few, and 5G in a third of them.

    One zone per province, as the real units' polygons, with Vd/Vu/Vdmin: so
    some of every operator's samples fall outside its declared area, and the
    national table, its checks and the gaps all run on declared areas.
    Returns the declared cells stored.
    """
    cells = 0
    for o, operator in enumerate(OPERATORS):
        for technology in ("4G", "5G"):
            chosen = {
                i for i in range(len(provinces))
                if (i % 7 != o if technology == "4G" else i % 3 == o)
            }  # fmt: skip
            features = [
                {"type": "Feature", "geometry": area.geometry,
                 "properties": {"name": area.name, "vd": 16, "vu": 8, "vdmin": 2.5}}
                for i, area in enumerate(provinces.values()) if i in chosen
            ]  # fmt: skip
            path = directory / f"{operator}-{technology}.geojson"
            path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
            stored, _ = declarations.import_declaration(
                conn, path, operator=operator, technology=technology, valid_from=date(2025, 1, 1)
            )
            cells += stored.cells
    return cells


def sample_index(provinces: dict[str, areas.Area]) -> int:
    """The sample province's position: the SQL knows probes' provinces by position."""
    return list(provinces).index(SAMPLE_ID)


def centre(area: areas.Area) -> tuple[float, float]:
    """(lat, lon) of the point of the area's largest polygon furthest from its border."""
    geometry = shape(area.geometry)
    parts = getattr(geometry, "geoms", [geometry])
    largest = max(parts, key=lambda part: part.area)
    point = polylabel(largest, tolerance=0.001)
    return point.y, point.x


# --- the synthetic fleet -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Network:
    """Mean quality of one technology at quality multiplier m (1 = typical)."""

    dl: float
    ul: float
    rtt: float
    access: float
    rsrp: float


NETWORKS = {"NR-NSA": Network(150, 45, 32, 1.2, -98), "LTE": Network(38, 12, 45, 1.8, -102)}


def hourly_templates(rng: np.random.Generator) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """Hourly rollups of 4 records (one speed test) per technology and level, VARIANTS each."""
    hour = datetime(2025, 1, 1, tzinfo=UTC)
    found: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for tech, net in NETWORKS.items():
        for level in range(LEVELS):
            m = 0.55 + level / (LEVELS - 1)
            for _ in range(VARIANTS):
                rollup = Rollup(hour, "", "", tech, "", "")
                fail = 0.01 + 0.05 * max(0.0, 1.1 - m)
                for i in range(4):
                    ok = bool(rng.random() >= fail)
                    sample = Sample(
                        t=hour, probe="", op="", tech=tech, env="indoor", h3="", service=True,
                        dl_mbps=float(rng.gamma(4, net.dl * m / 4)) if i == 0 else None,
                        ul_mbps=float(rng.gamma(4, net.ul * m / 4)) if i == 0 else None,
                        rtt_ms=float(rng.gamma(8, net.rtt / m / 8)),
                        access_ok=ok,
                        access_s=float(rng.gamma(6, net.access / m / 6)) if ok else None,
                        rsrp_dbm=float(round(rng.normal(net.rsrp + 14 * (m - 1), 5), 1)),
                    )  # fmt: skip
                    rollup.add(sample, 900.0)
                found.setdefault((tech, level), []).append(rollup.as_row())
    dead = Rollup(hour, "", "", NO_TECH, "", "")
    for _ in range(4):
        dead.add(Sample(hour, "", "", NO_TECH, "indoor", "", False, access_ok=False), 900.0)
    found[NO_TECH, 0] = [dead.as_row()]
    return found


def day_templates(
    hourly: dict[tuple[str, int], list[dict[str, Any]]], rng: np.random.Generator
) -> list[list[Any]]:
    """Daily rows of ``hours`` hours drawn from the hourly templates, stored as rollups_daily is."""
    rows = []
    for (tech, level), choices in hourly.items():
        for hours in sorted({h for mix in MIXES.values() for t, h in mix if t == tech} | {1}):
            for variant in range(DAY_VARIANTS if tech != NO_TECH else 1):
                picked = [choices[i] for i in rng.integers(0, len(choices), hours)]
                values = []
                for column in VALUE_COLUMNS:
                    total = np.sum([r[column] for r in picked], axis=0)
                    if column.endswith("_hist"):
                        values.append(np.cumsum(total[::-1])[::-1].tolist())
                    else:
                        values.append(total.item())
                rows.append([tech, hours, level, variant, *values])
    return rows


VALUE_COLUMNS = [c for c in COLUMNS if c not in ("hour", "h3", "op", "tech", "probe", "env")]


def template_values(rollup: Rollup) -> list[Any]:
    row = rollup.as_row()
    return [row[c] for c in VALUE_COLUMNS]


@dataclasses.dataclass(frozen=True)
class Fleet:
    fixed: int
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def records(self) -> int:
        return (self.fixed * FIXED_PER_DAY * 49 // 50 + PHONES * 4 * len(PHONE_HOURS)) * self.days


def setup_fleet(conn: psycopg.Connection, fleet: Fleet, provinces: dict[str, areas.Area]) -> None:
    """Probes, phone routes, hourly and daily templates as bench tables."""
    rng = np.random.default_rng(20251231)
    ids = list(provinces)
    # A fixed probe stands at a random cell of its province, a phone's route starts at one.
    cells = {pid: sorted(area.cells()) for pid, area in provinces.items()}
    conn.execute(
        "CREATE TABLE bench_probes (no int PRIMARY KEY, probe text, h3 text, op text, env text,"
        " prov int, level int, nr bool, mix text, phone bool)"
    )
    conn.execute("CREATE TABLE bench_routes (no int, k int, h3 text, PRIMARY KEY (no, k))")
    conn.execute("CREATE TABLE bench_mix (mix text, tech text, hours int)")
    cols = ", ".join(f"{c} {'int[]' if c.endswith('_hist') else 'float8'}" for c in VALUE_COLUMNS)
    conn.execute(f"CREATE TABLE bench_templates (tech text, level int, variant int, {cols})")
    conn.execute(
        f"CREATE TABLE bench_day_templates (tech text, hours int, level int, variant int, {cols})"
    )
    base = rng.integers(2, LEVELS - 4, size=(PROVINCES, len(OPERATORS)))
    probes = []
    routes = []
    for no in range(fleet.fixed + PHONES):
        phone = no >= fleet.fixed
        prov = no % PROVINCES
        op_index = (no // PROVINCES) % len(OPERATORS)
        inside = cells[ids[prov]]
        site = inside[int(rng.integers(len(inside)))]
        env = "outdoor_mobile" if phone else ("indoor", "outdoor_fixed")[no % 2]
        level = int(np.clip(base[prov, op_index] + rng.integers(-3, 4), 0, LEVELS - 1))
        nr = bool(rng.random() < (0.5 if phone else 0.4))
        mix = "dead" if rng.random() < 0.05 and not phone else "nr" if nr else "lte"
        probes.append(
            (no, f"{'phone' if phone else 'pi'}-{no:05d}", site, OPERATORS[op_index], env, prov,
             level, nr, mix, phone)
        )  # fmt: skip
        if phone:
            routes += [(no, k, cell) for k, cell in enumerate(h3.grid_disk(site, 2)[:12])]
    hourly = hourly_templates(rng)
    with conn.cursor() as cur:
        with cur.copy("COPY bench_probes FROM STDIN") as copy:
            for row in probes:
                copy.write_row(row)
        with cur.copy("COPY bench_routes FROM STDIN") as copy:
            for row in routes:
                copy.write_row(row)
        with cur.copy("COPY bench_mix FROM STDIN") as copy:
            for mix, parts in MIXES.items():
                for tech, hours in parts:
                    copy.write_row((mix, tech, hours))
        with cur.copy("COPY bench_templates FROM STDIN") as copy:
            for (tech, level), rows in hourly.items():
                for variant, row in enumerate(rows):
                    copy.write_row([tech, level, variant, *(row[c] for c in VALUE_COLUMNS)])
        with cur.copy("COPY bench_day_templates FROM STDIN") as copy:
            for row in day_templates(hourly, rng):
                copy.write_row(row)
    conn.execute(
        "ANALYZE bench_probes, bench_routes, bench_mix, bench_templates, bench_day_templates"
    )


_DAY = "hashint8(p.no * 7919::bigint + {day}) & 2147483647"  # per probe-day: effect, outage
_LEVEL = f"greatest(0, least({LEVELS - 1}, p.level + (r.dh / 50) %% 5 - 2))"


def daily_sql() -> str:
    """Daily rows of one half of the fleet for a range of days, straight from day templates.

    The same hashes as :func:`generation_sql` decide each probe-day's level and
    whether the probe was down, so the daily rows are those a refresh of the
    generated hours would give, up to which hourly variants were drawn.
    """
    values = ", ".join(f"t.{c}" for c in VALUE_COLUMNS)
    targets = ", ".join(
        daily.atleast_column(c) if c.endswith("_hist") else c for c in VALUE_COLUMNS
    )
    day = _DAY.format(day="(g.d::date - date '1970-01-01')")
    return f"""
INSERT INTO rollups_daily (day, h3, op, tech, probe, env, {targets})
SELECT x.day, x.h3, p.op, x.tech, p.probe, p.env, {values}
FROM bench_probes p
CROSS JOIN generate_series(%(d0)s::date, %(d1)s::date - 1, interval '1 day') AS g(d)
CROSS JOIN LATERAL (SELECT {day} AS dh) r
CROSS JOIN LATERAL (
    SELECT k, h3 FROM bench_routes WHERE p.phone AND no = p.no
    UNION ALL SELECT 0, p.h3 WHERE NOT p.phone
) rt
JOIN bench_mix m ON m.mix = CASE WHEN p.phone THEN CASE WHEN p.nr THEN 'nr' ELSE 'lte' END
                                 ELSE p.mix END
 AND (NOT p.phone OR m.tech <> 'LTE' OR NOT p.nr)
CROSS JOIN LATERAL (
    SELECT g.d::date AS day, rt.h3, m.tech,
           CASE WHEN p.phone THEN 1 ELSE m.hours END AS hours,
           CASE WHEN m.tech = '{NO_TECH}' THEN 0 ELSE {_LEVEL} END AS level,
           CASE WHEN m.tech = '{NO_TECH}' THEN 0
                ELSE (r.dh + rt.k + m.hours) %% {DAY_VARIANTS} END AS variant
) x
JOIN bench_day_templates t
  ON (t.tech, t.hours, t.level, t.variant) = (x.tech, x.hours, x.level, x.variant)
WHERE p.no %% 2 = %(half)s AND r.dh %% 50 <> 0
"""


def generation_sql() -> str:
    """Hourly rollups of every probe of one half of the fleet for one time range.

    Per probe-hour a hash picks the technology (NR probes fall back to LTE 15 %
    of hours, dead-zone probes have no service 30 % of hours), the variant, and
    per probe-day the day effect (-2..+2 levels) and whether the probe was down.
    """
    values = ", ".join(f"t.{c}" for c in VALUE_COLUMNS)
    return f"""
INSERT INTO rollups (hour, h3, op, tech, probe, env, {", ".join(VALUE_COLUMNS)})
SELECT h.hour, coalesce(rt.h3, p.h3), p.op, x.tech, p.probe, p.env, {values}
FROM bench_probes p
CROSS JOIN generate_series(%(t0)s::timestamptz, %(t1)s::timestamptz - interval '1 hour',
                           interval '1 hour') AS h(hour)
CROSS JOIN LATERAL (
    SELECT hashint8(p.no * 1000003::bigint + extract(epoch FROM h.hour)::bigint / 3600)
               & 2147483647 AS hh,
           {_DAY.format(day="(extract(epoch FROM h.hour)::bigint + 25200) / 86400")} AS dh,
           extract(hour FROM h.hour AT TIME ZONE 'Asia/Ho_Chi_Minh')::int AS local_hour
) r
CROSS JOIN LATERAL (
    SELECT CASE WHEN p.mix = 'dead' AND r.hh %% 24 < 7 THEN '{NO_TECH}'
                WHEN p.nr AND (p.phone OR r.hh %% 24 < 20) THEN 'NR-NSA' ELSE 'LTE' END AS tech,
           {_LEVEL} AS level
) x
LEFT JOIN bench_routes rt ON p.phone AND rt.no = p.no AND rt.k = r.local_hour - {PHONE_HOURS[0]}
JOIN bench_templates t ON t.tech = x.tech
 AND t.level = CASE WHEN x.tech = '{NO_TECH}' THEN 0 ELSE x.level END
 AND t.variant = CASE WHEN x.tech = '{NO_TECH}' THEN 0 ELSE r.hh %% {VARIANTS} END
WHERE p.no %% 2 = %(half)s
  AND r.dh %% 50 <> 0
  AND (NOT p.phone OR r.local_hour BETWEEN {PHONE_HOURS[0]} AND {PHONE_HOURS[-1]})
  AND NOT (p.prov = %(sample_prov)s AND p.op = '{SAMPLE_OPERATOR}' AND h.hour >= %(sample)s)
"""


def in_halves(dsn: str, sql: str, params: dict[str, Any]) -> int:
    """Run a generation statement for both halves of the fleet at once (two cores)."""
    counts = [0, 0]
    errors: list[BaseException] = []

    def run(half: int) -> None:
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                cur = conn.execute(sql, {**params, "half": half})
                counts[half] = cur.rowcount
        except BaseException as exc:  # re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(half,)) for half in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return sum(counts)


# --- the raw sample ------------------------------------------------------------------------


def sample_samples(provinces: dict[str, areas.Area], month: Period) -> list[Sample]:
    """8 probes of the sample operator in the sample province, 96 records a day, 4G and 5G."""
    lat, lon = centre(provinces[SAMPLE_ID])
    found = []
    for i, (tech, dl, ul) in enumerate((("NR-NSA", 95.0, 38.0), ("LTE", 30.0, 9.0))):
        truth = Truth(
            operator=SAMPLE_OPERATOR, tech=tech, dl_mbps=dl, ul_mbps=ul, probes=4,
            days=month.end.toordinal() - month.start.toordinal() + 1, per_probe_day=96,
            interval_s=600.0, start=month.start, lat=lat - 0.1 + 0.2 * i, lon=lon,
            no_service=0.02, seed=11 + i,
        )  # fmt: skip
        found += [
            dataclasses.replace(s, probe=f"raw-{tech}-{s.probe[-3:]}") for s in generate(truth)
        ]
    return found


def _sig(sample: Sample) -> dict[str, float] | None:
    """The signal section as a modem reports it: an NR-NSA level is the NR leg's."""
    if sample.rsrp_dbm is None:
        return None
    if sample.tech == "NR-NSA":  # an LTE anchor plus the NR leg (sig.nr_*)
        return {"rsrp_dbm": -95.0, "nr_rsrp_dbm": sample.rsrp_dbm}
    return {"rsrp_dbm": sample.rsrp_dbm}


def store_raw(conn: psycopg.Connection, samples: list[Sample]) -> int:
    """Sign, validate and store the samples' records as ingest does."""
    keys = {p: Ed25519PrivateKey.generate() for p in {s.probe for s in samples}}
    registry = {p: validate.ProbeKey(k.public_key()) for p, k in keys.items()}
    now = datetime.now(UTC)
    accepted = []
    for s in samples:
        lat, lon = h3.cell_to_latlng(s.h3)
        rec = record.sign(
            record.build(
                s.probe,
                loc={"lat": lat, "lon": lon, "acc_m": 8, "src": "gps", "env": s.env},
                net={"service": s.service, "mcc": 452, "mnc": MNC[s.op],
                     "tech": None if s.tech == NO_TECH else s.tech,
                     "op": s.op if s.service else None, "sim_op": s.op},
                sig=_sig(s),
                lat=None if s.rtt_ms is None else {"rtt_ms_p50": s.rtt_ms, "n": 10},
                dl=None if s.dl_mbps is None else {"mbps": s.dl_mbps, "streams": 4},
                ul=None if s.ul_mbps is None else {"mbps": s.ul_mbps, "streams": 4},
                access=None if s.access_ok is None else {"ok": s.access_ok, "dur_s": s.access_s},
                when=s.t,
            ),
            keys[s.probe],
        )  # fmt: skip
        checked = validate.check(record.topic_for(s.probe), record.encode(rec), registry.get, now)
        if not isinstance(checked, validate.Accepted):
            raise RuntimeError(f"sample record rejected: {checked}")
        accepted.append(checked)
    stored = 0
    for i in range(0, len(accepted), 2000):
        stored += store.write_batch(conn, accepted[i : i + 2000], []).inserted
    return stored


# --- measuring ----------------------------------------------------------------------------


def median_of(fn: Callable[[], Any], runs: int, before: Callable[[], None] | None = None) -> float:
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def same_assessment(a: Any, b: Any) -> list[str]:
    """Differences between two assessments' KPIs (empty when they agree)."""
    problems = []
    for x, y in zip(a.kpis, b.kpis, strict=True):
        fields = ("verdict", "samples", "probe_days", "per_env", "close_samples", "grade")
        for f in fields:
            if getattr(x, f) != getattr(y, f):
                problems.append(
                    f"{a.area} {a.operator} {x.kpi_id}.{f}: {getattr(x, f)} != {getattr(y, f)}"
                )
        for f in ("value", "ci_low", "ci_high"):
            u, v = getattr(x, f), getattr(y, f)
            if (u is None) != (v is None) or (
                u is not None and not math.isclose(u, v, rel_tol=1e-9)
            ):
                problems.append(f"{a.area} {a.operator} {x.kpi_id}.{f}: {u} != {v}")
    return problems


def tune(server: Postgres) -> None:
    """Settings of a dedicated database host, not the test defaults (128 MB shared buffers)."""
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        for name, value in (("shared_buffers", "2GB"), ("work_mem", "256MB"),
                            ("maintenance_work_mem", "1GB"), ("max_wal_size", "4GB"),
                            ("checkpoint_timeout", "30min"), ("synchronous_commit", "off"),
                            ("effective_cache_size", "12GB")):  # fmt: skip
            conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
    server.restart()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=50_000_000)
    parser.add_argument("--quick", action="store_true", help="5 M records: the same fleet, 37 days")
    parser.add_argument(
        "--keep", action="store_true",
        help="leave the database running afterwards (its DSN is printed) to study queries",
    )  # fmt: skip
    args = parser.parse_args()
    days = 365
    if args.quick:
        args.records, days = 5_000_000, 37
    start = YEAR_END - timedelta(days=days - 1)
    per_probe_year = FIXED_PER_DAY * 49 // 50 * days
    fixed = max(
        PROVINCES * len(OPERATORS), round((args.records - PHONES * 48 * days) / per_probe_year)
    )
    fleet = Fleet(fixed, start, YEAR_END)
    need_gb = 1.5 + 6.5 * min(1.0, fleet.records / 50e6)  # 4.6 GB measured at 50 M
    free_gb = shutil.disk_usage("/tmp").free / 1e9
    print(f"disk: {free_gb:.0f} GB free under /tmp, this run needs ~{need_gb:.0f} GB")
    if free_gb < need_gb:
        print("not enough disk", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the cluster is removed
    directory = Path(tempfile.mkdtemp(prefix="giamsat-bench-query-", dir="/tmp"))
    directory.chmod(0o755)
    server = Postgres(directory)
    try:
        server.start()
        tune(server)
        return run(server.dsn, fleet, directory)
    finally:
        if args.keep:
            print(f"kept: {server.dsn} (data in {directory}; stop it with "
                  f"pg_ctl -D {server.data_dir} stop, as the postgres user)")  # fmt: skip
        else:
            server.stop(mode="immediate")
            shutil.rmtree(directory, ignore_errors=True)


def run(dsn: str, fleet: Fleet, directory: Path) -> int:
    standards = list(load_standards(PROJECT_CONFIG / "standards").values())
    operators_all = load_operators(PROJECT_CONFIG / "operators.toml")
    operators = [operators_all[name] for name in OPERATORS]
    coverage = load_coverage(PROJECT_CONFIG / "standards" / "coverage.toml")
    families = {name: rule.record_techs for name, rule in coverage.rules.items()}
    provinces = real_provinces()
    last_month = Period(YEAR_END.replace(day=1), YEAR_END)
    whole = Period(fleet.start, fleet.end)
    sample_from = national.period_range(last_month)[0]
    failures: list[str] = []
    print(f"fleet: {fleet.fixed} fixed probes + {PHONES} phones, {fleet.days} days "
          f"({fleet.start} .. {fleet.end}), ~{fleet.records / 1e6:.1f} M records")  # fmt: skip

    with psycopg.connect(dsn, autocommit=True) as conn:
        db.migrate(conn)
        cells = areas.sync(conn, provinces)
        print(f"areas: {len(provinces)} provinces (config/areas), {cells} H3 cells")
        setup_fleet(conn, fleet, provinces)
        started = time.perf_counter()
        declared_cells = declare(conn, provinces, directory)
        declare_s = time.perf_counter() - started
        print(f"declarations: {len(OPERATORS)} operators x 4G/5G, {declared_cells:,} declared"
              f" cells in {declare_s:.0f} s", flush=True)  # fmt: skip

        # Every month but the last straight into rollups_daily; the last as hourly rows,
        # folded in by refresh_daily like any month of ingest.
        started = time.perf_counter()
        daily_rows = in_halves(dsn, daily_sql(), {"d0": fleet.start, "d1": last_month.start})
        daily_s = time.perf_counter() - started
        print(f"  {fleet.start} .. {last_month.start - timedelta(days=1)}: "
              f"{daily_rows:,} daily rows in {daily_s:.0f} s", flush=True)  # fmt: skip
        started = time.perf_counter()
        hourly_generated = in_halves(
            dsn,
            generation_sql(),
            {
                "t0": sample_from,
                "t1": national.period_range(last_month)[1],
                "sample": sample_from,
                "sample_prov": sample_index(provinces),
            },
        )
        hourly_s = time.perf_counter() - started
        print(f"  {last_month.start:%Y-%m}: {hourly_generated:,} hourly rows in {hourly_s:.0f} s",
              flush=True)  # fmt: skip
        started = time.perf_counter()
        month_refreshed = daily.refresh_daily(conn)
        refresh_s = time.perf_counter() - started
        print(f"  refresh_daily: {month_refreshed:,} daily rows in {refresh_s:.0f} s", flush=True)

        samples = sample_samples(provinces, last_month)
        started = time.perf_counter()
        stored = store_raw(conn, samples)
        store_s = time.perf_counter() - started
        started = time.perf_counter()
        sample_rows = daily.refresh_daily(conn)
        sample_refresh_s = time.perf_counter() - started

        # One minute of national ingest (~93 records) plus a late hour three weeks back.
        minute = round(fleet.fixed * FIXED_PER_DAY / 1440)  # probes reporting in a minute
        last_hour = daily.day_bounds(fleet.end)[1] - timedelta(hours=1)
        late_hour = last_hour - timedelta(days=21)
        for hour in (last_hour, late_hour):
            conn.execute(
                "UPDATE rollups SET updated_at = now() WHERE hour = %s AND probe IN "
                "(SELECT probe FROM bench_probes WHERE NOT phone ORDER BY no LIMIT %s)",
                (hour, minute if hour == last_hour else 1),
            )  # fmt: skip
        started = time.perf_counter()
        incremental = daily.refresh_daily(conn)
        incremental_s = time.perf_counter() - started
        conn.execute("VACUUM ANALYZE rollups_daily")
        conn.execute("VACUUM ANALYZE rollups")

        hourly_rows = conn.execute("SELECT count(*) FROM rollups").fetchone()[0]
        daily_total = conn.execute("SELECT count(*) FROM rollups_daily").fetchone()[0]
        sizes = conn.execute(
            "SELECT hypertable_size('rollups'), hypertable_size('rollups_daily'), "
            "pg_database_size(current_database())"
        ).fetchone()

        names = [(pid, area.name) for pid, area in provinces.items()]
        ref_s = median_of(lambda: conn.execute("SELECT count(*) FROM rollups_daily").fetchone(), 5)

        def table(period: Period) -> list[tuple[str, Any]]:
            return national.national_table(conn, standards, operators, period, areas=names)

        month_cold = median_of(lambda: table(last_month), 5, national.clear_memo)
        month_warm = median_of(lambda: table(last_month), 5)
        whole_cold = median_of(lambda: table(whole), 5, national.clear_memo)
        whole_warm = median_of(lambda: table(whole), 5)
        result = table(last_month)

        sample_id, sample_name = names[sample_index(provinces)]
        start, end = national.period_range(last_month)
        hex_s = median_of(lambda: queries.hex_stats(conn, families, start, end, area=sample_id), 5)
        hexes = len(queries.hex_stats(conn, families, start, end, area=sample_id))
        coverage_std = gaps.coverage_in(PROJECT_CONFIG / "standards")

        def province_gaps() -> Any:
            return gaps.find_gaps(conn, coverage_std, OPERATORS, "4G", last_month, area=sample_id)

        gaps_s = median_of(province_gaps, 5)
        gaps_found = len(province_gaps().gaps)
        old_way: dict[tuple[str, str, str], Any] = {}

        def old(std_index: int, area: tuple[str, str], op_name: str) -> Any:
            std = standards[std_index]
            rows = assess.rollups_for(conn, std, op_name, area[0], last_month)
            scope = assess.scope_for(conn, std, op_name, area[0], last_month)
            found = evaluate(
                std, operators_all[op_name], rows, area=area[1], period=last_month, scope=scope
            )
            old_way[std.id, area[0], op_name] = found
            return found

        old_s = median_of(lambda: old(0, names[20], "Viettel"), 5)

    # Checks: the sample against raw records; three provinces against the hourly rows.
    by_key = {(a.standard_id, aid, a.operator): a for aid, a in result}
    # The province's raw records are those taken inside it: the check must not
    # count a sample probe that stands across the border.
    with psycopg.connect(dsn) as conn:
        inside = set(areas.cells_of(conn, sample_id))
        declared = {
            std.id: declarations.declared_areas(
                conn, SAMPLE_OPERATOR, std.technology, last_month.start, last_month.end,
                frozenset(inside),
            )
            for std in standards
        }  # fmt: skip
    in_province = [s for s in samples if s.h3 in inside]
    checked = 0
    for std in standards:
        mine = declared[std.id]
        raw_rollups, scope = within_declared(
            build_rollups(declarations.apply_vdmin(in_province, mine)), mine, std,
            SAMPLE_OPERATOR, last_month,
        )  # fmt: skip
        expected = evaluate(std, operators_all[SAMPLE_OPERATOR], raw_rollups,
                            area=sample_name, period=last_month, scope=scope)  # fmt: skip
        failures += same_assessment(by_key[std.id, sample_id, SAMPLE_OPERATOR], expected)
        checked += len(expected.kpis)
    for s in range(len(standards)):
        for area in (names[3], names[17], names[30]):  # north, centre, south
            for op_name in ("Viettel", "MobiFone"):
                with psycopg.connect(dsn) as conn:
                    old(s, area, op_name)
                found = by_key[standards[s].id, area[0], op_name]
                failures += same_assessment(found, old_way[standards[s].id, area[0], op_name])
    verdicts: dict[str, int] = {}
    for _, a in result:
        for k in a.kpis:
            verdicts[str(k.verdict)] = verdicts.get(str(k.verdict), 0) + 1

    print()
    print(
        f"generated (~{fleet.records / 1e6:.1f} M records): {daily_rows:,} daily rows in "
        f"{daily_s:.0f} s, {hourly_generated:,} hourly rows of the last month in {hourly_s:.0f} s; "
        f"{stored:,} raw sample records through write_batch in {store_s:.1f} s"
    )
    print(
        f"stored: {hourly_rows:,} hourly rows, {daily_total:,} daily rows; "
        f"rollups {sizes[0] / 1e9:.1f} GB, rollups_daily {sizes[1] / 1e9:.2f} GB, "
        f"database {sizes[2] / 1e9:.1f} GB"
    )
    print(
        f"daily refresh: the last month's hourly rows {refresh_s:.0f} s "
        f"({hourly_generated / max(refresh_s, 1e-9):,.0f} hourly rows/s); after the raw sample "
        f"{sample_refresh_s:.2f} s ({sample_rows} rows); one minute of ingest + a late hour "
        f"{incremental_s:.3f} s ({incremental} rows)"
    )
    print(
        f"national table: {len(result)} assessments "
        f"({len(standards)} standards × {len(names)} provinces × {len(operators)} operators); "
        f"verdicts {verdicts}"
    )
    print()
    print(f"{'measure (median of 5)':<60} {'seconds':>9} {'/ count(*)':>11} {'/ old way':>10}")
    lines = [
        ("reference: SELECT count(*) FROM rollups_daily", ref_s),
        ("reference: one province-month, old way", old_s),
        (f"national table, {last_month.start:%Y-%m}, cold", month_cold),
        (f"national table, {last_month.start:%Y-%m}, warm", month_warm),
        (f"national table, {fleet.days} days, cold", whole_cold),
        (f"national table, {fleet.days} days, warm", whole_warm),
        (f"H3 detail, one province-month ({hexes} rows)", hex_s),
        (f"gaps (declared covered, measured dead), one province-month ({gaps_found})", gaps_s),
        ("daily refresh, one minute of ingest", incremental_s),
    ]
    for label, seconds in lines:
        print(f"{label:<60} {seconds:>9.3f} {seconds / ref_s:>11.1f} {seconds / old_s:>10.2f}")
    print()
    print(f"checks: sample ({SAMPLE_OPERATOR}, {sample_name}, {last_month.start:%Y-%m}): "
          f"{checked} KPIs against evaluate on rollups built from the {len(in_province):,} raw "
          f"records taken inside the province (of {len(samples):,}); "
          f"12 assessments against evaluate on the hourly rows")  # fmt: skip
    if month_cold >= TARGET_S:
        failures.append(f"month table cold {month_cold:.2f} s >= {TARGET_S} s")
    if gaps_s >= TARGET_S:
        failures.append(f"one province's gaps {gaps_s:.2f} s >= {TARGET_S} s")
    for problem in failures:
        print(f"FAILED: {problem}")
    if not failures:
        print("all checks passed; the month's national table is under 1 s cold")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
