"""The simulated fleet: radio model, villages, record validity, a run through real services."""

from __future__ import annotations

import itertools
import random
import statistics
import subprocess
import sys
import unicodedata
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import h3
import psycopg
import pytest
from vietnam_provinces import Ward

from demo import declarations, fleet
from demo.radio import (
    RadioModel,
    Tower,
    cost231_hata_db,
    diffraction_db,
    shadowing_db,
    uma_db,
)
from demo.terrain import River, Terrain
from demo.villages import CAO_BANG, LAO_CAI, PROVINCES, VILLAGES
from giamsat.aggregator.compliance import Period, Sample, build_rollups, evaluate
from giamsat.aggregator.compliance.clusters import local_day
from giamsat.aggregator.compliance.declared import within_declared
from giamsat.aggregator.compliance.operators import load_operators
from giamsat.aggregator.compliance.standards import load_standards
from giamsat.aggregator.ingest.validate import check
from giamsat.aggregator.store.areas import load_areas, province_id
from giamsat.aggregator.store.columns import cell_of, columns_of
from giamsat.aggregator.store.declarations import DeclaredArea, read_zones
from giamsat.aggregator.store.values import Accepted, ProbeKey
from giamsat.contract import record
from giamsat.contract.record import public_key_b64

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 22, 9, 7, 30, tzinfo=UTC)


# --- radio model ----------------------------------------------------------------


def test_path_loss_increases_with_distance() -> None:
    distances = [50, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 30_000]
    for model in (cost231_hata_db, uma_db):
        losses = [model(d) for d in distances]
        assert all(b > a for a, b in itertools.pairwise(losses)), model.__name__
    # Doubling the distance costs roughly the model's slope: 35.2 dB/decade for Hata at 30 m.
    assert cost231_hata_db(10_000) - cost231_hata_db(1_000) == pytest.approx(35.2, abs=0.1)
    # A higher mast loses less; 3.5 GHz loses more behind the same ridge than 1.8 GHz.
    assert cost231_hata_db(5_000, hb_m=60) < cost231_hata_db(5_000, hb_m=30)
    assert diffraction_db(5.0, 3500) > diffraction_db(5.0, 1800) > diffraction_db(-5.0, 1800)


def _valley_world() -> tuple[Terrain, Tower]:
    """A flat 800 m plateau cut by one 300 m deep north-south valley at 105.0 E."""
    river = River("test", ((22.3, 105.0), (22.9, 105.0)), depth_m=300, half_width_m=800)
    terrain = Terrain(1, massifs=(), rivers=(river,), octaves=(), default_level_m=800)
    tower = Tower("VIE-T", "Viettel", 22.6, 104.95, 800.0, 30.0, False, 1000, 0.5, 8.0, 1, 1)
    return terrain, tower


def test_valleys_lose_more_than_open_ground_at_the_same_distance() -> None:
    terrain, tower = _valley_world()
    model = RadioModel(terrain, [tower], shadowing_sigma_db=0.0)
    valley = model.links("Viettel", 22.6, 105.0, "outdoor_fixed").lte[0]
    plateau = model.links("Viettel", 22.6, 104.90, "outdoor_fixed").lte[0]
    assert valley.distance_m == pytest.approx(plateau.distance_m, rel=0.01)
    assert valley.diffraction_db > 15.0
    assert plateau.diffraction_db < 3.0  # the ground's grazing edge, no more
    assert valley.rsrp_dbm < plateau.rsrp_dbm - 10.0
    assert terrain.valley_depth(22.6, 105.0) > 150 > 5 > abs(terrain.valley_depth(22.6, 104.9))


def test_access_fails_more_often_and_speed_drops_at_low_signal() -> None:
    terrain, tower = _valley_world()
    model = RadioModel(terrain, [tower], shadowing_sigma_db=0.0, outage_chance=0.0)
    rng = random.Random(1)

    def cycles(lon: float) -> list:  # type: ignore[type-arg]
        links = model.links("Viettel", 22.6, lon, "outdoor_fixed")
        times = [NOW - timedelta(minutes=15 * i) for i in range(600)]
        return [model.measure(links, t, rng, nr_capable=False) for t in times]

    near, far = cycles(104.96), cycles(104.865)  # about 1 km and 8.7 km over open ground
    assert all(m.service for m in near) and sum(m.service for m in far) > 300
    assert (
        statistics.mean(m.rsrp_dbm for m in near)
        > statistics.mean(m.rsrp_dbm for m in far if m.service) + 20
    )

    def failures(ms: list) -> float:  # type: ignore[type-arg]
        served = [m for m in ms if m.service]
        return sum(not m.access_ok for m in served) / len(served)

    assert failures(near) < 0.03 < 0.08 < failures(far)
    dl = [statistics.mean(m.dl_mbps for m in ms if m.dl_mbps is not None) for ms in (near, far)]
    rtt = [statistics.mean(m.rtt_ms for m in ms if m.service) for ms in (near, far)]
    assert dl[0] > 2 * dl[1] and rtt[0] < rtt[1]


