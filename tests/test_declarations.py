"""Declared service areas: GeoJSON and KML read, checked, stored as H3 cells, in force by date."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import h3
import psycopg
import pytest

from giamsat.aggregator.store import declarations
from giamsat.aggregator.store.columns import H3_RESOLUTION
from giamsat.contract.config import ConfigError
from tests.support.processes import run_cli

# Two zones near Thái Nguyên city, about 10 km x 11 km and 5 km x 5.5 km, apart.
CITY = [[105.80, 21.55], [105.90, 21.55], [105.90, 21.65], [105.80, 21.65], [105.80, 21.55]]
# A polygon whose edges cross: not a valid zone.
BOWTIE = [[105, 21], [105.1, 21.1], [105.1, 21], [105, 21.1], [105, 21]]
RURAL = [[106.00, 21.70], [106.05, 21.70], [106.05, 21.75], [106.00, 21.75], [106.00, 21.70]]


def feature(name: str, ring: list[list[float]], **speeds: object) -> dict[str, object]:
    return {
        "type": "Feature",
        "properties": {"name": name, **speeds},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def geojson(path: Path, *features: dict[str, object]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": list(features)}))
    return path


def kml(path: Path) -> Path:
    def ring(points: list[list[float]]) -> str:
        return " ".join(f"{lon},{lat}" for lon, lat in points)

    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>4G</name><Folder>'
        "<Placemark><name>Thành phố</name><ExtendedData>"
        '<Data name="vd"><value>16</value></Data><Data name="vdmin"><value>2.5</value></Data>'
        "</ExtendedData><Polygon><outerBoundaryIs><LinearRing><coordinates>"
        f"{ring(CITY)}</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>"
        "<Placemark><name>Nông thôn</name><MultiGeometry><Polygon><outerBoundaryIs><LinearRing>"
        f"<coordinates>{ring(RURAL)}</coordinates></LinearRing></outerBoundaryIs></Polygon>"
        "</MultiGeometry></Placemark></Folder></Document></kml>\n",
        encoding="utf-8",
    )
    return path


def expected_cells(ring: list[list[float]]) -> set[str]:
    polygon = {"type": "Polygon", "coordinates": [ring]}
    return set(h3.geo_to_cells(polygon, H3_RESOLUTION))


def test_geojson_zones_keep_their_declared_speeds_exactly(tmp_path: Path) -> None:
    path = geojson(
        tmp_path / "viettel-4g.geojson",
        feature("Thành phố", CITY, vd=16, vu="8", vdmin=2.5),
        feature("Nông thôn", RURAL, vdmin="0.256"),
    )
    zones = declarations.read_zones(path, path.read_bytes(), {"vd": Decimal("15")})
    assert [z.name for z in zones] == ["Thành phố", "Nông thôn"]
    assert zones[0].speeds == {"vd": Decimal("16"), "vu": Decimal("8"), "vdmin": Decimal("2.5")}
    # A zone without its own Vd takes the one given on import.
    assert zones[1].speeds == {"vd": Decimal("15"), "vdmin": Decimal("0.256")}
    assert zones[0].cells == expected_cells(CITY) and len(zones[0].cells) > 100
    assert zones[1].cells == expected_cells(RURAL)


def test_kml_reads_like_geojson(tmp_path: Path) -> None:
    path = kml(tmp_path / "viettel-4g.kml")
    zones = declarations.read_zones(path, path.read_bytes())
    assert [(z.name, z.speeds) for z in zones] == [
        ("Thành phố", {"vd": Decimal("16"), "vdmin": Decimal("2.5")}),
        ("Nông thôn", {}),
    ]
    assert zones[0].cells == expected_cells(CITY)
    assert zones[1].cells == expected_cells(RURAL)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"broken\.geojson: -: not valid GeoJSON"),
        ('{"type": "Polygon"}', r"features: a FeatureCollection"),
        (
            json.dumps({"type": "FeatureCollection", "features": [
                feature("Thành phố", CITY),
                {"type": "Feature", "properties": {"name": "Bướm"}, "geometry": {
                    "type": "Polygon",
                    "coordinates": [BOWTIE],
                }},
            ]}),
            r"feature 2 \(Bướm\): invalid polygon: Self-intersection",
        ),
        (
            json.dumps({"type": "FeatureCollection", "features": [
                {"type": "Feature", "properties": {"name": "Trạm"},
                 "geometry": {"type": "Point", "coordinates": [105.8, 21.6]}},
            ]}),
            r"feature 1 \(Trạm\): a zone must be a Polygon or MultiPolygon, not Point",
        ),
        (
            json.dumps({"type": "FeatureCollection",
                        "features": [feature("Thành phố", CITY, vdmin="nhanh")]}),
            r"feature 1 \(Thành phố\): vdmin: nhanh: is not a number",
        ),
        (
            json.dumps({"type": "FeatureCollection",
                        "features": [feature("A", CITY), feature("B", CITY)]}),
            r"feature 2 \(B\): overlaps feature 1 \(A\)",
        ),
        ('<kml xmlns="http://www.opengis.net/kml/2.2"><Document>', r"not valid KML"),
    ],
)  # fmt: skip
def test_a_broken_file_is_refused_naming_the_file_and_the_feature(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "broken.geojson"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as caught:
        declarations.read_zones(path, path.read_bytes())
    assert str(path) in str(caught.value)


def test_speeds_finer_than_a_kilobit_are_refused() -> None:
    assert declarations.parse_speed("--vdmin", "0.256") == Decimal("0.256")
    with pytest.raises(ConfigError, match="more precise than 1 kbit/s"):
        declarations.parse_speed("--vdmin", "0.2565")
    with pytest.raises(ConfigError, match="must be a speed"):
        declarations.parse_speed("--vd", "-5")


def test_declarations_follow_each_other_in_time(tmp_path: Path, db_dsn: str) -> None:
    first = geojson(tmp_path / "2025.geojson", feature("Thành phố", CITY, vd=15, vdmin=5))
    second = geojson(tmp_path / "2026.geojson", feature("Thành phố", CITY, vd=16, vdmin=2.5),
                     feature("Nông thôn", RURAL))  # fmt: skip
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        old, ended = declarations.import_declaration(
            conn, first, operator="Viettel", technology="4G", valid_from=date(2025, 7, 1)
        )
        assert ended == [] and old.valid_to is None
        assert old.sha256 == hashlib.sha256(first.read_bytes()).hexdigest()
        new, ended = declarations.import_declaration(
            conn, second, operator="Viettel", technology="4G", valid_from=date(2026, 3, 1),
            speeds={"vu": Decimal("8")},
        )  # fmt: skip
        assert [d.sha256 for d in ended] == [old.sha256]
        assert ended[0].valid_to == date(2026, 2, 28)
        assert (new.zones, new.cells) == (2, len(expected_cells(CITY) | expected_cells(RURAL)))
        assert declarations.in_force(conn, "Viettel", "4G", date(2026, 2, 28)) == ended[0]
        assert declarations.in_force(conn, "Viettel", "4G", date(2026, 3, 1)) == new
        assert declarations.in_force(conn, "Viettel", "4G", date(2025, 6, 30)) is None
        assert declarations.in_force(conn, "Viettel", "5G", date(2026, 3, 1)) is None
        speeds = conn.execute(
            "SELECT vd_mbps, vu_mbps, vdmin_mbps FROM declaration_zones"
            " WHERE declaration = %s ORDER BY zone", (new.sha256,),
        ).fetchall()  # fmt: skip
        assert speeds == [
            (Decimal("16.000"), Decimal("8.000"), Decimal("2.500")),
            (None, Decimal("8.000"), None),
        ]
        with pytest.raises(ConfigError, match="already imported"):
            declarations.import_declaration(
                conn, second, operator="Viettel", technology="4G", valid_from=date(2026, 6, 1)
            )
        earlier = geojson(tmp_path / "old.geojson", feature("Nông thôn", RURAL))
        with pytest.raises(
            ConfigError, match=r"already has 2026\.geojson in force from 2026-03-01"
        ):
            declarations.import_declaration(
                conn, earlier, operator="Viettel", technology="4G", valid_from=date(2026, 1, 1)
            )


def test_coverage_import_on_the_command_line(tmp_path: Path, db_dsn: str) -> None:
    config = tmp_path / "aggregator.toml"
    config.write_text(f'[database]\ndsn = "{db_dsn}"\n')
    area = kml(tmp_path / "mobifone-4g.kml")
    done = run_cli(
        "giamsat", "coverage", "import", "--config", str(config), "--operator", "MobiFone",
        "--technology", "4G", "--valid-from", "2026-01-01", "--vu", "8", str(area),
    )  # fmt: skip
    sha = hashlib.sha256(area.read_bytes()).hexdigest()
    assert f"declaration {sha}" in done.stdout
    assert "MobiFone 4G from 2026-01-01 until the next declaration" in done.stdout
    assert "2 zone(s)" in done.stdout
    listed = run_cli("giamsat", "coverage", "list", "--config", str(config))
    assert sha[:12] in listed.stdout and "1 declaration(s)" in listed.stdout

    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature",'
                      ' "properties": {"name": "Zone A"}, "geometry": null}]}')  # fmt: skip
    refused = run_cli(
        "giamsat", "coverage", "import", "--config", str(config), "--operator", "MobiFone",
        "--technology", "4G", "--valid-from", "2026-02-01", str(broken), check=False,
    )  # fmt: skip
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        f"giamsat: error: {broken}: feature 1 (Zone A):"
        " a zone must be a Polygon or MultiPolygon, not None"
    )
    assert "Traceback" not in refused.stderr
    unknown = run_cli(
        "giamsat", "coverage", "import", "--config", str(config), "--operator", "Nobody",
        "--technology", "4G", "--valid-from", "2026-02-01", str(area), check=False,
    )  # fmt: skip
    assert unknown.returncode == 2 and "--operator: Nobody: unknown; one of" in unknown.stderr
