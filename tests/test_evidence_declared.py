"""Evidence bundles judge inside the declared service area, and anyone can check which one.

A bundle carries the operator's declaration file as imported and the cells of
the area it declared; the verifier hashes the file, derives the cells from it
again and recomputes the verdict on the records inside them.
"""

import dataclasses
import hashlib
import json
from datetime import date
from pathlib import Path

import h3
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from giamsat.aggregator.compliance import Scope, Standard
from giamsat.aggregator.evidence import layout, manifest, verify
from giamsat.aggregator.evidence.assemble import assemble, declaration_file_name
from giamsat.aggregator.settings import PROJECT_CONFIG
from giamsat.aggregator.store.declarations import DeclaredArea, read_zones
from tests.support.evidence import (
    EVERYWHERE,
    OPERATORS,
    PERIOD,
    QCVN126,
    SLOW_NETWORK,
    STANDARDS,
    Fleet,
    fleet,
    members,
    report_text,
    resign,
    rewrite,
)

# Covers the southern probes of SLOW_NETWORK (lat 22.61 + 0.01 per probe), not the northern.
ZONE = [[105.80, 22.600], [105.95, 22.600], [105.95, 22.635], [105.80, 22.635], [105.80, 22.600]]


def _declaration(tmp_path: Path) -> DeclaredArea:
    path = tmp_path / "viettel-5g.geojson"
    feature = {
        "type": "Feature",
        "properties": {"name": "Hà Giang cũ", "vd": "100"},
        "geometry": {"type": "Polygon", "coordinates": [ZONE]},
    }
    data = json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()
    path.write_bytes(data)
    return DeclaredArea(
        hashlib.sha256(data).hexdigest(), "Viettel", "5G", date(2026, 9, 1), None, path.name,
        data, tuple(read_zones(path, data)),
    )  # fmt: skip


def _build(
    out: Path,
    data: Fleet,
    key: Ed25519PrivateKey,
    declared: list[DeclaredArea],
    standard: Standard = QCVN126,
) -> Path:
    return assemble(
        out, standard=standard, operator=OPERATORS["Viettel"],
        standard_bytes=Path(standard.path).read_bytes(),
        operators_bytes=(PROJECT_CONFIG / "operators.toml").read_bytes(),
        area=EVERYWHERE, period=PERIOD, probes=data.entries(), records=data.payloads(),
        key=key, map_picture=False, declared=declared,
    ).path  # fmt: skip


@pytest.fixture(scope="module")
def data() -> Fleet:
    return fleet(SLOW_NETWORK)


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _cell(record: dict) -> str:
    return h3.latlng_to_cell(record["loc"]["lat"], record["loc"]["lon"], 8)


def test_the_verdict_counts_records_inside_the_declaration_and_verifies(tmp_path, data, key):
    declared = _declaration(tmp_path)
    outside = [r for r in data.records if _cell(r) not in declared.cells]
    assert outside and len(outside) < len(data.records)
    path = _build(tmp_path / "b.zip", data, key, [declared])
    result = verify.verify_bundle(path)
    assert result.ok, result.all_problems()

    files = members(path)
    verdict = json.loads(files[layout.VERDICT])
    assert Scope.from_dict(verdict["scope"]) == Scope((declared.sha256,), 0, len(outside))
    assert files[declaration_file_name(declared)] == declared.content
    doc = json.loads(files[layout.DECLARATIONS])
    [entry] = doc["declarations"]
    assert entry["sha256"] == declared.sha256 and entry["valid_from"] == "2026-09-01"
    [zone] = entry["zones"]
    assert (zone["name"], zone["speeds"]) == ("Hà Giang cũ", {"vd": "100"})
    assert sorted(zone["cells"]) == sorted(declared.cells)
    # Without the declaration, the same records give another verdict.
    everything = _build(tmp_path / "all.zip", data, key, [])
    whole = json.loads(members(everything)[layout.VERDICT])
    assert whole["scope"] == {"declarations": [], "undeclared_days": 31, "outside": 0}
    assert sum(k["samples"] for k in whole["kpis"]) > sum(k["samples"] for k in verdict["kpis"])

    flat = report_text(files[layout.REPORT], tmp_path)
    assert "Declared service area (Annex B): Judged inside Viettel's declared 5G" in flat
    assert f"{len(outside)} sample(s) outside it not counted" in flat
    assert "Vùng phục vụ đã công bố (Phụ lục B)" in flat
    assert declared.sha256[:32] in flat.replace(" ", "")
    readme = files[layout.README].decode()
    assert declaration_file_name(declared) in readme and "declared.within_declared" in readme