def test_real_valley_villages_lie_in_valleys_and_dead_zones_gather_there(world, day_fleet) -> None:
    records = day_fleet
    depth = {v.probe: world.terrain.valley_depth(v.lat, v.lon) for v in VILLAGES if not v.route}
    for probe in ("lc-banho-01", "lc-tavan-01", "bk-pacngoi-01", "hg-dugia-01"):
        assert depth[probe] > 150, probe
    dead = [p for p, recs in records.items() if all(not r["net"]["service"] for r in recs)]
    served = [p for p in depth if p not in dead]
    assert len(dead) >= 4
    assert statistics.mean(depth[p] for p in dead) > statistics.mean(depth[p] for p in served) + 100
    # Far from their operator's towers: every dead probe's best tower is beyond 5 km.
    for probe in dead:
        v = next(v for v in VILLAGES if v.probe == probe)
        heard = world.radio.links(v.sim, v.lat, v.lon, v.env).lte
        assert not heard or heard[0].distance_m > 5_000 or heard[0].diffraction_db > 20, probe


def test_shadowing_is_deterministic_for_a_seed_and_spatially_correlated() -> None:
    a = shadowing_db(7, "lte:VIE-0001", 22.61, 105.87, 8.0)
    assert a == shadowing_db(7, "lte:VIE-0001", 22.61, 105.87, 8.0)
    assert a != shadowing_db(8, "lte:VIE-0001", 22.61, 105.87, 8.0)
    assert a != shadowing_db(7, "lte:VIE-0002", 22.61, 105.87, 8.0)
    # 10 m apart: nearly the same; across the region: log-normal with the asked sigma.
    near = [
        abs(shadowing_db(7, "k", 22.5 + i * 0.01, 105.5, 8.0)
            - shadowing_db(7, "k", 22.5 + i * 0.01 + 0.00009, 105.5, 8.0))
        for i in range(200)
    ]  # fmt: skip
    assert statistics.mean(near) < 1.5
    far = [shadowing_db(7, "k", 22.0 + i * 0.003, 105.0 + i * 0.002, 8.0) for i in range(2000)]
    assert statistics.pstdev(far) == pytest.approx(8.0, rel=0.1)
    assert abs(statistics.mean(far)) < 0.8


def test_world_is_reproducible_for_a_seed() -> None:
    one, two = fleet.World(3), fleet.World(3)
    assert one.towers == two.towers
    assert fleet.World(4).towers != one.towers
    ops = {t.operator for t in one.towers}
    count = {op: sum(t.operator == op for t in one.towers) for op in ops}
    assert count["Viettel"] > count["VinaPhone"] > count["MobiFone"] > 10


# --- villages -------------------------------------------------------------------


def test_villages_lie_in_their_province_as_the_aggregator_attributes_them() -> None:
    areas = load_areas(ROOT / "config" / "areas")
    cells = {pid: area.cells() for pid, area in areas.items()}
    assert {pid: areas[pid].name for pid in PROVINCES} == PROVINCES
    assert len(VILLAGES) == 50 and len({v.probe for v in VILLAGES}) == 50
    for v in VILLAGES:
        for lat, lon in ((v.lat, v.lon), *v.route):
            cell = h3.latlng_to_cell(lat, lon, 8)
            inside = [pid for pid in cells if cell in cells[pid]]
            assert inside == [v.province_id], (v.probe, lat, lon, inside)


def test_villages_are_addressed_by_official_commune_and_province() -> None:
    wards = {int(w.code): w for w in Ward.iter_all()}
    for v in VILLAGES:
        ward = wards[v.commune_code]
        assert ward.name == v.commune, v.probe
        assert province_id(ward.province_code) == v.province_id, v.probe
        assert v.label.endswith(f"{v.commune}, {v.province}"), v.label
        assert "huyện" not in v.label.lower(), v.label  # no district level since July 2025


