"""Declared covered, measured dead: the gaps list in the module, the CLI, the API and the map.

One dataset, built sample by sample so that every hexagon's class is known
without running the code under test: Viettel declares a 4G service area
around Thái Nguyên city from 10 October 2026, and probes measure hexagons
inside and outside it, before and after that day. Stored as ingest stores
rollups, in a real PostgreSQL + TimescaleDB.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import h3
import httpx
import psycopg
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from demo.services import Postgres
from giamsat.aggregator import settings
from giamsat.aggregator.aggregates.samples import NO_TECH, Sample
from giamsat.aggregator.compliance import Period, gaps
from giamsat.aggregator.http.web import queries
from giamsat.aggregator.http.web.context import WebContext, load_context
from giamsat.aggregator.settings import PROJECT_CONFIG
from giamsat.aggregator.store import areas, daily, declarations, hexes
from giamsat.aggregator.store.columns import H3_RESOLUTION
from giamsat.contract.timezone import VIETNAM_TZ
from giamsat.maps.classify import CoverageClass, classify
from tests.support.processes import chromium, count_elements, run_cli
from tests.support.rollups import store_rollups
from tests.support.web import WebServer, bounds, fresh_database, token, web_server

# Viettel's declared 4G zone: about 8 km x 9 km around Thái Nguyên city (gso-19).
ZONE = [[105.80, 21.55], [105.88, 21.55], [105.88, 21.63], [105.80, 21.63], [105.80, 21.55]]
VALID_FROM = date(2026, 10, 10)
OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31))
AFTER = [date(2026, 10, d) for d in range(12, 17)]  # five days with the declaration in force
BEFORE = [date(2026, 10, d) for d in range(2, 7)]  # five days before it took effect
PROBES = ("tn-probe-01", "tn-probe-02")
PER_PROBE_DAY = 6


def cell(lat: float, lon: float) -> str:
    return h3.latlng_to_cell(lat, lon, H3_RESOLUTION)


# Inside the zone.
DEAD_NO_SERVICE = cell(21.600, 105.840)  # 70 % of cycles find no network at all
DEAD_LEVEL = cell(21.580, 105.820)  # service, but RSRP -126 dBm
WEAK = cell(21.610, 105.860)  # RSRP -115 dBm
COVERED = cell(21.570, 105.850)  # RSRP -95 dBm
THIN = cell(21.620, 105.810)  # dead, but two days only: too little to say
EARLY = cell(21.560, 105.870)  # dead, measured only before the declaration took effect
MIXED = cell(21.590, 105.830)  # no service before the declaration, covered after
# Outside the zone, measured exactly like DEAD_NO_SERVICE.
DEAD_OUTSIDE = cell(21.600, 105.950)
CELLS = (DEAD_NO_SERVICE, DEAD_LEVEL, WEAK, COVERED, THIN, EARLY, MIXED, DEAD_OUTSIDE)


def _samples(
    h3_cell: str,
    days: list[date],
    *,
    op: str = "Viettel",
    rsrp: float = -100.0,
    no_service: float = 0.0,
) -> list[Sample]:
    """``PER_PROBE_DAY`` cycles per probe and day, every tenth-share without service."""
    out = []
    lost_per_day = round(no_service * PER_PROBE_DAY)
    for day in days:
        for p, probe in enumerate(PROBES):
            for k in range(PER_PROBE_DAY):
                t = datetime(day.year, day.month, day.day, 8 + p, 5 * k, tzinfo=VIETNAM_TZ)
                lost = k < lost_per_day
                out.append(
                    Sample(
                        t=t, probe=probe, op=op, tech=NO_TECH if lost else "LTE",
                        env="outdoor_fixed", h3=h3_cell, service=not lost,
                        rsrp_dbm=None if lost else rsrp, dl_mbps=None if lost else 20.0,
                    )
                )  # fmt: skip
    return out


def dataset() -> list[Sample]:
    return [
        *_samples(DEAD_NO_SERVICE, AFTER, no_service=4 / 6),
        *_samples(DEAD_LEVEL, AFTER, rsrp=-126.0),
        *_samples(WEAK, AFTER, rsrp=-115.0),
        *_samples(COVERED, AFTER, rsrp=-95.0),
        *_samples(THIN, AFTER[:2], rsrp=-130.0),
        *_samples(EARLY, BEFORE, no_service=1.0),
        *_samples(MIXED, BEFORE, no_service=1.0),
        *_samples(MIXED, AFTER, rsrp=-95.0),
        *_samples(DEAD_OUTSIDE, AFTER, no_service=4 / 6),
        # MobiFone measured the same dead hexagon, and declared nothing.
        *_samples(DEAD_NO_SERVICE, AFTER, op="MobiFone", no_service=1.0),
        *_samples(COVERED, AFTER, op="MobiFone", rsrp=-90.0),
    ]


@dataclass
class Data:
    dsn: str
    ctx: WebContext
    config: Path
    declaration: str
    tmp: Path

    def find(
        self,
        operators: tuple[str, ...] = ("Viettel",),
        technology: str = "4G",
        period: Period = OCTOBER,
        area: str | None = None,
        weak: bool = False,
    ) -> gaps.GapReport:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            return gaps.find_gaps(
                conn, self.ctx.coverage, operators, technology, period, area=area, weak=weak
            )

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_cli("giamsat", "coverage", "gaps", "--config", str(self.config), *args,
                       check=check)  # fmt: skip


@pytest.fixture(scope="module")
def data(pg_server: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Data]:
    assert len(set(CELLS)) == len(CELLS)
    tmp = tmp_path_factory.mktemp("gaps")
    zone = tmp / "viettel-4g.geojson"
    zone.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "Thành phố Thái Nguyên", "vd": 16},
        "geometry": {"type": "Polygon", "coordinates": [ZONE]},
    }]}), encoding="utf-8")  # fmt: skip
    declared = set(h3.geo_to_cells({"type": "Polygon", "coordinates": [ZONE]}, H3_RESOLUTION))
    assert {DEAD_NO_SERVICE, DEAD_LEVEL, WEAK, COVERED, THIN, EARLY, MIXED} <= declared
    assert DEAD_OUTSIDE not in declared
    with fresh_database(pg_server) as dsn:
        with psycopg.connect(dsn, autocommit=True) as conn:
            areas.sync(conn, areas.load_areas(PROJECT_CONFIG / "areas"))
            stored, _ = declarations.import_declaration(
                conn, zone, operator="Viettel", technology="4G", valid_from=VALID_FROM
            )
        store_rollups(dsn, dataset())
        config = tmp / "aggregator.toml"
        config.write_text(f'[database]\ndsn = "{dsn}"\n')
        ctx = load_context(dataclasses.replace(settings.load(None), dsn=dsn), None, b"k" * 32)
        yield Data(dsn, ctx, config, stored.sha256, tmp)


def test_dead_inside_the_declared_area_is_a_gap_outside_or_before_it_is_not(data: Data) -> None:
    report = data.find()
    # Worst first; not DEAD_OUTSIDE (outside the zone), EARLY (dead before the declaration),
    # MIXED (covered since), THIN (too little data).
    assert [g.h3 for g in report.gaps] == [DEAD_NO_SERVICE, DEAD_LEVEL]
    first, second = report.gaps
    assert first.coverage_class is second.coverage_class is CoverageClass.DEAD
    assert (first.n, first.n_no_service, first.days, first.probes) == (60, 40, 5, 2)
    assert first.rsrp_median_dbm is not None and -101 < first.rsrp_median_dbm < -99
    assert (second.n, second.n_no_service) == (60, 0)
    assert second.rsrp_median_dbm is not None and second.rsrp_median_dbm < -120
    for gap in report.gaps:
        assert (gap.operator, gap.technology) == ("Viettel", "4G")
        assert (gap.province_id, gap.province_name) == ("gso-19", "Thái Nguyên")
        assert (gap.declaration, gap.zone) == (data.declaration, "Thành phố Thái Nguyên")
        assert (gap.first_day, gap.last_day) == (AFTER[0], AFTER[-1])
        assert (gap.lat, gap.lon) == tuple(round(x, 6) for x in h3.cell_to_latlng(gap.h3))
    # What the operator declared and what was measured inside it.
    [summary] = report.summaries
    with psycopg.connect(data.dsn) as conn:
        stored = declarations.get(conn, data.declaration)
    assert stored is not None and summary.declared_hexagons == stored.cells
    assert summary.classes == {
        CoverageClass.COVERED: 2,  # COVERED, and MIXED on its declared days
        CoverageClass.WEAK: 1,
        CoverageClass.DEAD: 2,
        CoverageClass.INSUFFICIENT: 1,  # THIN
    }
    assert report.undeclared == () and report.notes() == []


def test_the_map_and_the_gaps_agree(data: Data) -> None:
    """Same samples, days, medians and class as the map's hexagon, from the same code."""
    start, end = bounds(OCTOBER.start, OCTOBER.end)
    with psycopg.connect(data.dsn, autocommit=True) as conn:
        rows = queries.hex_stats(
            conn, data.ctx.families, start, end, op="Viettel", family="LTE", with_probes=True
        )
    on_map = {r.stats.h3: r for r in rows}
    standard = data.ctx.map_standard()
    assert gaps.map_standard(data.ctx.coverage) == standard
    assert gaps.coverage_in(settings.load(None).compliance.standards_dir) == data.ctx.coverage
    for gap in data.find(weak=True).gaps:
        stats = on_map[gap.h3].stats
        assert classify(stats, standard) is gap.coverage_class
        assert (stats.n, stats.n_no_service, stats.days) == (gap.n, gap.n_no_service, gap.days)
        assert (stats.rsrp_median_dbm, stats.dl_median_mbps) == (
            gap.rsrp_median_dbm,
            gap.dl_median_mbps,
        )
        assert len(on_map[gap.h3].probes) == gap.probes
    # The map shows the whole month: before the declaration, EARLY and MIXED were dead.
    assert classify(on_map[EARLY].stats, standard) is CoverageClass.DEAD
    assert classify(on_map[MIXED].stats, standard) is CoverageClass.DEAD
    assert classify(on_map[DEAD_OUTSIDE].stats, standard) is CoverageClass.DEAD


