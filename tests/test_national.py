"""Daily rollups and the country-wide table give the engine's answer, late arrivals included."""

import dataclasses
import uuid
from collections import defaultdict
from datetime import date, timedelta

import numpy as np
import psycopg
from psycopg.conninfo import make_conninfo

from giamsat.aggregator.compliance import (
    Period,
    build_rollups,
    evaluate,
    load_operators,
    load_standards,
    national,
)
from giamsat.aggregator.compliance.clusters import local_day
from giamsat.aggregator.compliance.stats import bootstrap_mean
from giamsat.aggregator.settings import PROJECT_CONFIG
from giamsat.aggregator.store import areas, daily
from tests.support.rollups import store_rollups
from tests.support.truth import Truth, generate

STANDARDS = load_standards(PROJECT_CONFIG / "standards")
OPERATORS = load_operators(PROJECT_CONFIG / "operators.toml")
PERIOD = Period(date(2026, 10, 1), date(2026, 10, 31))
# Thái Nguyên (at the former Bắc Kạn town) and Lào Cai (Bảo Thắng, south of the
# city, which is on the border: the probes' cells reach 0.1° north), as since 1 July 2025.
PROVINCES = {"gso-19": (22.15, 105.83), "gso-15": (22.35, 104.05)}


def fleet() -> dict[str, list]:
    """Samples per province: two operators, 5G and 4G probes, one network failing, close samples."""
    found: dict[str, list] = defaultdict(list)
    seed = 0
    for province, (lat, lon) in PROVINCES.items():
        for op, dl in (("Viettel", 130.0), ("MobiFone", 85.0)):
            for tech, scale in (("NR-SA", 1.0), ("LTE", 0.25)):
                seed += 1
                truth = Truth(
                    operator=op, tech=tech, dl_mbps=dl * scale, ul_mbps=40 * scale, lat=lat,
                    lon=lon, probes=5, days=6, per_probe_day=24, no_service=0.05, seed=seed,
                    interval_s=20.0 if seed == 3 else 120.0,
                )  # fmt: skip
                name = f"{province}-{tech}"
                found[province] += [
                    dataclasses.replace(s, probe=f"{name}-{s.probe}") for s in generate(truth)
                ]
    return found


def expected_daily(rows) -> dict[tuple, dict]:
    """Hourly rollups summed per local day and key, histograms as counts at or above each bin."""
    days: dict[tuple, dict] = {}
    for r in rows:
        row = r.as_row()
        key = (local_day(r.hour), r.h3, r.op, r.tech, r.probe, r.env)
        acc = days.setdefault(key, {c: 0 for c in row if c not in ("hour", *daily.KEYS)})
        for column, value in row.items():
            if column in acc:
                acc[column] = acc[column] + (np.array(value) if column.endswith("_hist") else value)
    for acc in days.values():
        for column in [c for c in acc if c.endswith("_hist")]:
            acc[daily.atleast_column(column)] = np.cumsum(acc.pop(column)[::-1])[::-1].tolist()
    return days


def stored_daily(conn) -> dict[tuple, dict]:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        rows = cur.execute("SELECT * FROM rollups_daily").fetchall()
    return {tuple(r.pop(k) for k in ("day", *daily.KEYS)): r for r in rows}


def assert_daily_matches(conn, rows) -> None:
    want, got = expected_daily(rows), stored_daily(conn)
    assert set(got) == set(want)
    for key, columns in want.items():
        for column, value in columns.items():
            assert got[key][column] == value, (key, column)


def test_refresh_is_incremental_and_takes_late_arrivals(db_dsn):
    samples = generate(Truth(probes=3, days=4, per_probe_day=30, no_service=0.1, seed=7))
    late_day = PERIOD.start + timedelta(days=1)
    on_time = [s for s in samples if local_day(s.t) != late_day or s.t.hour % 2 == 0]
    late = [s for s in samples if s not in on_time]
    store_rollups(db_dsn, on_time)
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        first = daily.refresh_daily(conn)
        assert first == len(expected_daily(build_rollups(on_time)))
        assert daily.refresh_daily(conn) == 0  # nothing changed since
        assert_daily_matches(conn, build_rollups(on_time))

        store_rollups(db_dsn, late)  # hours of an earlier day, merged into stored hours
        touched = {
            (local_day(r.hour), r.h3, r.op, r.tech, r.probe, r.env) for r in build_rollups(late)
        }
        assert daily.refresh_daily(conn) == len(touched)
        assert_daily_matches(conn, build_rollups(on_time) + build_rollups(late))


