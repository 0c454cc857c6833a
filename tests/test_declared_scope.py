"""Verdicts count only the samples inside the operator's declared service area (Annex B).

A declaration in force on a sample's day decides whether the sample counts;
samples outside are counted apart, never against the operator; on a day with
no declaration in force every sample counts, and the verdict says so.
"""

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import psycopg

from giamsat.aggregator.aggregates.rollup import build_rollups
from giamsat.aggregator.aggregates.samples import Sample
from giamsat.aggregator.compliance import (
    Period,
    Scope,
    evaluate,
    load_operators,
    load_standards,
    national,
    render_table,
    to_json,
)
from giamsat.aggregator.compliance.assess import rollups_for, scope_for
from giamsat.aggregator.compliance.clusters import local_day
from giamsat.aggregator.compliance.declared import within_declared
from giamsat.aggregator.settings import PROJECT_CONFIG
from giamsat.aggregator.store import daily, declarations
from tests.support.rollups import store_rollups
from tests.support.truth import Truth, generate

STANDARDS = load_standards(PROJECT_CONFIG / "standards")
QCVN81 = next(s for s in STANDARDS.values() if s.technology == "4G")
OPERATORS = load_operators(PROJECT_CONFIG / "operators.toml")
PERIOD = Period(date(2026, 10, 1), date(2026, 10, 31))
DECLARED_FROM = date(2026, 10, 3)  # the first two days have no declaration in force
# The declared zone: around Thái Nguyên city.
CITY = [[105.80, 21.55], [105.90, 21.55], [105.90, 21.65], [105.80, 21.65], [105.80, 21.55]]


def _samples(operator: str, *, lat: float, lon: float, dl: float, seed: int) -> list[Sample]:
    truth = Truth(
        operator=operator, tech="LTE", dl_mbps=dl, ul_mbps=10.0, lat=lat, lon=lon, probes=3,
        days=6, per_probe_day=10, no_service=0.05, seed=seed,
    )  # fmt: skip
    return [replace(s, probe=f"{operator}-{seed}-{s.probe}") for s in generate(truth)]