def test_days_before_the_declaration_do_not_count(data: Data) -> None:
    """MIXED was dead before 10 October and covered after: only the declared days count."""
    report = data.find(period=Period(date(2026, 10, 1), date(2026, 10, 9)))
    # Nothing was declared on those days: no gap, and it says so.
    assert report.gaps == () and report.undeclared == ("Viettel",)
    assert report.notes() == ["Viettel declared no service area for 4G in 2026-10-01..2026-10-09"]
    start, end = bounds(OCTOBER.start, OCTOBER.end)
    with psycopg.connect(data.dsn, autocommit=True) as conn:
        [mixed] = [
            r
            for r in hexes.hex_aggregates(
                conn, data.ctx.families, start, end, op="Viettel", family="LTE", declared="4G"
            )
            if r.h3 == MIXED
        ]
    assert (mixed.n, mixed.no_service, mixed.days) == (60, 0, 5)


def test_weak_only_when_asked(data: Data) -> None:
    assert WEAK not in [g.h3 for g in data.find().gaps]
    report = data.find(weak=True)
    assert [(g.h3, g.coverage_class) for g in report.gaps] == [
        (DEAD_NO_SERVICE, CoverageClass.DEAD),
        (DEAD_LEVEL, CoverageClass.DEAD),
        (WEAK, CoverageClass.WEAK),
    ]


