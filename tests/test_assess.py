"""Compliance from TimescaleDB rollups equals compliance from the raw samples."""

from datetime import date

import psycopg
import pytest

from giamsat.aggregator.compliance import (
    Period,
    assess,
    build_rollups,
    evaluate,
    load_operators,
    load_standards,
)
from giamsat.aggregator.settings import PROJECT_CONFIG
from giamsat.aggregator.store import areas
from tests.support.rollups import store_rollups
from tests.support.truth import Truth, generate

STANDARDS = load_standards(PROJECT_CONFIG / "standards")
OPERATORS = load_operators(PROJECT_CONFIG / "operators.toml")
QCVN126 = next(s for s in STANDARDS.values() if s.technology == "5G")
PERIOD = Period(date(2026, 10, 1), date(2026, 10, 31))


@pytest.mark.parametrize("true_dl", [85.0, 130.0])
def test_rollup_query_gives_the_verdict_of_raw_samples(db_dsn, true_dl):
    samples = generate(Truth(operator="Viettel", dl_mbps=true_dl, probes=8, days=6, seed=3))
    other = generate(Truth(operator="MobiFone", dl_mbps=50.0, probes=3, days=6, seed=4))
    store_rollups(db_dsn, samples + other)
    with psycopg.connect(db_dsn) as conn:
        from_db = assess.assess(conn, QCVN126, OPERATORS["Viettel"], "all", PERIOD, area_name="x")
    from_raw = evaluate(
        QCVN126, OPERATORS["Viettel"], build_rollups(samples), area="x", period=PERIOD
    )
    dl = from_db.kpis[0]
    assert [k.verdict for k in from_db.kpis] == [k.verdict for k in from_raw.kpis]
    for a, b in zip(from_db.kpis, from_raw.kpis, strict=True):
        assert a.samples == b.samples
        assert a.value == pytest.approx(b.value)
        assert (a.ci_low, a.ci_high) == pytest.approx((b.ci_low, b.ci_high))
        assert (a.grade, a.close_samples, a.per_env) == (b.grade, b.close_samples, b.per_env)
    expected = "FAIL" if true_dl < 100 else "PASS"
    assert str(dl.verdict) == expected, dl


def test_area_selects_only_its_cells(db_dsn):
    found = areas.load_areas(PROJECT_CONFIG / "areas")
    thai_nguyen = found["gso-19"]
    # Bắc Kạn town, in Thái Nguyên since 1 July 2025; Lào Cai city.
    inside = generate(Truth(lat=22.15, lon=105.83, probes=4, days=3, seed=1))
    outside = generate(Truth(lat=22.48, lon=103.97, probes=4, days=3, seed=2))
    store_rollups(db_dsn, inside + outside)
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        areas.sync(conn, {"gso-19": thai_nguyen})
        result = assess.assess(conn, QCVN126, OPERATORS["Viettel"], "gso-19", PERIOD)
        everything = assess.assess(conn, QCVN126, OPERATORS["Viettel"], "all", PERIOD)
    assert result.kpis[0].samples == sum(1 for s in inside if s.dl_mbps is not None)
    assert everything.kpis[0].samples > result.kpis[0].samples