def _declare(conn: psycopg.Connection, tmp_path: Path, operator: str) -> str:
    path = tmp_path / f"{operator}-4g.geojson"
    feature = {
        "type": "Feature",
        "properties": {"name": "Thành phố Thái Nguyên", "vd": "16"},
        "geometry": {"type": "Polygon", "coordinates": [CITY]},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    stored, _ = declarations.import_declaration(
        conn, path, operator=operator, technology="4G", valid_from=DECLARED_FROM
    )
    return stored.sha256


def _declared_cells(conn: psycopg.Connection, sha256: str) -> set[str]:
    rows = conn.execute("SELECT h3 FROM declaration_cells WHERE declaration = %s", (sha256,))
    return {r[0] for r in rows}


def test_a_verdict_counts_only_samples_inside_the_declared_area(db_dsn, tmp_path):
    inside = _samples("Viettel", lat=21.56, lon=105.85, dl=40.0, seed=1)
    # Far outside the declared zone, and slow: it would fail the download mean.
    outside = _samples("Viettel", lat=21.90, lon=106.30, dl=1.0, seed=2)
    undeclared = _samples("MobiFone", lat=21.90, lon=106.30, dl=1.0, seed=3)
    store_rollups(db_dsn, inside + outside + undeclared)
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        sha = _declare(conn, tmp_path, "Viettel")
        cells = _declared_cells(conn, sha)
        daily.refresh_daily(conn)
        national.clear_memo()
        table = national.national_table(
            conn,
            [QCVN81],
            [OPERATORS["Viettel"], OPERATORS["MobiFone"]],
            PERIOD,
            areas=[("all", "cả nước")],
        )
        reference = {
            op: (
                rollups_for(conn, QCVN81, op, "all", PERIOD),
                scope_for(conn, QCVN81, op, "all", PERIOD),
            )
            for op in ("Viettel", "MobiFone")
        }
        areas = declarations.declared_areas(conn, "Viettel", "4G", PERIOD.start, PERIOD.end)
    assert {s.h3 for s in inside} <= cells and not {s.h3 for s in outside} & cells

    counted = inside + [s for s in outside if local_day(s.t) < DECLARED_FROM]
    left_out = [s for s in outside if local_day(s.t) >= DECLARED_FROM]
    assert left_out and len(counted) > len(inside)
    viettel = dict((a.operator, a) for _, a in table)["Viettel"]
    expected_scope = Scope((sha,), (DECLARED_FROM - PERIOD.start).days, len(left_out))
    assert viettel.scope == expected_scope
    assert viettel.scope.declared == "part"
    assert all(k.scope == expected_scope for k in viettel.kpis)
    # The engine's verdict on exactly the samples the scope counts, bit for bit.
    expected = evaluate(
        QCVN81, OPERATORS["Viettel"], build_rollups(counted), area="cả nước", period=PERIOD,
        scope=expected_scope,
    )  # fmt: skip
    assert viettel == expected
    rows, scope = reference["Viettel"]
    assert scope == expected_scope
    assert (
        evaluate(QCVN81, OPERATORS["Viettel"], rows, area="cả nước", period=PERIOD, scope=scope)
        == viettel
    )
    # The pure rule, as an evidence bundle and its verifier apply it to records.
    [area] = areas
    assert area.sha256 == sha and area.content is not None and set(area.cells) == cells
    rows, scope = within_declared(build_rollups(inside + outside), areas, QCVN81, "Viettel", PERIOD)
    assert scope == expected_scope
    assert (
        evaluate(QCVN81, OPERATORS["Viettel"], rows, area="cả nước", period=PERIOD, scope=scope)
        == viettel
    )
    # Without the declaration, the slow samples would have counted against Viettel.
    everything = evaluate(
        QCVN81, OPERATORS["Viettel"], build_rollups(inside + outside), area="cả nước",
        period=PERIOD,
    )  # fmt: skip
    assert everything.kpis != viettel.kpis
    total = sum(k.samples for k in everything.kpis)
    assert sum(k.samples for k in viettel.kpis) < total

    # MobiFone declared nothing: every sample counts, and the verdict says so.
    mobifone = dict((a.operator, a) for _, a in table)["MobiFone"]
    assert mobifone.scope == Scope((), 31, 0) == reference["MobiFone"][1]
    assert mobifone.scope.declared == "none"
    assert mobifone == evaluate(
        QCVN81, OPERATORS["MobiFone"], build_rollups(undeclared), area="cả nước", period=PERIOD
    )
    assert "declared no 4G service area" in render_table(mobifone)
    text = render_table(viettel)
    assert sha[:12] in text and f"{len(left_out)} sample(s) outside" in text
    assert json.loads(to_json(viettel))["scope"]["declarations"] == [sha]


def test_a_period_wholly_under_a_declaration_is_judged_inside_it_only(db_dsn, tmp_path):
    later = Period(DECLARED_FROM, PERIOD.end)
    inside = _samples("Viettel", lat=21.56, lon=105.85, dl=40.0, seed=4)
    outside = _samples("Viettel", lat=21.90, lon=106.30, dl=1.0, seed=5)
    store_rollups(db_dsn, inside + outside)
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        sha = _declare(conn, tmp_path, "Viettel")
        national.clear_memo()
        [(_, found)] = national.national_table(
            conn, [QCVN81], [OPERATORS["Viettel"]], later, areas=[("all", "cả nước")]
        )
    assert found.scope is not None and found.scope.declared == "whole"
    assert found.scope.undeclared_days == 0
    kept = [s for s in inside if local_day(s.t) >= DECLARED_FROM]
    dropped = [s for s in outside if local_day(s.t) >= DECLARED_FROM]
    assert found.scope == Scope((sha,), 0, len(dropped))
    assert found == evaluate(
        QCVN81, OPERATORS["Viettel"], build_rollups(kept), area="cả nước", period=later,
        scope=found.scope,
    )  # fmt: skip


def test_scope_sentences_and_stored_verdicts() -> None:
    scope = Scope(("a" * 64, "b" * 64), 3, 12)
    assert scope.declared == "part"
    assert "aaaaaaaaaaaa, bbbbbbbbbbbb" in scope.describe("Viettel", "5G")
    assert "3 day(s)" in scope.describe("Viettel", "5G")
    assert "12 mẫu đo ngoài vùng" in scope.describe_vi("Viettel", "5G")
    assert Scope((), 31, 0).declared == "none"
    assert "không công bố" in Scope((), 31, 0).describe_vi("Viettel", "4G")
    stored = {"declarations": ["x"], "undeclared_days": 0, "outside": 1}
    assert Scope.from_dict(json.loads(json.dumps(stored))) == Scope(("x",), 0, 1)
    assert Scope.nothing_declared(Period(date(2026, 2, 1), date(2026, 2, 28))).undeclared_days == 28