def test_undeclared_operators_and_technologies_are_said_plainly(data: Data) -> None:
    report = data.find(operators=("MobiFone", "Viettel"), technology="5G")
    assert report.gaps == () and report.undeclared == ("MobiFone", "Viettel")
    assert report.notes() == [
        "MobiFone declared no service area for 5G in 2026-10-01..2026-10-31",
        "Viettel declared no service area for 5G in 2026-10-01..2026-10-31",
    ]
    # MobiFone's dead hexagon is not its gap: it declared nothing.
    both = data.find(operators=("MobiFone", "Viettel"))
    assert [g.operator for g in both.gaps] == ["Viettel", "Viettel"]
    assert both.undeclared == ("MobiFone",)
    # A province the zone is not in.
    lao_cai = data.find(area="gso-15")
    assert lao_cai.gaps == ()
    assert lao_cai.notes() == ["Viettel's declared service area for 4G has no hexagon in Lào Cai"]
    thai_nguyen = data.find(area="gso-19")
    assert [g.h3 for g in thai_nguyen.gaps] == [DEAD_NO_SERVICE, DEAD_LEVEL]
    # The zone lies wholly in Thái Nguyên: the province holds every declared hexagon.
    assert thai_nguyen.summaries[0].declared_hexagons == report_cells(data)
    with pytest.raises(gaps.GapQueryError, match="area: gso-99: no such area"):
        data.find(area="gso-99")
    with pytest.raises(gaps.GapQueryError, match="technology: 3G: must be one of 4G, 5G"):
        data.find(technology="3G")