def test_village_names_carry_their_diacritics() -> None:
    for v in VILLAGES:
        for text in (v.place, v.commune, v.province, v.label):
            assert unicodedata.is_normalized("NFC", text), text
        for text in (v.commune, v.province, v.label):
            assert any(ord(c) > 127 for c in text), text
        assert v.probe.isascii() and v.probe == v.probe.lower()
    assert {v.env for v in VILLAGES} == {"indoor", "outdoor_fixed", "outdoor_mobile"}
    assert {v.sim for v in VILLAGES} == {"Viettel", "VinaPhone", "MobiFone"}


# --- records ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def world() -> fleet.World:
    return fleet.World(1)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return fleet.probe_keys(tmp_path_factory.mktemp("keys"), VILLAGES)


@pytest.fixture(scope="module")
def day_fleet(world, keys):  # type: ignore[no-untyped-def]
    """All 50 probes over the last day, every 15 minutes, generated once, no services."""
    first, last = fleet.time_grid(1, 15, NOW)
    return fleet.generate(world, VILLAGES, keys, first=first, last=last, interval_min=15)


def test_every_record_passes_validation_with_the_registered_key(keys, day_fleet) -> None:
    records = day_fleet
    sims = {v.probe: v.sim for v in VILLAGES}
    registry = {p: ProbeKey(k.public_key()) for p, k in keys.items()}
    total = no_service = with_dl = 0
    for probe, recs in records.items():
        assert len(recs) == 96
        for r in recs:
            outcome = check(record.topic_for(probe), record.encode(r), registry.get, NOW)
            assert isinstance(outcome, Accepted), (probe, getattr(outcome, "detail", ""))
            assert outcome.time <= NOW
            row = columns_of(outcome)
            assert row["env"] in ("indoor", "outdoor_fixed", "outdoor_mobile")
            assert row["op"] == sims[probe]
            total += 1
            if r["net"]["service"] is False:
                no_service += 1
                assert r["errors"] == ["no_service"] and "sig" not in r and "dl" not in r
                assert r["net"] == {"service": False, "sim_op": row["op"]}
            elif row["access_ok"]:
                with_dl += 1
                assert row["rtt_ms"] > 0 and row["rsrp_dbm"] <= -44 and row["access_s"] > 0
                # As the agent writes them: a rate for a completed transfer only, and
                # the upload only after a completed download.
                assert row["dl_outcome"] in ("completed", "dropped")
                assert (row["ul_outcome"] is None) == (row["dl_outcome"] == "dropped")
                for d in ("dl", "ul"):
                    completed = row[f"{d}_outcome"] == "completed"
                    assert (row[f"{d}_mbps"] or 0) > 0 if completed else row[f"{d}_mbps"] is None
            else:
                # An access failure: the download did not start, the upload was not tried.
                assert r["errors"] == ["dl_failed"] and "ul" not in r
                assert r["dl"]["outcome"] == "not_started" and "mbps" not in r["dl"]
    assert 0.05 < no_service / total < 0.4
    assert with_dl > total / 2


def test_the_demo_fleet_fails_one_operator_area_on_5g_download_and_passes_another(
    world, keys, tmp_path
) -> None:
    # The demo's week, for the probes these two assessments read (each probe's
    # records depend only on the seed and the probe, so the rest need not be made),
    # judged as the demo judges them: inside each operator's declared 5G area.
    assessed = (("VinaPhone", CAO_BANG), ("Viettel", LAO_CAI))
    judged = [v for v in VILLAGES if (v.sim, v.province_id) in assessed]
    first, last = fleet.time_grid(fleet.DEMO.days, fleet.DEMO.interval_min, NOW)
    records = fleet.generate(
        world, judged, keys, first=first, last=last, interval_min=fleet.DEMO.interval_min
    )
    standard = load_standards(ROOT / "config" / "standards")["QCVN-126:2021/BTTTT"]
    operators = load_operators(ROOT / "config" / "operators.toml")
    areas = load_areas(ROOT / "config" / "areas")
    samples = []
    for recs in records.values():
        for r in recs:
            accepted = Accepted(r, record.encode(r), record.parse_timestamp(r["t"]))
            samples.append(Sample.from_dict(columns_of(accepted)))
    rollups = build_rollups(samples)
    period = Period(local_day(NOW - timedelta(days=6)), local_day(NOW))
    declared = {}
    for p in declarations.write(world.towers, tmp_path):
        data = p.path.read_bytes()
        start = declarations.valid_from(period.start)
        zones = tuple(read_zones(p.path, data))
        declared[(p.operator, p.technology)] = DeclaredArea(
            p.sha256, p.operator, p.technology, start, None, p.path.name, data, zones
        )

    def assess(operator: str, province: str):  # type: ignore[no-untyped-def]
        cells = areas[province].cells()
        area = declared[(operator, "5G")]
        rows, scope = within_declared(
            [r for r in rollups if r.h3 in cells], [area], standard, operator, period
        )
        assert scope.declarations == (area.sha256,) and scope.undeclared_days == 0
        return evaluate(
            standard, operators[operator], rows, area=province, period=period, scope=scope
        )

    cao_bang = assess("VinaPhone", CAO_BANG)
    failing = cao_bang.kpi("dl_mean")
    assert failing.verdict == "FAIL" and failing.grade == "evidence", failing
    # The city's 5G samples lie inside the declared 5G area: almost none is left out.
    assert cao_bang.scope is not None and cao_bang.scope.outside < failing.samples / 20
    assert failing.ci_high is not None and failing.ci_high < 100
    passing = assess("Viettel", LAO_CAI)
    verdicts = {k.kpi_id: k.verdict for k in passing.kpis}
    speeds = ("dl_mean", "ul_mean", "dl_share_30", "latency_mean", "access_failure")
    assert {k: verdicts[k] for k in speeds} == dict.fromkeys(speeds, "PASS")
    # The demo's transfers carry outcomes; drops are rare where the signal is good.
    assert verdicts["dropped_transfer"] == "PASS"
    assert passing.kpi("dl_mean").grade == "evidence"


