"""Today's geography: the 34 provincial units of 1 July 2025 in config/areas, and a
record measured before the merger judged in the unit that contains it today.

Names and codes are checked against the ``vietnam-provinces`` package (the GSO's
data), never against a list typed here.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType

import h3
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from vietnam_provinces import Province

from giamsat.aggregator.compliance import Period
from giamsat.aggregator.compliance.national import national_table
from giamsat.aggregator.ingest import validate
from giamsat.aggregator.settings import PROJECT_CONFIG
from giamsat.aggregator.store import areas
from giamsat.aggregator.store import records as store
from giamsat.contract import record
from tests.support.evidence import OPERATORS, QCVN126, signed_record
from tests.support.truth import Truth, generate

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = PROJECT_CONFIG / "areas" / "provinces-2025.geojson"
TUYEN_QUANG = areas.province_id(8)
# Đồng Văn: the seat of Đồng Văn district, Hà Giang province, until 30 June 2025.
DONG_VAN = (23.2775, 105.3617)


def build_script() -> ModuleType:
    """scripts/build-areas.py as a module (its file name is not an identifier)."""
    spec = importlib.util.spec_from_file_location("build_areas", ROOT / "scripts/build-areas.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def shipped() -> dict[str, areas.Area]:
    return areas.load_areas(PROJECT_CONFIG / "areas")


def test_the_shipped_areas_are_the_34_official_units(shipped: dict[str, areas.Area]) -> None:
    official = {areas.province_id(p.code): p.name for p in Province.iter_all()}
    assert len(official) == 34
    assert {a.id: a.name for a in shipped.values()} == official
    assert {a.level for a in shipped.values()} == {"province"}
    # Nothing left of the pre-2025 ids (ISO-like "VN-53" Bắc Kạn, "VN-03" Hà Giang).
    assert not [a for a in shipped if a.startswith("VN")]
    data = json.loads(SHIPPED.read_text(encoding="utf-8"))
    for feature in data["features"]:
        props = feature["properties"]
        assert props["id"] == areas.province_id(props["gso_code"]) and len(props["gso_code"]) == 2
    for credit in ("Open Development Vietnam", "TaliaCao/Vietnam-Shape-Map", "MIT"):
        assert credit in data["attribution"]


def test_each_unit_holds_its_own_cities_and_no_cell_is_claimed_twice(
    shipped: dict[str, areas.Area],
) -> None:
    """Places whose unit is beyond doubt: a swapped name and polygon would show here."""
    cells = {aid: area.cells() for aid, area in shipped.items()}
    claims = Counter(cell for found in cells.values() for cell in found)
    assert max(claims.values()) == 1
    assert 390_000 < len(claims) < 420_000  # the country at resolution 8
    places = {
        DONG_VAN: 8,  # Tuyên Quang (the former Hà Giang)
        (22.1470, 105.8348): 19,  # Bắc Kạn town: Thái Nguyên
        (22.4856, 103.9707): 15,  # Lào Cai city
        (21.7050, 104.8700): 15,  # Yên Bái city: Lào Cai
        (22.6657, 106.2579): 4,  # Cao Bằng city
        (21.0285, 105.8542): 1,  # Hoàn Kiếm, Hà Nội
        (10.7769, 106.7009): 79,  # District 1, Hồ Chí Minh City
        (10.9804, 106.6519): 79,  # Thủ Dầu Một: the former Bình Dương
        (16.0544, 108.2022): 48,  # Đà Nẵng
        (16.4637, 107.5909): 46,  # Huế
        (20.8449, 106.6881): 31,  # Hải Phòng
        (10.0452, 105.7469): 92,  # Cần Thơ
    }
    for (lat, lon), code in places.items():
        cell = h3.latlng_to_cell(lat, lon, 8)
        assert [aid for aid, found in cells.items() if cell in found] == [
            areas.province_id(code)
        ], (lat, lon)


def test_names_written_by_the_source_author_match_the_official_ones() -> None:
    build = build_script()
    assert build.name_key("TP HCM") == build.name_key("Thành phố Hồ Chí Minh")
    assert build.name_key("Khánh Hoà") == build.name_key("Khánh Hòa")
    assert build.name_key("TP Hà Nội") == build.name_key("Thành phố Hà Nội")
    assert build.name_key("Thanh Hoá") == build.name_key("Thanh Hóa")
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    with pytest.raises(build.BuildError, match="Bắc Kạn"):
        build.match([{"properties": {"ten_tinh": "Bắc Kạn"}, "geometry": square}])


def test_a_record_from_before_the_merger_is_judged_in_the_unit_that_contains_it_today(
    db_dsn: str, shipped: dict[str, areas.Area]
) -> None:
    """March 2025, Đồng Văn (then Hà Giang): the verdict is Tuyên Quang's, and no one else's."""
    truth = Truth(operator="Viettel", tech="NR-SA", lat=DONG_VAN[0], lon=DONG_VAN[1],
                  probes=3, days=3, per_probe_day=12, start=date(2025, 3, 3), seed=7)  # fmt: skip
    samples = generate(truth)
    assert {s.h3 for s in samples} <= shipped[TUYEN_QUANG].cells()
    assert max(s.t for s in samples) < datetime(2025, 7, 1, tzinfo=UTC)
    keys = {s.probe: Ed25519PrivateKey.generate() for s in samples}
    registry = {p: validate.ProbeKey(k.public_key()) for p, k in keys.items()}
    now = datetime.now(UTC)
    accepted = []
    for s in samples:
        signed = signed_record(s, keys[s.probe])
        checked = validate.check(
            record.topic_for(s.probe), record.encode(signed), registry.get, now
        )
        assert isinstance(checked, validate.Accepted), checked
        accepted.append(checked)
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        store.write_batch(conn, accepted, [])
        areas.sync(conn, shipped)
        table = national_table(
            conn, [QCVN126], [OPERATORS["Viettel"]], Period(date(2025, 3, 1), date(2025, 3, 31))
        )
    counted = {aid: result.kpi("dl_mean").samples for aid, result in table}
    assert len(counted) == 34
    assert counted[TUYEN_QUANG] == sum(1 for s in samples if s.dl_mbps is not None) > 0
    assert {aid for aid, n in counted.items() if n} == {TUYEN_QUANG}
    [judged] = [result for aid, result in table if aid == TUYEN_QUANG]
    assert judged.area == "Tuyên Quang"