def report_cells(data: Data) -> int:
    with psycopg.connect(data.dsn) as conn:
        stored = declarations.get(conn, data.declaration)
    assert stored is not None
    return stored.cells


def test_daily_rollups_and_changed_hours_give_what_the_hourly_rows_give(
    pg_server: Postgres, tmp_path: Path
) -> None:
    """The gaps read a day's rollups once refreshed, and the hours changed since: same numbers."""
    zone = tmp_path / "viettel-4g.geojson"
    zone.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "Thành phố Thái Nguyên"},
        "geometry": {"type": "Polygon", "coordinates": [ZONE]},
    }]}), encoding="utf-8")  # fmt: skip
    coverage = gaps.coverage_in(PROJECT_CONFIG / "standards")
    families = {name: rule.record_techs for name, rule in coverage.rules.items()}
    start, end = bounds(OCTOBER.start, OCTOBER.end)
    with fresh_database(pg_server) as dsn:
        with psycopg.connect(dsn, autocommit=True) as conn:
            areas.sync(conn, areas.load_areas(PROJECT_CONFIG / "areas"))
            declarations.import_declaration(
                conn, zone, operator="Viettel", technology="4G", valid_from=VALID_FROM
            )
        store_rollups(dsn, dataset())
        with psycopg.connect(dsn, autocommit=True) as conn:
            assert daily.refresh_daily(conn) > 0
        # Late samples: more on a day already refreshed, and a day not seen before.
        store_rollups(dsn, [*_samples(DEAD_LEVEL, AFTER[:1], rsrp=-80.0),
                            *_samples(WEAK, [date(2026, 10, 20)], rsrp=-131.0)])  # fmt: skip
        with psycopg.connect(dsn, autocommit=True) as conn:
            changed = conn.execute(
                "SELECT count(*) FROM rollups WHERE updated_at >= %s::timestamptz",
                (daily.watermark(conn),),
            ).fetchone()
            assert changed is not None and changed[0] > 0
            narrows: list[dict[str, Any]] = [
                {},
                {"declared": "4G", "with_probes": True},
                {"area": "gso-19", "op": "MobiFone", "family": "LTE"},
            ]
            for narrow in narrows:
                hourly = hexes.hex_aggregates(conn, families, start, end, **narrow)
                by_day = hexes.hex_aggregates(conn, families, start, end, by_day=True, **narrow)
                assert hourly, narrow
                assert [_by_day(r, start) for r in by_day] == [_by_day(r, start) for r in hourly]
            with pytest.raises(ValueError, match="whole local days"):
                hexes.hex_aggregates(conn, families, start, end.replace(hour=5), by_day=True)


def _by_day(row: hexes.HexAggregate, start: datetime) -> tuple[object, ...]:
    """Everything of a hexagon's aggregate, its first and last sample to the day."""
    first, last = row.first.astimezone(VIETNAM_TZ), row.last.astimezone(VIETNAM_TZ)
    return dataclasses.replace(row, first=start, last=start), first.date(), last.date()


