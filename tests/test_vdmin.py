"""QCVN 81 §2.1.5: the share of samples with download at or above the Vdmin each zone declares.

Vdmin is any figure to 1 kbit/s (5, 2.5, 0.256 Mbit/s) and differs by zone and
day, so it is counted exactly per sample: at ingest with the declarations in
force, and again by ``recount`` for records stored before a declaration.
"""

import dataclasses
import hashlib
import json
import re
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import h3
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from giamsat.aggregator.aggregates.rollup import Rollup, build_rollups
from giamsat.aggregator.aggregates.samples import Sample
from giamsat.aggregator.compliance import (
    Period,
    evaluate,
    load_operators,
    load_standards,
    national,
)
from giamsat.aggregator.compliance.assess import rollups_for, scope_for
from giamsat.aggregator.compliance.declared import with_zone_speeds, within_declared
from giamsat.aggregator.compliance.standards import load_standard
from giamsat.aggregator.evidence import verify
from giamsat.aggregator.ingest import validate
from giamsat.aggregator.settings import PROJECT_CONFIG
from giamsat.aggregator.store import daily, declarations, probes
from giamsat.aggregator.store import records as store
from giamsat.contract import record
from giamsat.contract.config import ConfigError
from giamsat.contract.record import public_key_b64
from giamsat.contract.timezone import VIETNAM_TZ
from tests.support.evidence import signed_record
from tests.support.processes import run_cli
from tests.support.truth import Truth, generate

STANDARDS = load_standards(PROJECT_CONFIG / "standards")
QCVN81 = STANDARDS["QCVN-81:2019/BTTTT"]
OPERATORS = load_operators(PROJECT_CONFIG / "operators.toml")
PERIOD = Period(date(2026, 10, 1), date(2026, 10, 31))
NOW = datetime(2026, 11, 15, tzinfo=UTC)
# Two zones near Thái Nguyên city: the town (Vdmin 2.5) and the hills east of it (256 kbit/s).
TOWN = [[105.80, 21.55], [105.90, 21.55], [105.90, 21.65], [105.80, 21.65], [105.80, 21.55]]
HILLS = [[105.90, 21.55], [106.00, 21.55], [106.00, 21.65], [105.90, 21.65], [105.90, 21.55]]


def _sample(dl: float | None, vdmin: float | None, *, service: bool = True) -> Sample:
    return Sample(
        t=datetime(2026, 10, 2, 9, tzinfo=VIETNAM_TZ), probe="p", op="Viettel", tech="LTE",
        env="indoor", h3=h3.latlng_to_cell(21.6, 105.85, 8), service=service, dl_mbps=dl,
        dl_vdmin_mbps=vdmin,
    )  # fmt: skip


def test_a_rollup_counts_downloads_at_or_above_the_declared_vdmin_exactly() -> None:
    rollup = Rollup(hour=datetime(2026, 10, 2, 2, tzinfo=UTC), h3="x", op="Viettel",
                    tech="LTE", probe="p", env="indoor")  # fmt: skip
    for sample in (
        _sample(2.5, 2.5),  # at Vdmin: met
        _sample(2.499, 2.5),  # a kilobit below: not met
        _sample(0.256, 0.256),  # 256 kbit/s, a real declaration: met
        _sample(30.0, None),  # no Vdmin declared here: not counted
        _sample(None, 2.5),  # no download measured: not counted
        _sample(None, 2.5, service=False),  # no service: no download
    ):
        rollup.add(sample, None)
    assert (rollup.dl_vdmin_n, rollup.dl_vdmin_met) == (3, 2)
    assert Rollup.from_row(rollup.as_row()) == rollup


def _zone(index: int, name: str, ring: list[list[float]], vdmin: str | None) -> declarations.Zone:
    cells = frozenset(h3.geo_to_cells({"type": "Polygon", "coordinates": [ring]}, 8))
    speeds = {} if vdmin is None else {"vdmin": Decimal(vdmin)}
    return declarations.Zone(index, name, speeds, cells)