def test_cells_that_are_not_the_files_are_named_even_under_a_fresh_signature(tmp_path, data, key):
    """A forger who widens or narrows the declared area must also change the operator's file."""
    declared = _declaration(tmp_path)
    path = _build(tmp_path / "b.zip", data, key, [declared])
    forger = Ed25519PrivateKey.generate()

    def narrow(files: dict[str, bytes]) -> None:
        doc = json.loads(files[layout.DECLARATIONS])
        cells = doc["declarations"][0]["zones"][0]["cells"]
        doc["declarations"][0]["zones"][0]["cells"] = cells[: len(cells) // 2]
        files[layout.DECLARATIONS] = manifest.to_text(doc).encode()
        resign(files, forger)

    rewrite(path, narrow)
    problems = verify.verify_bundle(path).all_problems()
    assert any("(viettel-5g.geojson): zone 0:" in p and "cell(s) differ" in p for p in problems)

    path = _build(tmp_path / "c.zip", data, key, [declared])

    def swap_file(files: dict[str, bytes]) -> None:
        name = declaration_file_name(declared)
        files[name] = files[name].replace(b"22.635", b"22.735")
        resign(files, forger)

    rewrite(path, swap_file)
    problems = verify.verify_bundle(path).all_problems()
    assert any(f"does not hash to {declared.sha256}" in p for p in problems), problems


def test_a_bundle_of_the_first_format_still_verifies(tmp_path, data, key):
    """Bundles built before declared areas judged every record and stated fewer fields."""
    path = _build(tmp_path / "b.zip", data, key, [])

    def first_format(files: dict[str, bytes]) -> None:
        verdict = json.loads(files[layout.VERDICT])
        for name in ("scope", "version", "version_from"):
            del verdict[name]
        for kpi in verdict["kpis"]:
            for name in ("scope", "version", "unconfirmed"):
                del kpi[name]
        files[layout.VERDICT] = (json.dumps(verdict, ensure_ascii=False, indent=2) + "\n").encode()
        del files[layout.DECLARATIONS]
        content = json.loads(files[layout.MANIFEST])
        content["format"] = "giamsat-evidence/1"
        del content["files"][layout.DECLARATIONS]
        files[layout.MANIFEST] = manifest.encode(content)
        resign(files, key)

    rewrite(path, first_format)
    result = verify.verify_bundle(path)
    assert result.ok, result.all_problems()

    # ... but a second-format bundle without its declarations does not.
    path = _build(tmp_path / "c.zip", data, key, [])

    def drop(files: dict[str, bytes]) -> None:
        del files[layout.DECLARATIONS]
        content = json.loads(files[layout.MANIFEST])
        del content["files"][layout.DECLARATIONS]
        files[layout.MANIFEST] = manifest.encode(content)
        resign(files, key)

    rewrite(path, drop)
    problems = verify.verify_bundle(path).all_problems()
    assert "declarations.json: missing from the manifest (every bundle has it)" in problems


def test_records_outside_the_declaration_cannot_be_slipped_in_as_undeclared(tmp_path, data, key):
    """Deleting the declaration from a bundle changes the verdict, which the verifier names."""
    declared = _declaration(tmp_path)
    path = _build(tmp_path / "b.zip", data, key, [declared])
    forger = Ed25519PrivateKey.generate()

    def undeclare(files: dict[str, bytes]) -> None:
        doc = json.loads(files[layout.DECLARATIONS])
        doc["declarations"] = []
        files[layout.DECLARATIONS] = manifest.to_text(doc).encode()
        del files[declaration_file_name(declared)]
        content = json.loads(files[layout.MANIFEST])
        del content["files"][declaration_file_name(declared)]
        files[layout.MANIFEST] = manifest.encode(content)
        resign(files, forger)

    rewrite(path, undeclare)
    problems = verify.verify_bundle(path).all_problems()
    assert any(p.startswith("verdict.json: scope is") for p in problems), problems


def test_a_qcvn81_bundle_counts_vdmin_per_zone_and_its_speeds_are_the_files(tmp_path, key):
    """The declared Vdmin travels with its zone; a forged speed is named."""
    lte = fleet(dataclasses.replace(SLOW_NETWORK, tech="LTE", dl_mbps=3.0, seed=11))
    path = tmp_path / "viettel-4g.geojson"
    feature = {
        "type": "Feature",
        "properties": {"name": "Hà Giang cũ", "vdmin": "2.5"},
        "geometry": {"type": "Polygon", "coordinates": [ZONE]},
    }
    data = json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()
    path.write_bytes(data)
    declared = DeclaredArea(
        hashlib.sha256(data).hexdigest(), "Viettel", "4G", date(2026, 9, 1), None, path.name,
        data, tuple(read_zones(path, data)),
    )  # fmt: skip
    out = _build(tmp_path / "b.zip", lte, key, [declared], STANDARDS["QCVN-81:2019/BTTTT"])
    assert verify.verify_bundle(out).ok
    files = members(out)
    share = next(
        k for k in json.loads(files[layout.VERDICT])["kpis"] if k["kpi_id"] == "dl_share_vdmin"
    )
    inside = [
        r for r in lte.records
        if _cell(r) in declared.cells and (r.get("dl") or {}).get("mbps") is not None
    ]  # fmt: skip
    assert share["samples"] == len(inside) > 0
    met = sum(r["dl"]["mbps"] >= 2.5 for r in inside)
    assert share["value"] == pytest.approx(100.0 * met / len(inside))
    [entry] = json.loads(files[layout.DECLARATIONS])["declarations"]
    assert entry["zones"][0]["speeds"] == {"vdmin": "2.5"}

    def faster(files: dict[str, bytes]) -> None:
        doc = json.loads(files[layout.DECLARATIONS])
        doc["declarations"][0]["zones"][0]["speeds"]["vdmin"] = "1"
        files[layout.DECLARATIONS] = manifest.to_text(doc).encode()
        resign(files, key)

    rewrite(out, faster)
    problems = verify.verify_bundle(out).all_problems()
    assert any("zone 0: vdmin 1, the file says 2.5" in p for p in problems), problems


def test_the_bundle_lists_the_declared_hexagons_measured_dead(tmp_path, key):
    """gaps.json and the PDF name the hexagons to hand the operator, and only declared ones."""
    dead = fleet(dataclasses.replace(SLOW_NETWORK, probes=6, no_service=0.8, seed=12))
    declared = _declaration(tmp_path)
    out = _build(tmp_path / "b.zip", dead, key, [declared])
    files = members(out)
    gaps = json.loads(files[layout.GAPS])["gaps"]
    cells = {_cell(r) for r in dead.records}
    assert gaps and {g["h3"] for g in gaps} < cells  # some dead cells lie outside the zone
    for gap in gaps:
        assert gap["h3"] in declared.cells and gap["declaration"] == declared.sha256
        assert gap["zone"] == "Hà Giang cũ" and gap["class"] == "dead"
        assert gap["no_service"] / gap["samples"] >= 0.5 and gap["days"] >= 3
    shares = [g["no_service"] / g["samples"] for g in gaps]
    assert shares == sorted(shares, reverse=True)  # worst first
    flat = report_text(files[layout.REPORT], tmp_path)
    assert f"Declared covered, measured dead: {len(gaps)} hexagons" in flat
    assert gaps[0]["h3"] in flat
    # Without a declaration there is nothing the operator declared covered.
    none = json.loads(members(_build(tmp_path / "c.zip", dead, key, []))[layout.GAPS])
    assert none == {"gaps": []}