def test_the_command_line_formats(data: Data) -> None:
    done = data.cli("--operator", "Viettel", "--technology", "4G", "--month", "2026-10",
                    "--format", "json")  # fmt: skip
    doc = json.loads(done.stdout)
    assert [g["h3"] for g in doc["gaps"]] == [DEAD_NO_SERVICE, DEAD_LEVEL]
    assert doc["gaps"][0]["class"] == "dead" and doc["gaps"][0]["no_service_share"] == 0.6667
    assert doc["gaps"][0]["declaration_sha256"] == data.declaration
    assert doc["period"] == {"from": "2026-10-01", "to": "2026-10-31"}
    assert doc["rules"]["dead_dbm"] == -120 and doc["rules"]["min_days"] == 3
    assert doc["summary"][0]["declared_hexagons"] > 50 and doc["undeclared"] == []

    done = data.cli("--operator", "Viettel", "--technology", "4G", "--from", "2026-10-01",
                    "--to", "2026-10-31", "--weak", "--format", "csv")  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert done.stdout.splitlines()[0] == ",".join(gaps.CSV_COLUMNS)
    assert [(r["h3"], r["class"]) for r in rows] == [
        (DEAD_NO_SERVICE, "dead"), (DEAD_LEVEL, "dead"), (WEAK, "weak"),
    ]  # fmt: skip
    assert rows[0]["province_name"] == "Thái Nguyên" and rows[0]["samples"] == "60"

    done = data.cli("--operator", "Viettel", "--technology", "4G", "--month", "2026-10",
                    "--area", "gso-19", "--format", "geojson")  # fmt: skip
    fc = json.loads(done.stdout)
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 2
    for feature in fc["features"]:
        assert feature["geometry"]["type"] == "Polygon"
        ring = feature["geometry"]["coordinates"][0]
        assert len(ring) == 7 and ring[0] == ring[-1]  # a closed hexagon, [lon, lat]
        lat, lon = h3.cell_to_latlng(feature["properties"]["h3"])
        assert abs(sum(p[0] for p in ring[:-1]) / 6 - lon) < 0.002
        assert abs(sum(p[1] for p in ring[:-1]) / 6 - lat) < 0.002
    assert fc["query"]["area"] == {"id": "gso-19", "name": "Thái Nguyên"}

    table = data.cli("--operator", "Viettel", "--technology", "4G", "--month", "2026-10")
    out = table.stdout
    assert "Khai báo phủ sóng, đo được lõm sóng / Declared covered, measured dead" in out
    assert f"declaration {data.declaration[:12]} (viettel-4g.geojson)" in out
    assert DEAD_NO_SERVICE in out and WEAK not in out and out.endswith("2 gap(s)\n")


def test_the_command_line_says_what_is_wrong(data: Data) -> None:
    undeclared = data.cli("--operator", "Viettel", "--technology", "5G", "--month", "2026-10")
    assert "Viettel declared no service area for 5G in 2026-10-01..2026-10-31" in (
        undeclared.stdout
    )
    as_json = data.cli("--operator", "Viettel", "--technology", "5G", "--month", "2026-10",
                       "--format", "json")  # fmt: skip
    assert json.loads(as_json.stdout)["undeclared"] == ["Viettel"]
    assert "declared no service area for 5G" in as_json.stderr
    for args, message in (
        (("--operator", "Nobody", "--technology", "4G", "--month", "2026-10"),
         "--operator: Nobody: unknown; one of Viettel"),
        (("--operator", "Viettel", "--technology", "4G", "--month", "2026-10",
          "--area", "gso-99"), "--area: gso-99: no such area"),
        (("--operator", "Viettel", "--technology", "4G", "--from", "2026-10-32",
          "--to", "2026-10-31"), "--from/--to: 2026-10-32..2026-10-31:"),
        (("--operator", "Viettel", "--technology", "4G", "--month", "2026-13"),
         "--month: 2026-13: must be a month, YYYY-MM"),
        (("--operator", "Viettel", "--technology", "4G", "--from", "2026-10-01"),
         "--from/--to: -: give both days, or --month YYYY-MM"),
    ):  # fmt: skip
        done = data.cli(*args, check=False)
        assert done.returncode == 2, done.stdout
        assert done.stderr.startswith(f"giamsat: error: {message}")
        assert "Traceback" not in done.stderr