def test_a_samples_vdmin_is_its_zones_in_the_declaration_in_force_that_day() -> None:
    town, hills = _zone(0, "Thành phố", TOWN, "2.5"), _zone(1, "Đồi", HILLS, "0.256")
    first = declarations.DeclaredArea(
        "a" * 64, "Viettel", "4G", date(2026, 10, 1), date(2026, 10, 9), "a.geojson", None,
        (town, hills),
    )  # fmt: skip
    later = dataclasses.replace(
        first, sha256="b" * 64, valid_from=date(2026, 10, 10), valid_to=None,
        zones=(_zone(0, "Thành phố", TOWN, "5"),),
    )  # fmt: skip
    in_town = _sample(3.0, None)
    in_hills = dataclasses.replace(in_town, h3=h3.latlng_to_cell(21.6, 105.95, 8))
    on_the_10th = dataclasses.replace(in_town, t=datetime(2026, 10, 10, 0, 30, tzinfo=VIETNAM_TZ))
    nr = dataclasses.replace(in_town, tech="NR-SA")  # a 5G sample: the 4G declaration says nothing
    other = dataclasses.replace(in_town, op="MobiFone")
    far = dataclasses.replace(in_town, h3=h3.latlng_to_cell(22.6, 105.85, 8))
    got = declarations.apply_vdmin([in_town, in_hills, on_the_10th, nr, other, far], [first, later])
    assert [s.dl_vdmin_mbps for s in got] == [2.5, 0.256, 5.0, None, None, None]


def test_declared_thresholds_are_read_only_where_they_mean_something(tmp_path: Path) -> None:
    kpi = QCVN81.kpi("dl_share_vdmin")
    assert (kpi.declared_threshold, kpi.threshold, kpi.limit) == ("vdmin", None, 95.0)
    text = (PROJECT_CONFIG / "standards" / "qcvn-81-2019.toml").read_text()
    wrong = [
        ('threshold = "declared:vdmin"', 'threshold = "declared:vd"'),
        ('field = "dl_mbps"\nthreshold = "decl', 'field = "ul_mbps"\nthreshold = "decl'),
    ]
    for old, new in wrong:
        path = tmp_path / "qcvn-81.toml"
        path.write_text(text.replace(old, new))
        with pytest.raises(ConfigError) as caught:
            load_standard(path)
        assert caught.value.key.endswith("threshold") and "declared:vdmin" in caught.value.reason


# --- in the database -------------------------------------------------------------------


def _fleet() -> tuple[list[dict], dict[str, Ed25519PrivateKey]]:
    """Viettel 4G probes in the town and in the hills, downloads around the declared figures."""
    samples = []
    for lat, lon, dl, seed in ((21.56, 105.85, 3.0, 1), (21.56, 105.95, 0.3, 2)):
        truth = Truth(
            operator="Viettel", tech="LTE", dl_mbps=dl, ul_mbps=1.0, lat=lat, lon=lon, probes=3,
            days=6, per_probe_day=20, seed=seed,
        )  # fmt: skip
        samples += [
            dataclasses.replace(s, probe=f"v{seed}-{s.probe[-3:]}") for s in generate(truth)
        ]
    keys: dict[str, Ed25519PrivateKey] = {}
    signed = [
        signed_record(s, keys.setdefault(s.probe, Ed25519PrivateKey.generate())) for s in samples
    ]
    return signed, keys


def _ingest(dsn: str, signed: list[dict], keys: dict[str, Ed25519PrivateKey]) -> None:
    registry = {p: validate.ProbeKey(k.public_key()) for p, k in keys.items()}
    with psycopg.connect(dsn, autocommit=True) as conn:
        for probe, key in keys.items():
            probes.add(conn, probe, public_key_b64(key), kind="fixed", village="Thái Nguyên")
        accepted = [
            validate.check(record.topic_for(r["probe"]), record.encode(r), registry.get, NOW)
            for r in signed
        ]
        assert all(isinstance(a, validate.Accepted) for a in accepted)
        for start in range(0, len(accepted), 200):  # batches, as ingest takes them
            store.write_batch(conn, accepted[start : start + 200], [])