def test_time_grid_ends_before_now_on_whole_intervals() -> None:
    first, last = fleet.time_grid(2, 15, NOW)
    assert last == datetime(2026, 11, 22, 8, 45, tzinfo=UTC)
    assert first == last - timedelta(days=2) + timedelta(minutes=15)
    with pytest.raises(ValueError):
        fleet.time_grid(0, 15, NOW)


def test_cli_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "demo.fleet", "--help"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0
    assert "--interval-min" in result.stdout and "--ci" in result.stdout


# --- through the real broker and aggregator ------------------------------------------


def test_fleet_run_stores_exactly_the_generated_records(aggregator, broker, db_dsn, tmp_path):
    now = datetime.now(UTC)
    size = fleet.CI
    summary = fleet.run(
        db_dsn, "127.0.0.1", broker.port, probes=size.probes, days=size.days,
        interval_min=size.interval_min, state_dir=tmp_path / "fleet", now=now,
    )  # fmt: skip
    # Same seed, same keys, same grid: the very same records, so we know every id.
    villages = VILLAGES[: size.probes]
    keys = fleet.probe_keys(tmp_path / "fleet", villages)
    first, last = fleet.time_grid(size.days, size.interval_min, now)
    expected = fleet.generate(
        fleet.World(1), villages, keys, first=first, last=last, interval_min=size.interval_min
    )
    ids = {r["id"] for recs in expected.values() for r in recs}
    assert summary.records == summary.published == summary.stored == len(ids)
    assert len(ids) == size.probes * size.days * 24 * 60 // size.interval_min
    with psycopg.connect(db_dsn) as conn:
        stored = {row[0] for row in conn.execute("SELECT id::text FROM records")}
        registered = dict(conn.execute("SELECT id, kind FROM probes").fetchall())
        pubkeys = dict(conn.execute("SELECT id, pubkey FROM probes").fetchall())
        dead_cells = conn.execute(
            "SELECT h3, count(*) FROM records GROUP BY h3 HAVING bool_and(service = false)"
        ).fetchall()
        op_of_dead = {r[0] for r in conn.execute(
            "SELECT DISTINCT op FROM records WHERE service = false")}  # fmt: skip
        rollup_total = conn.execute("SELECT sum(records) FROM rollups").fetchone()[0]
        deadletters = conn.execute("SELECT count(*) FROM deadletter").fetchone()[0]
    assert stored == ids
    assert rollup_total == len(ids) and deadletters == 0
    assert registered == {v.probe: v.kind for v in villages}
    assert pubkeys == {p: public_key_b64(k) for p, k in keys.items()}
    assert registered["hg-phone-01"] == "phone"
    # Dead zones: hexagons where the probe never had service, attributed to its SIM's operator.
    dead_probes = set(summary.dead_probes)
    assert {"lc-banho-01", "hg-dugia-01"} <= dead_probes
    expected_dead = {
        cell_of(v.lat, v.lon) for v in villages if v.probe in dead_probes and not v.route
    }
    assert expected_dead <= {cell for cell, _ in dead_cells}
    assert op_of_dead <= {"Viettel", "VinaPhone", "MobiFone"} and "MobiFone" in op_of_dead
    assert "no service" in summary.table() and "MobiFone" in summary.table()
    assert date.today() - summary.start.date() <= timedelta(days=size.days + 1)