@pytest.fixture(scope="module")
def server(data: Data) -> Iterator[WebServer]:
    with web_server(data.dsn, data.tmp / "web") as running:
        yield running


def test_the_api_gives_the_same_cells_as_the_command_line(data: Data, server: WebServer) -> None:
    viewer = httpx.Client(
        base_url=server.url, timeout=60, headers={"Authorization": f"Bearer {token(data.dsn)}"}
    )
    query = {"operator": "Viettel", "technology": "4G", "from": "2026-10-01", "to": "2026-10-31"}
    for weak in (False, True):
        args = ["--weak"] if weak else []
        cli = json.loads(
            data.cli("--operator", "Viettel", "--technology", "4G", "--month", "2026-10",
                     "--format", "json", *args).stdout
        )  # fmt: skip
        api = viewer.get("/api/v1/coverage/gaps", params={**query, "weak": str(weak).lower()})
        assert api.status_code == 200, api.text
        assert api.json() == cli
    geo = viewer.get("/api/v1/coverage/gaps", params={**query, "format": "geojson"})
    assert geo.status_code == 200 and geo.headers["content-type"] == "application/geo+json"
    assert [f["properties"]["h3"] for f in geo.json()["features"]] == [DEAD_NO_SERVICE, DEAD_LEVEL]
    # Without a period: the month of the newest data, as the map page.
    latest = viewer.get("/api/v1/coverage/gaps", params={"operator": "Viettel", "technology": "4G"})
    assert latest.json()["period"] == {"from": "2026-10-01", "to": "2026-10-16"}
    assert len(latest.json()["gaps"]) == 2

    for params, message in (
        ({**query, "operator": "Nobody"}, "operator: Nobody: unknown; one of Viettel"),
        ({**query, "area": "gso-99"}, "area: gso-99: no such area"),
        ({**query, "from": "2026-11-01"}, "from/to: period ends (2026-10-31) before it starts"),
    ):
        refused = viewer.get("/api/v1/coverage/gaps", params=params)
        assert refused.status_code == 422 and refused.json()["detail"].startswith(message)
    for params in ({**query, "technology": "3G"}, {**query, "from": "2026-10-32"}, {"x": "1"}):
        assert viewer.get("/api/v1/coverage/gaps", params=params).status_code == 422
    # An unknown area and the ends of the calendar are refused, not a server error.
    for params in ({**query, "from": "0001-01-01"}, {**query, "to": "9999-12-31"},
                   {**query, "area": "-1"}):  # fmt: skip
        assert viewer.get("/api/v1/coverage/gaps", params=params).status_code == 422
    wide = viewer.get("/api/v1/coverage/gaps",
                      params={**query, "from": "0001-01-02", "to": "9999-12-30"})  # fmt: skip
    assert wide.status_code == 200 and len(wide.json()["gaps"]) == 2
    anonymous = httpx.get(f"{server.url}/api/v1/coverage/gaps", params=query, timeout=60)
    assert anonymous.status_code == 401


def test_the_map_page_maps_its_technologies_as_the_gaps_do(data: Data, server: WebServer) -> None:
    viewer = httpx.Client(
        base_url=server.url, timeout=60, headers={"Authorization": f"Bearer {token(data.dsn)}"}
    )
    page = viewer.get("/map", params={"from": "2026-10-01", "to": "2026-10-31"})
    assert page.status_code == 200
    start = page.text.index('<script type="application/json" id="gs-gaps-config">')
    body = page.text[page.text.index(">", start) + 1 : page.text.index("</script>", start)]
    config = json.loads(body)
    assert config["technologies"] == {f: t for t, f in gaps.TECHNOLOGY_FAMILY.items()}
    assert config["params"] == {"from": "2026-10-01", "to": "2026-10-31", "area": "all"}


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[WebDriver]:
    with chromium(tmp_path / "profile", (1280, 900)) as browser:
        yield browser