def _declare(
    conn: psycopg.Connection, tmp_path: Path, name: str, valid_from: date, town: str
) -> str:
    features = [
        {"type": "Feature", "properties": {"name": zone, "vdmin": vdmin},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}
        for zone, ring, vdmin in (("Thành phố", TOWN, town), ("Đồi", HILLS, "0.256"))
    ]  # fmt: skip
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    stored, _ = declarations.import_declaration(
        conn, path, operator="Viettel", technology="4G", valid_from=valid_from
    )
    return stored.sha256


def _stored_counts(conn: psycopg.Connection) -> dict[tuple, tuple[int, int]]:
    rows = conn.execute(
        "SELECT hour, h3, op, tech, probe, env, dl_vdmin_n, dl_vdmin_met FROM rollups"
    ).fetchall()
    return {tuple(r[:6]): (r[6], r[7]) for r in rows}


def _expected_counts(conn: psycopg.Connection, signed: list[dict]) -> dict[tuple, tuple[int, int]]:
    """What ingest counts with today's declarations, computed from the records in Python."""
    samples = [Sample.from_dict(_columns(r)) for r in signed]
    declared = declarations.declared_areas(conn, "Viettel", "4G", PERIOD.start, PERIOD.end)
    return {r.key: (r.dl_vdmin_n, r.dl_vdmin_met)
            for r in build_rollups(declarations.apply_vdmin(samples, declared))}  # fmt: skip


def _columns(signed: dict) -> dict:
    return {
        "t": signed["t"], "probe": signed["probe"], "op": signed["net"]["op"],
        "tech": signed["net"]["tech"], "env": signed["loc"]["env"],
        "h3": h3.latlng_to_cell(signed["loc"]["lat"], signed["loc"]["lon"], 8),
        "service": signed["net"]["service"], "dl_mbps": (signed.get("dl") or {}).get("mbps"),
        "ul_mbps": (signed.get("ul") or {}).get("mbps"),
    }  # fmt: skip


def test_ingest_counts_vdmin_with_the_declaration_in_force(db_dsn, tmp_path):
    signed, keys = _fleet()
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        _declare(conn, tmp_path, "v1.geojson", date(2026, 9, 1), "2.5")
    _ingest(db_dsn, signed, keys)
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        stored = _stored_counts(conn)
        expected = _expected_counts(conn, signed)
    assert stored == expected
    n = sum(c[0] for c in stored.values())
    met = sum(c[1] for c in stored.values())
    assert 0 < met < n  # some downloads below, some at or above


def test_recount_after_a_new_declaration_and_the_verdict_it_gives(db_dsn, tmp_path):
    signed, keys = _fleet()
    _ingest(db_dsn, signed, keys)  # stored before any declaration: nothing to count against
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        assert {c for c in _stored_counts(conn).values()} == {(0, 0)}
        daily.refresh_daily(conn)
        _declare(conn, tmp_path, "v1.geojson", date(2026, 9, 1), "2.5")
        changed = declarations.recount(conn, operator="Viettel", technology="4G")
        first = _stored_counts(conn)
        assert changed > 0 and first == _expected_counts(conn, signed)
        assert declarations.recount(conn, operator="Viettel", technology="4G") == 0  # up to date

        # From the 4th the town declares Vdmin 5: only counts from that day change.
        _declare(conn, tmp_path, "v2.geojson", date(2026, 10, 4), "5")
        declarations.recount(conn, operator="Viettel", technology="4G", since=date(2026, 10, 4))
        second = _stored_counts(conn)
        assert second == _expected_counts(conn, signed)
        boundary = datetime(2026, 10, 4, tzinfo=VIETNAM_TZ)
        assert all(second[k] == first[k] for k in first if k[0] < boundary)
        assert any(second[k] != first[k] for k in first if k[0] >= boundary)

        # The table reads recounted rows at once, before the next daily refresh.
        national.clear_memo()
        [(_, found)] = national.national_table(
            conn, [QCVN81], [OPERATORS["Viettel"]], PERIOD, areas=[("all", "cả nước")]
        )
        scope = scope_for(conn, QCVN81, "Viettel", "all", PERIOD)
        declared = declarations.declared_areas(conn, "Viettel", "4G", PERIOD.start, PERIOD.end)
    samples = declarations.apply_vdmin([Sample.from_dict(_columns(r)) for r in signed], declared)
    rows, pure_scope = within_declared(build_rollups(samples), declared, QCVN81, "Viettel", PERIOD)
    assert pure_scope == scope == found.scope
    expected = evaluate(
        QCVN81, OPERATORS["Viettel"], rows, area="cả nước", period=PERIOD, scope=scope
    )
    share = found.kpi("dl_share_vdmin")
    assert share == expected.kpi("dl_share_vdmin")
    assert share.samples > 0 and share.value is not None and 0 < share.value < 100