def assert_same(found, expected) -> None:
    assert found.area == expected.area and found.operator == expected.operator
    for a, b in zip(found.kpis, expected.kpis, strict=True):
        assert (a.kpi_id, a.verdict, a.samples, a.probe_days) == (
            b.kpi_id, b.verdict, b.samples, b.probe_days
        ), (a, b)  # fmt: skip
        assert (a.per_env, a.close_samples, a.grade, a.unmet) == (
            b.per_env, b.close_samples, b.grade, b.unmet
        )  # fmt: skip
        assert (a.value, a.ci_low, a.ci_high) == (b.value, b.ci_low, b.ci_high), a.kpi_id
    assert found == expected


def test_national_table_equals_evaluate_per_area_operator_standard(db_dsn):
    samples = fleet()
    everything = [s for group in samples.values() for s in group]
    half = PERIOD.start + timedelta(days=3)
    store_rollups(db_dsn, [s for s in everything if local_day(s.t) < half])
    found_areas = areas.load_areas(PROJECT_CONFIG / "areas")
    names = [(pid, found_areas[pid].name) for pid in PROVINCES] + [("all", "cả nước")]
    operators = [OPERATORS["Viettel"], OPERATORS["MobiFone"], OPERATORS["VinaPhone"]]
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        areas.sync(conn, {pid: found_areas[pid] for pid in PROVINCES})
        daily.refresh_daily(conn)
        # The second half arrives after the refresh: read from hourly rows until the next one.
        store_rollups(db_dsn, [s for s in everything if local_day(s.t) >= half])
        stale = national.national_table(conn, STANDARDS.values(), operators, PERIOD, areas=names)
        daily.refresh_daily(conn)
        national.clear_memo()
        fresh = national.national_table(conn, STANDARDS.values(), operators, PERIOD, areas=names)

    assert len(fresh) == len(STANDARDS) * len(names) * len(operators)
    verdicts = set()
    for (area_id, a), (stale_id, b) in zip(fresh, stale, strict=True):
        assert area_id == stale_id
        # The same table before and after the refresh, bit for bit.
        assert_same(a, b)
        standard = STANDARDS[a.standard_id]
        mine = everything if area_id == "all" else samples[area_id]
        name = dict(names)[area_id]
        expected = evaluate(
            standard, OPERATORS[a.operator], build_rollups(mine), area=name, period=PERIOD
        )
        assert_same(a, expected)
        verdicts |= {k.verdict for k in a.kpis}
    assert {"PASS", "FAIL", "INSUFFICIENT_DATA"} <= {str(v) for v in verdicts}


def test_batched_bootstrap_is_the_engines_bootstrap_draw_for_draw():
    rng = np.random.default_rng(5)
    tasks = []
    for k in (1, 7, 7, 40, 2500, 2500):  # equal k share one stream of indices
        counts = rng.integers(1, 30, k).astype(float)
        tasks.append((rng.gamma(2.0, 10.0, k) * counts, counts))
    tasks.append((tasks[1][0] * 2, tasks[1][1]))  # shares its denominators with another task
    national.clear_memo()
    for _ in range(2):  # computed, then memoised
        batched = national.bootstrap_means(tasks, 0.95, 500, 3)
        for (sums, counts), got in zip(tasks, batched, strict=True):
            one = bootstrap_mean(sums, counts, 0.95, 500, 3)
            assert got == one  # the same resamples, and exact totals


def test_national_table_on_one_connection_when_a_second_is_refused(db_dsn, caplog):
    """A role allowed one connection gets the same table, every standard in turn."""
    samples = fleet()
    store_rollups(db_dsn, [s for group in samples.values() for s in group])
    found_areas = areas.load_areas(PROJECT_CONFIG / "areas")
    names = [(pid, found_areas[pid].name) for pid in PROVINCES]
    operators = [OPERATORS["Viettel"], OPERATORS["MobiFone"]]
    role = f"lonely_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db_dsn, autocommit=True) as admin:
        areas.sync(admin, {pid: found_areas[pid] for pid in PROVINCES})
        daily.refresh_daily(admin)
        admin.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 1")
        admin.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
        national.clear_memo()
        both = national.national_table(admin, STANDARDS.values(), operators, PERIOD, areas=names)
        try:
            national.clear_memo()
            with psycopg.connect(make_conninfo(db_dsn, user=role), autocommit=True) as lonely:
                alone = national.national_table(
                    lonely, STANDARDS.values(), operators, PERIOD, areas=names
                )
        finally:
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")
    assert "too many connections" in caplog.text  # the second connection was refused
    assert len(alone) == len(both) == len(STANDARDS) * len(names) * len(operators)
    for (area_a, a), (area_b, b) in zip(alone, both, strict=True):
        assert area_a == area_b
        assert_same(a, b)