def test_the_map_layer_draws_the_gaps_of_the_layer_on_screen(
    data: Data, server: WebServer, driver: WebDriver, tmp_path: Path
) -> None:
    path = "/map?op=&tech=LTE&area=all&from=2026-10-01&to=2026-10-31"
    driver.get(server.url + path)
    WebDriverWait(driver, 20).until(lambda d: "/login" in d.current_url)
    driver.find_element(By.ID, "token").send_keys(token(data.dsn))
    driver.find_element(By.CSS_SELECTOR, "form.gs-login button").click()
    WebDriverWait(driver, 30).until(lambda d: count_elements(d, "path.giamsat-hex") > 0)
    bases = driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers-base label")
    assert [b.text.strip() for b in bases] == ["MobiFone · LTE", "Viettel · LTE"]
    overlays = driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers-overlays label")
    [toggle] = [o for o in overlays if "Declared covered, measured dead" in o.text]
    assert "Khai báo phủ sóng, đo được lõm sóng" in toggle.text
    assert count_elements(driver, "path.giamsat-gap") == 0  # off until asked for

    # MobiFone is on screen first: it declared nothing, and the legend says so.
    toggle.find_element(By.TAG_NAME, "input").click()

    def status(d: WebDriver) -> str:
        return str(d.find_element(By.CSS_SELECTOR, ".giamsat-gap-status").text)

    WebDriverWait(driver, 20).until(lambda d: "no declared service area" in status(d))
    assert count_elements(driver, "path.giamsat-gap") == 0

    # Viettel: its two dead hexagons inside the declared area, outlined above its map.
    bases[1].find_element(By.TAG_NAME, "input").click()
    WebDriverWait(driver, 20).until(lambda d: count_elements(d, "path.giamsat-gap") == 2)
    assert count_elements(driver, "path.giamsat-gap-dead") == 2
    assert status(driver).endswith(": 2 ô lõm sóng / dead hexagons")
    outline = driver.execute_script(
        "var p = document.querySelector('path.giamsat-gap');"
        "return [p.getAttribute('stroke'), p.getAttribute('stroke-width'),"
        " p.closest('.leaflet-pane').className];"
    )
    assert outline[0] == "#c2007a" and outline[1] == "3" and "giamsat-gaps" in outline[2]
    drawn = driver.execute_script(
        "var m = null; for (var k in window) { if (window[k] instanceof L.Map) m = window[k]; }"
        "var cells = []; m.eachLayer(function (l) { if (l.feature && l.options.pane"
        " === 'giamsat-gaps') cells.push(l.feature.properties.h3); }); return cells.sort();"
    )
    assert drawn == sorted([DEAD_NO_SERVICE, DEAD_LEVEL])
    # The month's map draws five dead hexagons; the other three are outside the zone or
    # were dead only before the declaration: no outline.
    dead_on_map = count_elements(driver, "path.giamsat-hex-dead")
    assert dead_on_map == 5  # DEAD_NO_SERVICE, DEAD_LEVEL, EARLY, MIXED, DEAD_OUTSIDE
    # Zoom to the gaps so the screenshot shows them.
    driver.execute_script(
        "var m = null; for (var k in window) { if (window[k] instanceof L.Map) m = window[k]; }"
        "var b = L.latLngBounds([]);"
        "m.eachLayer(function (l) { if (l.options && l.options.pane === 'giamsat-gaps'"
        " && l.getBounds) b.extend(l.getBounds()); });"
        "m.fitBounds(b.pad(2), {animate: false});"
    )
    WebDriverWait(driver, 10).until(lambda d: count_elements(d, "path.giamsat-gap") == 2)
    shot = tmp_path / "map-gaps.png"
    driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000

    # Off again: the outlines and the legend line go.
    toggle.find_element(By.TAG_NAME, "input").click()
    WebDriverWait(driver, 10).until(lambda d: count_elements(d, "path.giamsat-gap") == 0)
    assert count_elements(driver, ".giamsat-gap-status") == 0