def test_coverage_import_recounts_and_recount_is_one_command(db_dsn, tmp_path):
    signed, keys = _fleet()
    _ingest(db_dsn, signed, keys)
    config = tmp_path / "aggregator.toml"
    config.write_text(f'[database]\ndsn = "{db_dsn}"\n')
    feature = {
        "type": "Feature", "properties": {"name": "Thành phố"},
        "geometry": {"type": "Polygon", "coordinates": [TOWN]},
    }  # fmt: skip
    area = tmp_path / "viettel-4g.geojson"
    area.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    done = run_cli(
        "giamsat", "coverage", "import", "--config", str(config), "--operator", "Viettel",
        "--technology", "4G", "--valid-from", "2026-09-01", "--vdmin", "2.5", str(area),
    )  # fmt: skip
    changed = re.search(r"Vdmin: (\d+) hourly rollup row\(s\) changed", done.stdout)
    assert changed is not None and int(changed.group(1)) > 0, done.stdout
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        assert _stored_counts(conn) == _expected_counts(conn, signed)
    again = run_cli("giamsat", "coverage", "recount", "--config", str(config), "--since",
                    "2026-10-01")  # fmt: skip
    assert "Vdmin: 0 hourly rollup row(s) changed" in again.stdout
    wrong = run_cli("giamsat", "coverage", "recount", "--config", str(config), "--since",
                    "October", check=False)  # fmt: skip
    assert wrong.returncode == 2 and "--since: October: must be a date" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_a_declared_zone_is_judged_with_its_own_declared_speeds(db_dsn, tmp_path):
    """QCVN 81 §2.1.5 per service area: the town's mean speeds against the town's Vd and Vu."""
    signed, keys = _fleet()
    _ingest(db_dsn, signed, keys)
    features = [
        {"type": "Feature", "properties": {"name": zone, **speeds},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}
        for zone, ring, speeds in (
            ("Thành phố", TOWN, {"vd": "16", "vu": "0.5", "vdmin": "2.5"}),
            ("Đồi", HILLS, {"vdmin": "0.256"}),
        )
    ]  # fmt: skip
    path = tmp_path / "viettel-4g.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    config = tmp_path / "aggregator.toml"
    config.write_text(f'[database]\ndsn = "{db_dsn}"\n[state]\ndir = "{tmp_path / "state"}"\n')
    done = run_cli(
        "giamsat", "coverage", "import", "--config", str(config), "--operator", "Viettel",
        "--technology", "4G", "--valid-from", "2026-09-01", str(path),
    )  # fmt: skip
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    town = declarations.zone_id(sha, 0)
    assert f"--area {town}  Thành phố (vd 16, vdmin 2.5, vu 0.5;" in done.stdout

    with psycopg.connect(db_dsn, autocommit=True) as conn:
        national.clear_memo()
        table = national.national_table(
            conn, [QCVN81], [OPERATORS["Viettel"], OPERATORS["MobiFone"]], PERIOD,
            areas=[(town, "Viettel 4G: Thành phố")],
        )  # fmt: skip
        zone = declarations.zone_area(conn, town)
        rows = rollups_for(conn, QCVN81, "Viettel", town, PERIOD)
        scope = scope_for(conn, QCVN81, "Viettel", town, PERIOD)
    assert zone is not None and zone.name == "Viettel 4G: Thành phố"
    viettel, mobifone = (a for _, a in table)
    assert viettel.kpi("dl_mean").limit == 16.0 and viettel.kpi("ul_mean").limit == 0.5
    # Another operator in the same polygon keeps its own declared speeds.
    assert mobifone.kpi("dl_mean").limit == OPERATORS["MobiFone"].declared["4G"]["vd"]
    judged = with_zone_speeds(OPERATORS["Viettel"], "4G", zone.zone.speeds)
    expected = evaluate(
        QCVN81, judged, rows, area="Viettel 4G: Thành phố", period=PERIOD, scope=scope
    )
    assert viettel == expected and viettel.kpi("dl_mean").samples > 0
    # Checked against the raw records: Vd 16 and Vdmin 2.5 judged exactly.
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        declared = declarations.declared_areas(conn, "Viettel", "4G", PERIOD.start, PERIOD.end)
    raw = [Sample.from_dict(_columns(r)) for r in signed]
    in_zone = [x for x in raw if x.h3 in zone.zone.cells]
    rows, raw_scope = within_declared(
        build_rollups(declarations.apply_vdmin(in_zone, declared)), declared, QCVN81,
        "Viettel", PERIOD,
    )  # fmt: skip
    from_raw = evaluate(
        QCVN81, judged, rows, area="Viettel 4G: Thành phố", period=PERIOD, scope=raw_scope
    )
    for kpi in ("dl_mean", "ul_mean", "dl_share_vdmin"):
        a, b = viettel.kpi(kpi), from_raw.kpi(kpi)
        assert a == b, (kpi, a.samples, b.samples, a.value, b.value)
    downloads = [x.dl_mbps for x in in_zone if x.dl_mbps is not None]
    met = sum(d >= 2.5 for d in downloads)
    share = viettel.kpi("dl_share_vdmin")
    assert share.samples == len(downloads) and share.value == pytest.approx(
        100 * met / len(downloads)
    )
    assert viettel.kpi("dl_mean").verdict.value in ("FAIL", "AT_RISK")  # about 3 Mbit/s < 16

    shown = run_cli(
        "giamsat", "compliance", "--config", str(config), "--standard", QCVN81.id,
        "--operator", "Viettel", "--area", town, "--from", "2026-10-01", "--to", "2026-10-31",
    )  # fmt: skip
    assert "Viettel 4G: Thành phố" in shown.stdout
    assert any(line.startswith("dl_mean ") and ">= 16 Mbit/s" in line
               for line in shown.stdout.splitlines())  # fmt: skip

    # The evidence bundle of the zone judges it the same way, and verifies offline.
    out = tmp_path / "zone.zip"
    run_cli(
        "giamsat", "evidence", "build", "--config", str(config), "--standard", QCVN81.id,
        "--operator", "Viettel", "--area", town, "--from", "2026-10-01", "--to", "2026-10-31",
        "--out", str(out), "--key-dir", str(tmp_path / "key"), "--no-picture",
        timeout=300,
    )  # fmt: skip
    verdict = json.loads(zipfile.ZipFile(out).read("verdict.json"))
    limits = {k["kpi_id"]: k["limit"] for k in verdict["kpis"]}
    assert (limits["dl_mean"], limits["ul_mean"]) == (16.0, 0.5)
    assert verify.verify_bundle(out).ok

    for area, said in (
        ("zone:123:0", "a zone is zone:<SHA-256, 8+ hex digits>:<number>"),
        ("zone:00000000:0", "no declaration with SHA-256 starting 00000000"),
        (declarations.zone_id(sha, 7), f"declaration {sha[:12]} has no zone 7"),
    ):
        bad = run_cli(
            "giamsat", "compliance", "--config", str(config), "--standard", QCVN81.id,
            "--operator", "Viettel", "--area", area, "--from", "2026-10-01", "--to",
            "2026-10-31", check=False,
        )  # fmt: skip
        assert bad.returncode == 2 and said in bad.stderr, bad.stderr
        assert "Traceback" not in bad.stderr
