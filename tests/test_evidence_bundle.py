"""Evidence bundles from a real PostgreSQL+TimescaleDB: the CLI, the API, the audit log.

Records are stored the way ingest stores them (validate.check, then
store.write_batch, which also maintains the rollups), for probes registered
in the probe registry, inside and outside an administrative area.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import json
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import h3
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from giamsat.aggregator import settings
from giamsat.aggregator.cli import evidence as evidence_cli
from giamsat.aggregator.compliance import assess, national
from giamsat.aggregator.evidence import keys, layout, verify
from giamsat.aggregator.evidence.trust import Trust
from giamsat.aggregator.http.app import create_app
from giamsat.aggregator.ingest import validate
from giamsat.aggregator.settings import PROJECT_CONFIG
from giamsat.aggregator.store import areas, declarations, probes
from giamsat.aggregator.store import records as store
from giamsat.aggregator.store import tokens as auth
from giamsat.contract import record
from giamsat.contract.record import public_key_b64
from tests.support.evidence import OPERATORS, PERIOD, QCVN126, SLOW_NETWORK, signed_record
from tests.support.truth import Truth, generate

NOW = datetime(2026, 11, 15, tzinfo=UTC)
INSIDE = dataclasses.replace(SLOW_NETWORK, lat=22.15, lon=105.83)  # Thái Nguyên
OUTSIDE = Truth(operator="Viettel", lat=22.48, lon=103.97, probes=2, days=5, per_probe_day=10)
OTHER_OPERATOR = dataclasses.replace(OUTSIDE, operator="MobiFone", lat=22.15, lon=105.83, seed=5)
AREA, AREA_NAME = "gso-19", "Thái Nguyên"
VILLAGE = "Phường Đức Xuân, Thái Nguyên"


def store_fleet(dsn: str, truth: Truth, prefix: str, village: str) -> list[dict]:
    """Register the fleet's probes and store their signed records as ingest does."""
    samples = [dataclasses.replace(s, probe=f"{prefix}-{s.probe[-3:]}") for s in generate(truth)]
    keys_: dict[str, Ed25519PrivateKey] = {}
    records = []
    for s in samples:
        records.append(signed_record(s, keys_.setdefault(s.probe, Ed25519PrivateKey.generate())))
    registry = {p: validate.ProbeKey(k.public_key()) for p, k in keys_.items()}
    with psycopg.connect(dsn, autocommit=True) as conn:
        for probe, key in keys_.items():
            probes.add(conn, probe, public_key_b64(key), kind="fixed", village=village)
        accepted = [
            validate.check(record.topic_for(r["probe"]), record.encode(r), registry.get, NOW)
            for r in records
        ]
        assert all(isinstance(a, validate.Accepted) for a in accepted)
        store.write_batch(conn, accepted, [])
    return records


@pytest.fixture
def stored(db_dsn: str) -> dict[str, list[dict]]:
    """Viettel in Thái Nguyên (failing 5G speeds), Viettel in Lào Cai, MobiFone in Thái Nguyên.

    Thái Nguyên's probes stand in the former Bắc Kạn town, merged into it on 1 July 2025.
    """
    fleets = {
        "inside": store_fleet(db_dsn, INSIDE, "bk", VILLAGE),
        "outside": store_fleet(db_dsn, OUTSIDE, "lc", "Phường Lào Cai, Lào Cai"),
        "other": store_fleet(db_dsn, OTHER_OPERATOR, "mf", VILLAGE),
    }
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        areas.sync(conn, {AREA: areas.load_areas(PROJECT_CONFIG / "areas")[AREA]})
    return fleets


@pytest.fixture
def config(tmp_path: Path, db_dsn: str) -> Path:
    path = tmp_path / "aggregator.toml"
    path.write_text(f'[database]\ndsn = "{db_dsn}"\n[state]\ndir = "{tmp_path / "state"}"\n')
    return path


def parser() -> argparse.ArgumentParser:
    """A `giamsat` parser holding only what giamsat.aggregator.cli.evidence.register adds."""
    root = argparse.ArgumentParser(prog="giamsat")
    evidence_cli.register(root.add_subparsers(dest="command", required=True))
    return root


def giamsat(*argv: str) -> int:
    args = parser().parse_args(argv)
    return args.handler(args)


