"""The country-wide table equals the engine for dropped transfers, radio availability and
per-KPI sampling (hours of the day) on real PostgreSQL + TimescaleDB; migration 010."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import psycopg
import pytest

from giamsat.aggregator.aggregates.rollup import COLUMNS, build_rollups
from giamsat.aggregator.compliance import (
    Period,
    evaluate,
    load_operators,
    load_standards,
    national,
)
from giamsat.aggregator.compliance.clusters import local_day
from giamsat.aggregator.compliance.standards import VersionSpanError
from giamsat.aggregator.settings import PROJECT_CONFIG
from giamsat.aggregator.store import daily
from giamsat.aggregator.store.db import migration_files
from tests.support.rollups import store_rollups
from tests.support.truth import Truth, generate

STANDARDS = load_standards(PROJECT_CONFIG / "standards")
OPERATORS = load_operators(PROJECT_CONFIG / "operators.toml")
PERIOD = Period(date(2026, 10, 1), date(2026, 10, 31))


def _samples() -> list:
    """5G and 4G probes of two operators: drops low and high, samples spread over hours or not."""
    found = []
    seed = 100
    for op, dropped in (("Viettel", 0.03), ("MobiFone", 0.22)):
        for tech, interval, per_day in (("NR-SA", 120.0, 24), ("LTE", 3600.0, 12)):
            seed += 1
            truth = Truth(
                # No-service samples have no technology and count for both standards'
                # availability: only the 4G probes lose service, so the 5G probes'
                # hour-0 samples do not crowd the 4G hours rule.
                operator=op, tech=tech, dropped=dropped, no_service=0.05 * (tech == "LTE"),
                probes=5, days=6, per_probe_day=per_day, interval_s=interval, seed=seed,
            )  # fmt: skip
            found += [dataclasses.replace(s, probe=f"{tech}-{s.probe}") for s in generate(truth)]
    # An NR-NSA probe with service but no NR leg reading: below the 5G level.
    unread = generate(Truth(operator="Viettel", tech="NR-NSA", probes=2, days=6, seed=99))
    found += [dataclasses.replace(s, probe=f"nsa-{s.probe}", rsrp_dbm=None) for s in unread]
    return found


def test_national_table_equals_evaluate_for_every_new_kpi(db_dsn) -> None:
    samples = _samples()
    half = PERIOD.start + timedelta(days=3)
    cell = samples[0].h3
    areas = [("all", "cả nước"), (cell, f"H3 {cell}")]
    operators = [OPERATORS["Viettel"], OPERATORS["MobiFone"]]
    store_rollups(db_dsn, [s for s in samples if local_day(s.t) < half])
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        daily.refresh_daily(conn)
        # The rest arrives after the refresh: read from the hourly rows until the next one.
        store_rollups(db_dsn, [s for s in samples if local_day(s.t) >= half])
        national.clear_memo()
        stale = national.national_table(conn, STANDARDS.values(), operators, PERIOD, areas=areas)
        daily.refresh_daily(conn)
        national.clear_memo()
        fresh = national.national_table(conn, STANDARDS.values(), operators, PERIOD, areas=areas)
    assert stale == fresh
    seen = set()
    for area_id, found in fresh:
        mine = [s for s in samples if area_id == "all" or s.h3 == area_id]
        expected = evaluate(
            STANDARDS[found.standard_id], OPERATORS[found.operator], build_rollups(mine),
            area=found.area, period=PERIOD,
        )  # fmt: skip
        assert found == expected, (area_id, found.standard_id, found.operator)
        if area_id == "all":
            seen |= {(found.standard_id, found.operator, k.kpi_id, k.verdict) for k in found.kpis}
            for k in found.kpis:
                assert k.version == found.version is not None
    for standard in STANDARDS:
        assert (standard, "Viettel", "dropped_transfer", "PASS") in seen
        assert (standard, "MobiFone", "dropped_transfer", "FAIL") in seen
    [lte_viettel] = [
        a for area_id, a in fresh
        if area_id == "all" and a.operator == "Viettel" and a.technology == "4G"
    ]  # fmt: skip
    # 4G probes sample hourly: their outdoor-mobile samples spread over the day.
    availability = lte_viettel.kpi("radio_availability")
    assert not any(rule.startswith("hours") for rule in availability.unmet), availability.unmet
    assert availability.unconfirmed and "min_samples: " in availability.unmet[0]


def test_a_period_across_an_amendment_is_refused_by_the_table(db_dsn, tmp_path) -> None:
    text = (PROJECT_CONFIG / "standards" / "qcvn-126-2021.toml").read_text(encoding="utf-8")
    amended = tmp_path / "qcvn-126-2021.toml"
    amended.write_text(
        text + '\n[[amendment]]\nid = "A1"\neffective_from = 2026-10-16\n'
        '[[amendment.kpi]]\nid = "dropped_transfer"\nlimit = 5\n',
        encoding="utf-8",
    )
    [standard] = load_standards(tmp_path).values()
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        with pytest.raises(VersionSpanError, match="spans two versions"):
            national.national_table(conn, [standard], [OPERATORS["Viettel"]], PERIOD,
                                    areas=[("all", "x")])  # fmt: skip
        second = Period(date(2026, 10, 16), date(2026, 10, 31))
        [(_, found)] = national.national_table(
            conn, [standard], [OPERATORS["Viettel"]], second, areas=[("all", "x")]
        )
    assert found.version == "A1" and found.kpi("dropped_transfer").limit == 5.0


def test_migration_010_gives_stored_rollups_their_hours_and_no_transfers(pg_server) -> None:
    """Rows stored before 010 get records per local hour from their hour; daily rows rebuild."""
    name = "t_mig010"
    admin = pg_server.dsn.rsplit("/", 1)[0] + "/postgres"
    dsn = pg_server.dsn.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    try:
        samples = generate(Truth(probes=3, days=3, per_probe_day=30, no_service=0.1, seed=3))
        rows = build_rollups(samples)
        new = ("transfers_started", "transfers_dropped", "local_hour_hist")
        later = ("dl_vdmin_n", "dl_vdmin_met")  # migration 013
        old_columns = [c for c in COLUMNS if c not in new + later]
        with psycopg.connect(dsn, autocommit=True) as conn:
            for number, path in migration_files():
                if number >= 10:
                    break
                with conn.transaction():
                    conn.execute(path.read_text())
            with conn.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO rollups ({', '.join(old_columns)}) "
                    f"VALUES ({', '.join(['%s'] * len(old_columns))})",
                    [[r.as_row()[c] for c in old_columns] for r in rows],
                )
            [migration] = [p for n, p in migration_files() if n == 10]
            with conn.transaction():
                conn.execute(migration.read_text())
            with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
                stored = cur.execute("SELECT * FROM rollups").fetchall()
            assert daily.watermark(conn) == "-infinity"
            for later, path in migration_files():
                if later > 10:
                    with conn.transaction():
                        conn.execute(path.read_text())
            assert daily.refresh_daily(conn) > 0
        want = {r.key: r.as_row() for r in rows}
        assert len(stored) == len(want)
        for row in stored:
            key = tuple(row[k] for k in ("hour", "h3", "op", "tech", "probe", "env"))
            for column in new:
                assert row[column] == want[key][column], (key, column)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
