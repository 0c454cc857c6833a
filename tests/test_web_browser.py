"""The pages as a person sees them: headless Debian Chromium against a running aggregator.

Fails (does not skip) when chromium or chromedriver is missing. The map's
base layer points at a loopback port nobody listens on, as when the office
has no internet: the hexagons and markers must render all the same, and
nothing may be fetched from anywhere but the aggregator. Each test saves
screenshots under its temporary directory.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from demo.services import Postgres, free_port
from giamsat.aggregator import settings
from giamsat.aggregator.http.web import queries
from giamsat.aggregator.http.web.context import WebContext, load_context
from giamsat.maps.classify import CoverageClass, classify
from giamsat.maps.render import TileSource
from giamsat.maps.stats import HexStats
from tests.support.processes import chromium, count_elements
from tests.support.web import (
    OCTOBER,
    Dataset,
    WebServer,
    bounds,
    fresh_database,
    load_dataset,
    token,
    web_server,
)

OCTOBER_QUERY = "from=2026-10-01&to=2026-10-31"


class Site:
    def __init__(
        self, data: Dataset, server: WebServer, viewer: str, ctx: WebContext, dsn: str
    ) -> None:
        self.data, self.server, self.token, self.ctx, self.dsn = data, server, viewer, ctx, dsn

    def expected_classes(self, op: str, tech: str) -> dict[CoverageClass, int]:
        """Classes of the layer's hexagons, from the samples' exact medians."""
        start, end = bounds(*OCTOBER)
        counts = dict.fromkeys(CoverageClass, 0)
        for (cell, op_, tech_), acc in self.data.hexes(start, end).items():
            if (op_, tech_) != (op, tech):
                continue
            rsrp = sorted(acc["rsrp"])
            stats = HexStats(cell, op, tech, acc["n"], acc["lost"], len(acc["days"]),
                             rsrp[(len(rsrp) + 1) // 2 - 1] if rsrp else None, None, start,
                             start)  # fmt: skip
            counts[classify(stats, self.ctx.map_standard())] += 1
        return counts


@pytest.fixture(scope="module")
def site(pg_server: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    offline = TileSource(f"http://127.0.0.1:{free_port()}/{{z}}/{{x}}/{{y}}.png", "test tiles")
    with fresh_database(pg_server) as dsn:
        data = load_dataset(dsn)
        ctx = load_context(dataclasses.replace(settings.load(None), dsn=dsn), None, b"k" * 32)
        with web_server(dsn, tmp_path_factory.mktemp("web"), tiles=offline) as server:
            yield Site(data, server, token(dsn), ctx, dsn)


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[WebDriver]:
    with chromium(tmp_path / "profile", (1280, 900)) as browser:
        yield browser


def _login(driver: WebDriver, site: Site, path: str) -> None:
    """Open ``path``, get sent to the login form, type the token, land back on ``path``."""
    driver.get(site.server.url + path)
    WebDriverWait(driver, 20).until(lambda d: "/login" in d.current_url)
    assert "Đăng nhập / Log in" in driver.title
    driver.find_element(By.ID, "token").send_keys(site.token)
    driver.find_element(By.CSS_SELECTOR, "form.gs-login button").click()
    WebDriverWait(driver, 20).until(lambda d: d.current_url == site.server.url + path)


def _only_local_resources(driver: WebDriver, site: Site) -> list[str]:
    """Resources that came from somewhere other than the aggregator (the dead tile server aside)."""
    names = driver.execute_script(
        "return performance.getEntriesByType('resource').map(function (e) { return e.name; })"
    )
    return [n for n in names if not n.startswith((site.server.url, "data:")) and ".png" not in n]


def test_map_renders_offline_and_switches_operator(
    driver: WebDriver, site: Site, tmp_path: Path
) -> None:
    _login(driver, site, f"/map?{OCTOBER_QUERY}")
    WebDriverWait(driver, 30).until(lambda d: count_elements(d, "path.giamsat-hex") > 0)
    mobifone = site.expected_classes("MobiFone", "NR")
    assert count_elements(driver, "path.giamsat-hex") == sum(mobifone.values())
    assert count_elements(driver, "path.giamsat-hex-dead") == 0

    # The base map was asked for and failed (no tile server): the hexagons are there anyway.
    WebDriverWait(driver, 20).until(lambda d: count_elements(d, "img.leaflet-tile") > 0)
    loaded = driver.execute_script(
        "return Array.from(document.querySelectorAll('img.leaflet-tile'))"
        ".filter(function (i) { return i.complete && i.naturalWidth > 0; }).length"
    )
    assert loaded == 0
    assert _only_local_resources(driver, site) == []
    header = driver.find_element(By.CSS_SELECTOR, ".gs-header").text
    assert "Bản đồ vùng phủ / Coverage map" in header
    assert "Tuân thủ quy chuẩn / Compliance" in header
    legend = driver.find_element(By.CSS_SELECTOR, ".giamsat-legend")
    assert "Vùng lõm sóng / Dead zone" in legend.text
    # The map fills the window below the header and filters.
    box = driver.execute_script(
        "return document.querySelector('.folium-map').getBoundingClientRect().toJSON()"
    )
    assert box["height"] > 500 and box["top"] > 40
    # Probes with a position: two fixed probes and a phone, one of them silent.
    markers = count_elements(driver, ".leaflet-marker-icon.giamsat-probe") + count_elements(
        driver, ".giamsat-cluster-probe"
    )
    assert markers >= 1
    assert count_elements(driver, ".giamsat-probe-silent, .giamsat-cluster-silent") >= 1
    driver.save_screenshot(str(tmp_path / "map-mobifone.png"))

    labels = driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers-base label")
    assert [label.text.strip() for label in labels] == [
        "MobiFone · NR", "Viettel · NR", "VinaPhone · LTE",
    ]  # fmt: skip
    labels[2].find_element(By.TAG_NAME, "input").click()
    vinaphone = site.expected_classes("VinaPhone", "LTE")
    WebDriverWait(driver, 10).until(
        lambda d: count_elements(d, "path.giamsat-hex") == sum(vinaphone.values())
    )
    assert vinaphone[CoverageClass.DEAD] > 0
    assert count_elements(driver, "path.giamsat-hex-dead") == vinaphone[CoverageClass.DEAD]
    assert (
        count_elements(driver, "path.giamsat-hex-insufficient")
        == vinaphone[CoverageClass.INSUFFICIENT]
    )
    driver.save_screenshot(str(tmp_path / "map-vinaphone.png"))

    # The operator filter reloads the page with that operator's layers only.
    Select(driver.find_element(By.NAME, "op")).select_by_value("VinaPhone")
    driver.find_element(By.CSS_SELECTOR, ".gs-filters button").click()
    WebDriverWait(driver, 20).until(lambda d: "op=VinaPhone" in d.current_url)
    WebDriverWait(driver, 30).until(lambda d: count_elements(d, "path.giamsat-hex") > 0)
    labels = driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers-base label")
    assert [label.text.strip() for label in labels] == ["VinaPhone · LTE"]
    assert count_elements(driver, "path.giamsat-hex") == sum(vinaphone.values())
    summary = driver.find_element(By.ID, "gs-map-summary").text
    assert summary == (
        f"VinaPhone · LTE: {sum(vinaphone.values())} H3, "
        f"{vinaphone[CoverageClass.DEAD]} Vùng lõm sóng / Dead zone"
    )


def test_compliance_table_and_detail(driver: WebDriver, site: Site, tmp_path: Path) -> None:
    _login(driver, site, f"/compliance?{OCTOBER_QUERY}")
    with psycopg.connect(site.dsn) as conn:
        provinces = dict(queries.provinces(conn))  # the 34 units of 1 July 2025, by name
    assert len(provinces) == 34
    tables = driver.find_elements(By.CSS_SELECTOR, "table.gs-compliance")
    assert [t.get_attribute("data-standard") for t in tables] == [
        "QCVN-126:2021/BTTTT", "QCVN-81:2019/BTTTT",
    ]  # fmt: skip
    for table in tables:
        rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
        assert [r.find_element(By.TAG_NAME, "th").text for r in rows] == [
            "Toàn bộ các khu vực / All areas",
            *provinces.values(),
        ]
        headers = [h.text for h in table.find_elements(By.CSS_SELECTOR, "thead th")][1:]
        assert headers == ["Viettel", "VinaPhone", "MobiFone", "Vietnamobile"]
    cell = tables[0].find_element(
        By.CSS_SELECTOR, "tr[data-area='gso-19'] td[data-operator='MobiFone']"
    )
    assert cell.get_attribute("data-verdict") == "FAIL"
    assert "Không đạt / Fail" in cell.text
    colour = driver.execute_script(
        "return getComputedStyle(arguments[0].querySelector('.gs-badge')).backgroundColor", cell
    )
    assert colour == "rgb(179, 38, 30)"
    viettel = tables[0].find_element(
        By.CSS_SELECTOR, "tr[data-area='gso-19'] td[data-operator='Viettel']"
    )
    assert viettel.get_attribute("data-verdict") == "PASS"
    driver.save_screenshot(str(tmp_path / "compliance.png"))

    cell.find_element(By.TAG_NAME, "a").click()
    WebDriverWait(driver, 20).until(lambda d: "/compliance/detail" in d.current_url)
    rows = driver.find_elements(By.CSS_SELECTOR, "table.gs-kpis tbody tr")
    assert len(rows) == 7  # the five KPIs of §2.1, dl/ul and the share split out
    assert rows[0].get_attribute("data-kpi") == "dl_mean"
    # Radio availability and dropped transfers rest on unconfirmed figures: shown as such.
    marks = [r.get_attribute("data-kpi") for r in rows if r.find_elements(
        By.CSS_SELECTOR, ".gs-unconfirmed")]  # fmt: skip
    assert marks == ["radio_availability", "dropped_transfer"]
    assert "Không đạt / Fail" in rows[0].text
    assert "Thái Nguyên" in driver.find_element(By.TAG_NAME, "main").text
    # What was judged: MobiFone published no 5G service area, so every sample was.
    scope = driver.find_element(By.CSS_SELECTOR, ".gs-scope")
    assert scope.get_attribute("data-declared") == "none"
    assert "MobiFone declared no 5G service area for this period" in scope.text
    assert "MobiFone không công bố vùng phục vụ 5G" in scope.text
    driver.save_screenshot(str(tmp_path / "compliance-detail.png"))


def test_trends_charts(driver: WebDriver, site: Site, tmp_path: Path) -> None:
    _login(driver, site, "/trends?from=2026-10&to=2026-11")
    charts = driver.find_elements(By.CSS_SELECTOR, "svg.giamsat-chart")
    assert [c.get_attribute("data-kpi") for c in charts] == [
        "dl_mean", "covered", "no_service", "latency_mean",
    ]  # fmt: skip
    for chart in charts:
        assert chart.size["width"] > 300 and chart.size["height"] > 100
        series = chart.find_elements(By.CSS_SELECTOR, "g.series")
        assert [s.get_attribute("data-op") for s in series] == ["Viettel", "VinaPhone", "MobiFone"]
        points = {s.get_attribute("data-op"): len(s.find_elements(By.TAG_NAME, "circle"))
                  for s in series}  # fmt: skip
        assert points == {"Viettel": 2, "VinaPhone": 1, "MobiFone": 1}
        assert len(chart.find_elements(By.CSS_SELECTOR, "path.line")) == 1  # Viettel only
    legend = driver.find_element(By.CSS_SELECTOR, ".gs-legend").text
    assert "MobiFone" in legend and "Viettel" in legend
    assert "Tốc độ tải xuống trung bình / Mean download (Mbit/s)" in driver.page_source
    assert len(driver.find_elements(By.CSS_SELECTOR, "table.gs-trends tbody tr")) == 4
    driver.save_screenshot(str(tmp_path / "trends.png"))

    Select(driver.find_element(By.NAME, "area")).select_by_value("gso-15")  # Lào Cai
    driver.find_element(By.CSS_SELECTOR, ".gs-filters button").click()
    WebDriverWait(driver, 20).until(lambda d: "area=gso-15" in d.current_url)
    series = driver.find_elements(By.CSS_SELECTOR, "svg.giamsat-chart[data-kpi='dl_mean'] g.series")
    assert [s.get_attribute("data-op") for s in series] == ["VinaPhone"]


def test_probes_page_highlights_silent_probes(
    driver: WebDriver, site: Site, tmp_path: Path
) -> None:
    _login(driver, site, "/probes")
    rows = driver.find_elements(By.CSS_SELECTOR, "table.gs-probes tbody tr")
    states = {r.get_attribute("data-probe"): r.get_attribute("data-state") for r in rows}
    silent = [p for p, s in states.items() if s in ("silent", "never")]
    assert len(rows) == len(site.data.kinds) + 4
    assert len(silent) == len(site.data.kinds) + 2
    background = driver.execute_script(
        "return getComputedStyle(document.querySelector(\"tr[data-probe='bk-khuoibooc-02']\"))"
        ".backgroundColor"
    )
    assert background == "rgb(253, 236, 234)"
    ok = driver.find_element(By.CSS_SELECTOR, "tr[data-probe='bk-pacnam-01']")
    assert (
        driver.execute_script("return getComputedStyle(arguments[0]).backgroundColor", ok)
        == "rgba(0, 0, 0, 0)"
    )
    assert "Đang hoạt động / Reporting" in ok.text
    assert ok.find_element(By.CSS_SELECTOR, "td.budget").text == "120.5 / 2048 MiB (6 %)"
    phone = driver.find_element(By.CSS_SELECTOR, "tr[data-probe='lc-phone-07']")
    assert phone.find_element(By.CSS_SELECTOR, "td.spool").text == "—"
    assert (
        "Chưa từng báo cáo / Never reported"
        in driver.find_element(By.CSS_SELECTOR, "tr[data-probe='lc-never-09']").text
    )
    assert ok.find_element(By.CSS_SELECTOR, "td.seen").text.endswith("(UTC+7)")
    driver.save_screenshot(str(tmp_path / "probes.png"))