def members(path: Path | bytes) -> dict[str, bytes]:
    source = io.BytesIO(path) if isinstance(path, bytes) else path
    with zipfile.ZipFile(source) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def test_cli_builds_a_bundle_of_the_area_that_verifies(stored, config, db_dsn, tmp_path, capsys):
    out = tmp_path / "bundle.zip"
    status = giamsat(
        "evidence", "build", "--standard", "QCVN-126:2021/BTTTT", "--operator", "Viettel",
        "--area", AREA, "--from", "2026-10-01", "--to", "2026-10-31", "--out", str(out),
        "--config", str(config), "--key-dir", str(tmp_path / "key"),
    )  # fmt: skip
    printed = capsys.readouterr()
    assert status == 0, printed.err
    sha = hashlib.sha256(out.read_bytes()).hexdigest()
    assert sha in printed.out and "FAIL" in printed.out and "dl_mean" in printed.out
    assert "records: " in printed.err and "map: " in printed.err  # progress

    files = members(out)
    inside = stored["inside"]
    assert sorted(files[layout.RECORDS].splitlines()) == sorted(record.encode(r) for r in inside)
    assert json.loads(files[layout.AREA])["name"] == AREA_NAME
    assert layout.MAP_PNG in files  # Chromium took the picture
    registered = json.loads(files[layout.PROBES])["probes"]
    assert {p["id"] for p in registered} == {r["probe"] for r in inside}
    assert all(p["village"] == VILLAGE and p["records"] == 100 for p in registered)

    result = verify.verify_bundle(out)
    assert result.ok, result.all_problems()
    # No --config, no database; but nobody said which key to trust: intact, not verified.
    assert giamsat("evidence", "verify", str(out), "--quiet") == 3
    assert "NOT TRUSTED: every check passed, but no trusted key was given" in (
        capsys.readouterr().out
    )
    trust_file = tmp_path / "published" / "trust.toml"
    giamsat("evidence", "key", "--key-dir", str(tmp_path / "key"), "--trust-file",
            str(trust_file), "--issuer", "Cục Viễn thông")  # fmt: skip
    assert result.fingerprint in capsys.readouterr().out
    assert giamsat("evidence", "verify", str(out), "--quiet", "--trust", str(trust_file)) == 0
    assert f"signed by aggregator key {result.fingerprint}, trusted by the trust file" \
        f" trust.toml (Cục Viễn thông)" in capsys.readouterr().out  # fmt: skip

    # The bundle's verdict (from its records) is the database's (from rollups).
    verdict = json.loads(files[layout.VERDICT])
    with psycopg.connect(db_dsn) as conn:
        from_rollups = assess.assess(
            conn, QCVN126, OPERATORS["Viettel"], AREA, PERIOD, area_name=AREA_NAME
        )
        who, detail = conn.execute(
            "SELECT who, detail FROM audit_log WHERE action = 'evidence.build'"
        ).fetchone()
    for mine, theirs in zip(verdict["kpis"], from_rollups.kpis, strict=True):
        assert (mine["verdict"], mine["samples"]) == (theirs.verdict.value, theirs.samples)
        assert mine["value"] == theirs.value
    assert who.startswith("cli:") and detail["sha256"] == sha and detail["area"] == AREA


def test_unknown_names_are_refused_with_the_choices(stored, config, tmp_path, capsys):
    common = ("--from", "2026-10-01", "--to", "2026-10-31", "--config", str(config),
              "--key-dir", str(tmp_path / "key"), "--out", str(tmp_path / "b.zip"))  # fmt: skip
    assert giamsat("evidence", "build", "--standard", "QCVN-1", "--operator", "Viettel",
                   *common) == 1  # fmt: skip
    assert "one of QCVN-126:2021/BTTTT" in capsys.readouterr().err
    assert giamsat("evidence", "build", "--standard", "QCVN-126:2021/BTTTT", "--operator",
                   "Viettel", "--area", "VN-53", *common) == 1  # fmt: skip
    # Bắc Kạn's id before 1 July 2025: no unit has it any more.
    assert "unknown area 'VN-53'" in capsys.readouterr().err
    assert not (tmp_path / "b.zip").exists()


def test_api_download_is_for_inspectors_and_audited(stored, config, db_dsn, tmp_path):
    app = create_app(settings.load(config))
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        inspector = {"Authorization": "Bearer " + auth.create_token(conn, "insp-1", "inspector")}
        viewer = {"Authorization": "Bearer " + auth.create_token(conn, "view-1", "viewer")}
    # One H3 cell of resolution 7 holding the first Thái Nguyên probe's fixed site.
    first = stored["inside"][0]
    cell = h3.latlng_to_cell(first["loc"]["lat"], first["loc"]["lon"], 7)
    query = {"standard": "QCVN-126:2021/BTTTT", "operator": "Viettel", "area": cell,
             "from": "2026-10-01", "to": "2026-10-31"}  # fmt: skip
    with TestClient(app) as client:
        url = "/api/v1/evidence"
        assert client.get(url, params=query).status_code == 401
        assert client.get(url, params=query, headers=viewer).status_code == 403
        assert (
            client.get(url, params=query | {"area": "VN-53"}, headers=inspector).status_code == 404
        )
        bad = client.get(url, params=query | {"operator": "Nobody"}, headers=inspector)
        assert bad.status_code == 422 and "Viettel" in bad.text
        backwards = query | {"from": "2026-10-31", "to": "2026-10-01"}
        assert client.get(url, params=backwards, headers=inspector).status_code == 422
        response = client.get(url, params=query, headers=inspector)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    sha = hashlib.sha256(response.content).hexdigest()
    assert response.headers["x-giamsat-sha256"] == sha
    assert f"{cell}" in response.headers["content-disposition"]
    bundle = tmp_path / "download.zip"
    bundle.write_bytes(response.content)
    trusted = Trust.of_key(keys.fingerprint(
        public_key_b64(keys.load_or_create(tmp_path / "state" / "evidence"))))  # fmt: skip
    result = verify.verify_bundle(bundle, trust=trusted)
    assert result.verified, result.all_problems()
    in_cell = [
        r for r in stored["inside"]
        if h3.cell_to_parent(h3.latlng_to_cell(r["loc"]["lat"], r["loc"]["lon"], 8), 7) == cell
    ]  # fmt: skip
    assert len(members(bundle)[layout.RECORDS].splitlines()) == len(in_cell) > 0
    with psycopg.connect(db_dsn) as conn:
        rows = conn.execute(
            "SELECT who, role, detail FROM audit_log WHERE action = 'evidence.download'"
        ).fetchall()
    assert len(rows) == 1  # refused requests download nothing and log nothing
    who, role, detail = rows[0]
    assert (who, role, detail["sha256"], detail["records"]) == (
        "insp-1",
        "inspector",
        sha,
        len(in_cell),
    )


def test_a_bundle_judges_inside_the_declared_area_as_the_compliance_table_does(
    stored, config, db_dsn, tmp_path, capsys
):
    """The declaration in force travels with the bundle, cut to the area's cells."""
    south = [[105.70, 22.13], [105.95, 22.13], [105.95, 22.175], [105.70, 22.175], [105.70, 22.13]]
    far = [[103.90, 22.40], [104.05, 22.40], [104.05, 22.55], [103.90, 22.55], [103.90, 22.40]]
    zones = [
        {"type": "Feature", "properties": {"name": name},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}
        for name, ring in (("Bắc Kạn cũ", south), ("Lào Cai", far))
    ]  # fmt: skip
    path = tmp_path / "viettel-5g.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": zones}))
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        declared, _ = declarations.import_declaration(
            conn, path, operator="Viettel", technology="5G", valid_from=date(2026, 10, 3)
        )
        area_cells = set(areas.cells_of(conn, AREA))
        national.clear_memo()
        [(_, table)] = national.national_table(
            conn, [QCVN126], [OPERATORS["Viettel"]], PERIOD, areas=[(AREA, AREA_NAME)]
        )
    out = tmp_path / "bundle.zip"
    assert giamsat(
        "evidence", "build", "--standard", "QCVN-126:2021/BTTTT", "--operator", "Viettel",
        "--area", AREA, "--from", "2026-10-01", "--to", "2026-10-31", "--out", str(out),
        "--config", str(config), "--key-dir", str(tmp_path / "key"),
    ) == 0, capsys.readouterr().err  # fmt: skip
    files = members(out)
    [entry] = json.loads(files[layout.DECLARATIONS])["declarations"]
    assert entry["sha256"] == declared.sha256 and entry["valid_from"] == "2026-10-03"
    [zone] = entry["zones"]  # the Lào Cai zone lies outside the area
    assert zone["name"] == "Bắc Kạn cũ" and set(zone["cells"]) <= area_cells
    assert files[entry["file"]] == path.read_bytes()
    verdict = json.loads(files[layout.VERDICT])
    assert table.scope is not None and table.scope.outside > 0
    assert verdict["scope"] == {
        "declarations": [declared.sha256], "undeclared_days": 2, "outside": table.scope.outside
    }  # fmt: skip
    result = verify.verify_bundle(out)
    assert result.ok, result.all_problems()
